"""A run's loops: each time a loop's latch succeeds and its ``when`` holds, its next iteration.

The run's graph stays acyclic (the back edges are not registered, ``engine.workflow.loops``).
When the latch of iteration k succeeds and the back edge's condition holds on its outputs, the
loop's nodes are added again as ``node@k+1`` (``engine.languages.iterations``), wired as the
originals: edges inside the loop between the new instances, the back edges from the latch of
iteration k into the new entry (the data of one iteration flows into the next), the edges into
the entry from outside (but for the ports a back edge feeds), and the loop's exits from the new
instances. That is one change of structure created by the latch, checked by rules 1-3 and by
every promise like any task's (``Run._admit``).

Exits wait for the loop: an edge leaving iteration k is *held* (undecided, so what it leads
to waits) until the latch of iteration k settles. If the loop goes round again the held exits
are *void* (never counted: iteration k+1's exits stand for them); if it stops, they count as
any edge. So the exits of the last iteration are the ones that fire.

A condition on an edge from iteration k reads iteration k's instances of the loop's nodes
(``rename``), and any other loop's nodes as that loop's last iteration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from engine.errors import ExpressionError
from engine.events import NodeState
from engine.languages import expr
from engine.languages.iterations import SEPARATOR, base_of, instance, split
from engine.promises.graph import Mutation, RunGraph
from engine.running.readiness import Gate, Readiness
from engine.workflow.loops import DEFAULT_MAX_ITERATIONS, Loop
from engine.workflow.model import Workflow
from engine.workflow.writer import edge_data, node_data


@dataclass
class Step:
    """What the latch of ``iteration`` settling means: the next iteration (``mutation``) or the
    loop's end; ``held`` are that iteration's exits."""

    loop: Loop
    iteration: int
    held: list[int]
    mutation: Mutation | None = None


class LoopDriver:
    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.loops: list[Loop] = list(workflow.loops)
        self.max_iterations = workflow.settings.max_iterations or DEFAULT_MAX_ITERATIONS
        self.loop_of: dict[str, Loop] = {m: loop for loop in self.loops for m in loop.members}
        self.latches: dict[str, Loop] = {loop.latch: loop for loop in self.loops}
        edges = workflow.edges
        self._exits = {
            loop.entry: frozenset((edges[i].source, edges[i].target) for i in loop.exits) for loop in self.loops
        }
        self._specs = {n.id: n for n in workflow.nodes if n.id in self.loop_of}
        self._conditions: dict[str, expr.Expression] = {}
        self._verdicts: dict[str, bool] = {}  # latch instance -> its condition held, when it succeeded
        #: per loop (by entry), its last iteration in the graph
        self.latest: dict[str, int] = {}
        self._held: dict[tuple[str, int], list[int]] = {}
        self._graph: RunGraph | None = None
        self._readiness: Readiness | None = None
        self._state_of: Callable[[str], NodeState] = lambda node: NodeState.PENDING
        self._outputs: Mapping[str, Mapping[str, Any]] = {}

    def bind(
        self,
        graph: RunGraph,
        readiness: Readiness,
        state_of: Callable[[str], NodeState],
        outputs: Mapping[str, Mapping[str, Any]],
    ) -> None:
        """Drive the loops of ``graph`` (a new one after a restart or a resume: its iterations
        are counted from its nodes) through ``readiness``."""
        if not self.loops:
            return
        self._graph, self._readiness, self._state_of, self._outputs = graph, readiness, state_of, outputs
        readiness.gate = self._gate
        readiness.rename = self.rename
        self._held = {}
        self.latest = {loop.entry: 1 for loop in self.loops}
        for node in graph.nodes:
            if SEPARATOR in node:
                base, k = split(node)
                loop = self.loop_of.get(base)
                if loop is not None and k > self.latest[loop.entry]:
                    self.latest[loop.entry] = k

    # -- what the run asks ------------------------------------------------------------------

    def vet(self, node: str, reason: str | None) -> tuple[NodeState, str | None]:
        """The state of a latch that succeeded: failed if its loop would go round again past
        ``max_iterations``, or if its condition cannot be evaluated."""
        loop, k = self._latch(node)
        if loop is None:
            return NodeState.SUCCEEDED, reason
        try:
            holds = self._condition(loop).test(lambda ref: self._outputs_of(self.rename(node, ref)))
        except ExpressionError as exc:
            return NodeState.FAILED, f"the condition of the loop at '{loop.entry}' ({loop.when}): {exc.message}"
        self._verdicts[node] = holds and k < self.max_iterations
        if holds and k >= self.max_iterations:
            return NodeState.FAILED, (
                f"the loop at '{loop.entry}' reached max_iterations ({self.max_iterations}) "
                f"while its condition still holds ({loop.when})"
            )
        return NodeState.SUCCEEDED, reason

    def goes_round(self, node: str) -> bool:
        """Whether ``node``, vetted, is a latch whose loop goes round again."""
        return self._verdicts.get(node, False) and self._latch(node)[0] is not None

    def settled(self, node: str, state: NodeState) -> Step | None:
        """``node`` settled: if it is the latch of its loop's last iteration, what follows."""
        loop, k = self._latch(node)
        if loop is None:
            return None
        held = self._held.pop((loop.entry, k), [])
        if state is NodeState.SUCCEEDED and self._verdicts.pop(node, False):
            return Step(loop, k, held, self._next(loop, k))
        return Step(loop, k, held)

    def advanced(self, step: Step) -> None:
        """The next iteration of ``step``'s loop is in the graph."""
        self.latest[step.loop.entry] = step.iteration + 1

    def rename(self, source: str, ref: str) -> str:
        """The node a condition on an edge from ``source`` reads when it names ``ref``."""
        loop = self.loop_of.get(ref)
        if loop is None:
            return ref
        base, k = split(source) if SEPARATOR in source else (source, 1)
        if self.loop_of.get(base) is loop:
            return instance(ref, k)
        return instance(ref, self.latest.get(loop.entry, 1))

    # -- inside -----------------------------------------------------------------------------

    def _latch(self, node: str) -> tuple[Loop | None, int]:
        base, k = split(node) if SEPARATOR in node else (node, 1)
        loop = self.latches.get(base)
        if loop is None or self.latest.get(loop.entry) != k:
            return None, k
        return loop, k

    def _condition(self, loop: Loop) -> expr.Expression:
        parsed = self._conditions.get(loop.entry)
        if parsed is None:
            parsed = self._conditions[loop.entry] = expr.parse(loop.when)
        return parsed

    def _outputs_of(self, node: str) -> Mapping[str, Any]:
        if node in self._outputs:
            return self._outputs[node]
        if self._graph is None or node not in self._graph.nodes:
            raise KeyError(node)
        return {}

    def _gate(self, index: int) -> Gate | None:
        assert self._graph is not None
        edge = self._graph.edges[index]
        base, k = split(edge.source) if SEPARATOR in edge.source else (edge.source, 1)
        loop = self.loop_of.get(base)
        if loop is None or (base, base_of(edge.target)) not in self._exits[loop.entry]:
            return None
        if self.latest[loop.entry] > k:
            return Gate.VOID
        if self._state_of(instance(loop.latch, k)).is_terminal:
            return None  # the loop stopped at this iteration: its exits count
        self._held.setdefault((loop.entry, k), []).append(index)
        return Gate.HOLD

    def _next(self, loop: Loop, k: int) -> Mutation:
        """Iteration k+1 of ``loop``, wired as the workflow wires the loop, as one change."""
        assert self._graph is not None and self._readiness is not None
        n = k + 1
        edges = self.workflow.edges
        nodes = [replace(self._specs[m], id=instance(m, n)) for m in loop.members]
        new = [
            replace(edges[i], source=instance(edges[i].source, n), target=instance(edges[i].target, n))
            for i in loop.inside
        ]
        fed_back = set()
        for i in loop.back:
            new.append(replace(edges[i], source=instance(loop.latch, k), target=instance(loop.entry, n)))
            fed_back.add(edges[i].target_port)
        graph, void = self._graph, self._readiness.void
        for index in graph.incoming.get(loop.entry, ()):  # into the first entry: from outside the loop
            edge = graph.edges[index]
            if index in void or (edge.target_port is not None and edge.target_port in fed_back):
                continue
            new.append(replace(edge, target=instance(loop.entry, n)))
        new.extend(replace(edges[i], source=instance(edges[i].source, n)) for i in loop.exits)
        raw: dict[str, Any] = {"nodes": [node_data(x) for x in nodes], "edges": [edge_data(e) for e in new]}
        return Mutation(instance(loop.latch, k), nodes, new, raw=raw)
