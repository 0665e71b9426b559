"""Everything a run does, as typed events. The numbered sequence of them *is* the run.

Events are plain typed values: states are ``NodeState`` / ``RunState``, never strings. Only
``engine.history.codec`` knows how they are stored; only ``engine.history.fold`` turns a sequence of them into
what the run was at that moment (the CLI, replay, the studio and resume all read that fold).
States live here too, with their predicates, because they are run facts, not graph facts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class NodeState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    #: created by an attempt that a restart replaced: out of the as-of-now graph and of every
    #: promise's count, kept in the log (and in replay)
    RETIRED = "retired"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_NODE


class RunState(enum.StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    #: recorded as running or paused, but its engine process is gone (never written as an event)
    INTERRUPTED = "interrupted"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    BROKEN = "broken"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self not in (RunState.RUNNING, RunState.PAUSED, RunState.INTERRUPTED)

    @property
    def is_live(self) -> bool:
        """Going on, its process alive (as ``Store.run`` says it *now*: a run whose process died
        reads `interrupted`). A live run is never deleted."""
        return self in (RunState.RUNNING, RunState.PAUSED)

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES.get(self, 1)


_TERMINAL_NODE = {NodeState.SUCCEEDED, NodeState.FAILED, NodeState.SKIPPED, NodeState.CANCELLED, NodeState.RETIRED}
_EXIT_CODES = {
    RunState.SUCCEEDED: 0,
    RunState.FAILED: 1,
    RunState.BROKEN: 3,
    RunState.CANCELLED: 130,
    RunState.INTERRUPTED: 130,
}


@dataclass(frozen=True)
class Event:
    """Something that happened in a run. How events are stored is ``engine.history.codec``'s business."""


@dataclass(frozen=True, slots=True)
class AddedNode:
    """A node a change of structure adds: its spec as written, and whether its task may change
    the graph (from the node or its operator)."""

    id: str
    spec: dict[str, Any]
    dynamic: bool = False


@dataclass(frozen=True, slots=True)
class AddedEdge:
    source: str
    target: str
    spec: dict[str, Any]


@dataclass(frozen=True)
class Structure(Event):
    """What a change of structure adds, all at once: a run's state before and after it are the
    only two it ever had (no moment shows a node without its edges or promises)."""

    nodes: tuple[AddedNode, ...] = ()
    edges: tuple[AddedEdge, ...] = ()
    promises: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class RunStarted(Structure):
    """The run's first event, and its registration: the workflow's own nodes, edges, promises."""

    workflow: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    #: the workflow's loops (``engine.workflow.loops.Loop.describe``): their back edges are not
    #: registered, so a replay learns of them here
    loops: tuple[dict[str, Any], ...] = ()
    #: each `workflow:` node -> the run nodes it expanded into (``engine.workflow.nesting``)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class GraphChanged(Structure):
    """One task's accepted mutation."""

    created_by: str = ""


@dataclass(frozen=True)
class RunStateChanged(Event):
    state: RunState
    reason: str | None = None


@dataclass(frozen=True)
class NodeStateChanged(Event):
    node: str
    state: NodeState
    attempt: int = 0
    reason: str | None = None
    exit_code: int | None = None
    #: succeeded without running: the result of this earlier run was reused (the cache, SPEC §9)
    cached_from: str | None = None


@dataclass(frozen=True)
class Progress(Event):
    node: str
    fraction: float | None = None
    done: float | None = None
    total: float | None = None
    message: str | None = None


@dataclass(frozen=True)
class LogLine(Event):
    node: str | None
    stream: str
    message: str
    level: str = "info"


@dataclass(frozen=True)
class OutputSet(Event):
    node: str
    name: str
    value: Any


@dataclass(frozen=True)
class StyleChanged(Event):
    style: dict[str, Any]
    node: str | None = None
    edge: tuple[str, str] | None = None


@dataclass(frozen=True)
class ControlTaken(Event):
    """The run took a control asked of it from any process (``weft pause``, the studio):
    ``control`` is its number in the store, ``kind`` what was asked."""

    control: int
    kind: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Asked(Event):
    """A task ended by asking a person (its node is `waiting` until answered): ``fields`` maps
    each answer's name to its type text."""

    node: str
    prompt: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Restarted(Event):
    """``nodes`` were restarted (`weft restart`, or a dynamic node re-attempted on resume):
    ``reset`` (they and everything downstream) are `pending` again, their outputs gone;
    ``retired`` (what their earlier attempts created, and in turn those) leave the graph, with
    every edge and promise their creators made. The run goes on (`running`)."""

    nodes: tuple[str, ...]
    reset: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()
    reason: str | None = None


@dataclass(frozen=True)
class PromiseBroken(Event):
    promise: str
    #: the task whose mutation broke it; None for a breach found at a start (see ``before``)
    task: str | None
    reason: str
    mutation: dict[str, Any] = field(default_factory=dict)
    #: the nodes a person should look at (both alternatives of a choice, say)
    nodes: tuple[str, ...] = ()
    #: found before this node started, with no task to blame (``task`` is None then)
    before: str | None = None


@dataclass(frozen=True)
class Recorded:
    """An event with its place in the run: ``seq`` counts from 1, ``ts`` is epoch seconds."""

    run: str
    seq: int
    ts: float
    event: Event
