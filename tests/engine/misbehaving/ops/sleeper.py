"""Records its pid and that of a child it starts in its own process group, then sleeps.

params: seconds (default 30); ignore_term (true: the task and its child ignore SIGTERM, so
only SIGKILL ends them).
"""

import signal
import subprocess
import sys
import time

from _raw import record_pid, start

params = start().get("params", {})
seconds = float(params.get("seconds", 30))
if params.get("ignore_term"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
                          "import signal, sys, time\n"
                          "if sys.argv[1] == '1': signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                          "time.sleep(float(sys.argv[2]))",
                          "1" if params.get("ignore_term") else "0", str(seconds)])
record_pid()
record_pid(child.pid)
print("sleeping", seconds, flush=True)
time.sleep(seconds)
child.wait()
