"""A shape region is checked before every start of a node in it or beside it: a started node
takes no more incoming edges, so the run is broken before the start that makes a breach
certain, and nothing after it runs. Real runs, real subprocess tasks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from engine.events import NodeState, NodeStateChanged
from engine.languages.shape import Matcher, compile_shape
from tests.engine.test_shape import chain, fan, order

# Every task notes that it ran (a file named after its node, in `ran/` beside the workflow),
# then sleeps, reports an output and sends a mutation when its params say so.
STEP = """
import os, time
import weft_task as weft
os.makedirs("ran", exist_ok=True)
open(os.path.join("ran", os.environ["WEFT_NODE"]), "w").close()
time.sleep(weft.params.get("sleep", 0))
for name, value in weft.params.get("outputs", {}).items():
    weft.output(name, value)
if "mutate" in weft.params:
    weft.mutate(**weft.params["mutate"])
"""


# pattern, where, nodes, edges, frozen nodes, may it still take its form?
FROZEN = [
    # two loop steps side by side: an edge may join them until both have started
    ("A -> Loop -> B", {"Loop": "L -> Loop | L"}, ["A", "l1:L", "l2:L", "B"], fan(["l1", "l2"]), ["A", "l1"], True),
    (
        "A -> Loop -> B",
        {"Loop": "L -> Loop | L"},
        ["A", "l1:L", "l2:L", "B"],
        fan(["l1", "l2"]),
        ["A", "l1", "l2"],
        False,
    ),
    # nothing may come before a started node: P is missing before M
    ("A -> P -> M -> B", None, ["A", "m:M", "B"], fan(["m"]), ["A"], True),
    ("A -> P -> M -> B", None, ["A", "m:M", "B"], fan(["m"]), ["A", "m"], False),
    ("A -> P -> M -> B", None, ["A", "p:P", "m:M", "B"], chain(["A", "p", "m", "B"]), ["A", "p", "m"], True),
    # ... but anything may still come after one
    ("A -> M -> Q -> B", None, ["A", "m:M", "B"], fan(["m"]), ["A", "m"], True),
    # a map's copies may all have started
    ("A -> M* -> B", None, ["A", "m1:M", "m2:M", "B"], fan(["m1", "m2"]), ["A", "m1", "m2"], True),
]


@pytest.mark.parametrize("pattern, where, nodes, edges, frozen, lenient", FROZEN)
def test_started_nodes_keep_what_comes_before_them(pattern, where, nodes, edges, frozen, lenient):
    o = order(nodes, edges)
    o = replace(o, frozen=sum(1 << o.ids.index(n) for n in frozen))
    assert Matcher(compile_shape(pattern, where), o).lenient() is lenient


def ran(path: Path) -> set[str]:
    folder = path.parent / "ran"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def started(store, run) -> set[str]:
    return {
        r.event.node
        for r in store.events(run.id, (NodeStateChanged,))
        if isinstance(r.event, NodeStateChanged) and r.event.state is NodeState.RUNNING
    }


def chain_forked(write) -> Path:
    """`A -> Loop -> B` with `Loop: "L -> Loop | L"`, whose first step L-1 forks two chains,
    L-2 -> L-3 and L-2b -> L-3b, side by side: fine while an edge may still join them."""
    fork = {
        "nodes": [{"id": n, "operator": "L"} for n in ("L-2", "L-3", "L-2b", "L-3b")],
        "edges": [
            {"from": "L-1", "to": "L-2"},
            {"from": "L-2", "to": "L-3"},
            {"from": "L-3", "to": "B"},
            {"from": "L-1", "to": "L-2b"},
            {"from": "L-2b", "to": "L-3b"},
            {"from": "L-3b", "to": "B"},
        ],
    }
    return write(
        f"""
        weft: 1
        name: loop-fork
        settings: {{max_parallel: 2}}
        operators:
          L: {{command: [python3, step.py], dynamic: true}}
        nodes:
          - {{id: A, command: [python3, step.py]}}
          - {{id: L-1, operator: L, params: {{mutate: {fork}}}}}
          - {{id: B, command: [python3, step.py]}}
        edges:
          - {{from: A, to: L-1}}
          - {{from: L-1, to: B}}
        promises:
          - shape: "A -> Loop -> B"
            where:
              Loop: "L -> Loop | L"
        """,
        step=STEP,
    )


def test_two_loop_steps_side_by_side_break_the_run_before_the_second_starts(write, run_file, store):
    path = chain_forked(write)
    run = run_file(path)
    assert run.state.value == "broken"
    assert run.broken is not None and run.broken.task is None
    # the first of the two to start may run (an edge from it to the other could still come);
    # the second may not: both started, nothing could ever put one before the other
    second = run.broken.before
    assert second in ("L-2", "L-2b")
    first = "L-2b" if second == "L-2" else "L-2"
    assert run.broken.reason.startswith(f"{second} is about to start beside {first}: neither comes before the other")
    assert sorted(run.broken.nodes) == ["L-2", "L-2b"]
    for node in (second, "L-3", "L-3b", "B"):
        assert node not in started(store, run) and node not in ran(path), node
        assert run.node_state[node].value == "cancelled"
    assert {"A", "L-1"} <= ran(path) <= {"A", "L-1", first}
    assert run.node_state["L-1"].value == "succeeded"


def test_the_cli_says_before_which_start_the_breach_was_found(write, weft):
    path = chain_forked(write)
    result = weft("run", path)
    assert result.code == 3
    assert "None" not in result.out
    assert "found before starting 'L-2b' (no task's mutation broke it)" in result.out
    assert "reason: L-2b is about to start beside L-2" in result.out
    shown = weft("show", "last")
    assert "found before starting 'L-2b'" in shown.out and "None" not in shown.out
    broken = weft("show", "last", "--json").json()["broken"]
    assert broken["task"] is None and broken["before"] == "L-2b"


def map_leaving(write, when: bool) -> Path:
    """`A -> M* -> B` beside a node C that A also leads to; A creates m-0 and m-1, and an edge
    m-0 -> C out of the region. C is no M: it can never be part of the region."""
    mutate = {
        "nodes": [{"id": "m-0", "operator": "M"}, {"id": "m-1", "operator": "M", "params": {"sleep": 3}}],
        "edges": [
            {"from": "A", "to": "m-0"},
            {"from": "m-0", "to": "B"},
            {"from": "A", "to": "m-1"},
            {"from": "m-1", "to": "B"},
            {"from": "m-0", "to": "C"},
        ],
    }
    condition = ", when: \"A.go == 'yes'\"" if when else ""
    return write(
        f"""
        weft: 1
        name: map-leaving
        settings: {{max_parallel: 3}}
        operators:
          M: {{command: [python3, step.py]}}
        nodes:
          - {{id: A, command: [python3, step.py], dynamic: true, outputs: {{go: str}},
              params: {{outputs: {{go: "yes"}}, mutate: {mutate}}}}}
          - {{id: B, command: [python3, step.py]}}
          - {{id: C, command: [python3, step.py]}}
        edges:
          - {{from: A, to: B}}
          - {{from: A, to: C{condition}}}
        promises:
          - shape: "A -> M* -> B"
        """,
        step=STEP,
    )


def test_an_edge_out_of_a_map_to_a_node_that_cannot_join_is_refused_at_once(write, run_file, store):
    path = map_leaving(write, when=False)
    run = run_file(path)
    assert run.state.value == "broken"
    assert run.broken is not None and run.broken.task == "A" and run.broken.before is None
    assert "but edge m-0 -> C leaves the region other than through B" in run.broken.reason
    assert "C cannot join the region (it matches no part of `A -> M* -> B`)" in run.broken.reason
    assert "A -> C" not in run.broken.reason
    assert "m-0" not in run.graph.nodes  # the mutation was refused whole
    assert ran(path) == {"A"} and started(store, run) == {"A"}
    assert run.node_state["B"].value == "cancelled" and run.node_state["C"].value == "cancelled"


def test_an_edge_out_of_a_map_breaks_the_run_before_its_outer_end_starts(write, run_file, store):
    # C may still be skipped (its edge from A has a condition), and a skipped node is not
    # counted, so the mutation stands; once C is about to start, it can neither be skipped
    # nor belong to the region: the run is broken before C starts, while m-1 still runs (A's
    # own edge to C leaves the region at A, not B: it is the first one named)
    path = map_leaving(write, when=True)
    run = run_file(path)
    assert run.state.value == "broken"
    assert run.broken is not None and run.broken.task is None and run.broken.before == "C"
    assert run.broken.reason.startswith("edge A -> C leaves the region other than through B")
    assert sorted(run.broken.nodes) == ["A", "C"]
    assert "C" not in ran(path) and "C" not in started(store, run)
    assert "B" not in ran(path) and "B" not in started(store, run)
    assert {"A", "m-0"} <= ran(path)
    assert run.node_state["m-0"].value == "succeeded"
    assert run.node_state["m-1"].value == "cancelled"  # it was still running: stopped
