"""Fails until attempt params["succeed_on"] (default 2), then reports output 'n'."""

import sys

import weft_task as weft

if weft.attempt < int(weft.params.get("succeed_on", 2)):
    print(f"attempt {weft.attempt}: failing on purpose", file=sys.stderr)
    sys.exit(7)
weft.log(f"attempt {weft.attempt}: succeeding")
weft.output("n", weft.attempt)
