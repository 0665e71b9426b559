"""One execution of a workflow: the asyncio scheduler and the run's state.

The run owns the run state (node states, outputs, attempts); the graph only knows structure.
Every state change is an event: emitted to subscribers at once and appended to the store in
batches (one transaction at most every ``FLUSH_DELAY`` seconds, and at the end of the run).
Readiness is re-evaluated only for the nodes a change can affect, so the scheduler's cost per
node does not grow with the graph.
"""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import sqlite3
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from engine import collector
from engine.errors import ExecutorGone, InvalidInput, MutationRejected, RecordingFailed, RunBroken
from engine.events import (
    AddedEdge,
    AddedNode,
    Asked,
    ControlTaken,
    Event,
    GraphChanged,
    LogLine,
    NodeState,
    NodeStateChanged,
    OutputSet,
    Progress,
    PromiseBroken,
    Recorded,
    Restarted,
    RunStarted,
    RunState,
    RunStateChanged,
    Structure,
    StyleChanged,
)
from engine.executors import make_executor
from engine.executors.base import Executor
from engine.history.fold import RunSnapshot
from engine.history.recorded import load_recorded
from engine.history.store import LEASE, Store, WriteRetry, busy_patience
from engine.languages.iterations import is_iteration
from engine.promises.graph import Mutation, RunGraph
from engine.promises.keeper import PromiseKeeper, Violation
from engine.running.attempts import Outcome, retry_delay, run_attempt
from engine.running.cache import Hit, NodeCache
from engine.running.control import check_answer, restart_sets
from engine.running.loops import LoopDriver
from engine.running.reach import confine, confined
from engine.running.readiness import Decision, Readiness
from engine.running.session import TaskSession
from engine.running.taskspec import inputs_for, task_spec
from engine.workflow.loader import Loaded, run_libraries
from engine.workflow.model import ResolvedNode
from engine.workflow.nesting import expand, in_group, rebase_created
from engine.workflow.writer import edge_data, node_data, promise_data

FLUSH_DELAY = 0.02  # seconds an event may wait to be stored; subscribers get it at once
CONTROL_POLL = 0.25  # seconds between two looks for controls asked of the run
FLUSH_EVENTS = 10_000  # events that are written at once, without waiting for FLUSH_DELAY
FINAL_PATIENCE = 10.0  # at least this many seconds for the last writes, once every task has ended
#: node states that mean the node had started (a shape region's settled part begins there)
_STARTED = frozenset({NodeState.RUNNING, NodeState.WAITING, NodeState.SUCCEEDED, NodeState.FAILED})


Listener = Callable[[Recorded], None]


def new_run_id() -> str:
    # 6 hex digits: many runs started in one second (a script, a test) still never share an id
    return time.strftime("r-%Y%m%d-%H%M%S-", time.localtime()) + secrets.token_hex(3)


class Run:
    def __init__(
        self,
        loaded: Loaded,
        store: Store,
        *,
        text: str = "",
        run_id: str | None = None,
        max_parallel: int | None = None,
        executor: str | None = None,
        executors: dict[str, Executor] | None = None,
        use_cache: bool = True,
        inputs: dict[str, Any] | None = None,
        ray_address: str | None = None,
    ) -> None:
        self.loaded = loaded
        self.inputs = inputs
        #: the workflow with every `workflow:` node expanded into its own nodes: what is registered
        self.expanded = expand(loaded, inputs)
        self.workflow = loaded.workflow
        self.store = store
        self.text = text
        self.id = run_id or new_run_id()
        settings = self.workflow.settings
        self.max_parallel = max_parallel or settings.max_parallel or os.cpu_count() or 1
        self.default_executor = executor or settings.executor or "local"
        #: the Ray cluster the command line named (``engine.executors.make_executor``)
        self.ray_address = ray_address
        self.workspace = store.workspace(self.id)
        self.graph = RunGraph(self.workflow, loaded.registry)
        self.keeper = PromiseKeeper(self.graph)
        self.keeper.state_of = self._state_of
        self.state = RunState.RUNNING
        self.node_state: dict[str, NodeState] = {}
        self.attempts: dict[str, int] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        self.broken: Violation | None = None
        self._executors = dict(executors or {})
        self._listeners: list[Listener] = []
        self._seq = 0
        self._batch: list[Recorded] = []
        self._flush_scheduled = False
        self._running: dict[str, asyncio.Task[None]] = {}
        self._dynamic_running: set[str] = set()
        self._mutated: set[str] = set()
        self._taken: set[int] = set()  # controls taken (their ControlTaken may not be stored yet)
        self._resumed_from: str | None = None  # resuming: the owner the run had (None: a new run)
        self._restart_first: list[str] = []  # resuming to restart these nodes (`weft restart`)
        self._rerun: set[str] = set()  # restarted: run again for real, never from the cache
        self._restarting = 0  # restarts waiting for their nodes' tasks to stop
        #: nodes waiting for a person's answer, with their questions: (prompt, {field: type})
        self._questions: dict[str, tuple[str, dict[str, str]]] = {}
        self._registered = False
        self.readiness = Readiness(self.graph, self._state_of, self.outputs)
        self.loops = LoopDriver(self.expanded.loops_view or self.workflow)
        self.loops.bind(self.graph, self.readiness, self._state_of, self.outputs)
        self._halt_reason: str | None = None
        self._done: asyncio.Future[RunState] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: set when the store refused writes for good: the run stops, and execute() raises it
        self.recording_failed: RecordingFailed | None = None
        self._retry: WriteRetry | None = None  # while the store refuses writes
        self._draining = False
        self._give_up_drain = False
        self._base_env = dict(os.environ)  # reading os.environ decodes every item, every time
        self.cache = NodeCache(self, use_hits=use_cache)

    # -- events -----------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, event: Event) -> Recorded:
        self._seq += 1
        rec = Recorded(self.id, self._seq, time.time(), event)
        self._batch.append(rec)
        for listener in self._listeners:
            listener(rec)
        if not self._flush_scheduled and self._loop is not None and self.recording_failed is None:
            self._flush_scheduled = True
            self._loop.call_later(FLUSH_DELAY, self.flush)
        elif len(self._batch) >= FLUSH_EVENTS and self._retry is None and self.recording_failed is None:
            self.flush()  # a burst (registering a large workflow) is written as it comes, not held
        return rec

    def flush(self) -> None:
        """Store the events not stored yet, in one transaction. A refused write loses nothing:
        the events stay queued, in order, and the write is tried again later (the loop never
        waits for the database); a write that cannot succeed stops the run (see _store_trouble)."""
        self._flush_scheduled = False
        if not self._batch or self._draining:
            return
        batch, self._batch = self._batch, []
        rows = self.cache.take()
        try:
            self.store.append(batch, rows)
        except RecordingFailed as exc:
            self._batch[:0] = batch
            self.cache.give_back(rows)
            self._store_trouble(exc)
            return
        self._retry = None

    def _store_trouble(self, exc: RecordingFailed) -> None:
        if self._loop is None or self.recording_failed is not None:
            return
        if self._retry is None:
            self._retry = WriteRetry(busy_patience())
            self._log(None, f"cannot write to the run database ({exc}); retrying", "warning")
        pause = self._retry.next_pause(exc.busy, self._loop.time())
        if pause is not None:
            self._flush_scheduled = True
            self._loop.call_later(pause, self.flush)
            return
        why = (
            f"the run database {self.store.path} stayed locked by another process for {self._retry.patience:g} s"
            if exc.busy
            else f"cannot write to the run database {self.store.path}: {exc}"
        )
        self.recording_failed = RecordingFailed(why, busy=exc.busy)
        self._halt(RunState.FAILED, f"stopped: {why}")

    async def _drain_store(self) -> None:
        """The last writes, once every task has ended: as patient with a busy database as the
        run was; if they still fail, the run ends with ``RecordingFailed`` and what was stored
        stays a gap-free prefix of the run's events."""
        self._draining = True
        loop = asyncio.get_running_loop()
        # once more, and longer: no task is waiting any more, and the record's end matters most
        retry = WriteRetry(max(busy_patience(), FINAL_PATIENCE))
        while self._batch:
            batch, self._batch = self._batch, []
            rows = self.cache.take()
            try:
                self.store.append(batch, rows)
                continue
            except RecordingFailed as exc:
                self._batch[:0] = batch
                self.cache.give_back(rows)
                last = exc
            pause = retry.next_pause(last.busy, loop.time())
            if pause is None or self._give_up_drain:
                why = self.recording_failed or last
                raise RecordingFailed(
                    f"{why}; the run was stopped and its record ends at event "
                    f"{self.store.last_seq(self.id)} of {self._seq}",
                    busy=last.busy,
                )
            await asyncio.sleep(pause)
        if self.recording_failed is not None:
            raise RecordingFailed(
                f"{self.recording_failed}; the run was stopped and recorded as failed", busy=self.recording_failed.busy
            )

    def _log(self, node: str | None, message: str, level: str = "info") -> None:
        self.emit(LogLine(node, "engine", message, level))

    def _state_of(self, node: str) -> NodeState:
        return self.node_state.get(node, NodeState.PENDING)

    def _set(
        self,
        node: str,
        state: NodeState,
        reason: str | None = None,
        exit_code: int | None = None,
        cached_from: str | None = None,
    ) -> None:
        """The one door for a node's state: the run's memory, its event, and readiness."""
        before = self.node_state.get(node)
        vetoed = False
        if state is NodeState.SUCCEEDED and self.loops.latches:  # past max_iterations: failed
            state, reason = self.loops.vet(node, reason)
            vetoed = state is NodeState.FAILED
            if self.loops.goes_round(node):  # added while the latch is still running, as a task's change
                self._loop_settled(node, state)
        self.node_state[node] = state
        self.emit(NodeStateChanged(node, state, self.attempts.get(node, 0), reason, exit_code, cached_from))
        if state.is_terminal and (before is None or not before.is_terminal):
            self.readiness.node_settled(node)
            if self.loops.latches:
                self._loop_settled(node, state)
                if vetoed and self.workflow.settings.fail_fast:
                    self._halt(RunState.FAILED, f"fail_fast: {node} failed")

    def _loop_settled(self, node: str, state: NodeState) -> None:
        """A loop's latch settled (``engine.running.loops``): its next iteration is added, or
        the loop's exits proceed."""
        step = self.loops.settled(node, state)
        if step is None:
            return
        if step.mutation is None or self.state.is_terminal:
            for target in self.readiness.release(step.held):
                self._evaluate(target)
            return
        try:
            group = step.loop.latch.rpartition("/")[0]  # a loop inside an included workflow: its nodes are its
            where = f"iteration {step.iteration + 1} of the loop at '{step.loop.entry}'"
            self._admit(step.mutation, where, scope=self.expanded.scopes.get(group) if group else None)
        except RunBroken:
            return  # the run is broken: recorded, and ended
        except MutationRejected as exc:  # a copy of the workflow's own loop: not expected
            self._log(node, f"the loop at '{step.loop.entry}' cannot go round again: {exc}", "error")
            self._halt(RunState.FAILED, f"the loop at '{step.loop.entry}' cannot go round again")
            return
        self.loops.advanced(step)
        self.readiness.drop(step.held)

    # -- running ----------------------------------------------------------------------------

    @classmethod
    def resuming(
        cls,
        store: Store,
        run_id: str,
        executors: dict[str, Executor] | None = None,
        restart: Sequence[str] = (),
    ) -> Run:
        """The run ``run_id``, rebuilt from its events (``_restore``): ``execute`` then goes on
        where its dead process stopped (an interrupted run), after restarting ``restart`` (an
        ended or interrupted run: `weft restart`). Whether the run's state allows it is the
        caller's check (``engine.running.control``)."""
        row = store.run(run_id)
        text = row.get("text") or ""
        settings = row.get("settings") or {}
        loaded = load_recorded(row, run_id)
        run = cls(
            loaded,
            store,
            text=text,
            run_id=run_id,
            max_parallel=settings.get("max_parallel"),
            executor=settings.get("executor"),
            executors=executors,
            inputs=settings.get("inputs"),
            ray_address=settings.get("ray_address"),
        )
        run._resumed_from = row.get("owner") or ""
        run._restart_first = list(restart)
        run._restore()
        return run

    def _restore(self) -> None:
        """The run as its events left it, by the one fold (``RunSnapshot``): node states,
        attempts, outputs, questions. The registration and every change of structure still in
        force then go through the graph and the keeper again (``_rebuild``)."""
        snap = RunSnapshot(self.id)
        records = list(self.store.events(self.id, skip=(LogLine, Progress, StyleChanged)))
        snap.apply_all(records)
        structure = structure_in_force(records)
        self.state = snap.state or RunState.RUNNING
        for node in snap.nodes.values():
            state = node.state or NodeState.PENDING
            self.node_state[node.id] = state
            self.attempts[node.id] = node.attempt
            if state in (NodeState.SUCCEEDED, NodeState.WAITING):
                self.outputs[node.id] = node.outputs
            if state is NodeState.WAITING and node.question is not None:
                self._questions[node.id] = (node.question["prompt"], dict(node.question["fields"]))
        self._seq = self.store.last_seq(self.id)
        if structure:
            self._rebuild(structure)

    def _rebuild(self, structure: list[tuple[int, Structure]]) -> None:
        """Graph, promise keeper and readiness anew from the changes of structure in force
        (resume; a restart, which retires some). Each is checked again as it is applied, with
        every node pending: the least a change needed when the run accepted it."""
        self.graph = RunGraph(self.workflow, self.loaded.registry)
        self.keeper = PromiseKeeper(self.graph)
        self.readiness = Readiness(self.graph, self._state_of, self.outputs)
        self.loops.bind(self.graph, self.readiness, self._state_of, self.outputs)
        self._mutated = set()

        def pending(node: str) -> NodeState:
            return NodeState.PENDING

        self.keeper.state_of = pending
        try:
            for seq, event in structure:
                if isinstance(event, GraphChanged):
                    self._reapply(seq, event, pending)
                else:
                    self._register(announce=False)
        finally:
            self.keeper.state_of = self._state_of
        for node in self.graph.nodes:
            if self._state_of(node) in _STARTED:
                self.keeper.started(node)
        self.readiness.edges_added(0)

    def _reapply(self, seq: int, event: GraphChanged, state_of: Callable[[str], NodeState]) -> None:
        creator = event.created_by
        raw: dict[str, list[Any]] = {
            "nodes": [n.spec for n in event.nodes],
            "edges": [e.spec for e in event.edges],
            "promises": list(event.promises),
        }
        where = f"event {seq} of run {self.id}"
        m, problems = self.graph.parse_mutation(creator, raw, where)
        unrolled = any(is_iteration(n.id) for n in m.nodes)  # a loop's iteration: the engine's own
        scope = self.expanded.scopes.get(creator.rpartition("/")[0]) if "/" in creator else None
        resolved, more = self.graph.check(m, state_of, where, unrolled, scope) if not problems else ({}, [])
        rebase_created(resolved, scope, self.workflow, m.nodes)
        problems += more + (self._confine(creator, m, resolved) if not problems + more and not unrolled else [])
        if problems:
            raise InvalidInput(f"run {self.id} cannot be resumed: {problems[0]}")
        self.graph.apply(m, resolved)
        self.keeper.applied(m)
        self._mutated.add(creator)

    async def execute(self) -> RunState:
        self._loop = asyncio.get_running_loop()
        self._done = self._loop.create_future()
        self.workspace.mkdir(parents=True, exist_ok=True)
        if self._resumed_from is not None:
            await self._take_over()
        else:
            path = str(self.workflow.path) if self.workflow.path else None
            self.store.create_run(self.id, self.workflow.name, path, self.text, self._settings(), time.time())
            self._register(announce=True)
        if any(r.cache for r in self.graph.resolved.values()):
            await self.cache.prepare()
        for node in self.graph.nodes:
            self._evaluate(node)
        self._schedule()
        self._maybe_finish()
        thaw = collector.keep_long_lived()  # full collections stop walking the registered graph
        tending = self._loop.create_task(self._tend(), name="weft:tend")
        try:
            return await self._done
        finally:
            tending.cancel()
            try:
                for executor in self._executors.values():
                    await executor.close()
                await self._drain_store()
            finally:
                thaw()

    def _register(self, announce: bool) -> None:
        """The workflow's own nodes, edges and promises as the run's first change (its first
        event when ``announce``; resuming, that event is in the log already)."""
        ex = self.expanded
        registration = Mutation(None, list(ex.nodes), list(ex.edges), list(ex.promises))
        self.graph.apply(registration, ex.resolved)
        self.keeper.register(registration.promises)
        if announce:
            self._announce(registration)
        self._registered = True

    async def _take_over(self) -> None:
        """Resume: claim the run, remove what its dead process left (tasks, containers), and
        give each node that was running a new attempt. An attempt that had already changed the
        graph is restarted: what it created is retired, so the new attempt may create it again
        and promises see one consistent graph. Waiting nodes go on waiting. Then the restart
        asked for (`weft restart`), and the controls asked while the run had no process."""
        self.store.claim(self.id, self._resumed_from or None)
        names = {r.executor or self.default_executor for r in self.graph.resolved.values()}
        for name in sorted(names):
            try:
                await self.executor_for_name(name).sweep(self.id)
            except InvalidInput:
                pass  # no Docker engine now: none of its containers can be running either
        if not self._registered:  # it died before its first event was stored: it starts afresh
            self.state = RunState.RUNNING
            self._register(announce=True)
            return
        if not self.state.is_terminal:  # recorded as going on: its process died
            was, self.state = self.state, RunState.RUNNING
            self.emit(RunStateChanged(RunState.RUNNING, f"resumed after an interruption (it was {was.value})"))
            redo = []
            for node, state in list(self.node_state.items()):
                if state is NodeState.RUNNING:
                    if node in self._mutated:
                        redo.append(node)
                    else:
                        self._set(node, NodeState.PENDING, "interrupted: attempted again")
            if redo:
                self.restart(redo, "interrupted after it changed the graph: what it created is retired, it runs again")
        if self._restart_first:
            self.restart(self._restart_first, "restarted by `weft restart`")
        self._take_controls()  # asked while it had no process (`weft pause|stop|answer`): before any start

    def restart(self, named: Sequence[str], reason: str) -> None:
        """Restart ``named`` (none of whose tasks, or their creations', may be running): they
        and everything downstream go back to pending, what their earlier attempts created is
        retired, and the run goes on. One ``Restarted`` event says all of it."""
        reset, retired = restart_sets(self.graph, named)
        self.emit(Restarted(tuple(named), tuple(reset), tuple(retired), reason))
        for node in retired:
            self.node_state[node] = NodeState.RETIRED
            self.attempts.pop(node, None)  # the id may be created again: that node starts afresh
        for node in reset:
            self.node_state[node] = NodeState.PENDING
        self._rerun.update(reset)
        for node in (*reset, *retired):
            self.outputs.pop(node, None)
            self._questions.pop(node, None)
        if self.state is not RunState.RUNNING:
            self.state, self._halt_reason = RunState.RUNNING, None
            self.emit(RunStateChanged(RunState.RUNNING, reason))
        self._rebuild(self._structure_now())
        for node in reset:
            self._evaluate(node)

    def _structure_now(self) -> list[tuple[int, Structure]]:
        """The changes of structure in force, from the store and from the events not stored yet."""
        kinds = (RunStarted, GraphChanged, Restarted)
        stored = self.store.events(self.id, kinds)
        queued = [rec for rec in self._batch if isinstance(rec.event, kinds)]
        first = queued[0].seq if queued else None
        return structure_in_force([*(r for r in stored if first is None or r.seq < first), *queued])

    async def _restart_live(self, named: list[str]) -> None:
        """A restart asked of this (paused) run: stop the affected tasks, then restart."""
        reset, retired = restart_sets(self.graph, named)
        doomed = [self._running[n] for n in (*reset, *retired) if n in self._running]
        self._restarting += 1
        try:
            for task in doomed:
                task.cancel()
            await asyncio.gather(*doomed, return_exceptions=True)
        finally:
            self._restarting -= 1
        if self.state.is_terminal:  # stopped meanwhile
            return
        self.restart(named, "restarted by `weft restart`")
        self._schedule()
        self._maybe_finish()

    def _settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "max_parallel": self.max_parallel,
            "executor": self.default_executor,
            "workspace": str(self.workspace),
            "libraries": run_libraries(self.workflow),
        }
        if self.loaded.included_texts:  # a resumed run loads the included files it started with
            settings["included"] = self.loaded.included_texts
        if self.ray_address is not None:
            settings["ray_address"] = self.ray_address  # a resumed run joins the same cluster
        if self.inputs is not None:
            settings["inputs"] = self.inputs  # a resumed run gives its nodes the same values
        return settings

    def _announce(self, m: Mutation) -> None:
        """Record an applied change of structure as one event (the registration: the first)."""
        for node in m.nodes:
            self.node_state[node.id] = NodeState.PENDING
        self.readiness.edges_added(len(self.graph.edges) - len(m.edges))
        resolved = self.graph.resolved
        nodes = tuple(AddedNode(n.id, node_data(n), resolved[n.id].dynamic) for n in m.nodes)
        edges = tuple(AddedEdge(e.source, e.target, edge_data(e)) for e in m.edges)
        promises = tuple(promise_data(p) for p in m.promises)
        if m.creator is None:
            loops = tuple(loop.describe() for loop in self.loops.loops)
            groups = {group: tuple(members) for group, members in self.expanded.groups.items()}
            self.emit(
                RunStarted(
                    nodes,
                    edges,
                    promises,
                    workflow=self.workflow.name,
                    settings=self._settings(),
                    loops=loops,
                    groups=groups,
                )
            )
        elif m.changes_structure:  # a message that changes nothing leaves no trace
            self.emit(GraphChanged(nodes, edges, promises, created_by=m.creator))

    async def _tend(self) -> None:
        """While the run lives: take the controls other processes ask of it (`weft pause`, the
        studio) within ``CONTROL_POLL`` seconds, and renew its lease (``store.LEASE``), so a run
        whose process dies is seen as `interrupted`. Neither ever waits for a busy database."""
        assert self._loop is not None
        renewed = self._loop.time()
        while True:
            await asyncio.sleep(CONTROL_POLL)
            self._take_controls()
            if self._loop.time() - renewed >= LEASE / 5:
                try:
                    self.store.renew_lease(self.id, time.time() + LEASE)
                    renewed = self._loop.time()
                except RecordingFailed:
                    pass  # busy or refused: the next tick tries again; appends say if it lasts

    def _take_controls(self) -> None:
        try:
            asked = self.store.controls(self.id)
        except sqlite3.Error:
            return  # unreadable for a moment: asked again at the next tick
        for number, kind, args in asked:
            if number in self._taken:  # taken, its event not written yet
                continue
            self._taken.add(number)
            self.emit(ControlTaken(number, kind, args))
            if kind == "pause":
                self.pause("paused by `weft pause`")
            elif kind == "resume":
                self.resume()
            elif kind == "stop":
                self.cancel("stopped by `weft stop`")
            elif kind == "answer":
                self._answer(str(args.get("node")), args.get("values") or {})
            elif kind == "restart" and self._loop is not None:
                named = [str(n) for n in args.get("nodes") or ()]
                missing = [n for n in named if n not in self.graph.nodes]
                if missing or self.state is RunState.BROKEN:
                    why = f"no node {', '.join(missing)}" if missing else "the run is broken"
                    self._log(None, f"restart of {', '.join(named)} not done: {why}", "warning")
                    continue
                self._loop.create_task(self._restart_live(named), name="weft:restart")

    def _answer(self, node: str, values: dict[str, Any]) -> None:
        """A person's answer to a waiting node (`weft answer`, the studio): it becomes the
        node's outputs and the node succeeds. Checked again here; a wrong one changes nothing."""
        question = self._questions.get(node)
        if question is None or self.node_state.get(node) is not NodeState.WAITING:
            self._log(node, f"answer not taken: {node} is not waiting", "warning")
            return
        try:
            answer = check_answer(question[1], values, self.graph.registry)
        except InvalidInput as exc:
            self._log(node, f"answer not taken: {exc}", "warning")
            return
        outputs = self.outputs.setdefault(node, {})
        for name, value in answer.items():
            outputs[name] = value
            self.emit(OutputSet(node, name, value))
        del self._questions[node]
        self._set(node, NodeState.SUCCEEDED, "answered")
        self._after_settle(node)

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the run: running tasks are stopped, nothing new starts (e.g. on Ctrl+C).

        Asked again while the run's last events wait for a busy database, it stops waiting:
        the person insists, and the record then says where it ends."""
        if self._draining:
            self._give_up_drain = True
        self._halt(RunState.CANCELLED, reason)

    def pause(self, reason: str = "paused") -> None:
        """No task starts until ``resume``; running tasks go on."""
        if self.state is RunState.RUNNING:
            self.state = RunState.PAUSED
            self.emit(RunStateChanged(self.state, reason))

    def resume(self) -> None:
        if self.state is RunState.PAUSED:
            self.state = RunState.RUNNING
            self.emit(RunStateChanged(self.state, "resumed"))
            self._schedule()
            self._maybe_finish()

    def _halt(self, state: RunState, reason: str, spare: str | None = None) -> None:
        if self.state.is_terminal:
            return
        self.state = state
        self._halt_reason = reason
        self.emit(RunStateChanged(state, reason))
        for node, node_state in self.node_state.items():
            if node_state in (NodeState.PENDING, NodeState.WAITING):
                self._set(node, NodeState.CANCELLED, reason)
        self._questions.clear()
        self.readiness.clear()
        for node, task in self._running.items():
            if node != spare:  # a task breaking the run stops itself (see _attempt)
                task.cancel()
        self._maybe_finish()

    def _interrupt(self, reason: str) -> None:
        """The executor's backend vanished (a whole Ray cluster): stop where the run is, as if
        its process had died, but on the record. Running tasks are stopped and stay `running` in
        the log, pending ones stay pending; `weft resume` continues the run (``_take_over``)."""
        if self.state.is_terminal or self.state is RunState.INTERRUPTED:
            return
        self.state = RunState.INTERRUPTED
        self._halt_reason = reason
        self.emit(RunStateChanged(RunState.INTERRUPTED, reason))
        self.readiness.clear()
        for task in self._running.values():
            task.cancel()
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if self._running or self._restarting or self._done is None or self._done.done():
            return
        if self.state is RunState.PAUSED:
            return
        if self.state is RunState.RUNNING:
            if self.readiness.ready or self._questions:  # an answer may come from any process
                return
            stuck = [n for n, s in self.node_state.items() if not s.is_terminal]
            for node in stuck:  # cannot happen with sound readiness; never hang on it
                self._set(node, NodeState.SKIPPED, "no way left to become ready")
            failed = any(s is NodeState.FAILED for s in self.node_state.values())
            self.state = RunState.FAILED if failed else RunState.SUCCEEDED
            self.emit(RunStateChanged(self.state, None))
        self._done.set_result(self.state)

    # -- readiness --------------------------------------------------------------------------

    def _evaluate(self, node: str) -> None:
        """Re-decide ``node`` and what its decision settles downstream (``engine.running.readiness``),
        recording each node that can no longer run."""
        if self.state.is_terminal:
            return
        for verdict in self.readiness.evaluate(node):
            state = NodeState.SKIPPED if verdict.decision is Decision.SKIP else NodeState.FAILED
            self._set(verdict.node, state, verdict.reason)

    def _schedule(self) -> None:
        if self.state is not RunState.RUNNING or self._restarting:
            return
        ready = self.readiness.ready
        while ready and len(self._running) < self.max_parallel:
            node = self._next_startable()
            if node is None:
                return
            del ready[node]
            self._start(node)

    def _next_startable(self) -> str | None:
        ready = self.readiness.ready
        if not self._dynamic_running:
            return next(iter(ready))
        if any(self.keeper.may_add_edge_into_any(d) for d in self._dynamic_running):
            return None  # no need to ask node by node: that made every mutation O(ready nodes)
        for node in ready:
            if not any(self.keeper.may_add_edge_into(d, node) for d in self._dynamic_running):
                return node
        return None

    def _start(self, node: str) -> None:
        assert self._loop is not None
        violation = self.keeper.before_start(node)
        if violation is not None:  # a shape region ending at node is not what it promised
            try:
                self._break(violation, {})
            except RunBroken:
                return
        if self.graph.resolved[node].dynamic:
            self._dynamic_running.add(node)
        self.attempts[node] = self.attempts.get(node, 0) + 1
        hit = self.cache.find(node) if self.graph.resolved[node].cache and node not in self._rerun else None
        if hit is not None:
            self._reuse(node, hit)
            return
        self._set(node, NodeState.RUNNING)
        task = self._loop.create_task(self._run_node(node), name=f"weft:{node}")
        self._running[node] = task
        task.add_done_callback(functools.partial(self._reap, node))

    def _reuse(self, node: str, hit: Hit) -> None:
        """Settle ``node`` with an earlier run's result (``engine.running.cache``), no task
        started: its graph changes go through ``mutate`` again as its task sent them (checked
        against this run's promises), then its outputs and its success. Its successors are
        only evaluated: the ``_schedule`` loop that started it goes on with them, so a chain of
        hits never recurses."""
        self.node_state[node] = NodeState.RUNNING  # started, for rule 2 and _halt; not an event
        self._log(node, f"result reused from run {hit.run} (cache)")
        failure = None
        try:
            for number, raw in enumerate(hit.mutations, 1):
                self._mutated.add(node)
                self.mutate(node, raw, f"cached change {number} of '{node}' (from run {hit.run})")
        except MutationRejected as exc:
            failure = str(exc)
        except RunBroken as exc:
            failure = f"broke a promise: {exc}"
        finally:
            self._dynamic_running.discard(node)
        if failure is None:
            self.outputs[node] = hit.outputs
            for name, value in hit.outputs.items():
                self.emit(OutputSet(node, name, value))
            self._set(node, NodeState.SUCCEEDED, cached_from=hit.run)
        else:
            self._set(node, NodeState.FAILED, failure)
            if self.workflow.settings.fail_fast:
                self._halt(RunState.FAILED, f"fail_fast: {node} failed")
        if not self.state.is_terminal:
            for successor in self.graph.successors(node):
                self._evaluate(successor)

    def _reap(self, node: str, task: asyncio.Task[None]) -> None:
        """A task cancelled before its first step never runs ``_run_node``'s ``finally``
        (a run broken in the step that started it): settle its node here instead."""
        if self._running.get(node) is not task:
            return
        del self._running[node]
        self._dynamic_running.discard(node)
        if not self.node_state[node].is_terminal and self.state is not RunState.INTERRUPTED:
            self._set(node, NodeState.CANCELLED, self._halt_reason or "cancelled")
        self._after_settle(node)

    async def _run_node(self, node: str) -> None:
        resolved = self.graph.resolved[node]
        try:
            while True:
                outcome = await self._attempt(node, resolved)
                if outcome.ok and outcome.question is not None:
                    prompt, fields = self._questions[node] = outcome.question
                    self.emit(Asked(node, prompt, fields))
                    self._set(node, NodeState.WAITING, "waiting for an answer")
                    break
                if outcome.ok:
                    self._set(node, NodeState.SUCCEEDED, exit_code=outcome.exit_code)
                    break
                if outcome.culprit:  # it broke the run: it failed, the others were cancelled
                    self._set(node, NodeState.FAILED, outcome.reason)
                    break
                if self.state.is_terminal:
                    self._set(node, NodeState.CANCELLED, self._halt_reason)
                    break
                attempt = self.attempts[node]
                if outcome.retryable and attempt <= resolved.retries:
                    if node in self._mutated:
                        self._log(node, "not retried: this task already changed the graph", "warning")
                    else:
                        delay = retry_delay(resolved, attempt)
                        self._log(
                            node, f"attempt {attempt} failed ({outcome.reason}); retrying in {delay:g} s", "warning"
                        )
                        await asyncio.sleep(delay)
                        self.attempts[node] += 1
                        self._set(node, NodeState.RUNNING)
                        continue
                self._set(node, NodeState.FAILED, outcome.reason, outcome.exit_code)
                if self.workflow.settings.fail_fast:
                    self._halt(RunState.FAILED, f"fail_fast: {node} failed")
                break
        except asyncio.CancelledError:
            if self.state is not RunState.INTERRUPTED:  # interrupted: it runs again on `weft resume`
                self._set(node, NodeState.CANCELLED, self._halt_reason or "cancelled")
        except ExecutorGone as exc:
            self._interrupt(f"{exc}: `weft resume {self.id}` continues the run")
        except Exception as exc:  # a bug of ours must fail one node, loudly, not hang the run
            self._log(node, "internal error:\n" + traceback.format_exc(), "error")
            self._set(node, NodeState.FAILED, f"internal error in the engine: {exc!r}")
        finally:
            self._running.pop(node, None)
            self._dynamic_running.discard(node)
            self._after_settle(node)

    def _after_settle(self, node: str) -> None:
        if not self.state.is_terminal:
            for successor in self.graph.successors(node):
                self._evaluate(successor)
        self._schedule()
        self._maybe_finish()

    async def _attempt(self, node: str, resolved: ResolvedNode) -> Outcome:
        try:
            executor = self.executor_for(resolved)
        except InvalidInput as exc:  # e.g. a created node wants docker and no engine answers
            return Outcome(False, str(exc), retryable=False)
        task_ws = executor.task_workspace(self.workspace, resolved)
        inputs, problem = inputs_for(self.graph, node, resolved, self.outputs, task_ws)
        if problem is not None:
            return Outcome(False, problem, retryable=False)
        spec = task_spec(
            run_id=self.id,
            node=node,
            attempt=self.attempts[node],
            resolved=resolved,
            inputs=inputs,
            task_ws=task_ws,
            workflow=self.workflow,
            workspace=self.workspace,
            home=self.store.home,
            base_env=self._base_env,
        )
        session = TaskSession(self, node, self.attempts[node], task_ws)
        try:
            outcome = await run_attempt(executor, spec, session)
        finally:
            if session.mutated:
                self._mutated.add(node)
        if outcome.ok:
            self.outputs[node] = session.outputs
            if outcome.question is None:  # a person's answer is never reused without asking
                self.cache.succeeded(node, session.outputs, session.mutations)
        return outcome

    def executor_for(self, resolved: ResolvedNode) -> Executor:
        return self.executor_for_name(resolved.executor or self.default_executor)

    def executor_for_name(self, name: str) -> Executor:
        if name not in self._executors:
            self._executors[name] = make_executor(name, self.workflow.settings, self.ray_address)
        return self._executors[name]

    # -- mutations --------------------------------------------------------------------------

    def mutate(self, creator: str, raw: dict[str, list[Any]], where: str) -> None:
        """The single door for a task's graph change: parse, rules 1-3, promises, apply."""
        if self.state.is_terminal:  # a task being stopped after the run ended changes nothing
            raise MutationRejected(f"refused mutation: the run has already ended ({self.state.value})")
        m, problems = self.graph.parse_mutation(creator, raw, where)
        reserved = [n.id for n in m.nodes if is_iteration(n.id)]
        if reserved:
            problems.append(f"node id '{reserved[0]}' names a loop's iteration: ids with '@' are the engine's")
        if problems:
            raise MutationRejected(f"refused mutation: {problems[0]}" + _more(problems))
        scope = in_group(m, self.expanded)
        implicit = self.keeper.check_implicit(m)
        if implicit is not None:
            self._break(implicit, raw)
        self._admit(m, where, confined=True, scope=scope)
        self._schedule()

    def _admit(self, m: Mutation, where: str, confined: bool = False, scope: Any = None) -> None:
        """Rules 1-3 (and 6 for a task's change, ``confined``) fail the change, a promise it
        would break breaks the run; otherwise it is applied, recorded and re-decided.

        A loop's next iteration (``_loop_settled``) comes in here directly: it is the engine
        unrolling the loop the workflow draws, not a task changing the graph, so the implicit
        promise does not apply and its nodes are not narrowed to the latch's reach; every other
        promise counts its nodes like any created nodes."""
        resolved, problems = self.graph.check(m, self._state_of, where, unrolled=not confined, scope=scope)
        rebase_created(resolved, scope, self.workflow, m.nodes)
        if confined:
            problems += self._confine(m.creator or "", m, resolved)
        if problems:
            raise MutationRejected(f"refused mutation: {problems[0]}" + _more(problems))
        violation = self.keeper.check(m)
        if violation is not None:
            self._break(violation, m.raw)
        self.graph.apply(m, resolved)
        self.keeper.applied(m)
        self._announce(m)
        for node in m.nodes:
            self._evaluate(node.id)
        for edge in m.edges:
            if edge.target not in resolved:
                self._evaluate(edge.target)

    def _confine(self, creator: str, m: Mutation, resolved: dict[str, ResolvedNode]) -> list[str]:
        """Rule 6 (``engine.running.reach``): narrow or refuse what a confined creator's nodes may reach."""
        owner = self.graph.resolved[creator]
        owner_executor = owner.executor or self.default_executor
        if not confined(owner, owner_executor):  # a local task is not narrowed (see engine.running.reach)
            return []
        problems: list[str] = []
        for spec in m.nodes:
            if spec.id in resolved:
                resolved[spec.id], refused = confine(owner, owner_executor, spec, resolved[spec.id])
                problems += refused
        return problems

    def _break(self, violation: Violation, raw: dict[str, Any]) -> None:
        self.broken = violation
        self.emit(
            PromiseBroken(
                violation.promise, violation.task, violation.reason, raw, tuple(violation.nodes), violation.before
            )
        )
        self._log(violation.task, f"promise broken: {violation.reason}", "error")
        self._halt(RunState.BROKEN, f"promise broken: {violation.reason}", spare=violation.task)
        raise RunBroken(violation.reason)


def structure_in_force(records: Iterable[Recorded]) -> list[tuple[int, Structure]]:
    """The registration and the changes of structure a run's events leave in force: a
    ``Restarted`` drops the earlier ones made by the nodes it reset or retired."""
    structure: list[tuple[int, Structure]] = []
    for rec in records:
        event = rec.event
        if isinstance(event, (RunStarted, GraphChanged)):
            structure.append((rec.seq, event))
        elif isinstance(event, Restarted):
            gone = {*event.reset, *event.retired}
            structure = [(seq, e) for seq, e in structure if not (isinstance(e, GraphChanged) and e.created_by in gone)]
    return structure


def _more(problems: list[str]) -> str:
    return f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
