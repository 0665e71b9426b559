"""Tasks on a Ray cluster: the engine stays here, each task's process runs on a Ray node.

A task is one Ray streaming generator (``engine.executors.ray_remote.task``) that starts the
task's process on its node, writes the start line to its stdin and yields its output as it
comes; here the chunks are cut into lines (``engine.executors.lines``) and go to the same
protocol handling as a local task's. Ray never retries a task itself (``max_retries=0``): the
run's ``retries`` decide.

Stopping (stop, a timeout, Ctrl+C, a broken promise) signals the task's process group on its
node with a small task pinned there (node affinity, no CPU): SIGTERM, then SIGKILL after the
grace time. A soft ``ray.cancel`` never interrupts a task blocked waiting for its process;
``ray.cancel(force=True)`` (it kills the Ray worker, and the task's process dies with it) is
the last resort.

A node that names an ``image`` (or ``build``) runs its container with Docker on the Ray node its
task lands on (``ray_container`` plans it here, ``ray_remote_docker`` runs it there with the
``docker`` command): the same start line in, the same chunks out. Stopping it removes the
container by its labels on that node; a guard there removes it if the Ray worker dies.

Faults: the node running a task dies -> ``TaskLost`` (that attempt fails, a retry may run
elsewhere); the cluster itself does not answer -> ``ExecutorGone`` (the run stops where it
is, `interrupted`, and `weft resume` continues it). See docs/ray.md.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from pathlib import Path
from typing import Any

from engine.errors import EngineUnavailable, ExecutorGone, InvalidInput, LaunchError, TaskLost, WeftError
from engine.executors import ray_container, ray_remote, ray_remote_docker
from engine.executors.base import HELPER_DIR, Executor, LineSink, TaskProcess, TaskSpec
from engine.executors.docker_container import EXEC_FAILED, WORKSPACE
from engine.executors.lines import LineSplitter
from engine.workflow.libraries import LibraryImage
from engine.workflow.model import ResolvedNode, memory_bytes

INSTALL_HINT = "the ray executor needs Ray: pip install 'weft[ray]' (or pip install 'ray>=2.9')"
SIGNAL_WAIT = 5.0  # seconds a signal to a task's node may take to arrive
CLUSTER_WAIT = 6.0  # seconds the cluster may take to say which nodes are alive
_NO_DOCKER = "node '{node}' names an image, but no Ray node reaches a Docker engine ({why})"
WATCH_EVERY = 2.0  # seconds between two looks at the cluster while tasks run


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise EngineUnavailable(INSTALL_HINT) from None
    return ray


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, address: str | None = None, workspace: str | None = None) -> None:
        self.ray = _import_ray()
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.workspace = workspace
        self._connected = False
        self._started_here = False
        self._helper = (str(HELPER_DIR), (HELPER_DIR / "weft_task.py").read_bytes())
        self._task: Any = None
        self._signal: Any = None
        self._sweep: Any = None
        self._container: Any = None
        self._end_containers: Any = None
        self._sweep_containers: Any = None
        self._probe: Any = None
        self._docker_nodes: dict[str, str | None] | None = None  # node address -> why it has no Docker
        self._container_runs: set[str] = set()
        #: the cluster vanished: every task fails with this, nothing more is tried
        self.gone: ExecutorGone | None = None
        self._live: set[RayProcess] = set()
        self._watch: asyncio.Task[None] | None = None

    # -- the cluster --------------------------------------------------------------------------

    def connect(self) -> None:
        """Join the cluster (or start a local Ray for this run); blocking, once."""
        if self._connected:
            return
        ray = self.ray
        _quiet_driver()
        if not ray.is_initialized():
            try:
                ray.init(
                    # "local": a Ray of its own, never one someone else started on this machine
                    address=self.address or "local",
                    namespace="weft",
                    logging_level="ERROR",
                    log_to_driver=False,
                    include_dashboard=False,
                    configure_logging=False,
                )
            except Exception as exc:  # noqa: BLE001 - Ray raises many kinds; one line says what
                where = f"at {self.address}" if self.address else "(a local one could not start)"
                raise EngineUnavailable(f"no Ray cluster {where}: {_first_line(exc)}") from None
            self._started_here = True
        from ray import cloudpickle

        # ship the node side by value: the cluster's nodes need Ray, not Weft
        cloudpickle.register_pickle_by_value(ray_remote)
        cloudpickle.register_pickle_by_value(ray_remote_docker)
        self._task = ray.remote(num_returns="streaming", max_retries=0)(ray_remote.task)
        self._signal = ray.remote(num_cpus=0, max_retries=0)(ray_remote.signal_group)
        self._sweep = ray.remote(num_cpus=0, max_retries=0)(ray_remote.sweep)
        self._container = ray.remote(num_returns="streaming", max_retries=0)(ray_remote_docker.container_task)
        self._end_containers = ray.remote(num_cpus=0, max_retries=0)(ray_remote_docker.end_containers)
        self._sweep_containers = ray.remote(num_cpus=0, max_retries=0)(ray_remote_docker.sweep_containers)
        self._probe = ray.remote(num_cpus=0, max_retries=0)(ray_remote_docker.probe)
        self._connected = True

    def _on(self, node_id: str) -> Any:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        return NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)

    async def alive_nodes(self) -> dict[str, str] | None:
        """Alive nodes' ids -> addresses; None when the cluster does not answer.

        Asked in a daemon thread of its own: without its cluster a Ray driver blocks until Ray
        gives up (a minute, and then it ends the process); nothing may wait for that thread."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Any] = loop.create_future()

        def ask() -> None:
            try:
                result: Any = self.ray.nodes()
            except Exception as exc:  # noqa: BLE001 - handed over
                result = exc
            loop.call_soon_threadsafe(_settle, answer, result)

        threading.Thread(target=ask, name="weft:ray-nodes", daemon=True).start()
        try:
            nodes = await asyncio.wait_for(answer, CLUSTER_WAIT)
        except TimeoutError:
            return None
        if isinstance(nodes, Exception):
            return None
        return {n["NodeID"]: n["NodeManagerAddress"] for n in nodes if n.get("Alive")}

    def _watch_cluster(self, proc: RayProcess) -> None:
        """Look at the cluster while tasks run: a Ray driver does not notice on its own, for a
        minute, that its cluster is gone, and then ends the whole process."""
        self._live.add(proc)
        if self._watch is None or self._watch.done():
            self._watch = asyncio.get_running_loop().create_task(self._watching(), name="weft:ray-watch")

    async def _watching(self) -> None:
        while self._live:
            await asyncio.sleep(WATCH_EVERY)
            if self._live and await self.alive_nodes() is None:
                self.gone = ExecutorGone(f"the Ray cluster{self._at()} does not answer")
                for proc in list(self._live):
                    proc.fail(self.gone)
                return

    async def explain(self, exc: BaseException, where: tuple[str, str, int] | None) -> WeftError:
        """What a Ray error while a task ran means: its node died, or the cluster is gone."""
        alive = await self.alive_nodes()
        if alive is None:
            return ExecutorGone(f"the Ray cluster{self._at()} does not answer ({type(exc).__name__})")
        node = f"the Ray node {where[0]}" if where else "the Ray node"
        if isinstance(exc, self.ray.exceptions.NodeDiedError) or (where is not None and where[1] not in alive):
            return TaskLost(f"{node} running it died")
        if isinstance(exc, self.ray.exceptions.WorkerCrashedError):
            return TaskLost(f"the Ray worker running it on {node.removeprefix('the ')} died")
        return TaskLost(f"lost on {node.removeprefix('the ')}: {_first_line(exc)}")

    def _at(self) -> str:
        return f" at {self.address}" if self.address else ""

    # -- the executor -------------------------------------------------------------------------

    def task_workspace(self, host_workspace: Path, node: ResolvedNode | None = None) -> str:
        if node is not None and ray_container.in_container(node):
            return WORKSPACE
        return self.node_workspace(host_workspace)

    def node_workspace(self, host_workspace: Path) -> str:
        """Where the Ray nodes see the run's workspace: ``settings.ray.workspace/RUN``, else here's path."""
        if self.workspace:
            return str(Path(self.workspace) / host_workspace.name)
        return str(host_workspace)

    def check(self, node: ResolvedNode, folder: Path) -> None:
        self.connect()
        if ray_container.in_container(node):
            problem = ray_container.refusal(node, folder, library_image=False)
            if problem is not None:
                raise InvalidInput(problem)
            nodes = self.docker_nodes()
            if nodes and all(why is not None for why in nodes.values()):
                whys = "; ".join(f"{ip}: {why}" for ip, why in sorted(nodes.items()))
                raise EngineUnavailable(_NO_DOCKER.format(node=node.id, why=whys))

    def docker_nodes(self) -> dict[str, str | None]:
        """Each alive Ray node's address -> None if it reaches a Docker engine, else why not
        (asked once, before the run: blocking)."""
        if self._docker_nodes is None:
            alive = {n["NodeID"]: n["NodeManagerAddress"] for n in self.ray.nodes() if n.get("Alive")}
            refs = {ip: self._probe.options(scheduling_strategy=self._on(nid)).remote() for nid, ip in alive.items()}
            found: dict[str, str | None] = {}
            for ip, ref in refs.items():
                try:
                    found[ip] = self.ray.get(ref, timeout=CLUSTER_WAIT + SIGNAL_WAIT)
                except Exception as exc:  # noqa: BLE001 - that node does not answer in time
                    found[ip] = f"no answer ({type(exc).__name__})"
            self._docker_nodes = found
        return self._docker_nodes

    def image_identity(
        self, node: ResolvedNode, folder: Path, image: str | None, library: LibraryImage | None = None
    ) -> str | None:
        if not ray_container.in_container(node):
            return None
        return ray_container.image_identity(node, folder, image)

    def options(self, node: ResolvedNode) -> dict[str, Any]:
        """The node's ``resources`` as Ray's: CPUs (default 1), memory, GPUs, custom ones."""
        res = node.resources
        opts: dict[str, Any] = {"num_cpus": res.get("cpus", 1)}
        if res.get("memory"):
            opts["memory"] = memory_bytes(res["memory"])
        if res.get("gpus"):
            opts["num_gpus"] = res["gpus"]
        if res.get("custom"):
            opts["resources"] = dict(res["custom"])
        return opts

    async def launch(self, spec: TaskSpec) -> TaskProcess:
        if self.gone is not None:
            raise self.gone
        self.connect()
        labels: dict[str, str] | None = None
        try:
            if ray_container.in_container(spec.node):
                plan = await asyncio.to_thread(ray_container.plan, spec, self.node_workspace(spec.workspace))
                labels = plan["labels"]
                self._container_runs.add(spec.run)
                gen = self._container.options(**self.options(spec.node)).remote(plan, spec.start_line, self._helper)
            else:
                gen = self._task.options(**self.options(spec.node)).remote(
                    list(spec.argv), str(spec.cwd), dict(spec.env), spec.start_line, self._helper
                )
        except WeftError:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. the cluster is gone
            raise await self.explain(exc, None) from None
        proc = RayProcess(self, gen, labels)
        self._watch_cluster(proc)
        return proc

    async def signal(self, node_id: str, pid: int, sig: signal.Signals) -> None:
        try:
            ref = self._signal.options(scheduling_strategy=self._on(node_id)).remote(pid, int(sig))
            await asyncio.wait_for(ref, SIGNAL_WAIT)
        except Exception:  # noqa: BLE001 - its node is gone, or slow: the caller escalates
            pass

    async def end_containers(self, node_id: str, labels: dict[str, str], grace: float) -> None:
        """Stop and remove the containers carrying ``labels`` on Ray node ``node_id``."""
        try:
            ref = self._end_containers.options(scheduling_strategy=self._on(node_id)).remote(labels, grace)
            await asyncio.wait_for(ref, grace + SIGNAL_WAIT)
        except Exception:  # noqa: BLE001 - its node is gone, or slow: the caller escalates
            pass

    async def everywhere(self, remote: Any, *args: Any) -> None:
        """Run ``remote`` once on every alive node, waiting a little for each."""
        alive = await self.alive_nodes() or {}
        refs = [remote.options(scheduling_strategy=self._on(n)).remote(*args) for n in alive]
        if refs:
            await asyncio.wait([asyncio.ensure_future(asyncio.wait_for(r, SIGNAL_WAIT * 2)) for r in refs])

    async def sweep(self, run: str) -> None:
        """Kill what tasks of run ``run`` left on any alive node when its engine died: processes
        (by ``WEFT_RUN`` in their environment) and containers (by their ``weft.run`` label)."""
        try:
            self.connect()
        except EngineUnavailable:
            return  # no cluster now: none of its tasks can be running either
        await self.everywhere(self._sweep, run)
        await self.everywhere(self._sweep_containers, run)

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self.gone is not None:
            return  # nothing to tell a cluster that is not there (ray.shutdown would wait for it)
        runs, self._container_runs = self._container_runs, set()
        for run in runs:  # nothing of a run outlives it, whatever happened (as on docker)
            await self.everywhere(self._sweep_containers, run)
        if self._started_here and self.ray.is_initialized():
            await asyncio.to_thread(self.ray.shutdown)
        self._connected = self._started_here = False


class RayProcess(TaskProcess):
    def __init__(self, executor: RayExecutor, gen: Any, labels: dict[str, str] | None = None) -> None:
        self.executor = executor
        self.gen = gen
        #: a task in a container: the labels by which its node finds the container
        self.labels = labels
        self._first_stderr: bytes | None = None
        #: (node address, node id, pid) once the process runs on its node
        self.where: tuple[str, str, int] | None = None
        self.code: int | None = None
        self.queue: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()
        self.failure: WeftError | None = None
        self.reader = asyncio.get_running_loop().create_task(self._read(), name="weft:ray-reader")
        self.reader.add_done_callback(_retrieve)
        self.reader.add_done_callback(lambda _: executor._live.discard(self))

    def fail(self, failure: WeftError) -> None:
        """End this task's stream now, with ``failure`` (its cluster vanished)."""
        self.failure = failure
        self.reader.cancel()

    async def _result(self) -> None:
        try:
            await asyncio.shield(self.reader)
        except asyncio.CancelledError:
            if self.failure is not None and self.reader.cancelled():
                raise self.failure from None
            raise

    async def _read(self) -> None:
        try:
            async for ref in self.gen:
                item = await ref
                kind = item[0]
                if kind == "started":
                    self.where = (item[1], item[2], item[3])
                elif kind == "launch":
                    raise LaunchError(item[1])
                elif kind == "exit":
                    self.code = item[1]
                else:
                    self.queue.put_nowait((kind, item[1]))
        except (WeftError, asyncio.CancelledError):
            raise
        except Exception as exc:  # noqa: BLE001 - a Ray error: the node, or the cluster
            raise await self.executor.explain(exc, self.where) from None
        finally:
            self.queue.put_nowait(None)

    async def pump(self, sink: LineSink) -> None:
        if self.labels is not None:
            sink = self._watch_first_stderr(sink)
        splitters = {name: LineSplitter(name, sink) for name in ("stdout", "stderr")}
        while (item := await self.queue.get()) is not None:
            splitters[item[0]].feed(item[1])
        for splitter in splitters.values():
            splitter.flush()
        await self._result()

    async def wait(self) -> int:
        await self._result()
        if self.code is None:
            raise TaskLost("the Ray task ended without its exit code")
        failed = EXEC_FAILED.match(self._first_stderr or b"")
        if failed and self.code in (126, 127):  # the container's init could not run the command
            what = "not found" if self.code == 127 else "not executable"
            raise LaunchError(f"command {what}: {failed.group(1).decode(errors='replace')}")
        return self.code

    def _watch_first_stderr(self, sink: LineSink) -> LineSink:
        def watching(name: str, line: bytes) -> None:
            if name == "stderr" and self._first_stderr is None:
                self._first_stderr = line
            sink(name, line)

        return watching

    async def stop(self, grace: float = 2.0) -> None:
        if self.reader.done() or self.executor.gone is not None:
            return  # over, or nowhere to reach: its process died with its node's Ray
        if self.labels is not None:
            await self._stop_container(grace)
            return
        if self.where is not None:
            _, node_id, pid = self.where
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, SIGNAL_WAIT)):
                await self.executor.signal(node_id, pid, sig)
                if await _ended(self.reader, wait):
                    return
        self._force_cancel()
        if not await _ended(self.reader, SIGNAL_WAIT):
            self.reader.cancel()

    def _force_cancel(self) -> None:
        """Ray's forced cancel of the generator: the last resort once signals did not end it."""
        try:
            self.executor.ray.cancel(self.gen, force=True)
        except Exception:  # noqa: BLE001 - already over, or the cluster is gone
            pass

    async def _stop_container(self, grace: float) -> None:
        """Remove the container by its labels on its node (on every node if it is not known yet);
        ``ray.cancel(force=True)`` as the last resort (the node's guard then removes it)."""
        assert self.labels is not None
        if self.where is not None:
            await self.executor.end_containers(self.where[1], self.labels, grace)
            if await _ended(self.reader, SIGNAL_WAIT):
                return
        self._force_cancel()
        if self.where is None:  # still being created: wherever it is, it goes
            await self.executor.everywhere(self.executor._end_containers, self.labels, 0)
        if not await _ended(self.reader, SIGNAL_WAIT):
            self.reader.cancel()


async def _ended(task: asyncio.Task[None], timeout: float) -> bool:
    done, _ = await asyncio.wait([task], timeout=timeout)
    return bool(done)


def _settle(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _retrieve(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()


def _quiet_driver() -> None:
    """Keep Ray's own messages off the engine's stdout and stderr (``--json`` is read there).

    A Ray driver prints the cluster's error messages (a node died, a worker crashed) to its
    stdout from a thread ``ray.init`` starts whatever ``log_to_driver`` says; the engine says
    what such an event means for a task in that task's reason instead. Ray looks the printer
    up in its module when a message comes, so replacing it there is enough."""
    try:
        from ray._private import worker
    except ImportError:  # pragma: no cover - another Ray layout: its messages stay
        return
    worker.print_to_stdstream = _drop


def _drop(*args: Any, **kwargs: Any) -> None:
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
