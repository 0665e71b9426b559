"""Property tests of the shape matcher: every form of a pattern matches it, and every partial
form (what a run has built so far: fewer nodes, fewer edges) is never refused."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.languages.shape import (
    Alt,
    Atom,
    Empty,
    Matcher,
    Par,
    Pattern,
    Repeat,
    Seq,
    Shape,
    compile_shape,
    order_from_edges,
)

LABELS = ("X", "Y", "Z")


def patterns(depth: int = 3) -> st.SearchStrategy[str]:
    """Pattern text for the middle of `A -> ... -> B`."""
    atom = st.sampled_from(LABELS)
    if depth == 0:
        return atom
    sub = patterns(depth - 1)
    return st.one_of(
        atom,
        atom,
        st.just("()"),
        st.tuples(sub, sub).map(lambda t: f"({t[0]} -> {t[1]})"),
        st.tuples(sub, sub).map(lambda t: f"({t[0]} | {t[1]})"),
        st.tuples(sub, sub).map(lambda t: f"({t[0]} & {t[1]})"),
        st.tuples(sub, st.sampled_from("*+?")).map(lambda t: f"({t[0]}){t[1]}"),
    )


class Builder:
    """Draws one form of a pattern as a graph: nodes with operators, edges."""

    def __init__(self, draw, shape: Shape) -> None:
        self.draw, self.shape = draw, shape
        self.ops: list[str] = []
        self.edges: list[tuple[int, int]] = []

    def node(self, op: str) -> int:
        self.ops.append(op)
        return len(self.ops) - 1

    def build(self, p: Pattern) -> tuple[list[int], list[int]] | None:
        """(entries, exits) of a form of ``p``; None for the empty form."""
        if isinstance(p, Atom):
            n = self.node(p.name)
            return [n], [n]
        if isinstance(p, Empty):
            return None
        if isinstance(p, Alt):
            return self.build(p.items[self.draw(st.integers(0, len(p.items) - 1))])
        if isinstance(p, Repeat):
            low, high = {"*": (0, 3), "+": (1, 3), "?": (0, 1)}[p.op]
            return self.parallel([p.item] * self.draw(st.integers(low, high)))
        if isinstance(p, Par):
            return self.parallel(list(p.items))
        assert isinstance(p, Seq)
        ends: tuple[list[int], list[int]] | None = None
        for item in p.items:
            part = self.build(item)
            if part is None:
                continue
            if ends is None:
                ends = part
            else:
                self.edges += [(a, b) for a in ends[1] for b in part[0]]
                ends = (ends[0], part[1])
        return ends

    def parallel(self, items: list[Pattern]) -> tuple[list[int], list[int]] | None:
        entries, exits = [], []
        for item in items:
            part = self.build(item)
            if part is not None:
                entries += part[0]
                exits += part[1]
        return (entries, exits) if entries else None


@st.composite
def forms(draw):
    middle = draw(patterns())
    shape = compile_shape(f"A -> {middle} -> B")
    b = Builder(draw, shape)
    a = b.node("A")
    inner = b.build(Seq(shape.top.items[1:-1])) if len(shape.top.items) > 2 else None
    z = b.node("B")
    if inner is None:
        b.edges.append((a, z))
    else:
        b.edges += [(a, e) for e in inner[0]] + [(x, z) for x in inner[1]]
    return shape, b.ops, b.edges


def order(ops: list[str], edges: list[tuple[int, int]], keep: list[int]):
    g = nx.DiGraph(edges)
    g.add_nodes_from(range(len(ops)))
    closure = nx.transitive_closure_dag(g)
    index = {n: i for i, n in enumerate(keep)}
    sub = [(index[u], index[v]) for u, v in closure.edges if u in index and v in index]
    ids = [f"n{n}" if ops[n] not in ("A", "B") else ops[n] for n in keep]
    anchors = {i: ids[i] for i in range(len(keep)) if ids[i] in ("A", "B")}
    topo = list(nx.topological_sort(nx.DiGraph(sub))) + [i for i in range(len(keep))]
    seen: set[int] = set()
    topo = [i for i in topo if not (i in seen or seen.add(i))]
    return order_from_edges(ids, [ops[n] for n in keep], sub, anchors, topo)


@settings(max_examples=300, deadline=None)
@given(forms())
def test_every_form_of_a_pattern_matches_it(form):
    shape, ops, edges = form
    assert Matcher(shape, order(ops, edges, list(range(len(ops)))), budget=10**6).exact(), (str(shape), ops, edges)


@settings(max_examples=300, deadline=None)
@given(forms(), st.data())
def test_a_partial_form_is_never_refused(form, data):
    """Any part of a form, with some of its edges not there yet, may still become the form."""
    shape, ops, edges = form
    anchors = [i for i, op in enumerate(ops) if op in ("A", "B") and i in (0, len(ops) - 1)]
    others = [i for i in range(len(ops)) if i not in anchors]
    keep = sorted(anchors + data.draw(st.lists(st.sampled_from(others), unique=True)) if others else anchors)
    some_edges = data.draw(st.lists(st.sampled_from(edges), unique=True)) if edges else []
    assert Matcher(shape, order(ops, some_edges, keep)).lenient(), (str(shape), ops, some_edges, keep)
