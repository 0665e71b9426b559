"""Loops (SPEC §10): a cycle with one entry and a back edge carrying `when`, unrolled by the run.

Real runs of real tasks: data flows from one iteration into the next, exits fire once, after
the last iteration, `max_iterations` fails the loop, shape promises count iterations, restart
and replay see every iteration. Validation errors are in tests/engine/broken/ (18, 20, 67-69).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx

from engine.events import GraphChanged, NodeState, Restarted
from engine.history.fold import snapshot
from engine.history.store import Store
from tests.conftest import EXAMPLES
from tests.engine.conftest import states, view

REFINE = EXAMPLES / "refine-loop.weft.yaml"

SELF_LOOP = """\
weft: 1
name: doubling
settings: {{max_iterations: {max}}}
nodes:
  - id: begin
    command: [python3, -c, "import weft_task as w; w.output('x', 0.1)"]
    outputs: {{x: float}}
  - id: body
    command: [python3, -c, "import weft_task as w; w.output('x', w.inputs['x'] * 2)"]
    inputs: {{x: float}}
    outputs: {{x: float}}
  - id: done
    command: [python3, -c, "import weft_task as w; w.output('x', w.inputs['x'])"]
    inputs: {{x: float}}
    outputs: {{x: float}}
edges:
  - {{from: begin.x, to: body.x}}
  - {{from: body.x, to: body.x, when: "body.x < 1"}}
  - {{from: body.x, to: done.x}}
promises:
  - shape: "begin -> Loop -> done"
    where: {{Loop: "body -> Loop | body"}}
"""


def reduced(store: Store, run_id: str) -> set[tuple[str, str]]:
    g = nx.DiGraph()
    view_ = snapshot(store, run_id)
    g.add_nodes_from(n for n, r in view_.nodes.items() if r.state is not NodeState.SKIPPED)
    g.add_edges_from((e.source, e.target) for e in view_.edges if e.source in g and e.target in g)
    return set(nx.transitive_reduction(g).edges)


def test_refine_loop_passes_data_between_iterations_and_exits_once(run_file, store):
    run = run_file(REFINE)
    assert run.state.value == "succeeded", run.broken
    assert states(run) == {n: "succeeded" for n in ("draft", "refine", "score", "publish", *_rounds(2, 3))}
    assert [round(run.outputs[s]["score"], 6) for s in ("score", "score@2", "score@3")] == [0.6, 0.8, 0.9]
    view_ = snapshot(store, run.id)
    assert view_.nodes["refine@2"].created_by == "score" and view_.nodes["score@3"].created_by == "score@2"
    # publish ran once, after the last iteration, with its data
    assert view_.nodes["publish"].attempt == 1
    assert view_.nodes["publish"].started_at >= view_.nodes["score@3"].finished_at
    assert reduced(store, run.id) == {
        ("draft", "refine"),
        ("refine", "score"),
        ("score", "refine@2"),
        ("refine@2", "score@2"),
        ("score@2", "refine@3"),
        ("refine@3", "score@3"),
        ("score@3", "publish"),
    }
    # each iteration is one change of structure, created by the latch
    changes = [r.event for r in store.events(run.id, (GraphChanged,))]
    assert [c.created_by for c in changes] == ["score", "score@2"]
    assert [n.id for n in changes[0].nodes] == ["refine@2", "score@2"]


def _rounds(*ks: int) -> list[str]:
    return [f"{n}@{k}" for k in ks for n in ("refine", "score")]


def test_self_loop_keeps_its_shape_promise(run_file, store, write):
    run = run_file(write(SELF_LOOP.format(max=100)))
    assert run.state.value == "succeeded" and run.broken is None
    assert run.outputs["done"] == {"x": 1.6}  # 0.1 doubled four times: the last iteration's
    assert reduced(store, run.id) == {
        ("begin", "body"),
        ("body", "body@2"),
        ("body@2", "body@3"),
        ("body@3", "body@4"),
        ("body@4", "done"),
    }


def test_max_iterations_fails_the_loop_and_skips_its_exits(run_file, store, write):
    run = run_file(write(SELF_LOOP.format(max=3)))
    assert run.state.value == "failed" and run.broken is None  # the shape promise still holds
    view_ = snapshot(store, run.id)
    assert view_.nodes["body@3"].state is NodeState.FAILED
    assert "reached max_iterations (3) while its condition still holds (body.x < 1)" in view_.nodes["body@3"].reason
    assert view_.nodes["done"].state is NodeState.SKIPPED
    assert "body@4" not in view_.nodes and run.outputs["body@3"] == {"x": 0.8}


def test_restart_of_a_loop_retires_its_iterations_and_runs_them_again(weft: Any, home: Path):
    first = weft("run", str(REFINE), "--json")
    assert first.code == 0, first.err
    run_id = first.json()["run"]
    again = weft("restart", run_id, "refine", "--json")
    assert again.code == 0, again.err
    assert again.json() == {"run": run_id, "state": "succeeded"}
    store = Store(home)
    try:
        (restarted,) = store.events(run_id, (Restarted,))
        assert set(restarted.event.retired) == set(_rounds(2, 3))
        after = view(home, run_id)
        assert after.nodes["refine"].attempt == 2 and after.nodes["publish"].attempt == 2
        assert {n: after.nodes[n].state for n in _rounds(2, 3)} == {n: NodeState.SUCCEEDED for n in _rounds(2, 3)}
        assert reduced(store, run_id) >= {("score@2", "refine@3"), ("score@3", "publish")}
    finally:
        store.close()


def test_graph_at_an_event_shows_iterations_and_the_next_as_a_ghost(weft: Any, home: Path):
    run_id = weft("run", str(REFINE), "--json").json()["run"]
    store = Store(home)
    try:
        second = [r.seq for r in store.events(run_id, (GraphChanged,))][0]
    finally:
        store.close()
    before = weft("graph", run_id, "--at", str(second - 1), "--format", "json").json()
    ids = {n["id"] for n in before["nodes"]}
    assert "refine@2" not in ids
    assert [n["label"] for n in before["nodes"] if n["ghost"]] == ["may repeat while score.score < 0.85"]
    at = weft("graph", run_id, "--at", str(second), "--format", "json").json()
    assert {"refine@2", "score@2"} <= {n["id"] for n in at["nodes"]}
    assert [(e["from"], e["to"]) for e in at["edges"] if e["ghost"]] == [("score@2", "ghost:score@2:loop")]
    end = weft("graph", run_id, "--format", "json").json()  # a finished run grows no more
    assert not [n for n in end["nodes"] if n["ghost"]] and "score@3" in {n["id"] for n in end["nodes"]}
    drawn = weft("graph", str(REFINE), "--format", "json").json()  # before any run
    assert [n["label"] for n in drawn["nodes"] if n["ghost"]] == ["may repeat while score.score < 0.85"]


def test_a_task_may_not_create_an_iteration_id(run_file, write):
    path = write(
        """\
        weft: 1
        name: forger
        nodes:
          - id: plan
            dynamic: true
            command: [python3, -c, "import weft_task as w; w.add_node({'id': 'x@2', 'command': ['true']})"]
        """
    )
    run = run_file(path)
    assert states(run) == {"plan": "failed"}
