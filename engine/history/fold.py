"""The one fold: a run's events, in order, become what the run was after the last of them.

``RunSnapshot.apply`` takes one recorded event at a time, so the same fold serves a finished
run read from the store (`weft show`, `weft graph RUN --at N`, the studio's replay), a live
run's stream (the studio's run view), and resume after a crash. Every event leaves the
snapshot in a state the run really had: a change of structure arrives as one event.

The snapshot keeps the structure events themselves, and builds the promise keeper behind the
projection's ghosts only when asked (``ghosts``), so folding stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine import collector
from engine.events import (
    Asked,
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

if TYPE_CHECKING:
    from engine.history.store import Store
    from engine.promises.projection import Ghost

#: The events that say nothing about structure or states: ``weft show`` and replay skip them.
CHATTER: tuple[type[Event], ...] = (LogLine,)


@dataclass(slots=True)
class NodeRecord:
    """One node of a run as of some event."""

    id: str
    spec: dict[str, Any]
    created_by: str | None
    dynamic: bool
    added_seq: int
    state: NodeState | None = NodeState.PENDING
    attempt: int = 0
    reason: str | None = None
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    progress: float | None = None
    progress_text: str = ""
    style: dict[str, Any] = field(default_factory=dict)
    #: what the node asks while it is `waiting`: {"prompt": ..., "fields": {name: type}}
    question: dict[str, Any] | None = None
    #: the run whose result this node reused (the cache), as of its latest state change
    cached_from: str | None = None

    @property
    def operator(self) -> str | None:
        return self.spec.get("operator")

    @property
    def label(self) -> str:
        return (self.spec.get("style") or {}).get("label") or self.id


@dataclass(slots=True)
class EdgeRecord:
    source: str
    target: str
    spec: dict[str, Any]
    created_by: str | None
    #: retired by a restart (its creator's earlier attempt made it, or it touches a retired node)
    retired: bool = False

    @property
    def ports(self) -> tuple[str | None, str | None]:
        """The source and target port names of a data edge; (None, None) for runs-after."""
        return (
            str(self.spec.get("from", "")).partition(".")[2] or None,
            str(self.spec.get("to", "")).partition(".")[2] or None,
        )

    @property
    def when(self) -> str | None:
        return self.spec.get("when")


@dataclass(slots=True)
class RunSnapshot:
    """A run as of event ``at``: its graph, node states, attempts, outputs, promises, state."""

    run_id: str | None = None
    workflow: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    state: RunState | None = None
    reason: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    at: int = 0
    nodes: dict[str, NodeRecord] = field(default_factory=dict)
    edges: list[EdgeRecord] = field(default_factory=list)
    #: each promise as written, with the task that made it (None: the workflow)
    promises: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)
    broken: PromiseBroken | None = None
    #: the structure events in force, in order (a restart drops those its nodes' earlier
    #: attempts made): the projection replays them through the promise keeper
    structure: list[Structure] = field(default_factory=list)
    #: each `workflow:` node -> the run nodes it was expanded into at registration
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state is not None and self.state.is_terminal

    def graph_now(self) -> tuple[list[NodeRecord], list[EdgeRecord]]:
        """The as-of-now graph: every node and edge but those a restart retired."""
        retired = NodeState.RETIRED
        return [n for n in self.nodes.values() if n.state is not retired], [e for e in self.edges if not e.retired]

    def apply(self, rec: Recorded) -> None:
        self.at = rec.seq
        event = rec.event
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event, rec.ts)

    def apply_all(self, records: Iterable[Recorded]) -> RunSnapshot:
        for rec in records:
            self.apply(rec)
        return self

    # -- the handlers, one per kind of event ------------------------------------------------

    def _started(self, event: RunStarted, ts: float) -> None:
        self.workflow, self.settings, self.groups = event.workflow, event.settings, event.groups
        self.state, self.started_at = RunState.RUNNING, ts
        self._grow(event, None)

    def _graph(self, event: GraphChanged, ts: float) -> None:
        self._grow(event, event.created_by)

    def _grow(self, event: Structure, creator: str | None) -> None:
        seq = self.at
        for node in event.nodes:
            self.nodes[node.id] = NodeRecord(node.id, node.spec, creator, node.dynamic, seq)
        self.edges.extend(EdgeRecord(e.source, e.target, e.spec, creator) for e in event.edges)
        self.promises.extend((p, creator) for p in event.promises)
        self.structure.append(event)

    def _run_state(self, event: RunStateChanged, ts: float) -> None:
        self.state, self.reason = event.state, event.reason
        self.finished_at = ts if event.state.is_terminal else None

    def _asked(self, event: Asked, ts: float) -> None:
        node = self.nodes.get(event.node)
        if node is not None:
            node.question = {"prompt": event.prompt, "fields": dict(event.fields)}

    def _restarted(self, event: Restarted, ts: float) -> None:
        retired = set(event.retired)
        gone = retired | set(event.reset)  # whose earlier changes of structure no longer count
        for node_id in event.retired:
            node = self.nodes.get(node_id)
            if node is not None:
                node.state, node.reason, node.question = NodeState.RETIRED, event.reason, None
        for node_id in event.reset:
            node = self.nodes.get(node_id)
            if node is not None:
                node.state, node.reason, node.exit_code, node.question = NodeState.PENDING, event.reason, None, None
                node.outputs, node.progress, node.progress_text = {}, None, ""
                node.started_at = node.finished_at = None
        for edge in self.edges:
            if edge.created_by in gone or edge.source in retired or edge.target in retired:
                edge.retired = True
        self.promises = [(p, creator) for p, creator in self.promises if creator not in gone]
        self.structure = [s for s in self.structure if not (isinstance(s, GraphChanged) and s.created_by in gone)]
        self.state, self.finished_at = RunState.RUNNING, None

    def _node_state(self, event: NodeStateChanged, ts: float) -> None:
        node = self.nodes.get(event.node)
        if node is None:
            return
        state = event.state
        node.state, node.attempt, node.reason, node.exit_code = state, event.attempt, event.reason, event.exit_code
        if state is not NodeState.WAITING:
            node.question = None
        node.cached_from = event.cached_from
        if state is NodeState.RUNNING:
            if node.started_at is not None and event.attempt > 1:
                node.outputs = {}  # a new attempt: what an earlier one reported is not its output
            node.started_at, node.finished_at = ts, None
        elif state.is_terminal:
            node.finished_at = ts
            if state is NodeState.SUCCEEDED and node.progress is not None:
                node.progress = 1.0

    def _output(self, event: OutputSet, ts: float) -> None:
        node = self.nodes.get(event.node)
        if node is not None:
            node.outputs[event.name] = event.value

    def _progress(self, event: Progress, ts: float) -> None:
        node = self.nodes.get(event.node)
        if node is None:
            return
        fraction = event.fraction
        if fraction is None and event.total:
            fraction = (event.done or 0) / event.total
        node.progress = None if fraction is None else max(0.0, min(1.0, float(fraction)))
        node.progress_text = event.message or ""

    def _style(self, event: StyleChanged, ts: float) -> None:
        if event.node is not None and event.node in self.nodes:
            self.nodes[event.node].style.update(event.style)

    def _broken(self, event: PromiseBroken, ts: float) -> None:
        self.broken = event

    # -- the projection ---------------------------------------------------------------------

    def members(self, group: str) -> list[NodeRecord]:
        """The nodes a `workflow:` node is made of now: its own and those their tasks created
        (every run node under its prefix), but not retired ones."""
        prefix = group + "/"
        retired = NodeState.RETIRED
        return [n for n in self.nodes.values() if n.id.startswith(prefix) and n.state is not retired]

    def group_state(self, group: str) -> NodeState:
        """A `workflow:` node's state, from its nodes' (see ``aggregate_state``)."""
        return aggregate_state([n.state or NodeState.PENDING for n in self.members(group)])

    def ghosts(self) -> list[Ghost]:
        """What may still appear as of now: nothing once the run has ended (it grows no more)."""
        if self.finished:
            return []
        from engine.promises.projection import ghosts_of  # loaded only when asked: it needs the whole graph

        states = {n: (r.state or NodeState.PENDING) for n, r in self.nodes.items()}
        with collector.paused():
            return ghosts_of(self.structure, states)


_HANDLERS: dict[type[Event], Any] = {
    RunStarted: RunSnapshot._started,
    GraphChanged: RunSnapshot._graph,
    RunStateChanged: RunSnapshot._run_state,
    NodeStateChanged: RunSnapshot._node_state,
    OutputSet: RunSnapshot._output,
    Progress: RunSnapshot._progress,
    StyleChanged: RunSnapshot._style,
    PromiseBroken: RunSnapshot._broken,
    Asked: RunSnapshot._asked,
    Restarted: RunSnapshot._restarted,
}


def snapshot(store: Store, run_id: str, upto: int | None = None, *, logs: bool = False) -> RunSnapshot:
    """Run ``run_id`` as of event ``upto`` (its last event when None), read from the store."""
    skip = () if logs else CHATTER
    with collector.paused():
        snap = RunSnapshot(run_id).apply_all(store.events(run_id, upto=upto, skip=skip))
    if upto is None:
        snap.at = max(snap.at, store.last_seq(run_id))
    else:
        snap.at = upto
    return snap


def aggregate_state(states: list[NodeState]) -> NodeState:
    """The state of a group of nodes as one: running while any runs (or some have settled and
    some not yet started), waiting when only questions hold it up, then failed if any failed,
    cancelled if any was cancelled, skipped or retired when all were, else succeeded."""
    present = set(states)
    if not present:
        return NodeState.PENDING
    if NodeState.RUNNING in present:
        return NodeState.RUNNING
    if NodeState.WAITING in present:
        return NodeState.WAITING
    if NodeState.PENDING in present:
        return NodeState.PENDING if present == {NodeState.PENDING} else NodeState.RUNNING
    for state in (NodeState.FAILED, NodeState.CANCELLED):
        if state in present:
            return state
    if len(present) == 1:
        return states[0]  # all skipped, all retired, all succeeded
    return NodeState.SUCCEEDED  # succeeded, with branches skipped
