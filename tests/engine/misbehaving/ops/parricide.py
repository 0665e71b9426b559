"""Sends params["signal"] (default SIGTERM) to its parent, the engine, then sleeps a while.
A task cannot hurt the run's record: the engine treats it like Ctrl+C / a service stop."""

import os
import signal
import time

from _raw import record_pid, start

params = start().get("params", {})
record_pid()
os.kill(os.getppid(), getattr(signal, params.get("signal", "SIGTERM")))
time.sleep(float(params.get("seconds", 30)))
