"""Shared bits for the misbehaving tasks: read the start line, write raw bytes, record pids.

The tasks here deliberately do NOT use weft_task's senders for the misbehaviour itself: the
helper checks its arguments, and these tasks exist to say what a careful helper never would.
"""

import json
import os
import sys


def start():
    line = sys.stdin.readline()
    return json.loads(line) if line.strip() else {}


def raw(data, stream=None):
    """Write bytes (or text, UTF-8) unchanged to stdout (or the given binary stream)."""
    out = stream or sys.stdout.buffer
    out.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    out.flush()


def send(obj):
    """One JSON object as one line on stdout, whatever it says (NaN and all)."""
    raw(json.dumps(obj) + "\n")


def record_pid(pid=None, name=None):
    """Append a pid to WEFT_WORKSPACE/pids/NODE so the test can check it is gone afterwards."""
    folder = os.path.join(os.environ["WEFT_WORKSPACE"], "pids")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name or os.environ["WEFT_NODE"]), "a") as f:
        f.write(f"{pid or os.getpid()}\n")
        f.flush()
        os.fsync(f.fileno())
