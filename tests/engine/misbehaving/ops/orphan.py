"""Starts a child that outlives the task: it keeps the task's stdout and stderr open and
sleeps params["seconds"] (default 3600); then the task itself reports its output and exits 0
at once. The task is over when its process ends: the leftover child must not keep the run
waiting, and must not be left running either. With params["escape"] the child starts its own
session (out of the engine's reach; it is recorded under "NODE-escaped", not checked).
"""

import subprocess
import sys

from _raw import record_pid, send, start

params = start().get("params", {})
escape = bool(params.get("escape"))
child = subprocess.Popen([sys.executable, "-c", "import sys, time; time.sleep(float(sys.argv[1]))",
                          str(params.get("seconds", 3600))], start_new_session=escape)
record_pid()
if escape:
    import os
    record_pid(child.pid, name=os.environ["WEFT_NODE"] + "-escaped")
else:
    record_pid(child.pid)
print("leaving a child behind", flush=True)
send({"weft": 1, "type": "output", "name": "n", "value": 1})
