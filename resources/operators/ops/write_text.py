"""Writes its input text to params.path inside the run's workspace and outputs that file."""

from pathlib import Path

import weft_task as weft

target = Path(weft.path(weft.params.get("path", "output.txt")))
target.parent.mkdir(parents=True, exist_ok=True)
target.write_text(weft.inputs["text"], encoding="utf-8")
weft.log(f"wrote {len(weft.inputs['text'])} characters to {target.name}")
weft.output("file", str(target))
