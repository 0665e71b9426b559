"""Writes params["lines"] to stdout verbatim (text lines, each followed by a newline), then
exits with params["exit"] (default 0). Used for malformed and almost-messages."""

import sys

from _raw import raw, start

params = start().get("params", {})
for line in params.get("lines", []):
    raw(line + "\n")
sys.exit(int(params.get("exit", 0)))
