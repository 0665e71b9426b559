"""Splits its input text into its non-empty lines."""

import weft_task as weft

lines = [line for line in weft.inputs["text"].splitlines() if line.strip()]
weft.output("lines", lines)
weft.output("count", len(lines))
