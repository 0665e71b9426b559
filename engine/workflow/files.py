"""Reading a Weft text (a workflow, an operator library) from a file, safely and bounded."""

from __future__ import annotations

import os
import stat
from pathlib import Path

MIB = 1024 * 1024


class Unreadable(Exception):
    """Why a file cannot be read as a Weft text; the reason never quotes the file's content."""


def read_bounded(path: Path, limit: int) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes, or ``Unreadable``.

    Opened without blocking and checked on the open descriptor, so a named pipe (which would
    wait for a writer forever) or a device such as /dev/zero (which never ends) is refused
    before a single byte is read, and a file swapped after a check is still the one checked.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise Unreadable("no such file") from None
    except OSError as exc:
        raise Unreadable(f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise Unreadable("is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"is not a regular file (it is {_file_kind(info.st_mode)})")
        if info.st_size > limit:
            raise Unreadable(_too_large(info.st_size, limit))
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(limit + 1)  # a file that grew since fstat is still bounded
    except OSError as exc:
        raise Unreadable(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise Unreadable(_too_large(len(data), limit))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 text (byte {exc.start})") from None


def _too_large(size: int, limit: int) -> str:
    return f"is too large ({size:,} bytes; a Weft file may be at most {limit // MIB} MiB)"


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")
