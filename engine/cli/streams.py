"""Output that survives its reader going away.

When the terminal of `weft run` is closed (or an ssh session drops), the engine gets SIGHUP and
stops the run; until it has, every write to the terminal fails with EIO (or EPIPE for a closed
pipe). Progress and summaries are for a person who is no longer there: they are dropped, so a
lost terminal never turns into a traceback or an unrecorded run.
"""

from __future__ import annotations

from typing import Protocol, TextIO


class TextOut(Protocol):
    """What the CLI writes human output to: a text stream, or a ``ReaderSafe`` one."""

    def write(self, text: str) -> int: ...

    def flush(self) -> None: ...

    def isatty(self) -> bool: ...


class ReaderSafe:
    """A text stream whose writes are dropped, silently, once its reader has gone."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lost = False

    def write(self, text: str) -> int:
        if not self.lost:
            try:
                return self.stream.write(text)
            except (OSError, ValueError):  # EIO after a hangup, EPIPE, or a closed file
                self.lost = True
        return len(text)

    def flush(self) -> None:
        if not self.lost:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                self.lost = True

    def isatty(self) -> bool:
        try:
            return not self.lost and self.stream.isatty()
        except (OSError, ValueError):
            return False
