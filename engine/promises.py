"""Promises: constraints on how a run's graph may grow, which the engine never lets break.

``PromiseKeeper`` is the single check point every mutation passes after the structural rules.
It keeps the implicit promise of every node not marked ``dynamic`` (its task creates no nodes,
edges or promises) and answers the scheduler's question "may this running task still add an
edge into that node?".

Explicit promises (``static``, ``no_new_nodes``, shapes, ...) are parsed and recorded by the
loader; until their checks exist, a workflow that declares one is refused at run start rather
than run without the guarantee it asks for (see ``unsupported``).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.graph import Mutation, RunGraph
from engine.model import PromiseSpec

IMPLICIT = "implicit: a node not marked dynamic creates no nodes, edges or promises"


@dataclass(frozen=True)
class Violation:
    promise: str
    task: str | None
    reason: str


class PromiseKeeper:
    def __init__(self, graph: RunGraph) -> None:
        self.graph = graph

    def unsupported(self, promises: list[PromiseSpec]) -> list[PromiseSpec]:
        """Promises this engine cannot enforce yet (all explicit kinds, for now)."""
        return list(promises)

    def check_implicit(self, m: Mutation) -> Violation | None:
        """Only ``dynamic`` nodes change the graph: checked before anything else of ``m``."""
        creator = m.creator
        if creator is not None and m.changes_structure and not self.graph.resolved[creator].dynamic:
            return Violation(IMPLICIT, creator,
                             f"{creator} is not marked dynamic, but it tried to create {_describe(m)}")
        return None

    def check(self, m: Mutation) -> Violation | None:
        """The first promise in force (or made by ``m``) that ``m`` would break, or None."""
        creator = m.creator
        if m.promises:
            p = m.promises[0]
            return Violation(f"{p.kind}", creator,
                             f"{creator} made a '{p.kind}' promise, which this engine cannot enforce yet")
        return None

    def may_add_edge_anywhere(self, creator: str) -> bool:
        """Could a running task of ``creator`` still add an edge into any pending node at all?"""
        return self.graph.resolved[creator].dynamic

    def may_add_edge_into(self, creator: str, target: str) -> bool:
        """Could a running task of ``creator`` still add an edge into ``target``?"""
        return self.graph.resolved[creator].dynamic


def _describe(m: Mutation) -> str:
    parts = []
    if m.nodes:
        parts.append("node" + ("s " if len(m.nodes) > 1 else " ") + ", ".join(n.id for n in m.nodes[:5])
                     + (" ..." if len(m.nodes) > 5 else ""))
    if m.edges:
        parts.append("edge" + ("s " if len(m.edges) > 1 else " ") + ", ".join(str(e) for e in m.edges[:5])
                     + (" ..." if len(m.edges) > 5 else ""))
    if m.promises:
        parts.append(f"{len(m.promises)} promise(s)")
    return " and ".join(parts)
