"""Squares params["x"]."""

import weft_task as weft

weft.output("y", weft.params["x"] ** 2)
