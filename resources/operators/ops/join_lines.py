"""Joins a list of lines into one text with params.separator (default: a newline)."""

import weft_task as weft

separator = str(weft.params.get("separator", "\n"))
weft.output("text", separator.join(str(line) for line in weft.inputs["lines"]))
