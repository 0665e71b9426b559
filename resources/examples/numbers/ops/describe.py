"""One line about a file's numbers (the file named by its path inside the workspace)."""

import os

import weft_task as weft

i = weft.inputs
name = os.path.relpath(i["path"], weft.workspace)
weft.output("line", f"{name}: {i['count']} numbers, sum of squares {i['total']}")
