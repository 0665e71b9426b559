"""Tasks in Docker containers, speaking the task protocol over the container's attached stdio.

A task is one container, created with stdin open and attached *before* it starts, so not a
byte of output is missed and none is fetched later with ``docker logs``: the start line goes
to its stdin (then EOF), its stdout and stderr come back live over the same connection, and its
exit code decides. The SDK blocks, so its calls run in a thread pool; the attach connection is
watched by the event loop itself (``docker_stream``).

What a container may touch, and why:

- ``/workspace`` is the run's workspace, read-write: the only place a task's work may stay.
- ``/workflow`` is the workflow file's folder, read-only, and the working directory (``workdir``
  is relative to it): ``command: [python3, ops/count.py]`` finds its script as it does locally,
  and a task cannot change the workflow it is part of.
- ``/opt/weft`` holds the ``weft_task`` helper, read-only, on ``PYTHONPATH``: images need no
  Weft installed.
- No network unless ``network: true``; every capability dropped, ``no-new-privileges``, never
  privileged. On a POSIX host the task runs as the user running Weft (unless that is root, or
  the engine is rootless, where container root *is* that user), so workspace files stay theirs.
- Docker's init (tini) is PID 1: it forwards SIGTERM (a task without a handler still stops at
  once) and reports a task killed by signal N as 128+N, which is read back as "killed by N".

Every container is labelled ``weft.run`` / ``weft.node``; it is removed once it has ended, and
stopped then removed on timeout, cancel, failure policy or a broken promise. When the run ends
the executor also removes whatever still carries the run's label, so nothing of a run outlives
it, whatever happened.
"""

from __future__ import annotations

import asyncio
import functools
import math
import os
import posixpath
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import docker
import requests
from docker.errors import DockerException, ImageNotFound, NotFound

import engine
from engine.errors import EngineUnavailable, InvalidInput
from engine.executors.base import Executor, LaunchError, LineSink, TaskProcess, TaskSpec
from engine.executors.docker_images import Images, check_build, one_line
from engine.executors.docker_stream import STREAM_NAMES, AttachedStream, LineSplitter, detach_socket
from engine.model import ResolvedNode

WORKSPACE = "/workspace"
WORKFLOW = "/workflow"
HELPER = "/opt/weft"
HELPER_DIR = Path(engine.__file__).resolve().parent / "taskhelper"
ATTACH = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
THREADS = 32  # SDK calls at once; the HTTP connection pool is as large
API_TIMEOUT = 600  # seconds an SDK call may wait for the engine (builds can be slow and quiet)
# tini's words when it cannot exec the task's command (exit code 127 or 126)
_EXEC_FAILED = re.compile(rb"^\[FATAL tini \(\d+\)\] exec (.*) failed: (.*?)\r?\n?$")


# -- the engine -----------------------------------------------------------------------------

def connect(timeout: float = 10) -> Any:
    """A client of a Docker engine that answers, or ``EngineUnavailable`` (exit 2) saying what to do."""
    where = engine_address()
    try:
        client = docker.from_env(timeout=timeout, max_pool_size=THREADS)
        client.ping()
    except (DockerException, requests.RequestException, OSError) as exc:
        raise EngineUnavailable(f"cannot reach a Docker engine at {where} ({unreachable_reason(exc)}): "
                           "start Docker or run with --executor local") from None
    client.api.timeout = API_TIMEOUT
    return client


def engine_address() -> str:
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    try:
        from docker.context import ContextAPI

        return ContextAPI.get_current_context().Host or "unix:///var/run/docker.sock"
    except Exception:  # noqa: BLE001 - a broken CLI config must not hide the real problem
        return "unix:///var/run/docker.sock"


def unreachable_reason(exc: BaseException) -> str:
    """Why connecting failed, in a few words: the OS error deep inside the SDK's wrapping."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, FileNotFoundError):
            return "no such socket"
        if isinstance(item, PermissionError):
            return "permission denied"
        if isinstance(item, ConnectionRefusedError):
            return "connection refused"
        if isinstance(item, (ConnectionResetError, ConnectionAbortedError)):
            return "the other end closed the connection: not a Docker engine?"
        if isinstance(item, docker.errors.APIError) and item.status_code is not None:
            return f"the other end answered HTTP {item.status_code}: not a Docker engine?"
        todo.extend([item.__cause__, item.__context__, *item.args, getattr(item, "reason", None)])
    text = one_line(exc).removeprefix("Error while fetching server API version: ")
    found = re.search(r"\[Errno -?\d+\] ([^\"')]+)", text)
    return found.group(1).strip() if found else text[:200]


def exit_code(status: int) -> int:
    """Docker's exit status as the local executor reports it: negative for "killed by signal"."""
    return -(status - 128) if 128 < status <= 128 + 64 else status


# -- the executor ---------------------------------------------------------------------------

class DockerExecutor(Executor):
    name = "docker"

    def __init__(self, client: Any | None = None, default_image: str | None = None) -> None:
        self.client = client if client is not None else connect()
        self.api = self.client.api
        self.images = Images(self.client, self.blocking, default_image)
        self.user = _task_user(self.client)
        self._pool: ThreadPoolExecutor | None = None
        self._launching: set[asyncio.Future[Any]] = set()
        self._removals: set[asyncio.Future[Any]] = set()
        self._runs: set[str] = set()
        from engine.executors.docker_warm import WarmPool  # the warm pool builds on this module

        self.warm = WarmPool(self)

    # -- plumbing ---------------------------------------------------------------------------

    async def blocking(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a blocking SDK call in the executor's thread pool."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="weft-docker")
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def task_workspace(self, host_workspace: Path) -> str:
        return WORKSPACE

    def check(self, node: ResolvedNode, folder: Path) -> None:
        problem = check_build(node, folder)
        if problem is not None:
            raise InvalidInput(f"node '{node.id}': {problem}")

    # -- containers -------------------------------------------------------------------------

    def config(self, spec: TaskSpec, image: str, command: list[str], *, warm: bool = False,
               labels: dict[str, str] | None = None) -> dict[str, Any]:
        """``create_container`` arguments for ``spec``: mounts, limits, isolation, env, labels."""
        node = spec.node
        folder = (spec.folder or spec.cwd).resolve()
        binds = {
            str(spec.workspace.resolve()): {"bind": WORKSPACE, "mode": "rw"},
            str(folder): {"bind": WORKFLOW, "mode": "ro"},
            str(HELPER_DIR): {"bind": HELPER, "mode": "ro"},
        }
        limits: dict[str, Any] = {}
        if node.resources.get("cpus"):
            limits["nano_cpus"] = int(round(float(node.resources["cpus"]) * 1e9))
        if node.resources.get("memory"):
            limits["mem_limit"] = limits["memswap_limit"] = node.resources["memory"]  # no swap beyond it
        extra: dict[str, Any] = {}
        if warm:  # nothing a task writes outside /workspace may outlive it (see docker_warm)
            extra = {"read_only": True, "tmpfs": {"/tmp": "rw,nosuid,nodev,mode=1777"}}
        host_config = self.api.create_host_config(
            binds=binds, network_mode=None if node.network else "none", privileged=False,
            cap_drop=["ALL"], security_opt=["no-new-privileges"], init=True,
            log_config={"Type": "none", "Config": {}},  # every line is in the run's log already
            **limits, **extra)
        return {
            "image": image, "command": command, "stdin_open": True, "tty": False,
            "environment": self.task_env(spec), "working_dir": task_workdir(node.workdir),
            "user": self.user, "labels": labels if labels is not None else dict(spec.labels),
            "host_config": host_config,
        }

    def task_env(self, spec: TaskSpec) -> dict[str, str]:
        """The node's ``env`` and Weft's variables; never the host's environment."""
        env = dict(spec.node.env)
        for key in ("WEFT_WORKSPACE", "WEFT_RUN", "WEFT_NODE"):
            env[key] = spec.env[key]
        env["PYTHONPATH"] = ":".join(filter(None, [HELPER, spec.node.env.get("PYTHONPATH")]))
        if self.user is not None:
            env.setdefault("HOME", "/tmp")  # the host user has no home in the image
        return env

    async def create(self, config: dict[str, Any]) -> tuple[str, Any]:
        """Create, attach and start a container; pull its image first if the engine lacks it.

        Returns (id, attach connection). If the caller is cancelled meanwhile, whatever gets
        created is removed once the SDK call returns.
        """
        if config["labels"].get("weft.run"):
            self._runs.add(config["labels"]["weft.run"])
        for attempt in (1, 2):
            job = asyncio.ensure_future(self.blocking(self._create_and_start, config))
            self._launching.add(job)
            job.add_done_callback(self._launching.discard)
            try:
                return await asyncio.shield(job)
            except asyncio.CancelledError:
                job.add_done_callback(self._remove_late_start)
                raise
            except ImageNotFound:
                if attempt == 2:
                    raise LaunchError(f"image '{config['image']}' is still missing after pulling it") from None
                await self.images.pull(config["image"])
        raise AssertionError("unreachable")

    def _create_and_start(self, config: dict[str, Any]) -> tuple[str, Any]:
        try:
            cid = self.api.create_container(**config)["Id"]
        except ImageNotFound:
            raise
        except (DockerException, requests.RequestException) as exc:
            raise LaunchError(f"cannot create a container: {one_line(exc)}") from None
        try:
            conn = detach_socket(self.api.attach_socket(cid, params=ATTACH))
            self.api.start(cid)
        except (DockerException, requests.RequestException, OSError) as exc:
            self._remove_now(cid)
            raise LaunchError(f"cannot start the container: {one_line(exc)}") from None
        return cid, conn

    def _remove_late_start(self, job: asyncio.Future[Any]) -> None:
        if job.cancelled() or job.exception() is not None:
            return
        cid, conn = job.result()
        conn.close()
        self.discard(cid)

    def _remove_now(self, cid: str) -> None:
        try:
            self.api.remove_container(cid, force=True)
        except (NotFound, requests.RequestException):
            pass
        except DockerException as exc:  # e.g. "removal already in progress"
            if "in progress" not in str(exc):
                raise

    def stop_now(self, cid: str, grace: float) -> None:
        """SIGTERM, SIGKILL after ``grace`` seconds, then remove (blocking)."""
        try:
            self.api.stop(cid, timeout=max(0, math.ceil(grace)))
        except (NotFound, requests.RequestException):
            pass
        except DockerException:
            pass  # the removal below kills it anyway
        self._remove_now(cid)

    def discard(self, cid: str) -> None:
        """Remove an ended container in the background; ``close`` waits for it."""
        job = asyncio.ensure_future(self.blocking(self._remove_now, cid))
        self._removals.add(job)
        job.add_done_callback(self._removals.discard)
        job.add_done_callback(lambda f: f.cancelled() or f.exception())

    # -- tasks ------------------------------------------------------------------------------

    async def launch(self, spec: TaskSpec) -> TaskProcess:
        image = await self.images.image_for(spec)
        if spec.node.warm:
            return await self.warm.launch(spec, image)
        cid, conn = await self.create(self.config(spec, image, list(spec.argv)))
        task = ContainerTask(self, cid, conn)
        task.stream.send(spec.start_line, eof=True)
        return task

    async def close(self) -> None:
        """Every container of the runs this executor served is gone when this returns."""
        while self._launching:
            await asyncio.gather(*list(self._launching), return_exceptions=True)
            await asyncio.sleep(0)  # let the late-start callbacks schedule their removals
        await self.warm.close()
        while self._removals:
            await asyncio.gather(*list(self._removals), return_exceptions=True)
        runs, self._runs = self._runs, set()
        for run in runs:
            await self.blocking(self._sweep, run)
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    def _sweep(self, run: str) -> None:
        try:
            for found in self.api.containers(all=True, filters={"label": f"weft.run={run}"}):
                self._remove_now(found["Id"])
        except (DockerException, requests.RequestException):
            pass  # the engine went away: there is nothing left to remove either


def task_workdir(workdir: str | None) -> str:
    """The task's working directory in the container: ``/workflow``, or ``workdir`` relative to it."""
    if not workdir:
        return WORKFLOW
    return posixpath.normpath(posixpath.join(WORKFLOW, workdir))


def _task_user(client: Any) -> str | None:
    """Run tasks as the host user (files in the workspace stay theirs), where that means something."""
    if not hasattr(os, "getuid") or os.getuid() == 0:
        return None
    try:
        options = client.info().get("SecurityOptions") or []
    except (DockerException, requests.RequestException):
        options = []
    if any("rootless" in str(option) for option in options):
        return None  # container root is the host user already; another uid could not write
    return f"{os.getuid()}:{os.getgid()}"


# -- one task, one container ----------------------------------------------------------------

class ContainerTask(TaskProcess):
    """A task in a fresh container: lines from its attached stdout/stderr until it ends."""

    def __init__(self, executor: DockerExecutor, cid: str, conn: Any) -> None:
        self.executor = executor
        self.cid = cid
        self._sink: LineSink | None = None
        self._early: list[tuple[str, bytes]] = []
        self._splitters = {stream: LineSplitter(name, self._deliver) for stream, name in STREAM_NAMES.items()}
        self._first_stderr = True
        self._exec_failed: tuple[str, str] | None = None
        self._ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._ended.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._gone = False
        self.stream = AttachedStream(conn, self._frame, self._end)

    def _frame(self, stream: int, payload: bytes) -> None:
        splitter = self._splitters.get(stream)
        if splitter is not None:
            splitter.feed(payload)

    def _deliver(self, name: str, line: bytes) -> None:
        if name == "stderr" and self._first_stderr:
            self._first_stderr = False
            failed = _EXEC_FAILED.match(line)
            if failed:
                self._exec_failed = (failed.group(1).decode(errors="replace"), failed.group(2).decode(errors="replace"))
        if self._sink is None:
            self._early.append((name, line))
        else:
            self._sink(name, line)

    def _end(self, exc: BaseException | None) -> None:
        if exc is None or isinstance(exc, OSError):  # end of stream (a broken connection ends it too)
            try:
                for splitter in self._splitters.values():
                    splitter.flush()
            except BaseException as raised:  # noqa: BLE001 - the sink's, re-raised by pump()
                exc = raised
            else:
                exc = None
        if not self._ended.done():
            if exc is None:
                self._ended.set_result(None)
            else:
                self._ended.set_exception(exc)

    async def pump(self, sink: LineSink) -> None:
        self._sink = sink
        early, self._early = self._early, []
        for name, line in early:
            sink(name, line)
        await asyncio.shield(self._ended)

    async def wait(self) -> int:
        try:
            await asyncio.shield(self._ended)
        except Exception:  # noqa: BLE001 - pump() reported it; the exit code is still wanted
            pass
        try:
            status = (await self.executor.blocking(self.executor.api.wait, self.cid))["StatusCode"]
        except (DockerException, requests.RequestException) as exc:
            await self.stop(0)
            raise LaunchError(f"lost the task's container: {one_line(exc)}") from None
        self._release()
        if self._exec_failed is not None and status in (126, 127):
            command, why = self._exec_failed
            if status == 127:
                raise LaunchError(f"command not found: {command}")
            raise LaunchError(f"command not executable: {command}")
        return exit_code(status)

    def _release(self) -> None:
        if not self._gone:
            self._gone = True
            self.stream.close()
            self.executor.discard(self.cid)

    async def stop(self, grace: float = 2.0) -> None:
        if self._gone:
            return
        self._gone = True
        self.stream.close()
        await self.executor.blocking(self.executor.stop_now, self.cid, grace)
