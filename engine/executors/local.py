"""Tasks as local subprocesses: argv lists, never a shell unless the node says ``shell: true``.

Each task gets its own session (process group), so Ctrl+C in the terminal reaches only the
engine, which then stops every task it started, children included.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from engine.errors import ProtocolError
from engine.executors.base import Executor, LaunchError, LineSink, TaskProcess, TaskSpec
from engine.protocol import MAX_LINE


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
        readers = [asyncio.ensure_future(_read_lines(self.proc.stdout, "stdout", sink)),
                   asyncio.ensure_future(_read_lines(self.proc.stderr, "stderr", sink))]
        try:
            done, _ = await asyncio.wait(readers, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # re-raise the first failure
            await asyncio.gather(*readers)
        finally:
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)

    async def wait(self) -> int:
        code = await self.proc.wait()
        await asyncio.gather(self._feeder, return_exceptions=True)
        return code

    async def stop(self, grace: float = 2.0) -> None:
        if self.proc.returncode is not None:
            return
        _signal_group(self.proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), grace)
        except asyncio.TimeoutError:
            _signal_group(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()
        self._feeder.cancel()


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
