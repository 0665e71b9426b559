"""Hands on inputs.total and inputs.count."""

import weft_task as weft

weft.output("total", weft.inputs["total"])
weft.output("count", weft.inputs["count"])
