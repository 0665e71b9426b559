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
from pathlib import Path

from engine.errors import ProtocolError
from engine.executors.base import Executor, LaunchError, LineSink, TaskProcess, TaskSpec
from engine.protocol import MAX_LINE

DRAIN = 1.0  # seconds the pipes may stay open after the task's process ended


class LocalProcess(TaskProcess):
    def __init__(self, proc: asyncio.subprocess.Process, start_line: bytes) -> None:
        self.proc = proc
        self._feeder = asyncio.ensure_future(self._feed(start_line))

    async def _feed(self, line: bytes) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(line)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the task ended (or closed stdin) without reading: its exit code tells
        finally:
            stdin.close()

    async def pump(self, sink: LineSink) -> None:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        loop = asyncio.get_running_loop()
        readers = {asyncio.ensure_future(_read_lines(self.proc.stdout, "stdout", sink)),
                   asyncio.ensure_future(_read_lines(self.proc.stderr, "stderr", sink))}
        exited = asyncio.ensure_future(self._exited())
        try:
            pending, drain_until = set(readers), None
            while pending:
                timeout = None if drain_until is None else max(0.0, drain_until - loop.time())
                done, _ = await asyncio.wait(pending if exited.done() else pending | {exited},
                                             timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                for task in done & readers:
                    task.result()  # re-raise the first failure
                pending -= done
                if drain_until is None and exited.done():
                    drain_until = loop.time() + DRAIN
                elif not done:
                    break  # the process ended, but something it left behind holds its pipes
        finally:
            for task in (*readers, exited):
                task.cancel()
            await asyncio.gather(*readers, exited, return_exceptions=True)

    async def _exited(self) -> int:
        """The exit code, as soon as the process ends (``proc.wait()`` also waits for the pipes)."""
        waiter = asyncio.ensure_future(self.proc.wait())
        try:
            while not waiter.done() and self.proc.returncode is None:
                await asyncio.wait({waiter}, timeout=0.1)
        finally:
            waiter.cancel()
        assert self.proc.returncode is not None
        return self.proc.returncode

    async def wait(self) -> int:
        code = await self._exited()
        await self._end_group()
        await asyncio.gather(self._feeder, return_exceptions=True)
        return code

    async def stop(self, grace: float = 2.0) -> None:
        if self.proc.returncode is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self._exited(), grace)
            except asyncio.TimeoutError:
                _signal_group(self.proc.pid, signal.SIGKILL)
                await self._exited()
        await self._end_group(grace)
        self._feeder.cancel()

    async def _end_group(self, grace: float = 2.0) -> None:
        """Stop whatever the ended task left running in its process group, and let go of it."""
        pgid = self.proc.pid
        if _group_alive(pgid):
            _signal_group(pgid, signal.SIGTERM)
            deadline = asyncio.get_running_loop().time() + grace
            while _group_alive(pgid) and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            _signal_group(pgid, signal.SIGKILL)
        transport = getattr(self.proc, "_transport", None)
        if transport is not None:
            transport.close()  # pipes a runaway (own session) may still hold; never warn at exit


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


async def _read_lines(stream: asyncio.StreamReader, name: str, sink: LineSink) -> None:
    while True:
        try:
            line = await stream.readline()
        except (ValueError, asyncio.LimitOverrunError):
            raise ProtocolError(f"a line on {name} is longer than {MAX_LINE // (1024 * 1024)} MiB") from None
        if not line:
            return
        sink(name, line)


class LocalExecutor(Executor):
    name = "local"

    def task_workspace(self, host_workspace: Path) -> str:
        return str(host_workspace)

    async def launch(self, spec: TaskSpec) -> TaskProcess:
        try:
            proc = await asyncio.create_subprocess_exec(
                *spec.argv, cwd=spec.cwd, env=spec.env,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True, limit=MAX_LINE + 1)
        except FileNotFoundError:
            cwd_note = "" if spec.cwd.is_dir() else f" (working folder {spec.cwd} does not exist)"
            raise LaunchError(f"command not found: {spec.argv[0]}{cwd_note}") from None
        except PermissionError:
            raise LaunchError(f"command not executable: {spec.argv[0]}") from None
        except OSError as exc:
            raise LaunchError(f"cannot start {spec.argv[0]}: {exc.strerror or exc}") from None
        return LocalProcess(proc, spec.start_line)
