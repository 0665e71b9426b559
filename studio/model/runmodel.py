"""What the studio knows about one run, folded from its events (no Qt here).

The same fold serves a live run (events arrive from the run's process through the bridge, in
batches) and a past run (events read from the store, up to any number, for the replay
slider). ``apply`` returns what changed, so the views update once per batch and only where
something happened. Log lines are kept in bounded ring buffers: a task that writes millions
of lines costs the studio a fixed amount of memory (the store keeps them all).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.events import LogLine, Recorded
from studio.model.document import EdgeKey

LOG_LINES = 5000  # per node
TERMINAL = ("succeeded", "failed", "skipped", "cancelled")
ENGINE_LOG_LINES = LOG_LINES  # the run's log: every node's lines, and the engine's
STRUCTURE = (
    "run_started",
    "run_state",
    "node_added",
    "edge_added",
    "promise_added",
    "node_state",
    "progress",
    "output",
    "promise_broken",
    "style",
)


@dataclass
class GhostUpdate:
    """The projection's ghosts as of now (computed in the run's process, where the graph is)."""

    ghosts: list[Any]


@dataclass
class RunEnded:
    state: str
    error: str | None = None


@dataclass
class NodeRun:
    id: str
    spec: dict[str, Any]
    created_by: str | None
    dynamic: bool
    state: str = "pending"
    attempt: int = 0
    reason: str | None = None
    exit_code: int | None = None
    progress: float | None = None
    progress_text: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    log: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    log_count: int = 0  # lines ever received (the buffer keeps the last LOG_LINES)


@dataclass
class Changes:
    new_nodes: list[str] = field(default_factory=list)
    new_edges: list[EdgeKey] = field(default_factory=list)
    states: set[str] = field(default_factory=set)
    progress: set[str] = field(default_factory=set)
    logs: dict[str | None, int] = field(default_factory=dict)  # node -> new lines in this batch
    outputs: set[str] = field(default_factory=set)
    promises: bool = False
    ghosts: bool = False
    run_state: bool = False
    broken: bool = False
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
        self.workflow = ""
        self.state: str | None = None
        self.reason: str | None = None
        self.nodes: dict[str, NodeRun] = {}
        self.edges: dict[EdgeKey, dict[str, Any]] = {}
        self.promises: list[tuple[dict[str, Any], str | None]] = []
        self.ghosts: list[Any] = []
        self.broken: dict[str, Any] | None = None
        self.engine_log: deque[str] = deque(maxlen=ENGINE_LOG_LINES)
        self.last_seq = 0
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.ended: RunEnded | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("succeeded", "failed", "broken", "cancelled")

    def apply(self, items: Iterable[Any]) -> Changes:
        """Fold live items: ``Recorded`` events, ``GhostUpdate`` and ``RunEnded``."""
        changes = Changes()
        logs = changes.logs
        for item in items:
            if isinstance(item, Recorded):
                event = item.event
                if type(event) is LogLine:  # the flood case: no dict per line
                    self.last_seq = item.seq
                    self._log(event.node, event.message, event.level, event.stream)
                    logs[event.node] = logs.get(event.node, 0) + 1
                    continue
                self._fold(item.seq, item.ts, event.kind, event.data(), changes)
            elif isinstance(item, GhostUpdate):  # computed in the run's process a moment ago
                self.ghosts = [
                    g for g in item.ghosts if g.owner not in self.nodes or self.nodes[g.owner].state not in TERMINAL
                ]
                changes.ghosts = True
            elif isinstance(item, RunEnded):
                self.ended = changes.ended = item
                if item.error and self.state not in ("succeeded", "failed", "broken", "cancelled"):
                    self.state, self.reason = "failed", item.error
                    changes.run_state = True
        return changes

    def apply_stored(self, rows: Iterable[tuple[int, float, str, dict[str, Any]]]) -> Changes:
        """Fold rows of ``Store.events`` (seq, ts, kind, data)."""
        changes = Changes()
        for seq, ts, kind, data in rows:
            self._fold(seq, ts, kind, data, changes)
        return changes

    def _fold(self, seq: int, ts: float, kind: str, data: dict[str, Any], changes: Changes) -> None:
        self.last_seq = seq
        if kind == "log":
            node = data.get("node")
            self._log(node, data.get("message", ""), data.get("level", "info"), data.get("stream", ""))
            changes.logs[node] = changes.logs.get(node, 0) + 1
        elif kind == "progress":
            run = self.nodes.get(data["node"])
            if run is not None:
                fraction = data.get("fraction")
                if fraction is None and data.get("total"):
                    fraction = (data.get("done") or 0) / data["total"]
                run.progress = None if fraction is None else max(0.0, min(1.0, float(fraction)))
                run.progress_text = data.get("message") or ""
                changes.progress.add(run.id)
        elif kind == "node_state":
            run = self.nodes.get(data["node"])
            if run is not None:
                run.state, run.attempt = data["state"], data.get("attempt", 0)
                run.reason, run.exit_code = data.get("reason"), data.get("exit_code")
                if run.state == "succeeded":
                    run.progress = 1.0 if run.progress is not None else None
                if run.state in TERMINAL and any(g.owner == run.id for g in self.ghosts):
                    self.ghosts = [g for g in self.ghosts if g.owner != run.id]  # it grows no more
                    changes.ghosts = True
                changes.states.add(run.id)
        elif kind == "node_added":
            node = data["node"]
            if node not in self.nodes:
                self.nodes[node] = NodeRun(
                    node, data.get("spec") or {}, data.get("created_by"), bool(data.get("dynamic"))
                )
                changes.new_nodes.append(node)
        elif kind == "edge_added":
            key = edge_key(data.get("spec") or {"from": data["source"], "to": data["target"]})
            if key not in self.edges:
                self.edges[key] = {
                    "from": data["source"],
                    "to": data["target"],
                    "spec": data.get("spec") or {},
                    "created_by": data.get("created_by"),
                }
                changes.new_edges.append(key)
        elif kind == "output":
            run = self.nodes.get(data["node"])
            if run is not None:
                run.outputs[data["name"]] = data["value"]
                changes.outputs.add(run.id)
        elif kind == "promise_added":
            self.promises.append((data.get("spec") or {}, data.get("created_by")))
            changes.promises = True
        elif kind == "promise_broken":
            self.broken = dict(data)
            changes.broken = True
        elif kind == "run_started":
            self.workflow = data.get("workflow", "")
            self.state, self.started_at = "running", ts
            changes.run_state = True
        elif kind == "run_state":
            self.state, self.reason = data["state"], data.get("reason")
            if self.finished:
                self.finished_at = ts
                self.ghosts = []  # a finished run grows no more
                changes.ghosts = True
            changes.run_state = True

    def _log(self, node: str | None, line: str, level: str, stream: str) -> None:
        if level != "info":
            line = f"[{level}] {line}"
        elif stream == "engine":
            line = f"[engine] {line}"
        run = self.nodes.get(node) if node is not None else None
        if run is not None:
            run.log.append(line)
            run.log_count += 1
        self.engine_log.append(f"{node}: {line}" if node else line)  # the run's log: every line

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for run in self.nodes.values():
            out[run.state] = out.get(run.state, 0) + 1
        return out

    def summary(self) -> str:
        counts = ", ".join(f"{n} {state}" for state, n in sorted(self.counts().items()))
        state = self.state or "starting"
        return (
            f"{self.run_id or 'run'}: {state} ({len(self.nodes)} nodes: {counts})"
            if self.nodes
            else f"{self.run_id or 'run'}: {state}"
        )
