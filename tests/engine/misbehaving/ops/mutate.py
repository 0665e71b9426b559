"""Sends params["messages"] (raw message objects, "weft": 1 added) one per line, then sleeps
params["then_sleep"] seconds and exits 0. A graph change exactly as a buggy planner would send it."""

import time

from _raw import record_pid, send, start

params = start().get("params", {})
if params.get("record_pid"):
    record_pid()
for msg in params.get("messages", []):
    send({"weft": 1, **msg})
time.sleep(float(params.get("then_sleep", 0)))
