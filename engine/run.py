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
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from engine import collector, expr
from engine.errors import ExpressionError, InvalidInput, ProtocolError, RecordingFailed
from engine.events import (
    EdgeAdded,
    Event,
    LogLine,
    NodeAdded,
    NodeState,
    NodeStateChanged,
    PromiseAdded,
    PromiseBroken,
    Recorded,
    RunStarted,
    RunState,
    RunStateChanged,
)
from engine.executors import make_executor
from engine.executors.base import Executor, LaunchError, TaskSpec
from engine.graph import Mutation, RunGraph
from engine.loader import Loaded
from engine.model import ResolvedNode, Trigger
from engine.porttypes import Optional as OptionalType
from engine.promises import PromiseKeeper, Violation
from engine.protocol import start_message
from engine.reach import CONFINING, confine
from engine.session import RunBroken, TaskFailure, TaskSession
from engine.store import Store, WriteRetry, busy_patience
from engine.writer import edge_data, node_data, promise_data

HELPER_DIR = Path(__file__).resolve().parent / "taskhelper"
MAX_BACKOFF = 300.0
FLUSH_DELAY = 0.02  # seconds an event may wait to be stored; subscribers get it at once
FLUSH_EVENTS = 10_000  # events that are written at once, without waiting for FLUSH_DELAY
FINAL_PATIENCE = 10.0  # at least this many seconds for the last writes, once every task has ended


Listener = Callable[[Recorded], None]


def new_run_id() -> str:
    return time.strftime("r-%Y%m%d-%H%M%S-", time.localtime()) + secrets.token_hex(2)


@dataclass
class Outcome:
    ok: bool
    reason: str | None = None
    exit_code: int | None = None
    retryable: bool = True
    culprit: bool = False  # this task's own mutation broke the run


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
    ) -> None:
        self.loaded = loaded
        self.workflow = loaded.workflow
        self.store = store
        self.text = text
        self.id = run_id or new_run_id()
        settings = self.workflow.settings
        self.max_parallel = max_parallel or settings.max_parallel or os.cpu_count() or 1
        self.default_executor = executor or settings.executor or "local"
        self.workspace = store.workspace(self.id)
        self.graph = RunGraph(self.workflow, loaded.registry)
        self.keeper = PromiseKeeper(self.graph)
        self.keeper.state_of = lambda node: self.node_state[node].value if node in self.node_state else "pending"
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
        self._ready: OrderedDict[str, None] = OrderedDict()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._dynamic_running: set[str] = set()
        self._mutated: set[str] = set()
        self._edge_status: dict[int, bool] = {}
        self._conditions: dict[int, expr.Expression] = {}
        #: per node, its incoming edges counted as [satisfied, unsatisfied, undecided], kept as
        #: edges appear and sources settle, so deciding a node does not rescan a large fan-in
        self._incoming_counts: dict[str, list[int]] = {}
        self._incoming_error: dict[str, str] = {}
        self._halt_reason: str | None = None
        self._done: asyncio.Future[RunState] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: set when the store refused writes for good: the run stops, and execute() raises it
        self.recording_failed: RecordingFailed | None = None
        self._retry: WriteRetry | None = None  # while the store refuses writes
        self._draining = False
        self._give_up_drain = False
        self._base_env = dict(os.environ)  # reading os.environ decodes every item, every time

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
        try:
            self.store.append(batch)
        except RecordingFailed as exc:
            self._batch[:0] = batch
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
            try:
                self.store.append(batch)
                continue
            except RecordingFailed as exc:
                self._batch[:0] = batch
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

    def _set(self, node: str, state: NodeState, reason: str | None = None, exit_code: int | None = None) -> None:
        before = self.node_state.get(node)
        self.node_state[node] = state
        self.emit(NodeStateChanged(node, state.value, self.attempts.get(node, 0), reason, exit_code))
        if state.is_terminal and (before is None or not before.is_terminal):
            for index in self.graph.outgoing.get(node, ()):
                self._edge_decided(index)

    # -- running ----------------------------------------------------------------------------

    async def execute(self) -> RunState:
        self._loop = asyncio.get_running_loop()
        self._done = self._loop.create_future()
        self.workspace.mkdir(parents=True, exist_ok=True)
        path = str(self.workflow.path) if self.workflow.path else None
        self.store.create_run(self.id, self.workflow.name, path, self.text, self._settings(), time.time())
        self.emit(RunStarted(self.workflow.name, self._settings()))
        registration = self.graph.registration(self.workflow, self.loaded.nodes)
        self.keeper.register(registration.promises)
        self._announce(registration)
        for node in self.graph.nodes:
            self._evaluate(node)
        self._schedule()
        self._maybe_finish()
        thaw = collector.keep_long_lived()  # full collections stop walking the registered graph
        try:
            return await self._done
        finally:
            try:
                for executor in self._executors.values():
                    await executor.close()
                await self._drain_store()
            finally:
                thaw()

    def _settings(self) -> dict[str, Any]:
        return {"max_parallel": self.max_parallel, "executor": self.default_executor, "workspace": str(self.workspace)}

    def _announce(self, m: Mutation) -> None:
        for node in m.nodes:
            self.node_state[node.id] = NodeState.PENDING
            self.emit(NodeAdded(node.id, node_data(node), m.creator, self.graph.resolved[node.id].dynamic))
        first = len(self.graph.edges) - len(m.edges)
        for index, edge in enumerate(m.edges, first):
            self.emit(EdgeAdded(edge.source, edge.target, edge_data(edge), m.creator))
            self._incoming_counts.setdefault(edge.target, [0, 0, 0])[2] += 1
            if self.node_state[edge.source].is_terminal:
                self._edge_decided(index)
        for promise in m.promises:
            self.emit(PromiseAdded(promise_data(promise), m.creator))

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the run: running tasks are stopped, nothing new starts (e.g. on Ctrl+C).

        Asked again while the run's last events wait for a busy database, it stops waiting:
        the person insists, and the record then says where it ends."""
        if self._draining:
            self._give_up_drain = True
        self._halt(RunState.CANCELLED, reason)

    def pause(self) -> None:
        if self.state is RunState.RUNNING:
            self.state = RunState.PAUSED
            self.emit(RunStateChanged(self.state.value, "paused"))

    def resume(self) -> None:
        if self.state is RunState.PAUSED:
            self.state = RunState.RUNNING
            self.emit(RunStateChanged(self.state.value, "resumed"))
            self._schedule()
            self._maybe_finish()

    def _halt(self, state: RunState, reason: str, spare: str | None = None) -> None:
        if self.state.is_terminal:
            return
        self.state = state
        self._halt_reason = reason
        self.emit(RunStateChanged(state.value, reason))
        for node, node_state in self.node_state.items():
            if node_state is NodeState.PENDING:
                self._set(node, NodeState.CANCELLED, reason)
        self._ready.clear()
        for node, task in self._running.items():
            if node != spare:  # a task breaking the run stops itself (see _attempt)
                task.cancel()
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if self._running or self._done is None or self._done.done():
            return
        if self.state is RunState.PAUSED:
            return
        if self.state is RunState.RUNNING:
            if self._ready:
                return
            stuck = [n for n, s in self.node_state.items() if not s.is_terminal]
            for node in stuck:  # cannot happen with sound readiness; never hang on it
                self._set(node, NodeState.SKIPPED, "no way left to become ready")
            failed = any(s is NodeState.FAILED for s in self.node_state.values())
            self.state = RunState.FAILED if failed else RunState.SUCCEEDED
            self.emit(RunStateChanged(self.state.value, None))
        self._done.set_result(self.state)

    # -- readiness --------------------------------------------------------------------------

    def _edge_satisfied(self, index: int) -> bool | None | str:
        """True/False once decided, None while the source runs, or an error text."""
        if index in self._edge_status:
            return self._edge_status[index]
        edge = self.graph.edges[index]
        source_state = self.node_state[edge.source]
        if not source_state.is_terminal:
            return None
        if source_state is not NodeState.SUCCEEDED:
            result = False
        elif edge.when is None:
            result = True
        else:
            try:
                condition = self._conditions.get(index) or expr.parse(edge.when)
                self._conditions[index] = condition
                result = condition.test(lambda n: self.outputs[n] if n in self.outputs else _no_outputs(n, self))
            except ExpressionError as exc:
                return f"condition on {edge.source} -> {edge.target} ({edge.when}): {exc.message}"
        self._edge_status[index] = result
        return result

    def _edge_decided(self, index: int) -> None:
        """The source of edge ``index`` has settled: count the edge into its target's tally."""
        status = self._edge_satisfied(index)
        counts = self._incoming_counts[self.graph.edges[index].target]
        counts[2] -= 1
        if isinstance(status, str):
            self._incoming_error.setdefault(self.graph.edges[index].target, status)
        else:
            counts[0 if status else 1] += 1

    def _decide(self, node: str) -> str:
        """'run', 'skip', 'wait', or a failure reason."""
        if node in self._incoming_error:
            return self._incoming_error[node]
        counts = self._incoming_counts.get(node)
        if not counts or not any(counts):
            return "run"
        satisfied, unsatisfied, unknown = counts
        trigger = self.graph.resolved[node].trigger
        if trigger is Trigger.ALL:
            return "skip" if unsatisfied else ("wait" if unknown else "run")
        if unknown:
            return "wait"
        if trigger is Trigger.ANY:
            return "run" if satisfied else "skip"
        return "run"

    def _evaluate(self, node: str) -> None:
        """Re-decide ``node`` and everything downstream that its decision settles."""
        work = [node]
        while work:
            current = work.pop()
            if self.node_state.get(current) is not NodeState.PENDING or self.state.is_terminal:
                continue
            decision = self._decide(current)
            if decision == "run":
                self._ready[current] = None
            elif decision == "wait":
                self._ready.pop(current, None)
            else:
                self._ready.pop(current, None)
                if decision == "skip":
                    self._set(current, NodeState.SKIPPED, "an incoming edge cannot be satisfied")
                else:
                    self._set(current, NodeState.FAILED, decision)
                work.extend(self.graph.successors(current))

    def _schedule(self) -> None:
        if self.state is not RunState.RUNNING:
            return
        while self._ready and len(self._running) < self.max_parallel:
            node = self._next_startable()
            if node is None:
                return
            del self._ready[node]
            self._start(node)

    def _next_startable(self) -> str | None:
        if not self._dynamic_running:
            return next(iter(self._ready))
        if any(self.keeper.may_add_edge_into_any(d) for d in self._dynamic_running):
            return None  # no need to ask node by node: that made every mutation O(ready nodes)
        for node in self._ready:
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
        self.node_state[node] = NodeState.RUNNING  # the event follows in _run_node
        task = self._loop.create_task(self._run_node(node), name=f"weft:{node}")
        self._running[node] = task
        task.add_done_callback(functools.partial(self._reap, node))

    def _reap(self, node: str, task: asyncio.Task[None]) -> None:
        """A task cancelled before its first step never runs ``_run_node``'s ``finally``
        (a run broken in the step that started it): settle its node here instead."""
        if self._running.get(node) is not task:
            return
        del self._running[node]
        self._dynamic_running.discard(node)
        if not self.node_state[node].is_terminal:
            self._set(node, NodeState.CANCELLED, self._halt_reason or "cancelled")
        self._after_settle(node)

    async def _run_node(self, node: str) -> None:
        resolved = self.graph.resolved[node]
        try:
            while True:
                self.attempts[node] = self.attempts.get(node, 0) + 1
                self._set(node, NodeState.RUNNING)
                outcome = await self._attempt(node, resolved)
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
                        delay = min(resolved.retry_delay * 2 ** (attempt - 1), MAX_BACKOFF)
                        self._log(
                            node, f"attempt {attempt} failed ({outcome.reason}); retrying in {delay:g} s", "warning"
                        )
                        await asyncio.sleep(delay)
                        continue
                self._set(node, NodeState.FAILED, outcome.reason, outcome.exit_code)
                if self.workflow.settings.fail_fast:
                    self._halt(RunState.FAILED, f"fail_fast: {node} failed")
                break
        except asyncio.CancelledError:
            self._set(node, NodeState.CANCELLED, self._halt_reason or "cancelled")
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
        task_ws = executor.task_workspace(self.workspace)
        inputs, problem = self._inputs_for(node, resolved, task_ws)
        if problem is not None:
            return Outcome(False, problem, retryable=False)
        spec = self._task_spec(node, resolved, inputs, task_ws)
        try:
            proc = await executor.launch(spec)
        except LaunchError as exc:
            return Outcome(False, str(exc), retryable=False)
        session = TaskSession(self, node, self.attempts[node], task_ws)
        try:
            async with asyncio.timeout(resolved.timeout):
                await proc.pump(session.on_line)
                code = await proc.wait()
        except TimeoutError:
            await proc.stop()
            return Outcome(False, f"timed out after {resolved.timeout:g} s")
        except (TaskFailure, ProtocolError, LaunchError) as exc:
            await proc.stop()
            return Outcome(False, str(exc), retryable=False)
        except RunBroken as exc:
            await proc.stop()
            return Outcome(False, f"broke a promise: {exc}", retryable=False, culprit=True)
        except asyncio.CancelledError:
            await asyncio.shield(proc.stop())
            raise
        finally:
            if session.mutated:
                self._mutated.add(node)
        if code != 0:
            return Outcome(False, describe_exit(code), code)
        missing = [
            name
            for name, text in resolved.outputs.items()
            if name not in session.outputs and not text.rstrip().endswith("?")
        ]
        if missing:
            return Outcome(False, f"exited 0 without reporting output {', '.join(missing)}", 0, retryable=False)
        self.outputs[node] = session.outputs
        return Outcome(True, exit_code=0)

    def executor_for(self, resolved: ResolvedNode) -> Executor:
        name = resolved.executor or self.default_executor
        if name not in self._executors:
            self._executors[name] = make_executor(name)
        return self._executors[name]

    def _inputs_for(self, node: str, resolved: ResolvedNode, task_ws: str) -> tuple[dict[str, Any], str | None]:
        registry = self.graph.registry
        values: dict[str, Any] = {}
        for index in self.graph.incoming[node]:
            edge = self.graph.edges[index]
            if edge.target_port is None or edge.source_port is None:
                continue
            produced = self.outputs.get(edge.source, {})
            if edge.source_port in produced:
                values[edge.target_port] = produced[edge.source_port]
        inputs: dict[str, Any] = {}
        for port, text in resolved.inputs.items():
            port_type = registry.parse(text)
            if port not in values:
                if isinstance(port_type, OptionalType):
                    inputs[port] = None
                    continue
                return {}, f"input '{port}' has no value (no succeeded data edge delivered one)"
            inputs[port] = registry.map_files(values[port], port_type, lambda rel: str(PurePosixPath(task_ws) / rel))
        return inputs, None

    def _task_spec(self, node: str, resolved: ResolvedNode, inputs: dict[str, Any], task_ws: str) -> TaskSpec:
        command = resolved.command
        if resolved.shell:
            script = [command] if isinstance(command, str) else list(command or [])
            argv = ["/bin/sh", "-c", *script]
        else:
            argv = list(command or [])
        env = dict(self._base_env)
        env.update(resolved.env)
        env["WEFT_WORKSPACE"] = task_ws
        env["WEFT_RUN"] = self.id
        env["WEFT_NODE"] = node
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HELPER_DIR), env.get("PYTHONPATH")]))
        cwd = self.workflow.folder / resolved.workdir if resolved.workdir else self.workflow.folder
        line = start_message(self.id, node, inputs, resolved.params, task_ws, self.attempts[node])
        return TaskSpec(
            self.id,
            resolved,
            argv,
            cwd,
            env,
            self.workspace,
            line,
            image=resolved.image or self.workflow.settings.image,
            labels={"weft.run": self.id, "weft.node": node},
            folder=self.workflow.folder,
            home=self.store.home,
        )

    # -- mutations --------------------------------------------------------------------------

    def mutate(self, creator: str, raw: dict[str, list[Any]], where: str) -> None:
        """The single door for a task's graph change: parse, rules 1-3, promises, apply."""
        if self.state.is_terminal:  # a task being stopped after the run ended changes nothing
            raise TaskFailure(f"refused mutation: the run has already ended ({self.state.value})")
        m, problems = self.graph.parse_mutation(creator, raw, where)
        if problems:
            raise TaskFailure(f"refused mutation: {problems[0]}" + _more(problems))
        implicit = self.keeper.check_implicit(m)
        if implicit is not None:
            self._break(implicit, raw)
        resolved, problems = self.graph.check(m, lambda n: self.node_state[n].value, where)
        problems += self._confine(creator, m, resolved)
        if problems:
            raise TaskFailure(f"refused mutation: {problems[0]}" + _more(problems))
        violation = self.keeper.check(m)
        if violation is not None:
            self._break(violation, raw)
        self.graph.apply(m, resolved)
        self.keeper.applied(m)
        self._announce(m)
        for node in m.nodes:
            self._evaluate(node.id)
        for edge in m.edges:
            if edge.target not in resolved:
                self._evaluate(edge.target)
        self._schedule()

    def _confine(self, creator: str, m: Mutation, resolved: dict[str, ResolvedNode]) -> list[str]:
        """Rule 6 (``engine.reach``): narrow or refuse what a confined creator's nodes may reach."""
        owner = self.graph.resolved[creator]
        owner_executor = owner.executor or self.default_executor
        if owner_executor not in CONFINING:  # a local task is not narrowed (see engine.reach)
            return []
        problems: list[str] = []
        for spec in m.nodes:
            if spec.id in resolved:
                resolved[spec.id], refused = confine(owner, owner_executor, spec, resolved[spec.id])
                problems += refused
        return problems

    def _break(self, violation: Violation, raw: dict[str, Any]) -> None:
        self.broken = violation
        self.emit(PromiseBroken(violation.promise, violation.task, violation.reason, raw, list(violation.nodes)))
        self._log(violation.task, f"promise broken: {violation.reason}", "error")
        self._halt(RunState.BROKEN, f"promise broken: {violation.reason}", spare=violation.task)
        raise RunBroken(violation.reason)


def _no_outputs(node: str, run: Run) -> dict[str, Any]:
    if node not in run.graph.nodes:
        raise KeyError(node)
    return {}


def _more(problems: list[str]) -> str:
    return f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""


def describe_exit(code: int) -> str:
    if code < 0:
        import signal

        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"exited with code {code}"
