"""Reads a text file (relative to the workflow) and keeps a copy in the run's workspace."""

from pathlib import Path

import weft_task as weft

text = Path(weft.params.get("path", "data/words.txt")).read_text(encoding="utf-8")
copy = weft.path("input.txt")
Path(copy).write_text(text, encoding="utf-8")
weft.log(f"read {len(text)} characters")
weft.output("text", text)
weft.output("copy", copy)
