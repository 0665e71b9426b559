"""Writes params.message to the node's log."""

import weft_task as weft

weft.log(str(weft.params.get("message", "")))
