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
  and a task cannot change the workflow it is part of. The Weft home (the run database, every
  run's workspace) is never visible: inside the folder it is covered by an empty read-only
  tmpfs; a workflow folder that is the home or in a run's workspace is refused (``hidden_home``).
- ``/opt/weft-libraries/NAME`` is a library folder, read-only, mounted when the task's argv
  names a script in it (``operator: weft:read``): the argv word is rewritten to that path.
- ``/opt/weft`` holds the ``weft_task`` helper, read-only, on ``PYTHONPATH``: images need no
  Weft installed.
- No network unless ``network: true``; every capability dropped, ``no-new-privileges``, never
  privileged. Nothing a task leaves is a way to root on the host (``task_user``, ``user_for``):
  it runs as the user running Weft, or as nobody when that is root (a file it leaves setuid
  then grants nothing); as container root on a rootless engine, where that *is* the user
  running the engine; and as container root for a workflow folder closed to other users
  (nobody could not read it), with its workspace closed to others and rid of setuid/setgid
  bits whenever a task ends (``ClearsPrivilegedBits``).
- Limits on memory and processes even when the node sets none (``effective_limits``): a
  runaway task or a fork bomb ends in its container, not on the host.
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
import stat
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import requests
from docker.errors import DockerException, ImageNotFound, NotFound

from engine.errors import EngineUnavailable, InvalidInput, LaunchError
from engine.executors.base import HELPER_DIR, Executor, LineSink, TaskProcess, TaskSpec
from engine.executors.docker_container import EXEC_FAILED, HELPER, WORKFLOW, WORKSPACE, exit_code, task_workdir
from engine.executors.docker_images import (
    BASE_IMAGE_ARG,
    Images,
    build_dir,
    check_build,
    content_hash,
    library_tags,
    one_line,
)
from engine.executors.docker_stream import STREAM_NAMES, AttachedStream, LineSplitter, detach_socket
from engine.executors.docker_warm import WarmPool
from engine.workflow.libraries import LibraryImage
from engine.workflow.model import ResolvedNode, memory_bytes

#: Memory a container may use unless its node's ``resources.memory`` says otherwise: fixed, not a
#: share of this machine, so a workflow gets the same limit wherever it runs; ample for ordinary
#: tasks, and a leaking one is killed long before it takes the host's memory.
DEFAULT_MEMORY = 2 * 1024**3
#: Processes and threads a container may have unless ``resources.pids`` says otherwise: far more
#: than a parallel build or a thread pool needs, far fewer than it takes to starve the host.
DEFAULT_PIDS = 1024
NOBODY_ID = 65534
NOBODY = f"{NOBODY_ID}:{NOBODY_ID}"
ROOT = "0:0"
HIDE = "ro,nosuid,nodev,noexec"  # tmpfs options for what must look empty under /workflow
ATTACH = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
THREADS = 32  # SDK calls at once; the HTTP connection pool is as large
API_TIMEOUT = 600  # seconds an SDK call may wait for the engine (builds can be slow and quiet)


# -- the engine -----------------------------------------------------------------------------


def connect(timeout: float = 10) -> Any:
    """A client of a Docker engine that answers, or ``EngineUnavailable`` (exit 2) saying what to do."""
    where = engine_address()
    try:
        client = docker.from_env(timeout=timeout, max_pool_size=THREADS)
        client.ping()
    except (DockerException, requests.RequestException, OSError) as exc:
        raise EngineUnavailable(
            f"cannot reach a Docker engine at {where} ({unreachable_reason(exc)}): "
            "start Docker or run with --executor local"
        ) from None
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


# -- the executor ---------------------------------------------------------------------------


class DockerExecutor(Executor):
    name = "docker"

    def __init__(self, client: Any | None = None, default_image: str | None = None) -> None:
        self.client = client if client is not None else connect()
        self.api = self.client.api
        self.images = Images(self.client, self.blocking, default_image)
        self.user = task_user(self.client)
        self._user_by_folder: dict[Path, str | None] = {}  # user_for, asked three times a task
        self._pool: ThreadPoolExecutor | None = None
        self._launching: set[asyncio.Future[Any]] = set()
        self._removals: set[asyncio.Future[Any]] = set()
        self._runs: set[str] = set()
        self.warm = WarmPool(self)

    # -- plumbing ---------------------------------------------------------------------------

    async def blocking(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a blocking SDK call in the executor's thread pool."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="weft-docker")
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def task_workspace(self, host_workspace: Path, node: ResolvedNode | None = None) -> str:
        return WORKSPACE

    def image_identity(
        self, node: ResolvedNode, folder: Path, image: str | None, library: LibraryImage | None = None
    ) -> str | None:
        """The content hash of the node's ``build:`` folder (and of the image it extends, by
        name), or the id the engine gives its image: a tag moved to another image is another key.
        A library image is its tag, which hashes its folder and every parent's."""
        base = image or self.images.default
        if library is not None:
            base = library_tags(library, self.images.default)[library.ref][0]
            if build_dir(node, folder) is None:
                return "library:" + base
        directory = build_dir(node, folder)
        if directory is not None:
            problem = check_build(node, folder)
            if problem is not None:
                raise LaunchError(problem)
            return "build:" + content_hash(directory, {BASE_IMAGE_ARG: base})
        try:
            return str(self.api.inspect_image(base)["Id"])
        except ImageNotFound:
            raise LaunchError(f"image '{base}' is not on this machine yet") from None
        except (DockerException, requests.RequestException) as exc:
            raise LaunchError(f"cannot look up image {base}: {one_line(exc)}") from None

    def check(self, node: ResolvedNode, folder: Path) -> None:
        problem = check_build(node, folder)
        if problem is not None:
            raise InvalidInput(f"node '{node.id}': {problem}")

    # -- containers -------------------------------------------------------------------------

    def config(
        self,
        spec: TaskSpec,
        image: str,
        command: list[str],
        *,
        warm: bool = False,
        labels: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """``create_container`` arguments for ``spec``: mounts, limits, isolation, env, labels."""
        node = spec.node
        folder = (spec.folder or spec.cwd).resolve()
        binds = {
            str(spec.workspace.resolve()): {"bind": WORKSPACE, "mode": "rw"},
            str(folder): {"bind": WORKFLOW, "mode": "ro"},
            str(HELPER_DIR): {"bind": HELPER, "mode": "ro"},
        }
        tmpfs: dict[str, str] = {}
        command, library_binds = library_argv(command, spec.cwd, folder, spec.libraries)
        binds.update(library_binds)
        home = hidden_home(folder, spec.home, spec.workspace.resolve().parent)
        if home is not None:
            tmpfs[home] = HIDE
        extra: dict[str, Any] = {}
        if warm:  # nothing a task writes outside /workspace may outlive it (see docker_warm)
            extra["read_only"] = True
            tmpfs["/tmp"] = "rw,nosuid,nodev,mode=1777"
        try:
            limits = host_limits(node.resources)
        except ValueError as exc:
            raise LaunchError(f"resources: {exc}") from None
        host_config = self.api.create_host_config(
            binds=binds,
            tmpfs=tmpfs or None,
            network_mode=None if node.network else "none",
            privileged=False,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            init=True,
            log_config={"Type": "none", "Config": {}},  # every line is in the run's log already
            **limits,
            **extra,
        )
        return {
            "image": image,
            "command": command,
            "stdin_open": True,
            "tty": False,
            "environment": self.task_env(spec),
            "working_dir": task_workdir(node.workdir),
            "user": self.user_for(spec),
            "labels": labels if labels is not None else dict(spec.labels),
            "host_config": host_config,
        }

    def task_env(self, spec: TaskSpec) -> dict[str, str]:
        """The node's ``env`` and Weft's variables; never the host's environment."""
        env = dict(spec.node.env)
        for key in ("WEFT_WORKSPACE", "WEFT_RUN", "WEFT_NODE"):
            env[key] = spec.env[key]
        env["PYTHONPATH"] = ":".join(filter(None, [HELPER, spec.node.env.get("PYTHONPATH")]))
        if self.user_for(spec) not in (None, ROOT):
            env.setdefault("HOME", "/tmp")  # the image knows no such user, or gives nobody no home
        return env

    def user_for(self, spec: TaskSpec) -> str | None:
        """``self.user``, except where nobody could not even read the workflow's folder.

        Weft running as root has its tasks run as nobody. A folder closed to other users (mode
        0700, as a private project or a test's temporary folder is) would leave nobody unable
        to read the task's own scripts; tasks of such a workflow run as container root instead,
        with no capabilities, and their workspace is made harmless another way: closed to every
        other user of the host while they run, and rid of setuid/setgid bits when they end
        (``ClearsPrivilegedBits``), so a file they leave there grants nothing.
        """
        folder = spec.folder or spec.cwd
        if folder not in self._user_by_folder:
            closed = self.user == NOBODY and not _open_to_others(folder.resolve())
            self._user_by_folder[folder] = ROOT if closed else self.user
        return self._user_by_folder[folder]

    def share_workspace(self, workspace: Path, user: str | None) -> None:
        """Let tasks running as nobody (Weft runs as root) write the run's workspace; close it to
        every other user while tasks run as container root (see ``user_for``).

        The workspace folder itself is handed to nobody, once; what tasks write in it is
        nobody's too, which root can still read and remove. Folders a root process (a local
        task) made inside it stay root's, and closed to containers.
        """
        try:
            if user == NOBODY and workspace.stat().st_uid != NOBODY_ID:
                os.chown(workspace, NOBODY_ID, NOBODY_ID)
            elif user == ROOT and hasattr(os, "getuid") and workspace.stat().st_mode & 0o077:
                os.chmod(workspace, 0o700)
        except OSError as exc:
            raise LaunchError(
                f"cannot prepare the workspace {workspace} for tasks (user {user}): {exc.strerror or exc}"
            ) from None

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
        user = self.user_for(spec)
        self.share_workspace(spec.workspace, user)
        task: TaskProcess
        if spec.node.warm:
            task = await self.warm.launch(spec, image)
        else:
            cid, conn = await self.create(self.config(spec, image, list(spec.argv)))
            task = ContainerTask(self, cid, conn)
            task.stream.send(spec.start_line, eof=True)
        if user == ROOT and hasattr(os, "getuid"):
            return ClearsPrivilegedBits(task, spec.workspace, self.blocking)
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

    async def sweep(self, run: str) -> None:
        await self.blocking(self._sweep, run)

    def _sweep(self, run: str) -> None:
        try:
            for found in self.api.containers(all=True, filters={"label": f"weft.run={run}"}):
                self._remove_now(found["Id"])
        except (DockerException, requests.RequestException):
            pass  # the engine went away: there is nothing left to remove either


def task_user(client: Any) -> str | None:
    """The ``uid:gid`` tasks run as: never one that is host root.

    Container root on a rootful engine is host root: a file it left setuid in the workspace
    would be a way to root on the host. So tasks run as the user running Weft, whose files in
    the workspace then stay theirs; as nobody when that user is root; and as container root
    on a rootless engine only, where container root *is* the user running the engine (any other
    uid maps to a subordinate id that could neither write the workspace nor be cleaned up by
    that user). On a host without POSIX ids (Windows) the image's user: its folders keep no
    setuid bits.
    """
    if not hasattr(os, "getuid"):
        return None
    if _rootless(client):
        return ROOT
    if os.getuid() == 0:
        return NOBODY
    return f"{os.getuid()}:{os.getgid()}"


LIBRARIES = "/opt/weft-libraries"


def library_argv(
    argv: list[str], cwd: Path, folder: Path, libraries: Mapping[str, Path]
) -> tuple[list[str], dict[str, dict[str, str]]]:
    """``argv`` as a container runs it, and the library folders to mount for it.

    A library operator's script is written relative to the workflow's folder, but lies in its
    library (``../lib/ops/x.py``), which the container does not see at ``/workflow``: such a
    word becomes ``/opt/weft-libraries/NAME/ops/x.py`` and that library is mounted read-only."""
    out: list[str] = []
    binds: dict[str, dict[str, str]] = {}
    for word in argv:
        real = Path(os.path.realpath(cwd / word)) if "/" in word and not os.path.isabs(word) else None
        if real is None or real.is_relative_to(folder) or not real.exists():
            out.append(word)
            continue
        for name, library in libraries.items():
            if real.is_relative_to(library):
                out.append(posixpath.join(LIBRARIES, name, real.relative_to(library).as_posix()))
                binds[str(library)] = {"bind": posixpath.join(LIBRARIES, name), "mode": "ro"}
                break
        else:
            out.append(word)
    return out, binds


def _open_to_others(folder: Path) -> bool:
    """Can a user who is neither its owner nor in its group read and enter ``folder``?"""
    try:
        return folder.stat().st_mode & 0o005 == 0o005
    except OSError:
        return False


def clear_privileged_bits(workspace: Path) -> list[str]:
    """Remove setuid and setgid bits from everything in ``workspace`` (symlinks not followed);
    the paths changed, relative to it."""
    cleared: list[str] = []
    for folder, dirs, files in os.walk(workspace):
        for name in dirs + files:
            path = os.path.join(folder, name)
            try:
                mode = os.lstat(path).st_mode
                if stat.S_ISLNK(mode) or not mode & (stat.S_ISUID | stat.S_ISGID):
                    continue
                os.chmod(path, stat.S_IMODE(mode) & ~(stat.S_ISUID | stat.S_ISGID))
            except OSError:
                continue
            cleared.append(os.path.relpath(path, workspace))
    return cleared


class ClearsPrivilegedBits(TaskProcess):
    """A task running as container root: when it has ended, no file it left in the workspace
    keeps a setuid or setgid bit (which, owned by root, would be a way to root on the host)."""

    def __init__(self, task: TaskProcess, workspace: Path, blocking: Callable[..., Any]) -> None:
        self.task = task
        self.workspace = workspace
        self.blocking = blocking

    async def pump(self, sink: LineSink) -> None:
        await self.task.pump(sink)

    async def wait(self) -> int:
        try:
            return await self.task.wait()
        finally:
            await asyncio.shield(self.blocking(clear_privileged_bits, self.workspace))

    async def stop(self, grace: float = 2.0) -> None:
        try:
            await self.task.stop(grace)
        finally:
            await asyncio.shield(self.blocking(clear_privileged_bits, self.workspace))


def _rootless(client: Any) -> bool:
    try:
        options = client.info().get("SecurityOptions") or []
    except (DockerException, requests.RequestException):
        options = []
    return any("rootless" in str(option) for option in options)


def hidden_home(folder: Path, home: Path | None, runs: Path) -> str | None:
    """Where the Weft home shows under ``/workflow``, to be covered with an empty tmpfs; else None.

    ``folder`` is the workflow's (resolved), ``runs`` the folder of every run's workspace. The
    home holds the run database and those workspaces: a task must see neither, even when a
    user keeps the home beside their workflows. When the workflow's folder is the home, or in
    a run's workspace (a workflow file a run wrote), no cover could leave the task its scripts
    and hide the rest: that is refused, saying what to do. A folder elsewhere in the home (a
    home of ``~``, a workflow in ``~/project``) holds neither, and is mounted as usual.
    """
    if home is None:
        return None
    home = home.resolve()
    if folder == home or folder == runs or runs in folder.parents:
        raise LaunchError(
            f"the workflow's folder {folder} is inside the Weft home {home}, which a container "
            "must not see: keep the workflow outside it, or run this node with executor: local"
        )
    if folder in home.parents:
        return posixpath.join(WORKFLOW, home.relative_to(folder).as_posix())
    return None


# -- limits ---------------------------------------------------------------------------------


def effective_limits(resources: dict[str, Any] | None) -> dict[str, Any]:
    """What a node's container may use: ``{"memory": bytes, "pids": n, "cpus": float or None}``.

    The node's ``resources`` with the defaults applied; the one answer both to "what is this
    container created with" and to "is a node a task creates within its creator's limits".
    """
    resources = resources or {}
    memory, pids, cpus = resources.get("memory"), resources.get("pids"), resources.get("cpus")
    return {
        "memory": memory_bytes(memory) if memory else DEFAULT_MEMORY,
        "pids": int(pids) if pids else DEFAULT_PIDS,
        "cpus": float(cpus) if cpus else None,
    }


def host_limits(resources: dict[str, Any] | None) -> dict[str, Any]:
    """``create_host_config`` arguments for a node's limits (no swap beyond its memory)."""
    limits = effective_limits(resources)
    out = {"mem_limit": limits["memory"], "memswap_limit": limits["memory"], "pids_limit": limits["pids"]}
    if limits["cpus"] is not None:
        out["nano_cpus"] = int(round(limits["cpus"] * 1e9))
    return out


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
            failed = EXEC_FAILED.match(line)
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
