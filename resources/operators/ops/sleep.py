"""Waits params.seconds, reporting progress ten times."""

import time

import weft_task as weft

seconds = float(weft.params.get("seconds", 1))
for i in range(1, 11):
    time.sleep(seconds / 10)
    weft.progress(done=i, total=10)
