"""The attach stream's pieces on their own: Docker's frames, lines, reading and half-closing.

A socket pair stands in for the attach connection (the container side sends frames exactly as
Docker does); the docker tests run the same code against a real engine.
"""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from engine.errors import ProtocolError
from engine.executors.docker_stream import AttachedStream, FrameDecoder, LineSplitter
from engine.executors.lines import MAX_LINE


def frames(*chunks: tuple[int, bytes]) -> bytes:
    return b"".join(struct.pack(">BxxxL", stream, len(payload)) + payload for stream, payload in chunks)


CHUNKS = [(1, b"hello\n"), (2, b"oops\n"), (1, b""), (1, b"x" * 100_000 + b"\n"), (2, b"last")]


@pytest.mark.parametrize("cut", [1, 3, 7, 8, 9, 50, 4096, 1 << 20])
def test_frames_cut_anywhere_come_back_whole(cut):
    data = frames(*CHUNKS)
    decoder, got = FrameDecoder(), []
    for i in range(0, len(data), cut):
        got += decoder.feed(data[i : i + cut])
    assert got == CHUNKS


def test_lines_are_split_across_chunks_and_the_rest_is_flushed():
    lines: list[tuple[str, bytes]] = []
    splitter = LineSplitter("stdout", lambda name, line: lines.append((name, line)))
    for piece in (b"a\nb", b"c\n", b"", b"d\ne\n", b"tail"):
        splitter.feed(piece)
    assert [line for _, line in lines] == [b"a\n", b"bc\n", b"d\n", b"e\n"]
    splitter.flush()
    assert lines[-1] == ("stdout", b"tail")


def test_a_line_over_the_limit_is_a_protocol_error():
    splitter = LineSplitter("stderr", lambda name, line: None)
    splitter.feed(b"y" * MAX_LINE)
    with pytest.raises(ProtocolError, match="a line on stderr is longer than 16 MiB"):
        splitter.feed(b"y")


@pytest.mark.parametrize("threaded", [False, True], ids=["event-loop", "reader-thread"])
def test_the_stream_writes_then_half_closes_and_reads_every_frame(threaded):
    async def main() -> None:
        ours, theirs = socket.socketpair()
        loop = asyncio.get_running_loop()
        if threaded:  # as on a loop without add_reader (Windows' proactor), or a TLS connection

            def no_readers(*args):
                raise NotImplementedError

            loop.add_reader = no_readers  # type: ignore[method-assign]  # a loop without add_reader, on purpose
        got: list[tuple[int, bytes]] = []
        ended: asyncio.Future[BaseException | None] = loop.create_future()
        stream = AttachedStream(ours, lambda s, p: got.append((s, p)), ended.set_result)

        def container() -> bytes:
            received = b""
            while chunk := theirs.recv(65536):  # until the half-close: stdin's EOF
                received += chunk
            theirs.sendall(frames(*CHUNKS))
            theirs.close()
            return received

        big = b"s" * (4 << 20)  # more than socket buffers hold: the write must not block reading
        stream.send(big + b"\n", eof=True)
        assert await asyncio.wait_for(asyncio.to_thread(container), 30) == big + b"\n"
        assert await asyncio.wait_for(ended, 30) is None
        assert got == CHUNKS
        stream.close()

    asyncio.run(main())


def test_an_error_in_the_consumer_ends_the_stream_with_it():
    async def main() -> None:
        ours, theirs = socket.socketpair()
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[BaseException | None] = loop.create_future()

        def refuse(stream: int, payload: bytes) -> None:
            raise ProtocolError("no, thanks")

        stream = AttachedStream(ours, refuse, ended.set_result)
        theirs.sendall(frames((1, b"x\n")))
        error = await asyncio.wait_for(ended, 10)
        assert isinstance(error, ProtocolError)
        stream.close()
        theirs.close()

    asyncio.run(main())
