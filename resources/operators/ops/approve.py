"""Asks a person params.prompt; the node waits (no process held) until `weft answer` or the studio."""

import weft_task as weft

weft.ask(str(weft.params.get("prompt", "Approve?")), {"approve": "bool", "note": "str?"})
