"""Outputs params.value."""

import weft_task as weft

weft.output("value", weft.params.get("value"))
