"""Writes one line of params["mib"] MiB (default 20) to params["stream"] (stdout | stderr),
then a perfectly good message, then exits 0."""

import sys

from _raw import raw, send, start

params = start().get("params", {})
size = int(float(params.get("mib", 20)) * 1024 * 1024)
stream = sys.stderr.buffer if params.get("stream") == "stderr" else sys.stdout.buffer
chunk = b"x" * (1024 * 1024)
for _ in range(size // len(chunk)):
    raw(chunk, stream)
raw(b"\n", stream)
send({"weft": 1, "type": "log", "message": "still alive after the huge line"})
