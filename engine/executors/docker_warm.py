"""Warm containers: one container serves many tasks of an operator that opts in (``warm: true``).

A fresh container costs a few hundred milliseconds before the task's first instruction; for a
short task that is nearly all of its time. A warm container runs ``weft_warm.py`` (mounted with
the helper) and is kept for the rest of the run: each task is a fresh process in it, with the
same start line, the same stdout/stderr lines, the same exit code as in a container of its own,
and a fresh scratch space; see that file for what "fresh" guarantees.

Containers are pooled per (run, operator, image, network, resources): a task takes an idle one
or starts a new one, so tasks of one operator that run at the same time each have their own.
A task that must be stopped (timeout, cancel, a broken promise, a protocol error) takes its
container with it: stopping a process inside would leave doubt about what it left behind. The
executor removes every warm container when the run ends.

A warm container is created as a cold one is (``DockerExecutor.config``): the same user
(``DockerExecutor.user_for``) for the server and its tasks alike; the same mounts, with the Weft
home covered; the same limits, which its tasks share one at a time.
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Callable
from typing import Any, Protocol

from docker.errors import DockerException
from requests import RequestException

from engine.errors import LaunchError
from engine.executors.base import LineSink, TaskProcess, TaskSpec
from engine.executors.docker_container import exit_code, task_workdir
from engine.executors.docker_images import one_line
from engine.executors.docker_stream import STDERR, AttachedStream, FrameDecoder, LineSplitter

SERVER = ["python3", "-I", "/opt/weft/weft_warm.py"]
_SERVER_HEADER = struct.Struct(">cL")  # kind byte, payload length (weft_warm.frame)
_MAX_SERVER_ERRORS = 64 * 1024


class ContainerMaker(Protocol):
    """What the pool needs of the docker executor (``DockerExecutor`` is one): the same
    containers, users and limits as a cold task, made and removed the same way."""

    api: Any

    def config(
        self,
        spec: TaskSpec,
        image: str,
        command: list[str],
        *,
        warm: bool = False,
        labels: dict[str, str] | None = None,
    ) -> dict[str, Any]: ...

    def task_env(self, spec: TaskSpec) -> dict[str, str]: ...

    async def create(self, config: dict[str, Any]) -> tuple[str, Any]: ...

    async def blocking(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any: ...

    def discard(self, cid: str) -> None: ...

    def stop_now(self, cid: str, grace: float) -> None: ...


class WarmPool:
    def __init__(self, executor: ContainerMaker) -> None:
        self.executor = executor
        self._idle: dict[tuple[Any, ...], list[WarmContainer]] = {}
        self._all: set[WarmContainer] = set()

    @staticmethod
    def key(spec: TaskSpec, image: str) -> tuple[Any, ...]:
        node = spec.node
        return (
            spec.run,
            node.operator or node.id,
            image,
            node.network,
            tuple(sorted(node.resources.items())),
            str((spec.folder or spec.cwd).resolve()),
            str(spec.workspace),
        )

    async def launch(self, spec: TaskSpec, image: str) -> WarmTask:
        key = self.key(spec, image)
        idle = self._idle.get(key)
        container = idle.pop() if idle else await self._start(spec, image, key)
        task = WarmTask(container)
        container.task = task
        env = self.executor.task_env(spec)
        if "HOME" not in spec.node.env:
            env.pop("HOME", None)  # the server gives each task a fresh one
        request = {
            "argv": list(spec.argv),
            "env": env,
            "cwd": task_workdir(spec.node.workdir),
            "start": spec.start_line.decode("utf-8"),
        }
        container.stream.send((json.dumps(request, ensure_ascii=False) + "\n").encode("utf-8"))
        try:
            await asyncio.shield(task.started)
        except asyncio.CancelledError:
            container.kill_soon()
            raise
        return task

    async def _start(self, spec: TaskSpec, image: str, key: tuple[Any, ...]) -> WarmContainer:
        group = spec.node.operator or spec.node.id
        labels = {**spec.labels, "weft.warm": group}
        config = self.executor.config(spec, image, SERVER, warm=True, labels=labels)
        config.update(environment={}, working_dir="/")  # each task brings its own (see launch)
        cid, conn = await self.executor.create(config)
        container = WarmContainer(self, key, image, cid, conn)
        self._all.add(container)
        return container

    def release(self, container: WarmContainer) -> None:
        """The container finished a task cleanly: the next task of its kind may have it."""
        if container.alive:
            self._idle.setdefault(container.key, []).append(container)

    def forget(self, container: WarmContainer) -> None:
        idle = self._idle.get(container.key)
        if idle and container in idle:
            idle.remove(container)
        self._all.discard(container)

    async def close(self) -> None:
        containers, self._all, self._idle = list(self._all), set(), {}
        for container in containers:
            container.kill_soon()


class WarmContainer:
    """One warm container: its attach connection, and the task it is running (if any)."""

    def __init__(self, pool: WarmPool, key: tuple[Any, ...], image: str, cid: str, conn: Any) -> None:
        self.pool = pool
        self.key = key
        self.image = image
        self.cid = cid
        self.task: WarmTask | None = None
        self.alive = True
        self.killed = False
        self.server_errors = bytearray()
        self._messages = FrameDecoder(_SERVER_HEADER)
        self.stream = AttachedStream(conn, self._frame, self._end)

    def _frame(self, stream: int, payload: bytes) -> None:
        if stream == STDERR:  # the server's own complaints (or init's): keep them for the reason
            self.server_errors += payload[: _MAX_SERVER_ERRORS - len(self.server_errors)]
            return
        for kind, body in self._messages.feed(payload):
            self._message(kind, body)

    def _message(self, kind: bytes, body: bytes) -> None:
        task = self.task
        if task is None:
            return
        if kind == b"O":
            task.feed("stdout", body)
        elif kind == b"E":
            task.feed("stderr", body)
        elif kind == b"S":
            task.started.set_result(None)
        elif kind == b"F":
            self.task = None
            task.started.set_exception(LaunchError(body.decode("utf-8", "replace")))
            self.pool.release(self)
        elif kind == b"X":
            self.task = None
            task.finish(int(body))
            self.pool.release(self)

    def _end(self, exc: BaseException | None) -> None:
        """The container ended (or its connection broke): it serves nobody any more."""
        self.alive = False
        self.pool.forget(self)
        task, self.task = self.task, None
        if task is not None and task.started.done():
            task.container_ended()  # it asks the engine for the exit status, then kills this
            return
        if task is not None:  # launch() raises this
            task.started.set_exception(LaunchError(self.reason()))
        self.kill_soon()

    def reason(self) -> str:
        text = " ".join(self.server_errors.decode("utf-8", "replace").split())
        if "exec python3 failed" in text:
            return f"warm: true needs python3 in the image, and {self.image} has none"
        return f"the warm container ended before the task started{': ' + text[-300:] if text else ''}"

    def kill_soon(self) -> None:
        """Remove it (killing what runs) in the background; the executor's close waits for that."""
        self.stream.close()
        self.alive = False
        self.pool.forget(self)
        if not self.killed:
            self.killed = True
            self.pool.executor.discard(self.cid)

    async def exit_status(self) -> int:
        try:
            result = await self.pool.executor.blocking(self.pool.executor.api.wait, self.cid, timeout=10)
            return exit_code(result["StatusCode"])
        except (DockerException, RequestException) as exc:
            raise LaunchError(f"lost the warm container: {one_line(exc)}") from None


class WarmTask(TaskProcess):
    """One task's share of a warm container: its lines, its exit code."""

    def __init__(self, container: WarmContainer) -> None:
        loop = asyncio.get_running_loop()
        self.container = container
        self.started: asyncio.Future[None] = loop.create_future()
        self._pumped: asyncio.Future[None] = loop.create_future()
        self._code: asyncio.Future[int] = loop.create_future()
        for future in (self.started, self._pumped, self._code):
            future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._sink: LineSink | None = None
        self._early: list[tuple[str, bytes]] = []
        self._splitters = {name: LineSplitter(name, self._deliver) for name in ("stdout", "stderr")}
        self._finished = False

    def _deliver(self, name: str, line: bytes) -> None:
        if self._sink is None:
            self._early.append((name, line))
        else:
            self._sink(name, line)

    def feed(self, name: str, data: bytes) -> None:
        if self._pumped.done():
            return
        try:
            self._splitters[name].feed(data)
        except BaseException as exc:  # noqa: BLE001 - the sink's or a protocol error: pump() raises it
            self._pumped.set_exception(exc)

    def _flush(self) -> None:
        if self._pumped.done():
            return
        try:
            for splitter in self._splitters.values():
                splitter.flush()
        except BaseException as exc:  # noqa: BLE001 - whatever ends the pump is its result
            self._pumped.set_exception(exc)
        else:
            self._pumped.set_result(None)

    def finish(self, code: int) -> None:
        self._finished = True
        self._flush()
        self._code.set_result(code)

    def container_ended(self) -> None:
        """The container died under the task (out of memory, killed): its status is the task's."""
        self._finished = True
        self._flush()
        asyncio.ensure_future(self._status_from_engine())

    async def _status_from_engine(self) -> None:
        try:
            self._code.set_result(await self.container.exit_status())
        except LaunchError as exc:
            self._code.set_exception(exc)
        finally:
            self.container.kill_soon()

    async def pump(self, sink: LineSink) -> None:
        self._sink = sink
        early, self._early = self._early, []
        for name, line in early:
            sink(name, line)
        await asyncio.shield(self._pumped)

    async def wait(self) -> int:
        return await asyncio.shield(self._code)

    async def stop(self, grace: float = 2.0) -> None:
        if self._finished:
            return  # the task is over; its container may be serving the next one already
        self._finished = True
        container = self.container
        container.task = None
        container.alive = False
        container.pool.forget(container)
        container.stream.close()
        container.killed = True
        await container.pool.executor.blocking(container.pool.executor.stop_now, container.cid, grace)
        if not self._code.done():
            self._code.set_result(-15)
        if not self._pumped.done():
            self._pumped.set_result(None)
