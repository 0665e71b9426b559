"""A step that does nothing but take a little time, and says so."""

import time

import weft_task as weft

seconds = float(weft.params.get("seconds", 0))
weft.log(f"{weft.node}: working for {seconds:g} s (attempt {weft.attempt})")
for i in range(1, 5):
    time.sleep(seconds / 4)
    weft.progress(done=i, total=4)
