"""Drawing a run as of any event, or a workflow before any run: JSON and GraphViz text.

What is drawn comes from the one fold (``engine.history.fold``): `weft graph RUN --at N` folds the
run's events up to N; a workflow file is folded from the registration a run of it would start
with, so both show the same graph the same way.
"""

from __future__ import annotations

from typing import Any

from engine.events import AddedEdge, AddedNode, Recorded, RunStarted
from engine.history.fold import RunSnapshot, snapshot
from engine.history.store import Store
from engine.promises.projection import Ghost
from engine.workflow.loader import Loaded
from engine.workflow.nesting import expand
from engine.workflow.writer import edge_data, node_data, promise_data


def registration(loaded: Loaded) -> RunStarted:
    """The first event a run of ``loaded`` records: its own nodes, edges and promises."""
    ex = expand(loaded)
    return RunStarted(
        workflow=loaded.workflow.name,
        nodes=tuple(AddedNode(n.id, node_data(n), ex.resolved[n.id].dynamic) for n in ex.nodes),
        edges=tuple(AddedEdge(e.source, e.target, edge_data(e)) for e in ex.edges),
        promises=tuple(promise_data(p) for p in ex.promises),
        loops=tuple(loop.describe() for loop in (ex.loops_view or loaded.workflow).loops),
        groups={group: tuple(members) for group, members in ex.groups.items()},
    )


def from_workflow(loaded: Loaded) -> tuple[RunSnapshot, list[Ghost]]:
    """The registration-time projection: the workflow's own graph and what may still appear."""
    view = RunSnapshot()
    view.apply(Recorded("", 0, 0.0, registration(loaded)))
    for node in view.nodes.values():
        node.state = None  # not a run: nothing has a state yet
    view.state = None
    return view, view.ghosts()


def at_event(store: Store, run_id: str, upto: int | None = None) -> tuple[RunSnapshot, list[Ghost]]:
    """The run as of event ``upto`` (its last event when None) and its ghosts then."""
    view = snapshot(store, run_id, upto)
    return view, view.ghosts()


def to_json(view: RunSnapshot, ghosts: list[Ghost], at: int | None = None) -> dict[str, Any]:
    nodes_now, edges_now = view.graph_now()
    nodes: list[dict[str, Any]] = [
        {
            "id": node.id,
            "ghost": False,
            "label": node.label,
            "operator": node.operator,
            "state": node.state,
            "created_by": node.created_by,
            "dynamic": node.dynamic,
        }
        for node in nodes_now
    ]
    for ghost in ghosts:
        item: dict[str, Any] = {"id": ghost.id, "ghost": True, "label": ghost.label, "owner": ghost.owner}
        if ghost.max is not None:
            item["max"] = ghost.max
        if ghost.match is not None:
            item["match"] = list(ghost.match)
        nodes.append(item)
    edges = []
    for edge in edges_now:
        out_edge: dict[str, Any] = {"from": edge.source, "to": edge.target, "ghost": False}
        source_port, target_port = edge.ports
        if source_port is not None:
            out_edge["ports"] = [source_port, target_port]
        if edge.when:
            out_edge["when"] = edge.when
        edges.append(out_edge)
    edges.extend({"from": g.owner, "to": g.id, "ghost": True} for g in ghosts)
    out: dict[str, Any] = {"nodes": nodes, "edges": edges}
    if at is not None:
        out["at"] = at
    return out


_STATE_COLORS = {
    "pending": "#d0d0d0",
    "running": "#6fa8dc",
    "waiting": "#ffd966",
    "succeeded": "#93c47d",
    "failed": "#e06666",
    "skipped": "#eeeeee",
    "cancelled": "#b4a7d6",
}


def _quote(text: str) -> str:
    """A DOT quoted string: quotes and backslashes escaped, control characters shown as
    ``\\xNN`` (a raw newline would end DOT's line; others would reach the rendered picture)."""
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = "".join(ch if ch.isprintable() or ch == " " else f"\\\\x{ord(ch):02x}" for ch in out)
    return f'"{out}"'


def to_dot(view: RunSnapshot, ghosts: list[Ghost], name: str = "weft") -> str:
    q = _quote
    lines = [
        f"digraph {q(name)} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    nodes_now, edges_now = view.graph_now()
    for node in nodes_now:
        attrs = [f"label={q(node.label)}"]
        color = _STATE_COLORS.get(node.state or "") or (node.spec.get("style") or {}).get("color")
        if color:
            attrs.append(f"fillcolor={q(color)}")
        if node.dynamic:
            attrs.append("peripheries=2")
        lines.append(f"  {q(node.id)} [{', '.join(attrs)}];")
    for edge in edges_now:
        attrs = []
        source_port, target_port = edge.ports
        if source_port is not None:
            attrs.append(f"label={q(f'{source_port} → {target_port}')}")
        if edge.when:
            attrs.append(f"xlabel={q('when ' + edge.when)}")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {q(edge.source)} -> {q(edge.target)}{suffix};")
    for ghost in ghosts:
        lines.append(
            f'  {q(ghost.id)} [label={q(ghost.label)}, style="rounded,dashed", color="#888888", fontcolor="#666666"];'
        )
        lines.append(f'  {q(ghost.owner)} -> {q(ghost.id)} [style=dashed, color="#888888"];')
    lines.append("}")
    return "\n".join(lines) + "\n"
