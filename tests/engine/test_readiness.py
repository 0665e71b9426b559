"""Readiness as a state machine on its own: no asyncio, no tasks, no store. Tell it what
happened, ask what follows."""

from __future__ import annotations

import textwrap

from engine.events import NodeState
from engine.promises.graph import RunGraph
from engine.running.readiness import Decision, Readiness
from engine.workflow.loader import load_text


class Machine:
    """A registered workflow, its node states and outputs, and its readiness."""

    def __init__(self, text: str) -> None:
        loaded = load_text(textwrap.dedent(text))
        self.graph = RunGraph(loaded.workflow, loaded.registry)
        self.graph.registration(loaded.workflow, loaded.nodes)
        self.states: dict[str, NodeState] = {n: NodeState.PENDING for n in self.graph.nodes}
        self.outputs: dict[str, dict[str, object]] = {}
        self.readiness = Readiness(self.graph, self.states.__getitem__, self.outputs)
        self.readiness.edges_added(0)
        self.settled: list[tuple[str, Decision, str | None]] = []

    def evaluate(self, *nodes: str) -> None:
        for node in nodes:
            for verdict in self.readiness.evaluate(node):
                self.settle(verdict.node, NodeState.SKIPPED if verdict.decision is Decision.SKIP else NodeState.FAILED)
                self.settled.append((verdict.node, verdict.decision, verdict.reason))

    def settle(self, node: str, state: NodeState, **outputs: object) -> None:
        self.states[node] = state
        if outputs:
            self.outputs[node] = outputs
        self.readiness.node_settled(node)

    def finish(self, node: str, state: NodeState = NodeState.SUCCEEDED, **outputs: object) -> None:
        """``node`` ran and ended: settle it, then re-decide its successors as the run does."""
        self.states[node] = NodeState.RUNNING
        self.readiness.ready.pop(node, None)
        self.settle(node, state, **outputs)
        self.evaluate(*self.graph.successors(node))

    @property
    def ready(self) -> list[str]:
        return list(self.readiness.ready)


def test_a_chain_becomes_ready_one_node_at_a_time() -> None:
    m = Machine("""
        weft: 1
        nodes: [{id: a, command: [x]}, {id: b, command: [x]}, {id: c, command: [x]}]
        edges: [{from: a, to: b}, {from: b, to: c}]
    """)
    m.evaluate(*m.graph.nodes)
    assert m.ready == ["a"] and m.readiness.decide("b").decision is Decision.WAIT
    m.finish("a")
    assert m.ready == ["b"]
    m.finish("b")
    assert m.ready == ["c"]


def test_a_failed_source_skips_everything_downstream_in_one_evaluation() -> None:
    m = Machine("""
        weft: 1
        nodes: [{id: a, command: [x]}, {id: b, command: [x]}, {id: c, command: [x]}, {id: d, command: [x]}]
        edges: [{from: a, to: b}, {from: b, to: c}, {from: a, to: d}]
    """)
    m.evaluate(*m.graph.nodes)
    m.finish("a", NodeState.FAILED)
    assert sorted(n for n, _d, _r in m.settled) == ["b", "c", "d"]
    assert {d for _n, d, _r in m.settled} == {Decision.SKIP} and m.ready == []


def test_triggers_any_and_always() -> None:
    m = Machine("""
        weft: 1
        nodes:
          - {id: a, command: [x]}
          - {id: b, command: [x]}
          - {id: any, command: [x], trigger: any}
          - {id: always, command: [x], trigger: always}
        edges: [{from: a, to: any}, {from: b, to: any}, {from: a, to: always}, {from: b, to: always}]
    """)
    m.evaluate(*m.graph.nodes)
    m.finish("a", NodeState.FAILED)
    assert "any" not in m.ready and "always" not in m.ready  # b not decided yet: both wait
    m.finish("b")
    assert m.ready == ["any", "always"]
    m2 = Machine("""
        weft: 1
        nodes:
          - {id: a, command: [x]}
          - {id: any, command: [x], trigger: any}
          - {id: always, command: [x], trigger: always}
        edges: [{from: a, to: any}, {from: a, to: always}]
    """)
    m2.evaluate(*m2.graph.nodes)
    m2.finish("a", NodeState.FAILED)
    assert m2.ready == ["always"] and m2.settled == [("any", Decision.SKIP, "an incoming edge cannot be satisfied")]


def test_conditions_decide_edges_and_a_broken_condition_fails_its_target() -> None:
    m = Machine("""
        weft: 1
        nodes:
          - {id: a, command: [x], outputs: {v: int}}
          - {id: big, command: [x]}
          - {id: small, command: [x]}
          - {id: broken, command: [x]}
        edges:
          - {from: a, to: big, when: "a.v > 1"}
          - {from: a, to: small, when: "a.v < 1"}
          - {from: a, to: broken, when: "a.v.missing > 1"}
    """)
    m.evaluate(*m.graph.nodes)
    m.finish("a", v=3)
    assert m.ready == ["big"]
    reasons = {n: (d, r) for n, d, r in m.settled}
    assert reasons["small"][0] is Decision.SKIP
    assert reasons["broken"][0] is Decision.FAIL and "a.v.missing > 1" in (reasons["broken"][1] or "")


def test_an_edge_added_from_a_settled_source_counts_at_once() -> None:
    m = Machine("""
        weft: 1
        nodes: [{id: a, command: [x]}, {id: b, command: [x]}]
    """)
    m.evaluate("a", "b")
    assert m.ready == ["a", "b"]
    m.finish("a", NodeState.FAILED)
    from engine.promises.graph import Mutation
    from engine.workflow.model import EdgeSpec

    m.graph.apply(Mutation("a", edges=[EdgeSpec("a", "b")]), {})
    m.readiness.edges_added(len(m.graph.edges) - 1)
    m.evaluate("b")
    assert m.ready == [] and m.settled == [("b", Decision.SKIP, "an incoming edge cannot be satisfied")]
