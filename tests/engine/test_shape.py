"""Shape patterns: syntax and located errors, the order matcher, and regions in real runs."""

from __future__ import annotations

import networkx as nx
import pytest
import yaml

from engine.events import PromiseBroken
from engine.languages.shape import Matcher, compile_shape, order_from_edges, pattern_problems
from tests.engine.test_promises import mutate, node, workflow


def order(nodes: list[str], edges: list[tuple[str, str]], anchors=("A", "B")):
    """An order from 'id' or 'id:operator' names and edges between ids."""
    ids = [n.split(":")[0] for n in nodes]
    ops = [n.split(":")[1] if ":" in n else None for n in nodes]
    index = {n: i for i, n in enumerate(ids)}
    pairs = [(index[a], index[b]) for a, b in edges]
    g = nx.DiGraph(pairs)
    g.add_nodes_from(range(len(ids)))
    return order_from_edges(ids, ops, pairs, {index[a]: a for a in anchors if a in index}, list(nx.topological_sort(g)))


def fan(middle: list[str]) -> list[tuple[str, str]]:
    """A -> each of ``middle`` -> B."""
    names = [m.split(":")[0] for m in middle]
    return [("A", m) for m in names] + [(m, "B") for m in names] + [("A", "B")]


def chain(names: list[str]) -> list[tuple[str, str]]:
    ids = [n.split(":")[0] for n in names]
    return list(zip(ids, ids[1:]))


# pattern, where, nodes, edges, exact (has the form now), lenient (may still get it)
MATCHES = [
    ("A -> M* -> B", None, ["A", "B"], [("A", "B")], True, True),
    ("A -> M* -> B", None, ["A", "m1:M", "m2:M", "m3:M", "B"], fan(["m1", "m2", "m3"]), True, True),
    ("A -> M* -> B", None, ["A", "m1:M", "m2:M", "B"], chain(["A", "m1", "m2", "B"]), False, False),
    ("A -> M* -> B", None, ["A", "m1:M", "x:X", "B"], fan(["m1", "x"]), False, False),
    ("A -> M+ -> B", None, ["A", "B"], [("A", "B")], False, True),
    ("A -> M? -> B", None, ["A", "m1:M", "m2:M", "B"], fan(["m1", "m2"]), False, False),
    ("A -> M -> B", None, ["A", "m1:M", "B"], [("A", "m1")], False, True),  # not joined to B yet
    ("A -> (L | R) -> B", None, ["A", "L", "B"], fan(["L"]), True, True),
    ("A -> (L | R) -> B", None, ["A", "L", "R", "B"], fan(["L", "R"]), False, False),
    ("A -> (L & R) -> B", None, ["A", "L", "R", "B"], fan(["L", "R"]), True, True),
    ("A -> (L & R) -> B", None, ["A", "L", "R", "B"], chain(["A", "L", "R", "B"]), False, False),
    ("A -> L -> R -> B", None, ["A", "L", "R", "B"], fan(["L", "R"]), False, True),  # an edge L -> R may come
    ("A -> () -> B", None, ["A", "B"], [("A", "B")], True, True),
    ("A -> 'map-*'* -> B", None, ["A", "map-1", "map-2", "B"], fan(["map-1", "map-2"]), True, True),
    ("A -> X -> B", {"X": "(N -> M) | (J -> K)"}, ["A", "N", "M", "B"], chain(["A", "N", "M", "B"]), True, True),
    ("A -> X -> B", {"X": "(N -> M) | (J -> K)"}, ["A", "J", "K", "B"], chain(["A", "J", "K", "B"]), True, True),
    ("A -> X -> B", {"X": "(N -> M) | (J -> K)"}, ["A", "N", "K", "B"], chain(["A", "N", "K", "B"]), False, False),
    ("A -> X -> B", {"X": "(N -> M) | (J -> K)"}, ["A", "N", "B"], [("A", "N")], False, True),
    (
        "A -> Loop -> B",
        {"Loop": "M -> Loop | M"},
        ["A", "m1:M", "m2:M", "m3:M", "B"],
        chain(["A", "m1", "m2", "m3", "B"]) + [("A", "B")],
        True,
        True,
    ),
    ("A -> Loop -> B", {"Loop": "M -> Loop | M"}, ["A", "m1:M", "m2:M", "B"], fan(["m1", "m2"]), False, True),
    ("A -> Loop -> B", {"Loop": "M -> Loop | M"}, ["A", "B"], [("A", "B")], False, True),
    (
        "A -> (P -> Q*)* -> B",
        None,
        ["A", "p1:P", "q1:Q", "q2:Q", "p2:P", "B"],
        [("A", "p1"), ("p1", "q1"), ("p1", "q2"), ("q1", "B"), ("q2", "B"), ("A", "p2"), ("p2", "B")],
        True,
        True,
    ),
]


@pytest.mark.parametrize("pattern,where,nodes,edges,exact,lenient", MATCHES)
def test_matcher(pattern, where, nodes, edges, exact, lenient):
    shape = compile_shape(pattern, where)
    o = order(nodes, edges)
    assert Matcher(shape, o).exact() is exact
    assert Matcher(shape, o).lenient() is lenient


def test_a_form_always_may_still_be_reached():
    for pattern, _where, _nodes, _edges, exact, lenient in MATCHES:
        assert not exact or lenient, pattern


BAD = [
    ("A -> (M -> B", None, "column 13: expected ')' to close the '(' at column 6"),
    ("A -> M ->", None, "column 10: expected a node name, a quoted glob or '(' but found the end of the pattern"),
    ("A -> M $ B", None, "column 8: unexpected character '$'"),
    ("A -> 'x", None, "column 6: a quoted name is not closed"),
    ("A", None, "column 1: a shape pattern needs two anchors"),
    ("A -> M* -> A", None, "column 12: the two anchors must be different nodes"),
    ("M* -> B", None, "column 1: a shape pattern must start with a node id"),
    ("A -> M | B", None, "column 1: a shape pattern is a chain from one anchor to the other"),
    ("A -> X -> B", {"X": "X -> M"}, "where.X: column 1: 'X' never ends"),
    ("A -> M -> B", {"X": "N"}, "where.X: column 1: 'X' is defined in where: but the pattern never uses it"),
    ("A -> X -> B", {"X": "N |"}, "where.X: column 4: expected a node name"),
    ("", None, "column 1: the pattern is empty"),
]


@pytest.mark.parametrize("pattern,where,message", BAD)
def test_bad_patterns_say_where(pattern, where, message):
    problems = pattern_problems(pattern, where)
    assert len(problems) == 1 and problems[0].startswith(message), problems


def test_valid_patterns_have_no_problems():
    for pattern, where, *_ in MATCHES:
        assert pattern_problems(pattern, where) == []


def _file(tmp_path, promise):
    data = {
        "weft": 1,
        "name": "shape",
        "nodes": [{"id": "A", "command": ["true"], "dynamic": True}, {"id": "B", "command": ["true"]}],
        "edges": [{"from": "A", "to": "B"}],
        "promises": [promise],
    }
    path = tmp_path / "shape.weft.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=200))
    return path


def test_a_bad_pattern_in_a_file_is_exit_2_at_its_column(weft, tmp_path):
    path = _file(tmp_path, {"shape": "A -> (M | -> B"})
    result = weft("validate", path)
    assert result.code == 2
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "shape:" in text)
    column = path.read_text().splitlines()[line - 1].index("A -> (M") + 11  # the '->' after '|'
    assert result.err.splitlines()[0] == (
        f"{path}:{line}:{column}: error: bad shape pattern: expected a node name, a quoted glob or '(' but found '->'"
    )
    result = weft("run", path)
    assert result.code == 2 and "bad shape pattern" in result.err and "Traceback" not in result.err


def test_an_anchor_that_is_not_a_node_is_exit_2(weft, tmp_path):
    path = _file(tmp_path, {"shape": "A -> M* -> C"})
    result = weft("validate", path)
    assert result.code == 2 and "shape anchor 'C' is not a node of this workflow" in result.err
    assert json_runs(weft) == []


def json_runs(weft):
    import json

    return json.loads(weft("runs", "--json").out)


def test_a_bad_pattern_in_a_message_fails_the_task(tmp_path, run_file):
    run = run_file(workflow(tmp_path, [mutate(promises=[{"shape": "plan -> (M -> B"}])]))
    assert run.state.value == "failed" and run.node_state["plan"].value == "failed"


def test_a_runtime_shape_about_missing_nodes_is_false_when_made(tmp_path, run_file):
    run = run_file(workflow(tmp_path, [mutate(promises=[{"shape": "plan -> M* -> nowhere"}])]))
    assert run.state.value == "broken" and "nowhere" in run.broken.reason


def test_the_region_is_checked_completely_before_its_last_anchor_starts(tmp_path, run_file):
    run = run_file(workflow(tmp_path, [], [{"shape": "plan -> M+ -> B"}]))
    assert run.state.value == "broken"
    assert "B is about to start" in run.broken.reason
    assert run.node_state["B"].value == "cancelled" and run.node_state["plan"].value == "succeeded"


def test_an_edge_into_the_region_from_outside_breaks_it_before_the_exit_starts(tmp_path, run_file):
    outside = [{"id": "Z", "command": ["true"]}]
    m = mutate(
        nodes=[node("m-1", "M")],
        edges=[{"from": "plan", "to": "m-1"}, {"from": "m-1", "to": "B"}, {"from": "Z", "to": "m-1"}],
    )
    run = run_file(workflow(tmp_path, [m], [{"shape": "plan -> M* -> B"}], extra_nodes=outside))
    assert run.state.value == "broken"
    assert "edge Z -> m-1 enters the region from outside" in run.broken.reason
    assert run.node_state["B"].value == "cancelled"


def test_a_node_created_in_the_region_counts_even_before_it_is_wired(tmp_path, run_file):
    # `x` is created by plan (the first anchor), so it is a region node, and X is no M
    run = run_file(workflow(tmp_path, [mutate(nodes=[node("x", "X")])], [{"shape": "plan -> M* -> B"}]))
    assert run.state.value == "broken" and "x is in the region from plan to B, but matches no part" in run.broken.reason


def test_two_alternatives_in_one_message_are_refused_with_both_named(tmp_path, run_file, store):
    both = mutate(
        nodes=[node("L"), node("R")],
        edges=[
            {"from": "plan", "to": "L"},
            {"from": "L", "to": "B"},
            {"from": "plan", "to": "R"},
            {"from": "R", "to": "B"},
        ],
    )
    run = run_file(workflow(tmp_path, [both], [{"shape": "plan -> (L | R) -> B"}]))
    assert run.state.value == "broken"
    assert run.broken.reason.endswith("but `plan -> (L | R) -> B` allows only one of L and R")
    broken = [r.event for r in store.events(run.id, (PromiseBroken,)) if isinstance(r.event, PromiseBroken)]
    assert sorted(broken[0].nodes) == ["L", "R"]


def test_when_branches_count_once_skipped(write, run_file):
    # a choice made by `when` on static edges: the skipped branch is not counted
    path = write(
        """
        weft: 1
        name: when-branch
        nodes:
          - {id: start, command: [python3, out.py], outputs: {go: str}}
          - {id: left, command: ["true"]}
          - {id: right, command: ["true"]}
          - {id: end, command: ["true"], trigger: any}
        edges:
          - {from: start, to: left, when: "start.go == 'left'"}
          - {from: start, to: right, when: "start.go == 'right'"}
          - {from: left, to: end}
          - {from: right, to: end}
        promises:
          - shape: "start -> (left | right) -> end"
        """,
        out="import weft_task as weft\nweft.output('go', 'left')\n",
    )
    run = run_file(path)
    assert run.state.value == "succeeded", run.broken
    assert run.node_state["right"].value == "skipped" and run.node_state["end"].value == "succeeded"
