"""Outputs a text of params["mib"] MiB (default 4) as 'text'."""

import weft_task as weft

weft.output("text", "y" * int(float(weft.params.get("mib", 4)) * 1024 * 1024))
