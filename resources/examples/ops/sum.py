"""Adds up all of its inputs, whatever they are called."""

import weft_task as weft

total = sum(weft.inputs.values())
weft.log(f"sum of {len(weft.inputs)} values: {total}")
weft.output("total", total)
