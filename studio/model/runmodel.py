"""What the studio knows about one run: the engine's fold plus what only a window needs (no Qt).

The run's state is ``engine.history.fold.RunSnapshot``, the same fold `weft show` and `weft graph --at`
use, whether events arrive live from the run's process (through the bridge, in batches) or are
read from the store up to any number (the replay slider). On top of it the model keeps what
only the window needs: which things changed in a batch (``apply`` returns them, so views update
once per batch and only where something happened), the projection's ghosts as the run's process
last computed them, and log lines in bounded ring buffers (a task that writes millions of lines
costs the studio a fixed amount of memory; the store keeps them all).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.events import (
    Asked,
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
)
from engine.history.fold import EdgeRecord, NodeRecord, RunSnapshot
from studio.model.document import EdgeKey

LOG_LINES = 5000  # per node
ENGINE_LOG_LINES = LOG_LINES  # the run's log: every node's lines, and the engine's


@dataclass
class GhostUpdate:
    """The projection's ghosts as of now (computed in the run's process, where the graph is)."""

    ghosts: list[Any]


@dataclass
class RunEnded:
    state: str
    error: str | None = None


@dataclass
class Changes:
    new_nodes: list[str] = field(default_factory=list)
    new_edges: list[EdgeKey] = field(default_factory=list)
    #: edges whose look changed: retired by a restart, or made again by a new attempt
    edges: set[EdgeKey] = field(default_factory=set)
    states: set[str] = field(default_factory=set)
    progress: set[str] = field(default_factory=set)
    logs: dict[str | None, int] = field(default_factory=dict)  # node -> new lines in this batch
    outputs: set[str] = field(default_factory=set)
    promises: bool = False
    ghosts: bool = False
    run_state: bool = False
    broken: bool = False
    #: nodes that started waiting for a person's answer in this batch
    asked: list[str] = field(default_factory=list)
    #: a restart happened in this batch (states, outputs and edges changed at once)
    restarted: bool = False
    ended: RunEnded | None = None

    @property
    def structure(self) -> bool:
        return bool(self.new_nodes or self.new_edges or self.promises)


def edge_key(spec: dict[str, Any]) -> EdgeKey:
    source, _, source_port = str(spec.get("from", "")).partition(".")
    target, _, target_port = str(spec.get("to", "")).partition(".")
    return EdgeKey(source, source_port or None, target, target_port or None)


class RunModel:
    def __init__(self, run_id: str | None = None) -> None:
        self.run_id = run_id
        self.run = RunSnapshot(run_id)
        self.edges: dict[EdgeKey, EdgeRecord] = {}
        self.ghosts: list[Any] = []
        self.logs: dict[str, deque[str]] = {}
        self.log_counts: dict[str, int] = {}  # lines ever received per node (buffers keep the last)
        self.engine_log: deque[str] = deque(maxlen=ENGINE_LOG_LINES)
        self.ended: RunEnded | None = None

    # what the run is, from the fold
    @property
    def nodes(self) -> dict[str, NodeRecord]:
        return self.run.nodes

    @property
    def state(self) -> RunState | None:
        return self.run.state

    @property
    def reason(self) -> str | None:
        return self.run.reason

    @property
    def broken(self) -> PromiseBroken | None:
        return self.run.broken

    @property
    def promises(self) -> list[tuple[dict[str, Any], str | None]]:
        return self.run.promises

    @property
    def workflow(self) -> str:
        return self.run.workflow

    @property
    def last_seq(self) -> int:
        return self.run.at

    @property
    def started_at(self) -> float | None:
        return self.run.started_at

    @property
    def finished_at(self) -> float | None:
        return self.run.finished_at

    @property
    def finished(self) -> bool:
        return self.run.finished

    def log_of(self, node: str) -> list[str]:
        return list(self.logs.get(node, ()))

    def apply(self, items: Iterable[Any]) -> Changes:
        """Fold live items: ``Recorded`` events, ``GhostUpdate`` and ``RunEnded``; or events
        read from the store."""
        changes = Changes()
        logs = changes.logs
        run = self.run
        for item in items:
            if isinstance(item, Recorded):
                event = item.event
                if type(event) is LogLine:  # the flood case: nothing else to do
                    run.at = item.seq
                    self._log(event)
                    logs[event.node] = logs.get(event.node, 0) + 1
                    continue
                run.apply(item)
                self._note(event, changes)
            elif isinstance(item, GhostUpdate):  # computed in the run's process a moment ago
                nodes = run.nodes
                self.ghosts = [
                    g
                    for g in item.ghosts
                    if g.owner not in nodes or not (nodes[g.owner].state or RunState.RUNNING).is_terminal
                ]
                changes.ghosts = True
            elif isinstance(item, RunEnded):
                self.ended = changes.ended = item
                if item.error and not run.finished:
                    run.state, run.reason = RunState.FAILED, item.error
                    changes.run_state = True
        return changes

    apply_stored = apply

    def _note(self, event: Any, changes: Changes) -> None:
        """What one folded event changed, for the views."""
        if isinstance(event, NodeStateChanged):
            node = event.node
            if node in self.run.nodes:
                if event.state.is_terminal and any(g.owner == node for g in self.ghosts):
                    self.ghosts = [g for g in self.ghosts if g.owner != node]  # it grows no more
                    changes.ghosts = True
                changes.states.add(node)
        elif isinstance(event, Progress):
            if event.node in self.run.nodes:
                changes.progress.add(event.node)
        elif isinstance(event, OutputSet):
            if event.node in self.run.nodes:
                changes.outputs.add(event.node)
        elif isinstance(event, (RunStarted, GraphChanged)):
            changes.new_nodes.extend(n.id for n in event.nodes)
            for edge in self.run.edges[len(self.run.edges) - len(event.edges) :]:
                key = edge_key(edge.spec or {"from": edge.source, "to": edge.target})
                known = self.edges.get(key)
                if known is None:
                    self.edges[key] = edge
                    changes.new_edges.append(key)
                elif known.retired:  # a new attempt made again what a restart retired
                    self.edges[key] = edge
                    changes.edges.add(key)
            changes.promises = changes.promises or bool(event.promises)
            if isinstance(event, RunStarted):
                changes.run_state = True
        elif isinstance(event, PromiseBroken):
            changes.broken = True
        elif isinstance(event, Asked):
            if event.node in self.run.nodes:
                changes.asked.append(event.node)
                changes.states.add(event.node)
        elif isinstance(event, Restarted):
            self._restarted(event, changes)
        elif isinstance(event, RunStateChanged):
            if self.run.finished:
                self.ghosts = []  # a finished run grows no more
                changes.ghosts = True
            changes.run_state = True

    def _restarted(self, event: Restarted, changes: Changes) -> None:
        """Reset nodes are pending again with no outputs; retired ones, and their edges, stay
        drawn (faded): the log keeps every attempt."""
        nodes = self.run.nodes
        touched = [n for n in (*event.reset, *event.retired) if n in nodes]
        changes.states.update(touched)
        changes.outputs.update(touched)
        changes.edges.update(key for key, edge in self.edges.items() if edge.retired)
        gone = set(touched)
        if any(g.owner in gone for g in self.ghosts):
            self.ghosts = [g for g in self.ghosts if g.owner not in gone]  # the host sends them anew
            changes.ghosts = True
        changes.restarted = changes.run_state = True

    def waiting(self) -> list[str]:
        """The nodes waiting for a person's answer, in the run's order."""
        return [n.id for n in self.run.nodes.values() if n.state is NodeState.WAITING and n.question]

    def _log(self, line: LogLine) -> None:
        text = line.message
        if line.level != "info":
            text = f"[{line.level}] {text}"
        elif line.stream == "engine":
            text = f"[engine] {text}"
        node = line.node
        if node is not None and node in self.run.nodes:
            buffer = self.logs.get(node)
            if buffer is None:
                buffer = self.logs[node] = deque(maxlen=LOG_LINES)
            buffer.append(text)
            self.log_counts[node] = self.log_counts.get(node, 0) + 1
        self.engine_log.append(f"{node}: {text}" if node else text)  # the run's log: every line

    def take_recent_lines(self, lines: list[Recorded], counts: dict[str | None, int]) -> None:
        """Fill the log buffers of a run folded without its log lines (a run continued in the
        studio): the last lines of each node, and how many it wrote in all."""
        for recorded in lines:
            event = recorded.event
            if type(event) is LogLine:
                self._log(event)
        self.log_counts.update({node: n for node, n in counts.items() if node is not None})

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for node in self.run.nodes.values():
            state = str(node.state.value if node.state else "pending")
            out[state] = out.get(state, 0) + 1
        return out

    def summary(self) -> str:
        counts = ", ".join(f"{n} {state}" for state, n in sorted(self.counts().items()))
        state = self.state.value if self.state else "starting"
        return (
            f"{self.run_id or 'run'}: {state} ({len(self.nodes)} nodes: {counts})"
            if self.nodes
            else f"{self.run_id or 'run'}: {state}"
        )
