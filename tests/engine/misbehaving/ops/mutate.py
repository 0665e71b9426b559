"""Sends params["messages"] (raw message objects, "weft": 1 added) one per line, then sleeps
params["then_sleep"] seconds and exits 0. A graph change exactly as a buggy planner would send it.
With params["record_pid"] it records its pid first; with params["ignore_term"] it ignores SIGTERM;
with params["wait_for_pids"] (a node id) it first waits until that task recorded two pids.
"""

import os
import signal
import time

from _raw import record_pid, send, start

params = start().get("params", {})
if params.get("ignore_term"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if params.get("record_pid"):
    record_pid()
if params.get("wait_for_pids"):
    pid_file = os.path.join(os.environ["WEFT_WORKSPACE"], "pids", params["wait_for_pids"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if os.path.exists(pid_file) and len(open(pid_file).read().split()) >= 2:
            break
        time.sleep(0.02)
for msg in params.get("messages", []):
    send({"weft": 1, **msg})
time.sleep(float(params.get("then_sleep", 0)))
