"""The one place that knows how events are stored: a kind name and a JSON object per event.

``encode`` gives what the store writes; ``decode`` turns a stored row back into the typed event
(enums, tuples of ``AddedNode`` / ``AddedEdge``), so nothing above the store ever reads raw
event JSON. A row that does not decode is a damaged database, said in one line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from engine.errors import InvalidInput
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
    Restarted,
    RunStarted,
    RunState,
    RunStateChanged,
    StyleChanged,
)

#: The stored name of each kind of event.
KINDS: dict[type[Event], str] = {
    RunStarted: "run_started",
    GraphChanged: "graph",
    RunStateChanged: "run_state",
    NodeStateChanged: "node_state",
    Progress: "progress",
    LogLine: "log",
    OutputSet: "output",
    StyleChanged: "style",
    PromiseBroken: "promise_broken",
    ControlTaken: "control",
    Asked: "asked",
    Restarted: "restarted",
}
TYPES: dict[str, type[Event]] = {kind: cls for cls, kind in KINDS.items()}


def kinds_of(types: Iterable[type[Event]]) -> list[str]:
    return [KINDS[t] for t in types]


def _dumps(value: Any) -> str:
    # str enums are written as their values
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _structure(event: RunStarted | GraphChanged) -> dict[str, Any]:
    return {
        "nodes": [{"id": n.id, "spec": n.spec, "dynamic": n.dynamic} for n in event.nodes],
        "edges": [{"source": e.source, "target": e.target, "spec": e.spec} for e in event.edges],
        "promises": list(event.promises),
    }


def _fields(event: Event) -> dict[str, Any]:
    # shallow: dataclasses.asdict would deep-copy every nested value of every event
    return {name: getattr(event, name) for name in event.__dataclass_fields__}


def to_data(event: Event) -> dict[str, Any]:
    """The event as the JSON object it is stored as."""
    if isinstance(event, RunStarted):
        data = {"workflow": event.workflow, "settings": event.settings, **_structure(event)}
        if event.loops:
            data["loops"] = list(event.loops)
        if event.groups:
            data["groups"] = {group: list(members) for group, members in event.groups.items()}
        return data
    if isinstance(event, GraphChanged):
        return {"created_by": event.created_by, **_structure(event)}
    if isinstance(event, NodeStateChanged) and event.cached_from is None:
        data = _fields(event)
        del data["cached_from"]  # nearly every state change: stored as before the cache existed
        return data
    return _fields(event)


def encode(event: Event) -> tuple[str, str | None, str]:
    """(kind, the node it concerns or None, JSON text) as the store writes them."""
    if type(event) is LogLine:  # the flood case, kept cheap
        data: dict[str, Any] = {
            "node": event.node,
            "stream": event.stream,
            "message": event.message,
            "level": event.level,
        }
        return "log", event.node, _dumps(data)
    data = to_data(event)
    node = data.get("node") if isinstance(data.get("node"), str) else None
    return KINDS[type(event)], node, _dumps(data)


def _added(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodes": tuple(AddedNode(n["id"], n["spec"], bool(n.get("dynamic"))) for n in data.get("nodes", ())),
        "edges": tuple(AddedEdge(e["source"], e["target"], e["spec"]) for e in data.get("edges", ())),
        "promises": tuple(data.get("promises", ())),
    }


def _pair(value: Any) -> tuple[str, str] | None:
    return (str(value[0]), str(value[1])) if value else None


_DECODERS: dict[str, Callable[[dict[str, Any]], Event]] = {
    "run_started": lambda d: RunStarted(
        workflow=d["workflow"],
        settings=d.get("settings") or {},
        loops=tuple(d.get("loops") or ()),
        groups={group: tuple(members) for group, members in (d.get("groups") or {}).items()},
        **_added(d),
    ),
    "graph": lambda d: GraphChanged(created_by=d["created_by"], **_added(d)),
    "run_state": lambda d: RunStateChanged(RunState(d["state"]), d.get("reason")),
    "node_state": lambda d: NodeStateChanged(
        d["node"], NodeState(d["state"]), d.get("attempt", 0), d.get("reason"), d.get("exit_code"), d.get("cached_from")
    ),
    "progress": lambda d: Progress(d["node"], d.get("fraction"), d.get("done"), d.get("total"), d.get("message")),
    "log": lambda d: LogLine(d.get("node"), d.get("stream", ""), d.get("message", ""), d.get("level", "info")),
    "output": lambda d: OutputSet(d["node"], d["name"], d.get("value")),
    "style": lambda d: StyleChanged(d.get("style") or {}, d.get("node"), _pair(d.get("edge"))),
    "control": lambda d: ControlTaken(int(d["control"]), d["kind"], d.get("args") or {}),
    "asked": lambda d: Asked(d["node"], d["prompt"], dict(d.get("fields") or {})),
    "restarted": lambda d: Restarted(
        tuple(d["nodes"]), tuple(d.get("reset") or ()), tuple(d.get("retired") or ()), d.get("reason")
    ),
    "promise_broken": lambda d: PromiseBroken(
        d["promise"],
        d.get("task"),
        d["reason"],
        d.get("mutation") or {},
        tuple(d.get("nodes") or ()),
        d.get("before"),
    ),
}


def decode(kind: str, text: str, where: str = "an event") -> Event:
    """The typed event of a stored row; a row that is not one raises ``InvalidInput``."""
    try:
        return _DECODERS[kind](json.loads(text))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(
            f"{where} is damaged ({kind}, {type(exc).__name__}): the run database is not usable"
        ) from None
