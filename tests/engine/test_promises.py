"""Every promise kind, kept and broken, at registration and at run time; and what they buy."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.history.fold import snapshot
from engine.history.replay import from_workflow
from engine.history.store import Store
from engine.workflow.loader import load_file
from tests.engine.conftest import states

GROW = Path(__file__).parent / "workflows" / "grow.py"


def node(node_id: str, operator: str | None = None) -> dict[str, Any]:
    return {"id": node_id, "operator": operator} if operator else {"id": node_id, "command": ["true"]}


def mutate(nodes=(), edges=(), promises=()) -> dict[str, Any]:
    return {"type": "mutate", "nodes": list(nodes), "edges": list(edges), "promises": list(promises)}


def workflow(
    tmp_path: Path,
    messages: list[dict[str, Any]],
    promises: list[Any] = (),
    extra_nodes=(),
    extra_edges=(),
    by_operator: bool = False,
) -> Path:
    """A dynamic node `plan` (operator `planner`) that sends ``messages``; `A` and `B` beside it."""
    shutil.copy(GROW, tmp_path / "grow.py")
    data = {
        "weft": 1,
        "name": "promise-test",
        "operators": {
            "planner": {"command": ["python3", "grow.py"], "dynamic": True},
            "M": {"command": ["true"]},
            "X": {"command": ["true"]},
        },
        "nodes": [
            {"id": "plan", "operator": "planner", "params": {"messages": messages}},
            {"id": "A", "command": ["true"]},
            {"id": "B", "command": ["true"]},
            *extra_nodes,
        ],
        "edges": [{"from": "A", "to": "plan"}, {"from": "plan", "to": "B"}, *extra_edges],
        "promises": list(promises),
    }
    path = tmp_path / "wf.weft.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def broken(run) -> dict[str, Any] | None:
    return None if run.broken is None else {"promise": run.broken.promise, "reason": run.broken.reason}


# (promise, a mutation that keeps it, a mutation that breaks it)
CASES = {
    "no new nodes": ({"no_new_nodes": {}}, mutate(edges=[{"from": "A", "to": "B"}]), mutate(nodes=[node("n1")])),
    "no new edges": (
        {"no_new_edges": {}},
        mutate(nodes=[node("n1")]),
        mutate(nodes=[node("n1")], edges=[{"from": "n1", "to": "B"}]),
    ),
    "static": ({"static": {}}, mutate(), mutate(nodes=[node("n1")])),
    "only specific edges": (
        {"only_edges": {"pairs": [["plan", "m-*"], ["m-*", "B"]]}},
        mutate(nodes=[node("m-1", "M")], edges=[{"from": "plan", "to": "m-1"}, {"from": "m-1", "to": "B"}]),
        mutate(nodes=[node("m-1", "M"), node("A2")], edges=[{"from": "m-1", "to": "A2"}]),
    ),
    "only specific nodes": (
        {"only_nodes": {"match": ["M"]}},
        mutate(nodes=[node("m-1", "M"), node("m-2", "M")]),
        mutate(nodes=[node("m-1", "M"), node("x-1", "X")]),
    ),
    "no edges starting at A": (
        {"no_new_edges": {"from": "A"}},
        mutate(nodes=[node("n1")], edges=[{"from": "plan", "to": "n1"}]),
        mutate(nodes=[node("n1")], edges=[{"from": "A", "to": "n1"}]),
    ),
    "no edges ending at B": (
        {"no_new_edges": {"to": "B"}},
        mutate(nodes=[node("n1")], edges=[{"from": "plan", "to": "n1"}]),
        mutate(nodes=[node("n1")], edges=[{"from": "n1", "to": "B"}]),
    ),
    "a subgraph of either of two forms": (
        {"shape": "plan -> X -> B", "where": {"X": "(N -> M) | (J -> K)"}},
        mutate(
            nodes=[node("N"), node("M")],
            edges=[{"from": "plan", "to": "N"}, {"from": "N", "to": "M"}, {"from": "M", "to": "B"}],
        ),
        mutate(
            nodes=[node("N"), node("K")],
            edges=[{"from": "plan", "to": "N"}, {"from": "N", "to": "K"}, {"from": "K", "to": "B"}],
        ),
    ),
    "a map (shape)": (
        {"shape": "plan -> M* -> B"},
        mutate(
            nodes=[node("m-1", "M"), node("m-2", "M")],
            edges=[
                {"from": "plan", "to": "m-1"},
                {"from": "m-1", "to": "B"},
                {"from": "plan", "to": "m-2"},
                {"from": "m-2", "to": "B"},
            ],
        ),
        mutate(
            nodes=[node("m-1", "M"), node("m-2", "M")],
            edges=[{"from": "plan", "to": "m-1"}, {"from": "m-1", "to": "m-2"}, {"from": "m-2", "to": "B"}],
        ),
    ),
    "at most two nodes": (
        {"max_nodes": {"max": 2}},
        mutate(nodes=[node("n1"), node("n2")]),
        mutate(nodes=[node("n1"), node("n2"), node("n3")]),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_registration_promise_kept(name, tmp_path, run_file):
    promise, keep, _ = CASES[name]
    run = run_file(workflow(tmp_path, [keep], [promise]))
    assert broken(run) is None, broken(run)
    assert run.state.value == "succeeded"
    for created in keep["nodes"]:
        assert states(run)[created["id"]] == "succeeded"


@pytest.mark.parametrize("name", CASES)
def test_registration_promise_broken(name, tmp_path, run_file, store):
    promise, _, breaker = CASES[name]
    run = run_file(workflow(tmp_path, [breaker], [promise]))
    assert run.state.value == "broken" and run.state.exit_code == 3
    assert broken(run)["promise"].split(" ")[0] == next(iter(promise))
    assert "plan" in broken(run)["reason"]
    # the mutation was refused whole: none of its nodes exists, let alone ran
    for created in breaker["nodes"]:
        assert created["id"] not in run.graph.nodes
        assert created["id"] not in snapshot(store, run.id).nodes
    assert states(run)["plan"] == "failed" and states(run)["B"] == "cancelled"
    row = store.run(run.id)
    assert row["state"] == "broken" and row["broken"]["task"] == "plan"


@pytest.mark.parametrize("name", CASES)
def test_runtime_promise_binds_later_mutations(name, tmp_path, run_file):
    promise, keep, breaker = CASES[name]
    run = run_file(workflow(tmp_path, [mutate(promises=[promise]), keep]))
    assert broken(run) is None, broken(run)
    run2_dir = tmp_path / "again"
    run2_dir.mkdir()
    run = run_file(workflow(run2_dir, [mutate(promises=[promise]), breaker]))
    assert run.state.value == "broken"


def test_a_promise_binds_only_the_tasks_its_by_selects(tmp_path, run_file):
    extra = [
        {
            "id": "other",
            "command": ["python3", "grow.py"],
            "dynamic": True,
            "params": {"messages": [mutate(nodes=[node("o1")])]},
        }
    ]
    by_other = {"no_new_nodes": {"by": "oth*"}}
    run = run_file(workflow(tmp_path, [mutate(nodes=[node("p1")])], [by_other], extra_nodes=extra))
    assert run.state.value == "broken" and run.broken.task == "other"
    again = tmp_path / "by-operator"
    again.mkdir()
    by_planner = {"no_new_nodes": {"by": ["planner"]}}  # an operator name selects its nodes
    run = run_file(workflow(again, [mutate(nodes=[node("p1")])], [by_planner]))
    assert run.state.value == "broken" and run.broken.task == "plan"


def test_a_runtime_promise_already_false_when_made_breaks_the_run(tmp_path, run_file):
    messages = [mutate(nodes=[node("n1"), node("n2"), node("n3")]), mutate(promises=[{"max_nodes": {"max": 2}}])]
    run = run_file(workflow(tmp_path, messages))
    assert run.state.value == "broken"
    assert "false when made" in run.broken.reason
    again = tmp_path / "only"
    again.mkdir()
    messages = [mutate(nodes=[node("x1", "X")]), mutate(promises=[{"only_nodes": {"match": ["M"]}}])]
    run = run_file(workflow(again, messages))
    assert run.state.value == "broken" and "false when made" in run.broken.reason


def test_a_mutation_may_carry_its_last_nodes_with_a_growth_promise(tmp_path, run_file):
    run = run_file(workflow(tmp_path, [mutate(nodes=[node("last")], promises=[{"no_new_nodes": {}}])]))
    assert run.state.value == "succeeded"
    assert states(run)["last"] == "succeeded"


def test_the_second_of_two_alternatives_is_refused(tmp_path, run_file):
    """Two messages each within the limit on their own: the second is caught at once."""
    messages = [mutate(nodes=[node("left")]), {"sleep": 0.2}, mutate(nodes=[node("right")]), {"sleep": 30}]
    run = run_file(workflow(tmp_path, messages, [{"max_nodes": {"max": 1}}]))
    assert run.state.value == "broken"
    assert "right" in run.broken.reason and "right" not in run.graph.nodes
    assert states(run)["left"] == "cancelled"  # created, but held back while plan ran, then cancelled


def test_breaking_via_a_shorthand_message_is_caught_too(tmp_path, run_file):
    run = run_file(workflow(tmp_path, [{"type": "add_node", "node": node("n1")}], [{"static": {}}]))
    assert run.state.value == "broken"


def spans_of(store: Store, run_id: str) -> dict[str, tuple[float | None, float | None]]:
    return {n.id: (n.started_at, n.finished_at) for n in snapshot(store, run_id).nodes.values()}


def test_static_lets_a_dynamic_node_run_beside_others(tmp_path, run_file, store):
    """Promises feed the scheduler: nothing can be added, so nothing waits for the planner."""
    messages = [{"sleep": 0.6}]
    extra = [{"id": "free", "command": ["python3", "-c", "pass"]}]
    after_a = [{"from": "A", "to": "free"}]  # ready together with plan, once A is done
    held = run_file(workflow(tmp_path, messages, [], extra_nodes=extra, extra_edges=after_a))
    spans = spans_of(store, held.id)
    assert spans["free"][0] >= spans["plan"][1]  # without a promise, `free` waits
    again = tmp_path / "static"
    again.mkdir()
    free = run_file(workflow(again, messages, [{"static": {}}], extra_nodes=extra, extra_edges=after_a))
    spans = spans_of(store, free.id)
    assert spans["free"][1] < spans["plan"][1]


def test_no_edges_into_a_node_lets_just_that_node_go_early(tmp_path, run_file, store):
    messages = [{"sleep": 0.6}]
    extra = [{"id": "free", "command": ["python3", "-c", "pass"]}, {"id": "held", "command": ["python3", "-c", "pass"]}]
    after_a = [{"from": "A", "to": "free"}, {"from": "A", "to": "held"}]
    run = run_file(
        workflow(tmp_path, messages, [{"no_new_edges": {"to": "free"}}], extra_nodes=extra, extra_edges=after_a)
    )
    spans = spans_of(store, run.id)
    assert spans["free"][1] < spans["plan"][1]
    assert spans["held"][0] >= spans["plan"][1]


def test_projection_ghost_labels_follow_the_promises(tmp_path):
    cases = [
        ([], "anything may follow"),
        ([{"only_nodes": {"match": ["M"]}}], "0+ nodes matching M"),
        ([{"max_nodes": {"max": 3}}], "up to 3 more nodes"),
        ([{"max_nodes": {"max": 3}}, {"only_nodes": {"match": ["M", "X"]}}], "up to 3 nodes matching M | X"),
        ([{"no_new_nodes": {}}], None),
        ([{"static": {}}], None),
    ]
    for i, (promises, label) in enumerate(cases):
        folder = tmp_path / str(i)
        folder.mkdir()
        _view, ghosts = from_workflow(load_file(workflow(folder, [], promises)))
        assert [g.label for g in ghosts] == ([label] if label else []), promises


def test_a_static_workflow_has_no_ghosts(weft, tmp_path):
    from tests.conftest import EXAMPLES

    for name in ("four-nodes", "word-count"):
        graph = weft("graph", EXAMPLES / f"{name}.weft.yaml", "--format", "json").json()
        assert not any(n["ghost"] for n in graph["nodes"]) and not any(e["ghost"] for e in graph["edges"])


def test_region_members_are_the_paths_between_the_anchors_and_what_they_created() -> None:
    from engine.promises.regions import region_members

    edges = [("before", "A"), ("A", "m"), ("m", "B"), ("A", "aside"), ("B", "after")]
    created = {"A": ["x"], "x": ["y"], "B": ["z"], "aside": ["w"]}  # z by the last anchor, w outside

    def succ(n: str) -> list[str]:
        return [t for s, t in edges if s == n]

    def pred(n: str) -> list[str]:
        return [s for s, t in edges if t == n]

    assert region_members("A", "B", succ, pred, lambda n: created.get(n, [])) == {"A", "m", "B", "x", "y"}
