"""Adds up all of its inputs, whatever they are called, and counts them."""

import weft_task as weft

weft.output("total", sum(weft.inputs.values()))
weft.output("count", len(weft.inputs))
