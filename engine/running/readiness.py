"""Which pending nodes may start: a synchronous state machine, with no I/O and no asyncio.

The run tells it what happened (edges were added, a node settled) and asks what follows
(``evaluate``); it answers with ``Decision``s and keeps the set of nodes ready to start, in the
order they became ready. Each node's incoming edges are counted as satisfied, unsatisfied or
undecided as they appear and as their sources settle, so deciding a node never rescans a
large fan-in, and the cost of a change does not grow with the graph.

An edge is satisfied when its source succeeded and its ``when`` condition (if any) holds on the
source's outputs; a condition that cannot be evaluated fails the target with the reason.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import ExpressionError
from engine.events import NodeState
from engine.languages import expr
from engine.promises.graph import RunGraph
from engine.workflow.model import Trigger


class Gate(enum.Enum):
    """What a loop says of a new edge (``engine.running.loops``)."""

    HOLD = "hold"  # an exit of an iteration whose fate is not known: undecided until it is
    VOID = "void"  # an exit of an iteration that went round again: not counted


class Decision(enum.Enum):
    RUN = "run"  # every incoming edge it needs is satisfied: ready to start
    WAIT = "wait"  # an edge it needs is not decided yet
    SKIP = "skip"  # it can no longer run: an edge it needs cannot be satisfied
    FAIL = "fail"  # an edge's condition could not be evaluated


@dataclass(frozen=True, slots=True)
class Verdict:
    node: str
    decision: Decision
    reason: str | None = None


SKIP_REASON = "an incoming edge cannot be satisfied"


class Readiness:
    def __init__(
        self,
        graph: RunGraph,
        state_of: Callable[[str], NodeState],
        outputs: Mapping[str, Mapping[str, Any]],
    ) -> None:
        self.graph = graph
        self.state_of = state_of
        self.outputs = outputs
        #: the nodes that may start now, in the order they became ready
        self.ready: OrderedDict[str, None] = OrderedDict()
        self._edge_status: dict[int, bool] = {}
        self._conditions: dict[int, expr.Expression] = {}
        #: per node, its incoming edges counted as [satisfied, unsatisfied, undecided]
        self._counts: dict[str, list[int]] = {}
        self._errors: dict[str, str] = {}
        #: a loop's exits (``engine.running.loops``): ``gate(index)`` says whether a new edge is
        #: held (undecided until its iteration's fate is known) or void (an earlier iteration's
        #: exit: never counted); held and void edges, by index
        self.gate: Callable[[int], Gate | None] | None = None
        self.held: set[int] = set()
        self.void: set[int] = set()
        #: ``rename(source, ref)``: the node a condition on an edge from ``source`` reads as ``ref``
        self.rename: Callable[[str, str], str] | None = None

    # -- what happened ------------------------------------------------------------------------

    def edges_added(self, first: int) -> None:
        """The graph's edges from index ``first`` on are new: count them into their targets."""
        edges = self.graph.edges
        gate = self.gate
        for index in range(first, len(edges)):
            edge = edges[index]
            if gate is not None:
                fate = gate(index)
                if fate is Gate.VOID:
                    self.void.add(index)
                    continue
                if fate is Gate.HOLD:
                    self.held.add(index)
            self._counts.setdefault(edge.target, [0, 0, 0])[2] += 1
            if self.state_of(edge.source).is_terminal and index not in self.held:
                self._edge_decided(index)

    def release(self, indices: Iterable[int]) -> list[str]:
        """Held edges count as any edge again (their loop stopped); returns their targets."""
        targets = []
        for index in indices:
            if index in self.held:
                self.held.discard(index)
                if self.state_of(self.graph.edges[index].source).is_terminal:
                    self._edge_decided(index)
                targets.append(self.graph.edges[index].target)
        return targets

    def drop(self, indices: Iterable[int]) -> None:
        """Held edges no longer count at all (their loop went round again: the next iteration's
        exits stand for them)."""
        for index in indices:
            if index in self.held:
                self.held.discard(index)
                self.void.add(index)
                self._counts[self.graph.edges[index].target][2] -= 1

    def node_settled(self, node: str) -> None:
        """``node`` reached a terminal state: its outgoing edges are decided now."""
        self.ready.pop(node, None)
        for index in self.graph.outgoing.get(node, ()):
            if index not in self.held and index not in self.void:
                self._edge_decided(index)

    def clear(self) -> None:
        """Nothing starts any more (the run is ending)."""
        self.ready.clear()

    # -- what follows --------------------------------------------------------------------------

    def decide(self, node: str) -> Verdict:
        if node in self._errors:
            return Verdict(node, Decision.FAIL, self._errors[node])
        counts = self._counts.get(node)
        if not counts or not any(counts):
            return Verdict(node, Decision.RUN)
        satisfied, unsatisfied, undecided = counts
        trigger = self.graph.resolved[node].trigger
        if trigger is Trigger.ALL:
            if unsatisfied:
                return Verdict(node, Decision.SKIP, SKIP_REASON)
            return Verdict(node, Decision.WAIT if undecided else Decision.RUN)
        if undecided:
            return Verdict(node, Decision.WAIT)
        if trigger is Trigger.ANY and not satisfied:
            return Verdict(node, Decision.SKIP, SKIP_REASON)
        return Verdict(node, Decision.RUN)

    def evaluate(self, node: str) -> Iterator[Verdict]:
        """Re-decide ``node`` and everything downstream that its decision settles.

        Ready and waiting nodes are kept in ``ready``; a node that must be skipped or failed is
        yielded, and the caller records it (its state becomes terminal, and the caller calls
        ``node_settled``) before the iteration goes on to its successors."""
        work = [node]
        pending = NodeState.PENDING
        while work:
            current = work.pop()
            if self.state_of(current) is not pending:
                continue
            verdict = self.decide(current)
            if verdict.decision is Decision.RUN:
                self.ready[current] = None
            elif verdict.decision is Decision.WAIT:
                self.ready.pop(current, None)
            else:
                self.ready.pop(current, None)
                yield verdict
                work.extend(self.graph.successors(current))

    # -- edges ---------------------------------------------------------------------------------

    def _edge_decided(self, index: int) -> None:
        status = self._edge_satisfied(index)
        target = self.graph.edges[index].target
        counts = self._counts[target]
        counts[2] -= 1
        if isinstance(status, str):
            self._errors.setdefault(target, status)
        else:
            counts[0 if status else 1] += 1

    def _edge_satisfied(self, index: int) -> bool | str:
        """Whether a decided edge is satisfied, or why its condition could not be evaluated."""
        if index in self._edge_status:
            return self._edge_status[index]
        edge = self.graph.edges[index]
        if self.state_of(edge.source) is not NodeState.SUCCEEDED:
            result = False
        elif edge.when is None:
            result = True
        else:
            try:
                condition = self._conditions.get(index) or expr.parse(edge.when)
                self._conditions[index] = condition
                if self.rename is None:
                    result = condition.test(self._outputs_of)
                else:
                    rename, source = self.rename, edge.source
                    result = condition.test(lambda ref: self._outputs_of(rename(source, ref)))
            except ExpressionError as exc:
                return f"condition on {edge.source} -> {edge.target} ({edge.when}): {exc.message}"
        self._edge_status[index] = result
        return result

    def _outputs_of(self, node: str) -> Mapping[str, Any]:
        """A node's outputs for a condition: none yet is {}; a node not in the graph is unknown."""
        if node in self.outputs:
            return self.outputs[node]
        if node not in self.graph.nodes:
            raise KeyError(node)
        return {}
