"""Fails on purpose."""

import sys

import weft_task as weft

weft.log(str(weft.params.get("message", "failing on purpose")), level="error")
sys.exit(int(weft.params.get("code", 1)))
