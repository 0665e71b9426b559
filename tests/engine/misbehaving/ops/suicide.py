"""Says something, then kills itself with SIGKILL."""

import os
import signal

import weft_task as weft

weft.log("about to die")
weft.progress(0.5)
os.kill(os.getpid(), signal.SIGKILL)
