"""A run's graph and states as of any event, folded from the event log.

This is what `weft graph RUN --at N`, `weft show` of a past moment and the studio's replay
slider read. It needs nothing but the store: a run is its events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import ProblemCollector
from engine.events import NodeState
from engine.graph import Mutation, RunGraph
from engine.loader import Loaded
from engine.model import NodeSpec, Workflow, resolve_node
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
        view.nodes[node.id] = {"id": node.id, "spec": node_data(node), "created_by": None, "state": None,
                               "dynamic": loaded.nodes[node.id].dynamic}
    for edge in loaded.workflow.edges:
        view.edges.append({"from": edge.source, "to": edge.target, "spec": edge_data(edge), "created_by": None})
    view.promises = [promise_data(p) for p in loaded.workflow.promises]
    view.ghosts = ghosts(keeper, {})
    return view


class _Folder:
    """Rebuilds structure and promises from events, enough to project ghosts at any event."""

    def __init__(self) -> None:
        self.graph = RunGraph(Workflow(name="replay"), TypeRegistry())
        self.keeper = PromiseKeeper(self.graph)
        self.reader = Reader(MessageSource("event"), ProblemCollector())

    def node(self, data: dict[str, Any]) -> None:
        spec = NodeSpec(id=data["node"], operator=data["spec"].get("operator"), dynamic=data.get("dynamic", False))
        m = Mutation(data["created_by"], nodes=[spec])
        self.graph.apply(m, {spec.id: resolve_node(spec, None)})
        self.keeper.applied(m)

    def edge(self, data: dict[str, Any]) -> None:
        edge = self.reader.edge(data["spec"], ())
        if edge is not None and edge.source in self.graph.nodes and edge.target in self.graph.nodes:
            m = Mutation(data["created_by"], edges=[edge])
            self.graph.apply(m, {})
            self.keeper.applied(m)

    def promise(self, data: dict[str, Any]) -> None:
        spec = self.reader.promise(data["spec"], ())
        if spec is None:
            return
        if data["created_by"] is None:
            self.keeper.register([spec])
        else:
            self.keeper.applied(Mutation(data["created_by"], promises=[spec]))


def at_event(store: Store, run_id: str, upto: int | None = None) -> GraphView:
    view = GraphView(at=upto)
    folder = _Folder()
    last = 0
    for seq, _ts, kind, data in store.events(run_id, upto=upto,
                                             kinds=("node_added", "edge_added", "promise_added", "node_state",
                                                    "run_state", "run_started")):
        last = seq
        if kind == "node_added":
            view.nodes[data["node"]] = {"id": data["node"], "spec": data["spec"], "created_by": data["created_by"],
                                        "state": NodeState.PENDING.value, "dynamic": data.get("dynamic", False)}
            folder.node(data)
        elif kind == "edge_added":
            view.edges.append({"from": data["source"], "to": data["target"], "spec": data["spec"],
                               "created_by": data["created_by"]})
            folder.edge(data)
        elif kind == "promise_added":
            view.promises.append(data["spec"])
            folder.promise(data)
        elif kind == "node_state" and data["node"] in view.nodes:
            view.nodes[data["node"]]["state"] = data["state"]
        elif kind == "run_state":
            view.run_state = data["state"]
        elif kind == "run_started":
            view.run_state = "running"
    if upto is None:
        view.at = last
    if view.run_state in TERMINAL_RUN:
        view.ghosts = []  # a finished run grows no more, whatever its nodes' states say
    else:
        view.ghosts = ghosts(folder.keeper, {n: v["state"] for n, v in view.nodes.items()})
    return view


def to_json(view: GraphView) -> dict[str, Any]:
    nodes = []
    for node in view.nodes.values():
        spec = node["spec"]
        label = (spec.get("style") or {}).get("label") or node["id"]
        nodes.append({"id": node["id"], "ghost": False, "label": label, "operator": spec.get("operator"),
                      "state": node["state"], "created_by": node["created_by"],
                      "dynamic": node["dynamic"]})
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
    "pending": "#d0d0d0", "running": "#6fa8dc", "waiting": "#ffd966", "succeeded": "#93c47d",
    "failed": "#e06666", "skipped": "#eeeeee", "cancelled": "#b4a7d6",
}


def to_dot(view: GraphView, name: str = "weft") -> str:
    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"digraph {q(name)} {{", "  rankdir=LR;",
             '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];']
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
        lines.append(f"  {q(ghost.id)} [label={q(ghost.label)}, style=\"rounded,dashed\", color=\"#888888\", "
                     'fontcolor="#666666"];')
        lines.append(f"  {q(ghost.owner)} -> {q(ghost.id)} [style=dashed, color=\"#888888\"];")
    lines.append("}")
    return "\n".join(lines) + "\n"
