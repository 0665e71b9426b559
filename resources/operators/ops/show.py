"""Logs its input value, pretty-printed."""

import json

import weft_task as weft

for line in json.dumps(weft.inputs.get("value"), indent=2, ensure_ascii=False).splitlines():
    weft.log(line)
