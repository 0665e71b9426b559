"""Writes garbage to stdout: random bytes, invalid UTF-8, NULs, escapes, a half-open JSON
object, a line without its newline at the end. None of it is a message; all of it is log."""

import random

from _raw import raw, start

start()
rng = random.Random(20240601)
raw(b"plain text before the garbage\n")
for _ in range(50):
    chunk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
    raw(chunk.replace(b"\n", b"") + b"\n")
raw(b"\xff\xfe\xfd not utf-8 \xc3\x28 \xa0\xa1 \xed\xa0\x80 (a CESU surrogate)\n")
raw(b"\x00\x00NUL bytes\x00 in the middle\n")
raw(b"\x1b[31mANSI red\x1b[0m and a bell\x07 and a CR\r in the middle\r\n")
raw(b'{"weft": 1, "type": "log", "message": "\xff not utf-8 inside a message"\n')
raw(b'{"weft": 1, "type": "output", "name": \n')
raw(b"{\n")
raw(b"\n\n\n")
raw("unicode is fine: h\u00e9llo w\u00f6rld \u2603 \U0001F600\n".encode("utf-8"))
raw(b"after the garbage\n")
raw(b"no newline at the very end")
