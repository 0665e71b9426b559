"""One line about a file's numbers."""

import weft_task as weft

i = weft.inputs
weft.output("line", f"{i['path']}: {i['count']} numbers, sum of squares {i['total']}")
