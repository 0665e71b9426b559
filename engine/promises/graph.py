"""A run's graph: the registered workflow plus everything tasks added, and the one door in.

Every change of structure (registration included) is a ``Mutation`` that goes through
``RunGraph.check`` (mutation rules 1-3 and well-formedness: the task fails) and then through
the promise keeper (rules 4-5: the run is broken) before ``apply``. Nothing else adds nodes
or edges. Checks are incremental, so the cost of one mutation does not grow with the graph.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ProblemCollector
from engine.events import NodeState
from engine.languages.porttypes import TypeRegistry
from engine.workflow.digraph import DiGraph
from engine.workflow.loops import registered_edges
from engine.workflow.model import EdgeSpec, NodeSpec, PromiseSpec, ResolvedNode, Workflow
from engine.workflow.records import MessageSource, Reader
from engine.workflow.validate import GraphChecker

#: The edges of a node that has none yet: one shared list, replaced by its own on its first edge.
_NO_EDGES: list[int] = []


def _add(edges: dict[str, list[int]], node: str, index: int) -> None:
    own = edges[node]
    if own is _NO_EDGES:
        edges[node] = [index]
    else:
        own.append(index)


@dataclass
class Mutation:
    """One atomic change: new nodes, edges and promises, made by ``creator`` (None: the workflow)."""

    creator: str | None
    nodes: list[NodeSpec] = field(default_factory=list)
    edges: list[EdgeSpec] = field(default_factory=list)
    promises: list[PromiseSpec] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def changes_structure(self) -> bool:
        return bool(self.nodes or self.edges or self.promises)


class RunGraph:
    def __init__(self, workflow: Workflow, registry: TypeRegistry) -> None:
        self.workflow = workflow
        self.registry = registry
        self.nodes: dict[str, NodeSpec] = {}
        self.resolved: dict[str, ResolvedNode] = {}
        self.created_by: dict[str, str | None] = {}
        self.children: dict[str, list[str]] = {}
        self.edges: list[EdgeSpec] = []
        self.edge_creator: list[str | None] = []
        self.incoming: dict[str, list[int]] = {}
        self.outgoing: dict[str, list[int]] = {}
        self.fed: dict[tuple[str, str], EdgeSpec] = {}
        self.edge_keys: set[tuple[str, str]] = set()
        self.promises: list[tuple[PromiseSpec, str | None]] = []
        self.dag = DiGraph()

    # -- reading a task's message ---------------------------------------------------------

    def parse_mutation(self, creator: str, raw: dict[str, list[Any]], where: str) -> tuple[Mutation, list[str]]:
        """Records from a task's message; problems are one-line reasons."""
        problems = ProblemCollector()
        reader = Reader(MessageSource(where), problems, run_ids=True)
        m = Mutation(creator, raw=raw)
        readers: tuple[tuple[str, Callable[..., Any], list[Any]], ...] = (
            ("nodes", reader.node, m.nodes),
            ("edges", reader.edge, m.edges),
            ("promises", reader.promise, m.promises),
        )
        for key, parse, out in readers:
            for i, item in enumerate(raw.get(key, [])):
                record = parse(item, (key, i))
                if record is not None:
                    out.append(record)
        return m, [str(p) for p in problems.problems]

    # -- rules 1-3 --------------------------------------------------------------------------

    def check(
        self,
        m: Mutation,
        state_of: Callable[[str], NodeState],
        where: str,
        unrolled: bool = False,
        scope: Any = None,
    ) -> tuple[dict[str, ResolvedNode], list[str]]:
        """Check rules 1-3 and well-formedness; ``state_of(node)`` is its state (pending: not started).

        ``unrolled``: ``m`` is a loop's next iteration, copied from the workflow's own nodes and
        edges; its conditions name the workflow's nodes and read the iteration's instances
        (``engine.running.loops``), so they are not checked against the run's graph again.
        ``scope`` (a ``loader.Loaded``) is the workflow inside a workflow whose task made ``m``:
        its operators and types make the new nodes."""
        problems = ProblemCollector()
        workflow, registry = (scope.workflow, scope.registry) if scope is not None else (self.workflow, self.registry)
        checker = GraphChecker(workflow, registry, MessageSource(where), problems)
        new: dict[str, ResolvedNode] = {}
        for i, node in enumerate(m.nodes):
            path = ("nodes", i)
            if node.id in self.nodes or node.id in new:
                checker.error(path + ("id",), f"node id '{node.id}' already exists in this run")
                continue
            r = checker.resolve(node, path)
            if r is not None:
                new[node.id] = r

        def node_of(node_id: str) -> ResolvedNode | None:
            return new.get(node_id) or self.resolved.get(node_id)

        # an iteration's exits feed the ports the previous iteration's fed (which no longer count)
        fed = {} if unrolled else dict(self.fed)
        edges = checker.check_edges(
            ((e, ("edges", i)) for i, e in enumerate(m.edges)),
            node_of,
            fed,
            lambda e: (e.source_text, e.target_text) in self.edge_keys,
            None if unrolled else (lambda ref, src: self._upstream(ref, src, m)),
        )
        sound = {id(e) for e in edges}  # identity, not equality: one pass however large the message
        for i, edge in enumerate(m.edges):
            if id(edge) not in sound or edge.target in new:
                continue
            state = state_of(edge.target)
            if state is not NodeState.PENDING:
                checker.error(
                    ("edges", i),
                    f"edge into '{edge.target}', which is already {state} "
                    "(an edge may only point into a node that has not started)",
                )
        if not problems:
            cycle = self._cycle_with(new, m.edges)
            if cycle:
                checker.error(("edges",), "the new edges would close a cycle: " + " -> ".join(cycle))
        return new, [str(p) for p in problems.problems]

    def _upstream(self, ref: str, source: str, m: Mutation) -> bool:
        if ref == source:
            return True
        if self.dag.has_path(ref, source):
            return True
        # through edges of the same mutation
        pending = DiGraph()
        pending.add_edges_from((e.source, e.target) for e in m.edges)
        return pending.has_path(ref, source)

    def _cycle_with(self, new: dict[str, ResolvedNode], edges: list[EdgeSpec]) -> list[str] | None:
        """Would adding ``edges`` close a cycle? Only searches from the new edges' targets."""
        added_nodes = [n for n in new if n not in self.dag]
        added_edges = [(e.source, e.target) for e in edges if not self.dag.has_edge(e.source, e.target)]
        self.dag.add_nodes_from(added_nodes)
        self.dag.add_edges_from(added_edges)
        try:
            for source, target in added_edges:
                path = self.dag.shortest_path(target, source)
                if path is not None:
                    return [source] + path
            return None
        finally:
            self.dag.remove_edges_from(added_edges)
            self.dag.remove_nodes_from(added_nodes)

    # -- applying ---------------------------------------------------------------------------

    def apply(self, m: Mutation, resolved: dict[str, ResolvedNode]) -> None:
        for node in m.nodes:
            self.nodes[node.id] = node
            self.resolved[node.id] = resolved[node.id]
            self.created_by[node.id] = m.creator
            if m.creator is not None:
                self.children.setdefault(m.creator, []).append(node.id)
            self.incoming[node.id] = _NO_EDGES
            self.outgoing[node.id] = _NO_EDGES
            self.dag.add_node(node.id)
        for edge in m.edges:
            index = len(self.edges)
            self.edges.append(edge)
            self.edge_creator.append(m.creator)
            _add(self.incoming, edge.target, index)
            _add(self.outgoing, edge.source, index)
            self.dag.add_edge(edge.source, edge.target)
            self.edge_keys.add((edge.source_text, edge.target_text))
            if edge.target_port is not None:
                self.fed[(edge.target, edge.target_port)] = edge
        for promise in m.promises:
            self.promises.append((promise, m.creator))

    def registration(self, workflow: Workflow, resolved: dict[str, ResolvedNode]) -> Mutation:
        """The workflow's own nodes, edges and promises, as the first mutation of a run: its loops'
        back edges stay out (``engine.workflow.loops``), so the graph is acyclic."""
        m = Mutation(None, list(workflow.nodes), registered_edges(workflow, workflow.loops), list(workflow.promises))
        self.apply(m, resolved)
        return m

    def successors(self, node: str) -> list[str]:
        return [self.edges[i].target for i in self.outgoing.get(node, ())]
