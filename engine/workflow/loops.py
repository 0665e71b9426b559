"""A workflow's loops: its cycles, each with one entry and one back edge carrying a ``when``.

SPEC §10: a cycle (a strongly connected set of more than one node, or a node with an edge to
itself) is a loop when exactly one of its nodes, the *entry*, has edges from outside it (or,
when none has, when its ``when`` edges all close into one node: a loop that starts the
workflow), and the edges closing it into the entry (its *back edges*) all come from one node,
the *latch*, and all carry the same ``when``. The cycle without its back edges must be
acyclic: a loop inside a loop, or two cycles sharing nodes, is not supported.

A run registers the workflow without its back edges (``registered_edges``), so its graph
stays acyclic; ``engine.running.loops`` adds each further iteration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.workflow.digraph import DiGraph
from engine.workflow.model import EdgeSpec, Workflow

DEFAULT_MAX_ITERATIONS = 1000


@dataclass(frozen=True, slots=True)
class Loop:
    entry: str
    latch: str
    #: the cycle's nodes, in file order
    members: tuple[str, ...]
    #: the condition to go round again (the back edges' ``when``)
    when: str
    #: indices into the workflow's edges: back edges (latch -> entry), edges inside the loop
    #: (back edges excepted), edges leaving it (exits), edges into the entry from outside
    back: tuple[int, ...]
    inside: tuple[int, ...]
    exits: tuple[int, ...]
    into: tuple[int, ...]

    def describe(self) -> dict[str, object]:
        """What a run records of the loop (its first event), so a replay can draw its ghost."""
        return {"entry": self.entry, "latch": self.latch, "members": list(self.members), "when": self.when}


@dataclass(frozen=True, slots=True)
class LoopProblem:
    """A cycle that is not a loop: ``edge`` or ``node`` is an index into the workflow's lists."""

    message: str
    edge: int | None = None
    node: int | None = None


def find_loops(workflow: Workflow) -> tuple[list[Loop], list[LoopProblem]]:
    """Every loop of ``workflow`` and every cycle that cannot be one. Linear in the graph."""
    ids = {n.id: i for i, n in enumerate(workflow.nodes)}
    edges = workflow.edges
    succ: dict[str, list[str]] = {}
    for e in edges:
        if e.source in ids and e.target in ids:
            succ.setdefault(e.source, []).append(e.target)
    component = _components(list(ids), succ)
    groups: dict[int, list[str]] = {}
    for node in ids:
        groups.setdefault(component[node], []).append(node)
    self_edge = {e.source for e in edges if e.source == e.target and e.source in ids}
    cyclic = {c for c, nodes in groups.items() if len(nodes) > 1 or nodes[0] in self_edge}
    if not cyclic:
        return [], []
    by_group: dict[int, list[int]] = {c: [] for c in cyclic}
    for i, e in enumerate(edges):
        source, target = component.get(e.source), component.get(e.target)
        if source in by_group:
            by_group[source].append(i)
        if target in by_group and target != source:
            by_group[target].append(i)
    loops: list[Loop] = []
    problems: list[LoopProblem] = []
    for c in sorted(cyclic, key=lambda c: ids[groups[c][0]]):
        loop = _loop(groups[c], set(groups[c]), by_group[c], edges, ids, problems)
        if loop is not None:
            loops.append(loop)
    return loops, problems


def _loop(
    members: list[str],
    inside_set: set[str],
    touching: list[int],
    edges: Sequence[EdgeSpec],
    ids: dict[str, int],
    problems: list[LoopProblem],
) -> Loop | None:
    internal = [i for i in touching if edges[i].source in inside_set and edges[i].target in inside_set]
    into = [i for i in touching if edges[i].source not in inside_set and edges[i].target in inside_set]
    exits = [i for i in touching if edges[i].source in inside_set and edges[i].target not in inside_set]
    shown = _cycle_text(members, internal, edges)
    entries = list(dict.fromkeys(edges[i].target for i in into))
    if len(entries) > 1:
        second = next(i for i in into if edges[i].target == entries[1])
        problems.append(
            LoopProblem(
                f"the cycle {shown} has two entries, '{entries[0]}' and '{entries[1]}' (edges from outside "
                "come into both); a loop is entered at one node",
                edge=second,
            )
        )
        return None
    if not entries:
        closing = list(dict.fromkeys(edges[i].target for i in internal if edges[i].when is not None))
        if len(closing) != 1:
            problems.append(
                LoopProblem(
                    f"the cycle {shown} has no entry: no edge comes into it from outside"
                    + (", and no `when` edge closes it into one node" if not closing else "")
                    + (f", and `when` edges close it into {len(closing)} nodes" if len(closing) > 1 else ""),
                    node=ids[members[0]],
                )
            )
            return None
        entries = closing
    entry = entries[0]
    back = [i for i in internal if edges[i].target == entry]
    latches = list(dict.fromkeys(edges[i].source for i in back))
    if len(latches) > 1:
        second = next(i for i in back if edges[i].source == latches[1])
        problems.append(
            LoopProblem(
                f"the cycle {shown} closes into its entry '{entry}' from two nodes, '{latches[0]}' and "
                f"'{latches[1]}': overlapping cycles are not supported (one node must close the loop)",
                edge=second,
            )
        )
        return None
    ok = True
    for i in back:
        if edges[i].when is None:
            problems.append(
                LoopProblem(
                    f"the back edge {edges[i]} closes the cycle {shown} and needs a `when` "
                    "(the condition to go round again)",
                    edge=i,
                )
            )
            ok = False
    whens = list(dict.fromkeys(edges[i].when for i in back if edges[i].when is not None))
    if len(whens) > 1:
        second = next(i for i in back if edges[i].when == whens[1])
        problems.append(LoopProblem(f"the back edges of the cycle {shown} must carry the same `when`", edge=second))
        ok = False
    rest = [i for i in internal if edges[i].target != entry]
    graph = DiGraph()
    graph.add_nodes_from(members)
    graph.add_edges_from((edges[i].source, edges[i].target) for i in rest)
    nested = graph.find_cycle()
    if nested:
        at = next(i for i in rest if (edges[i].source, edges[i].target) == (nested[0], nested[1]))
        problems.append(
            LoopProblem(
                f"the cycle {' -> '.join(nested)} lies inside the loop entered at '{entry}': "
                "nested or overlapping cycles are not supported",
                edge=at,
            )
        )
        ok = False
    if not ok:
        return None
    return Loop(
        entry=entry,
        latch=latches[0],
        members=tuple(sorted(members, key=ids.__getitem__)),
        when=str(whens[0]),
        back=tuple(back),
        inside=tuple(rest),
        exits=tuple(exits),
        into=tuple(into),
    )


def _cycle_text(members: list[str], internal: list[int], edges: Sequence[EdgeSpec]) -> str:
    """A cycle through the first member, as ``a -> b -> a``, for messages."""
    graph = DiGraph()
    graph.add_nodes_from(members)
    graph.add_edges_from((edges[i].source, edges[i].target) for i in internal)
    first = members[0]
    if graph.has_edge(first, first):
        return f"{first} -> {first}"
    for nxt in graph.successors(first):
        path = graph.shortest_path(nxt, first)
        if path is not None:
            return " -> ".join([first, *path])
    return " -> ".join([*members, first])


def _components(nodes: list[str], succ: dict[str, list[str]]) -> dict[str, int]:
    """Strongly connected components (Tarjan's, iterative: a long chain must not exhaust the stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    component: dict[str, int] = {}
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(succ.get(child, ()))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component[member] = index[node]
                        if member == node:
                            break
    return component


def registered_edges(workflow: Workflow, loops: Sequence[Loop]) -> list[EdgeSpec]:
    """The workflow's edges without its loops' back edges: what a run registers (acyclic)."""
    back = {i for loop in loops for i in loop.back}
    if not back:
        return list(workflow.edges)
    return [e for i, e in enumerate(workflow.edges) if i not in back]
