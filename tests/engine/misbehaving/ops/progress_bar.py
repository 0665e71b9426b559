"""Draws a progress bar with carriage returns and never a newline, as tqdm or curl do:
params["mib"] MiB of redraws on params["stream"] (stdout or stderr), then reports output 'n'."""

import sys

import weft_task as weft

stream = sys.stdout if weft.params.get("stream", "stdout") == "stdout" else sys.stderr
total = int(weft.params.get("mib", 20)) * 1024 * 1024
step = 100
written = i = 0
while written < total:
    bar = f"\rprogress {i:07d} [{'#' * (i % 60):<60}]"
    stream.write(bar)
    written += len(bar)
    i += 1
stream.write(f"\rprogress done after {i} redraws\n")
stream.flush()
weft.output("n", i)
