"""Everything a run does, as typed events. The numbered sequence of them *is* the run.

The store appends them (and keeps a few tables derived from them for quick questions); the
studio subscribes to them; replay folds them up to any number. States live here too, with
``is_terminal``, because they are run facts, not graph facts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar


class NodeState(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_NODE


class RunState(str, enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    BROKEN = "broken"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self not in (RunState.RUNNING, RunState.PAUSED)

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES.get(self, 1)


_TERMINAL_NODE = {NodeState.SUCCEEDED, NodeState.FAILED, NodeState.SKIPPED, NodeState.CANCELLED}
_EXIT_CODES = {RunState.SUCCEEDED: 0, RunState.FAILED: 1, RunState.BROKEN: 3, RunState.CANCELLED: 130}


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"

    def data(self) -> dict[str, Any]:
        # shallow: asdict() deep-copies every nested dict and list of every event
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class RunStarted(Event):
    kind: ClassVar[str] = "run_started"
    workflow: str
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunStateChanged(Event):
    kind: ClassVar[str] = "run_state"
    state: str
    reason: str | None = None


@dataclass(frozen=True)
class NodeAdded(Event):
    kind: ClassVar[str] = "node_added"
    node: str
    spec: dict[str, Any]
    created_by: str | None = None
    #: whether its task may change the graph (from the node or its operator)
    dynamic: bool = False


@dataclass(frozen=True)
class EdgeAdded(Event):
    kind: ClassVar[str] = "edge_added"
    source: str
    target: str
    spec: dict[str, Any]
    created_by: str | None = None


@dataclass(frozen=True)
class PromiseAdded(Event):
    kind: ClassVar[str] = "promise_added"
    spec: dict[str, Any]
    created_by: str | None = None


@dataclass(frozen=True)
class NodeStateChanged(Event):
    kind: ClassVar[str] = "node_state"
    node: str
    state: str
    attempt: int = 0
    reason: str | None = None
    exit_code: int | None = None


@dataclass(frozen=True)
class Progress(Event):
    kind: ClassVar[str] = "progress"
    node: str
    fraction: float | None = None
    done: float | None = None
    total: float | None = None
    message: str | None = None


@dataclass(frozen=True)
class LogLine(Event):
    kind: ClassVar[str] = "log"
    node: str | None
    stream: str
    message: str
    level: str = "info"


@dataclass(frozen=True)
class OutputSet(Event):
    kind: ClassVar[str] = "output"
    node: str
    name: str
    value: Any


@dataclass(frozen=True)
class StyleChanged(Event):
    kind: ClassVar[str] = "style"
    style: dict[str, Any]
    node: str | None = None
    edge: list[str] | None = None


@dataclass(frozen=True)
class PromiseBroken(Event):
    kind: ClassVar[str] = "promise_broken"
    promise: str
    task: str | None
    reason: str
    mutation: dict[str, Any] = field(default_factory=dict)
    #: the nodes a person should look at (both alternatives of a choice, say)
    nodes: list[str] = field(default_factory=list)
    #: found before this node started, with no task to blame (``task`` is None then)
    before: str | None = None


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        RunStarted,
        RunStateChanged,
        NodeAdded,
        EdgeAdded,
        PromiseAdded,
        NodeStateChanged,
        Progress,
        LogLine,
        OutputSet,
        StyleChanged,
        PromiseBroken,
    )
}


@dataclass(frozen=True)
class Recorded:
    """An event with its place in the run: ``seq`` counts from 1, ``ts`` is epoch seconds."""

    run: str
    seq: int
    ts: float
    event: Event
