"""A run's graph and states as of any event, folded from the event log.

This is what `weft graph RUN --at N`, `weft show` of a past moment and the studio's replay
slider read. It needs nothing but the store: a run is its events.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ProblemCollector
from engine.events import NodeState
from engine.graph import Mutation, RunGraph
from engine.loader import Loaded
from engine.model import EdgeSpec, NodeSpec, ResolvedNode, Trigger, Workflow
from engine.porttypes import TypeRegistry
from engine.projection import Ghost, ghosts
from engine.promises import PromiseKeeper
from engine.records import MessageSource, Reader
from engine.store import Store
from engine.writer import edge_data, node_data, promise_data

TERMINAL_RUN = {"succeeded", "failed", "broken", "cancelled"}


@dataclass
class GraphView:
    """Nodes and edges with their states at one moment (or before any run), and its ghosts."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: list[dict[str, Any]] = field(default_factory=list)
    promises: list[dict[str, Any]] = field(default_factory=list)
    ghosts: list[Ghost] = field(default_factory=list)
    at: int | None = None
    run_state: str | None = None


def from_workflow(loaded: Loaded) -> GraphView:
    """The registration-time projection: the workflow's own graph and what may still appear."""
    view = GraphView()
    graph = RunGraph(loaded.workflow, loaded.registry)
    registration = graph.registration(loaded.workflow, loaded.nodes)
    keeper = PromiseKeeper(graph)
    keeper.register(registration.promises)
    for node in loaded.workflow.nodes:
        view.nodes[node.id] = {
            "id": node.id,
            "spec": node_data(node),
            "created_by": None,
            "state": None,
            "dynamic": loaded.nodes[node.id].dynamic,
        }
    for edge in loaded.workflow.edges:
        view.edges.append({"from": edge.source, "to": edge.target, "spec": edge_data(edge), "created_by": None})
    view.promises = [promise_data(p) for p in loaded.workflow.promises]
    view.ghosts = ghosts(keeper, {})
    return view


_STRUCTURE = {"node_added": 0, "edge_added": 1, "promise_added": 2}  # their order inside one mutation
_KINDS = ("node_added", "edge_added", "promise_added", "node_state", "run_state", "run_started")


def _fold(structure: list[tuple[str, dict[str, Any]]]) -> PromiseKeeper:
    """The run's graph and promise keeper rebuilt from its structure events, to project ghosts.

    A run announces each mutation as its nodes, then its edges, then its promises, all by one
    creator, so consecutive events of one creator in that order are folded as one ``Mutation``:
    the graph and the keeper go through the same ``apply`` / ``applied`` / ``register`` as in
    the run, once per mutation rather than once per item. (Two mutations of one creator that
    follow each other may become one; every count the keeper keeps adds up the same.)
    Events were checked when the run wrote them, so they are read without a second validation.
    """
    graph = RunGraph(Workflow(name="replay"), TypeRegistry())
    keeper = PromiseKeeper(graph)
    reader = Reader(MessageSource("event"), ProblemCollector())
    batch: Mutation | None = None
    resolved: dict[str, ResolvedNode] = {}
    rank = 0

    def flush() -> None:
        if batch is None:
            return
        graph.apply(batch, resolved)
        if batch.creator is None:
            keeper.register(batch.promises)
        else:
            keeper.applied(batch)

    for kind, data in structure:
        creator = data["created_by"]
        order = _STRUCTURE[kind]
        if batch is None or creator != batch.creator or order < rank:
            flush()
            batch, resolved = Mutation(creator), {}
        rank = order
        if kind == "node_added":
            node_id, operator, dynamic = data["node"], data["spec"].get("operator"), bool(data.get("dynamic"))
            batch.nodes.append(NodeSpec(id=node_id, operator=operator, dynamic=dynamic))
            resolved[node_id] = _skeleton(node_id, operator, dynamic)
        elif kind == "edge_added":
            source, target = data["source"], data["target"]
            if (source in graph.nodes or source in resolved) and (target in graph.nodes or target in resolved):
                batch.edges.append(_edge(data["spec"], source, target))
        else:
            spec = reader.promise(data["spec"], ())
            if spec is not None:
                batch.promises.append(spec)
    flush()
    return keeper


def _skeleton(node_id: str, operator: str | None, dynamic: bool) -> ResolvedNode:
    """What ``resolve_node`` makes of a node that says only its id, operator and ``dynamic``."""
    return ResolvedNode(
        id=node_id,
        operator=operator,
        inputs={},
        outputs={},
        command=None,
        shell=False,
        image=None,
        build=None,
        executor=None,
        env={},
        workdir=None,
        retries=0,
        retry_delay=1.0,
        timeout=None,
        dynamic=dynamic,
        resources={},
        network=False,
        warm=False,
        params={},
        style={},
        trigger=Trigger.ALL,
    )


def _edge(spec: dict[str, Any], source: str, target: str) -> EdgeSpec:
    source_port = spec["from"].partition(".")[2] or None
    target_port = spec["to"].partition(".")[2] or None
    return EdgeSpec(source, target, source_port, target_port, spec.get("when"), spec.get("style"))


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Folding a run allocates a few objects per event and frees none of them, which makes the
    cyclic garbage collector run over and over for nothing: with 50,000 events its passes
    cost more than the fold itself. Reference counting goes on; the collector is switched back
    on afterwards (if it was on) and catches up at its next pass."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def at_event(store: Store, run_id: str, upto: int | None = None) -> GraphView:
    """The run as of event ``upto`` (its last event when None): nodes, states, edges, ghosts.

    The promise keeper behind the ghosts is rebuilt only when the run had not ended by then:
    a finished run grows no more, whatever its nodes' states say, so it has no ghosts.
    """
    with _no_cyclic_gc():
        return _at_event(store, run_id, upto)


def _at_event(store: Store, run_id: str, upto: int | None) -> GraphView:
    view = GraphView(at=upto)
    nodes = view.nodes
    structure: list[tuple[str, dict[str, Any]]] = []
    pending = NodeState.PENDING.value
    last = 0
    for seq, _ts, kind, data in store.events(run_id, upto=upto, kinds=_KINDS):
        last = seq
        if kind == "node_state":
            node = nodes.get(data["node"])
            if node is not None:
                node["state"] = data["state"]
        elif kind == "node_added":
            nodes[data["node"]] = {
                "id": data["node"],
                "spec": data["spec"],
                "created_by": data["created_by"],
                "state": pending,
                "dynamic": data.get("dynamic", False),
            }
            structure.append((kind, data))
        elif kind == "edge_added":
            view.edges.append(
                {"from": data["source"], "to": data["target"], "spec": data["spec"], "created_by": data["created_by"]}
            )
            structure.append((kind, data))
        elif kind == "promise_added":
            view.promises.append(data["spec"])
            structure.append((kind, data))
        elif kind == "run_state":
            view.run_state = data["state"]
        elif kind == "run_started":
            view.run_state = "running"
    if upto is None:
        view.at = last
    if view.run_state in TERMINAL_RUN:
        view.ghosts = []
    else:
        view.ghosts = ghosts(_fold(structure), {n: v["state"] for n, v in nodes.items()})
    return view


def to_json(view: GraphView) -> dict[str, Any]:
    nodes = []
    for node in view.nodes.values():
        spec = node["spec"]
        label = (spec.get("style") or {}).get("label") or node["id"]
        nodes.append(
            {
                "id": node["id"],
                "ghost": False,
                "label": label,
                "operator": spec.get("operator"),
                "state": node["state"],
                "created_by": node["created_by"],
                "dynamic": node["dynamic"],
            }
        )
    for ghost in view.ghosts:
        item = {"id": ghost.id, "ghost": True, "label": ghost.label, "owner": ghost.owner}
        if ghost.max is not None:
            item["max"] = ghost.max
        if ghost.match is not None:
            item["match"] = list(ghost.match)
        nodes.append(item)
    edges = []
    for edge in view.edges:
        spec = edge["spec"]
        item = {"from": edge["from"], "to": edge["to"], "ghost": False}
        if "." in spec.get("from", ""):
            item["ports"] = [spec["from"].split(".", 1)[1], spec["to"].split(".", 1)[1]]
        if spec.get("when"):
            item["when"] = spec["when"]
        edges.append(item)
    edges.extend({"from": g.owner, "to": g.id, "ghost": True} for g in view.ghosts)
    out: dict[str, Any] = {"nodes": nodes, "edges": edges}
    if view.at is not None:
        out["at"] = view.at
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


def to_dot(view: GraphView, name: str = "weft") -> str:
    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [
        f"digraph {q(name)} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for node in view.nodes.values():
        spec = node["spec"]
        label = (spec.get("style") or {}).get("label") or node["id"]
        attrs = [f"label={q(label)}"]
        color = _STATE_COLORS.get(node["state"] or "") or (spec.get("style") or {}).get("color")
        if color:
            attrs.append(f"fillcolor={q(color)}")
        if node["dynamic"]:
            attrs.append("peripheries=2")
        lines.append(f"  {q(node['id'])} [{', '.join(attrs)}];")
    for edge in view.edges:
        spec = edge["spec"]
        attrs = []
        if "." in spec.get("from", ""):
            attrs.append(f"label={q(spec['from'].split('.', 1)[1] + ' → ' + spec['to'].split('.', 1)[1])}")
        if spec.get("when"):
            attrs.append(f"xlabel={q('when ' + spec['when'])}")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {q(edge['from'])} -> {q(edge['to'])}{suffix};")
    for ghost in view.ghosts:
        lines.append(
            f'  {q(ghost.id)} [label={q(ghost.label)}, style="rounded,dashed", color="#888888", fontcolor="#666666"];'
        )
        lines.append(f'  {q(ghost.owner)} -> {q(ghost.id)} [style=dashed, color="#888888"];')
    lines.append("}")
    return "\n".join(lines) + "\n"
