"""Tasks as local subprocesses: argv lists, never a shell unless the node says ``shell: true``.

Each task gets its own session (process group), so Ctrl+C in the terminal reaches only the
engine, which then stops every task it started, children included.

A task is over when its process ends. Processes it leaves behind in its group are stopped
then, and may keep its stdout/stderr open for at most ``DRAIN`` seconds more: a forgotten
background child never keeps a run waiting, nor outlives it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import cast

from engine.errors import LaunchError, ProtocolError
from engine.executors.base import Executor, LineSink, TaskProcess, TaskSpec
from engine.executors.lines import LineSplitter
from engine.workflow.model import ResolvedNode

DRAIN = 1.0  # seconds the pipes may stay open after the task's process ended


_NAMES = {1: "stdout", 2: "stderr"}


class _Lines(asyncio.SubprocessProtocol):
    """Lines straight from pipe_data_received to the sink: no StreamReader, no reader tasks."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.sink: LineSink | None = None
        self.early: list[tuple[str, bytes]] = []  # lines that came before pump()
        self.splitters = {fd: LineSplitter(name, self._deliver) for fd, name in _NAMES.items()}
        self.open = {1, 2}
        self.pumped: asyncio.Future[None] = loop.create_future()
        # a task stopped after its reader gave up may still fail a line: nobody awaits that
        self.pumped.add_done_callback(_retrieve)
        self.exited: asyncio.Future[None] = loop.create_future()
        self._drain: asyncio.TimerHandle | None = None

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if self.pumped.done():
            return
        try:
            self.splitters[fd].feed(data)
        except ProtocolError as exc:
            self._finish(exc)

    def _deliver(self, name: str, line: bytes) -> None:
        if self.pumped.done():
            return
        if self.sink is None:
            self.early.append((name, line))
            return
        try:
            self.sink(name, line)
        except BaseException as exc:  # noqa: BLE001 - re-raised by pump()
            self._finish(exc)

    def _finish(self, exc: BaseException | None = None) -> None:
        if self._drain is not None:
            self._drain.cancel()
        if not self.pumped.done():
            if exc is None:
                self.pumped.set_result(None)
            else:
                self.pumped.set_exception(exc)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd not in self.open:
            return
        if not self.pumped.done():
            self.splitters[fd].flush()
        self.open.discard(fd)
        if not self.open:
            self._finish()

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)
        if self.open and not self.pumped.done():  # something left behind holds the pipes
            self._drain = self.loop.call_later(DRAIN, self._finish)


class LocalProcess(TaskProcess):
    def __init__(self, transport: asyncio.SubprocessTransport, protocol: _Lines, start_line: bytes) -> None:
        self.transport = transport
        self.protocol = protocol
        self.pid = transport.get_pid()
        stdin = cast("asyncio.WriteTransport | None", transport.get_pipe_transport(0))
        if stdin is not None:
            stdin.write(start_line)  # kept by the transport if the pipe is full; EPIPE is ignored
            stdin.close()  # ... and closed once written

    async def pump(self, sink: LineSink) -> None:
        p = self.protocol
        p.sink = sink
        early, p.early = p.early, []
        try:
            for name, line in early:
                sink(name, line)
        except BaseException as exc:
            p._finish(exc)
        await asyncio.shield(p.pumped)

    async def wait(self) -> int:
        await asyncio.shield(self.protocol.exited)
        await self._end_group()
        code = self.transport.get_returncode()
        assert code is not None
        return code

    async def stop(self, grace: float = 2.0) -> None:
        if self.transport.get_returncode() is None:
            _signal_group(self.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(self.protocol.exited), grace)
            except TimeoutError:
                _signal_group(self.pid, signal.SIGKILL)
                await asyncio.shield(self.protocol.exited)
        await self._end_group(grace)

    async def _end_group(self, grace: float = 2.0) -> None:
        """Stop whatever the ended task left running in its process group, and let go of it."""
        pgid = self.pid
        if _group_alive(pgid):
            _signal_group(pgid, signal.SIGTERM)
            deadline = asyncio.get_running_loop().time() + grace
            while _group_alive(pgid) and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            _signal_group(pgid, signal.SIGKILL)
        self.transport.close()  # pipes a runaway (own session) may still hold; never warn at exit


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return _has_live_member(pgid)


def _has_live_member(pgid: int) -> bool:
    """Does the group hold a process that is not a zombie (ended, not yet reaped by init)?"""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True  # no /proc (macOS): assume so; the caller waits out its grace
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] != b"Z":
            return True
    return False


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:  # pragma: no cover - group already gone and pid reused
        pass


def use_pidfd_child_watcher() -> None:
    """On Python 3.11, watch children with pidfds instead of a thread per child.

    3.11's default watcher starts (and waits for) one thread per subprocess, which costs about
    0.2 ms a task at two tasks at once; 3.12 uses pidfds by default. Call before the loop starts.
    """
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return
    try:
        os.close(os.pidfd_open(os.getpid()))  # the kernel may lack pidfd support (< 5.3)
    except OSError:
        return
    asyncio.set_child_watcher(asyncio.PidfdChildWatcher())


class LocalExecutor(Executor):
    name = "local"

    def task_workspace(self, host_workspace: Path, node: ResolvedNode | None = None) -> str:
        return str(host_workspace)

    async def sweep(self, run: str) -> None:
        """Stop the process groups of the run's tasks that outlived their engine: every local
        task carries ``WEFT_RUN`` in its environment and leads a session of its own."""
        for pid in tasks_of(run):
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            except OSError:  # gone meanwhile, or not ours
                pass

    async def launch(self, spec: TaskSpec) -> TaskProcess:
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.subprocess_exec(
                lambda: _Lines(loop),
                *spec.argv,
                cwd=spec.cwd,
                env=spec.env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except FileNotFoundError:
            cwd_note = "" if spec.cwd.is_dir() else f" (working folder {spec.cwd} does not exist)"
            raise LaunchError(f"command not found: {spec.argv[0]}{cwd_note}") from None
        except PermissionError:
            raise LaunchError(f"command not executable: {spec.argv[0]}") from None
        except OSError as exc:
            raise LaunchError(f"cannot start {spec.argv[0]}: {exc.strerror or exc}") from None
        return LocalProcess(transport, protocol, spec.start_line)


def tasks_of(run: str) -> list[int]:
    """Process ids of this user's processes that are tasks of run ``run`` (by their
    environment; Linux's /proc, nothing elsewhere), never this process's own group."""
    mark = f"WEFT_RUN={run}".encode()
    own = os.getpgrp()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if mark in (entry / "environ").read_bytes().split(b"\0") and os.getpgid(int(entry.name)) != own:
                found.append(int(entry.name))
        except (OSError, ValueError):  # gone, or another user's
            continue
    return found
