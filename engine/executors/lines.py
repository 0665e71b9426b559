"""A task's output stream cut into lines, for every executor alike.

A line ends at ``\\n``, at ``\\r\\n``, or at a lone ``\\r``: a progress bar that redraws itself
with carriage returns and never writes a newline (tqdm, curl, pip) is a stream of short lines,
each of them the task's latest status, not one endless line that grows until the task is
killed for it. A ``\\r`` that ends the bytes received so far may be the first half of ``\\r\\n``,
so it is decided when the next byte arrives (or when the stream ends).

A line is delivered with its terminator, so the reader can tell a status line (``\\r``) from
an ordinary one. A line longer than ``MAX_LINE`` without a terminator is a protocol error.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from engine.errors import ProtocolError

#: The longest line a task may write (the protocol's limit: ``weft_task.MAX_LINE_BYTES``).
MAX_LINE = 16 * 1024 * 1024
_END = re.compile(rb"[\r\n]")
_CR, _LF = 13, 10


def is_status_line(line: bytes) -> bool:
    """Did this line end with a lone carriage return (a redrawn status, not a finished line)?"""
    return line.endswith(b"\r")


class LineSplitter:
    """Bytes of one stream into lines for ``deliver(name, line)``.

    A long line arrives in many chunks: only what is new is searched for a line end, so a
    16 MiB line costs one pass, not one pass per chunk.
    """

    def __init__(self, name: str, deliver: Callable[[str, bytes], None]) -> None:
        self.name = name
        self.deliver = deliver
        self._buf = bytearray()
        self._scanned = 0

    def feed(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        start = 0
        pos = self._scanned
        size = len(buf)
        while (found := _END.search(buf, pos)) is not None:
            end = found.start()
            if buf[end] == _CR:
                if end + 1 == size:  # \r\n or a lone \r: the next byte decides
                    pos = end
                    break
                if buf[end + 1] == _LF:
                    end += 1
            self.deliver(self.name, bytes(buf[start : end + 1]))
            start = pos = end + 1
        else:
            pos = size
        if start:
            del buf[:start]
        self._scanned = pos - start
        if len(buf) > MAX_LINE:
            raise ProtocolError(f"a line on {self.name} is longer than {MAX_LINE // (1024 * 1024)} MiB")

    def flush(self) -> None:
        """The stream ended: what is left is its last line (without a newline)."""
        if self._buf:
            line, self._buf = bytes(self._buf), bytearray()
            self._scanned = 0
            self.deliver(self.name, line)
