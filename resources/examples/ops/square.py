"""Squares params["x"]."""

import weft_task as weft

x = weft.params["x"]
weft.output("y", x * x)
