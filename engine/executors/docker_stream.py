"""A container's attached stdio, read live on the asyncio loop.

With ``tty=False`` Docker multiplexes a container's stdout and stderr over the one attach
connection, in frames: an 8-byte header (stream id, three zero bytes, payload length as a
big-endian uint32), then the payload. The SDK reads such a stream with blocking calls; here
the event loop watches the socket (a reader callback), so a running container costs no thread,
and writing its stdin (which may block while the task does not read) never delays reading.
Where the connection is not a plain socket (TLS, SSH, Windows named pipes) one thread per
container reads it instead.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

from engine.executors.lines import LineSplitter

__all__ = ["STDOUT", "STDERR", "STREAM_NAMES", "FrameDecoder", "LineSplitter", "AttachedStream", "detach_socket"]

STDOUT, STDERR = 1, 2
STREAM_NAMES = {STDOUT: "stdout", STDERR: "stderr"}
DOCKER_HEADER = struct.Struct(">BxxxL")  # stream id, 3 zero bytes, payload length
_READ_SIZE = 256 * 1024


class FrameDecoder:
    """A framed byte stream back into (kind, payload) chunks: Docker's multiplexed stdio by
    default; ``header`` is any struct unpacking to (kind, payload length)."""

    def __init__(self, header: struct.Struct = DOCKER_HEADER) -> None:
        self._buf = bytearray()
        self._header = header

    def feed(self, data: bytes) -> list[tuple[Any, bytes]]:  # the kind is what ``header`` unpacks
        buf = self._buf
        buf += data
        chunks: list[tuple[int, bytes]] = []
        pos, size = 0, len(buf)
        header = self._header
        while size - pos >= header.size:
            kind, length = header.unpack_from(buf, pos)
            end = pos + header.size + length
            if end > size:
                break
            chunks.append((kind, bytes(buf[pos + header.size : end])))
            pos = end
        if pos:
            del buf[:pos]  # once per read, not once per frame
        return chunks


def detach_socket(attached: Any) -> Any:
    """The connection ``APIClient.attach_socket`` returned, as something we can own.

    For unix and plain TCP connections that is a duplicate of the real socket, and the SDK's
    own descriptor is closed: the connection then lives exactly as long as we keep it (the
    SDK's response objects would close theirs whenever they are garbage-collected). Other kinds
    (TLS, SSH, named pipes) are kept as they are.
    """
    sock = getattr(attached, "_sock", None)
    if isinstance(sock, socket.socket) and not hasattr(sock, "getpeercert"):
        own = sock.dup()
        attached.close()
        sock.close()
        return own
    return attached


class AttachedStream:
    """Reads frames from an attach connection on the loop; writes to the container's stdin.

    ``on_frame(stream_id, payload)`` is called on the loop for every frame; ``on_end(exc)``
    once, when the connection ends (``exc`` is None at a clean end of stream). Exceptions
    raised by ``on_frame`` end the stream and are handed to ``on_end``.
    """

    def __init__(
        self, conn: Any, on_frame: Callable[[int, bytes], None], on_end: Callable[[BaseException | None], None]
    ) -> None:
        self.conn = conn
        self.on_frame = on_frame
        self.on_end = on_end
        self.loop = asyncio.get_running_loop()
        self._decoder = FrameDecoder()
        self._ended = False
        self._closed = False
        self._watching = False
        self._writer: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        if isinstance(conn, socket.socket):
            conn.setblocking(False)
            try:
                self.loop.add_reader(conn.fileno(), self._readable)
                self._watching = True
            except NotImplementedError:  # e.g. the proactor loop on Windows
                conn.setblocking(True)
        if not self._watching:
            self._thread = threading.Thread(target=self._read_in_thread, name="weft-docker-attach", daemon=True)
            self._thread.start()

    # -- reading ---------------------------------------------------------------------------

    def _readable(self) -> None:
        try:
            data = self.conn.recv(_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._end(exc)
            return
        self._received(data)

    def _received(self, data: bytes) -> None:
        if self._ended:
            return
        if not data:
            self._end(None)
            return
        try:
            for stream, payload in self._decoder.feed(data):
                self.on_frame(stream, payload)
        except BaseException as exc:  # noqa: BLE001 - handed to on_end, which re-raises it where awaited
            self._end(exc)

    def _read_in_thread(self) -> None:
        while True:
            try:
                data = self.conn.recv(_READ_SIZE)
            except OSError as exc:
                if not self._closed:
                    self.loop.call_soon_threadsafe(self._end, exc)
                return
            try:
                self.loop.call_soon_threadsafe(self._received, data)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                return
            if not data:
                return

    def _end(self, exc: BaseException | None) -> None:
        if self._ended:
            return
        self._ended = True
        self._unwatch()
        self.on_end(exc)

    def _unwatch(self) -> None:
        if self._watching:
            self._watching = False
            self.loop.remove_reader(self.conn.fileno())

    # -- writing ---------------------------------------------------------------------------

    def send(self, data: bytes, eof: bool = False) -> None:
        """Write ``data`` to the container's stdin in the background (then EOF if ``eof``).

        A container that never reads its stdin must not hold anything up, and one that has
        already ended makes the write fail: both are fine, the output is read regardless.
        """
        previous = self._writer
        self._writer = self.loop.create_task(self._write(data, eof, previous), name="weft-docker-stdin")

    async def _write(self, data: bytes, eof: bool, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await previous
        try:
            if isinstance(self.conn, socket.socket) and not self.conn.getblocking():
                await self.loop.sock_sendall(self.conn, data)
            else:
                await asyncio.to_thread(self.conn.sendall, data)
            if eof:
                _shutdown_write(self.conn)
        except (OSError, ValueError):  # the container or the connection has gone
            pass

    # -- closing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Drop the connection, at once and for good.

        Shut down, not just closed: the engine blocks a container's exit (and so its stop and
        removal) while an attached client that stopped reading holds its output unread.
        """
        if self._closed:
            return
        self._closed = True
        self._unwatch()
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
        for step in (lambda: self.conn.shutdown(socket.SHUT_RDWR), self.conn.close):
            try:
                step()
            except (OSError, AttributeError):
                pass


def _shutdown_write(conn: Any) -> None:
    """Half-close: the container reads EOF on stdin, its output still comes back."""
    if hasattr(conn, "shutdown_write"):  # paramiko channels (ssh://)
        conn.shutdown_write()
    else:
        conn.shutdown(socket.SHUT_WR)
