"""Writes params["lines"] (default 10000) numbered lines to stderr, interleaved with progress
messages on stdout, then reports output 'n'."""

import sys

import weft_task as weft

count = int(weft.params.get("lines", 10000))
for i in range(count):
    sys.stderr.write(f"flood line {i:05d} of {count}\n")
    if i % 1000 == 0:
        weft.progress(done=i, total=count)
sys.stderr.flush()
weft.output("n", count)
