"""Adds up the two sums and prints both lines."""

import weft_task as weft

i = weft.inputs
print(i["a_line"])
print(i["b_line"])
weft.output("total", i["a"] + i["b"])
