"""Fails every time with exit code 7, saying which attempt this was."""

import sys

import weft_task as weft

print(f"attempt {weft.attempt}: failing again", file=sys.stderr)
sys.exit(7)
