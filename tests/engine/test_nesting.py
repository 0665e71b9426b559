"""Workflows inside workflows (`workflow:` nodes): loading, checks, real runs through the CLI
with a library workflow in a `$WEFT_LIBRARY_PATH` folder, restart inside, `--input`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from engine.errors import WorkflowInvalid
from engine.events import GraphChanged, NodeState
from engine.history.fold import aggregate_state
from engine.history.store import Store
from engine.workflow.loader import load_file
from engine.workflow.nesting import expand
from tests.engine.conftest import view

PY = sys.executable

STATS = f"""\
weft: 1
name: stats
inputs: {{n: int}}
outputs: {{total: join.total}}
operators:
  part:
    inputs: {{}}
    outputs: {{v: int}}
    command: [{PY!r}, ops/part.py]
nodes:
  - id: plan
    command: [{PY!r}, ops/plan.py]
    inputs: {{n: int}}
    outputs: {{n: int}}
    dynamic: true
  - id: join
    command: [{PY!r}, ops/join.py]
    inputs: {{n: int}}
    outputs: {{total: int}}
edges:
  - {{from: inputs.n, to: plan.n}}
  - {{from: plan.n, to: join.n}}
promises:
  - shape: "plan -> part* -> join"
"""

PLAN = """\
import weft_task as w
n = w.inputs["n"]
w.output("n", n)
w.mutate(
    nodes=[{"id": f"p{i}", "operator": "part", "params": {"i": i}} for i in range(n)],
    edges=[{"from": "plan", "to": f"p{i}"} for i in range(n)] + [{"from": f"p{i}", "to": "join"} for i in range(n)],
)
"""
PART = "import weft_task as w\nw.output('v', w.params['i'])\n"
JOIN = "import weft_task as w\nw.output('total', w.inputs['n'] * 10)\n"

MID = f"""\
weft: 1
name: mid
inputs: {{a: int}}
outputs: {{y: add.y}}
nodes:
  - {{id: first, workflow: "lib:stats"}}
  - id: add
    command: [{PY!r}, add.py]
    inputs: {{x: int}}
    outputs: {{y: int}}
edges:
  - {{from: inputs.a, to: first.n}}
  - {{from: first.total, to: add.x}}
"""
ADD = "import weft_task as w\nw.output('y', w.inputs['x'] + 1)\n"

TOP = f"""\
weft: 1
name: top
inputs: {{k: int}}
nodes:
  - id: src
    command: [{PY!r}, -c, "import weft_task as w; w.output('v', 2)"]
    outputs: {{v: int}}
  - {{id: outer, workflow: sub/mid.weft.yaml}}
  - {{id: again, workflow: "lib:stats"}}
  - id: report
    command: [{PY!r}, report.py]
    inputs: {{a: int, b: int}}
    outputs: {{sum: int}}
  - {{id: after, command: [{PY!r}, -c, pass]}}
edges:
  - {{from: src.v, to: outer.a}}
  - {{from: inputs.k, to: again.n}}
  - {{from: outer.y, to: report.a}}
  - {{from: again.total, to: report.b}}
  - {{from: again, to: after}}
"""
REPORT = "import weft_task as w\nw.output('sum', w.inputs['a'] + w.inputs['b'])\n"


@pytest.fixture
def nested(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """top -> outer (sub/mid) -> outer/first (lib:stats, dynamic); again (lib:stats) beside."""
    lib = tmp_path / "lib"
    (lib / "ops").mkdir(parents=True)
    (lib / "stats.weft.yaml").write_text(STATS)
    (lib / "ops" / "plan.py").write_text(PLAN)
    (lib / "ops" / "part.py").write_text(PART)
    (lib / "ops" / "join.py").write_text(JOIN)
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "sub" / "mid.weft.yaml").write_text(MID)
    (project / "sub" / "add.py").write_text(ADD)
    (project / "report.py").write_text(REPORT)
    (project / "top.weft.yaml").write_text(TOP)
    monkeypatch.setenv("WEFT_LIBRARY_PATH", str(lib))
    return project / "top.weft.yaml"


def test_expansion_prefixes_ids_rewires_edges_and_scopes_promises(nested: Path) -> None:
    ex = expand(load_file(nested), {"k": 3})
    ids = [n.id for n in ex.nodes]
    assert ids == [
        "inputs",
        "src",
        "outer/first/plan",
        "outer/first/join",
        "outer/add",
        "again/plan",
        "again/join",
        "report",
        "after",
    ]
    edges = {(e.source_text, e.target_text) for e in ex.edges}
    assert ("src.v", "outer/first/plan.n") in edges and ("outer/first/plan.n", "outer/first/join.n") in edges
    assert ("outer/first/join.total", "outer/add.x") in edges
    assert ("inputs.k", "again/plan.n") in edges
    assert ("outer/add.y", "report.a") in edges and ("again/join.total", "report.b") in edges
    assert ("again/join", "after") in edges  # runs-after out of a group: from its exits
    assert ex.groups == {
        "outer/first": ["outer/first/plan", "outer/first/join"],
        "outer": ["outer/first/plan", "outer/first/join", "outer/add"],
        "again": ["again/plan", "again/join"],
    }
    shapes = [(p.args, p.by) for p in ex.promises]
    assert shapes == [
        ("outer/first/plan -> part* -> outer/first/join", "outer/first/*"),
        ("again/plan -> part* -> again/join", "again/*"),
    ]
    # the library's script is found from the top workflow's folder
    assert ex.resolved["again/plan"].command == [PY, "../lib/ops/plan.py"]


def test_a_nested_run_prefixes_ids_passes_values_and_keeps_promises(weft: Any, home: Path, nested: Path) -> None:
    result = weft("run", nested, "--input", "k=3", "--json")
    assert result.code == 0, result.err
    run_id = result.json()["run"]
    snap = view(home, run_id)
    assert snap.nodes["report"].outputs == {"sum": 21 + 30}
    assert snap.nodes["outer/add"].outputs == {"y": 21}
    created = sorted(n.id for n in snap.nodes.values() if n.created_by)
    assert created == ["again/p0", "again/p1", "again/p2", "outer/first/p0", "outer/first/p1"]
    assert snap.nodes["again/p2"].created_by == "again/plan" and snap.nodes["again/p2"].outputs == {"v": 2}
    assert snap.group_state("outer") is NodeState.SUCCEEDED
    shown = weft("show", run_id, "--json").json()
    by_id = {n["id"]: n for n in shown["nodes"]}
    assert by_id["outer"]["state"] == "succeeded" and by_id["outer"]["group"] is None
    assert by_id["outer/first"]["group"] == "outer"
    assert set(by_id["outer/first"]["members"]) == {
        "outer/first/plan",
        "outer/first/join",
        "outer/first/p0",
        "outer/first/p1",
    }
    assert by_id["outer/first/p1"]["group"] == "outer/first"
    ids = [n["id"] for n in shown["nodes"]]
    assert ids.index("outer") < ids.index("outer/first") < ids.index("outer/first/plan")
    text = weft("show", run_id)
    assert "outer/first" in text.out and "(workflow: 4 nodes)" in text.out


def test_a_promise_of_an_included_workflow_breaks_the_run(weft: Any, home: Path, nested: Path) -> None:
    lib = nested.parent.parent / "lib"
    # plan now creates nodes that are no 'part': the shape 'plan -> part* -> join' is broken
    (lib / "ops" / "plan.py").write_text(PLAN.replace('"operator": "part"', f'"command": [{PY!r}, "-c", "pass"]'))
    result = weft("run", nested, "--input", "k=1", "--json")
    assert result.code == 3, result.err
    assert result.json()["state"] == "broken"
    shown = weft("show", result.json()["run"], "--json").json()
    assert shown["broken"]["task"] in ("outer/first/plan", "again/plan")


def test_an_inner_node_fails_then_is_restarted(weft: Any, home: Path, nested: Path) -> None:
    add = nested.parent / "sub" / "add.py"
    add.write_text("import sys\nsys.exit(4)\n")
    first = weft("run", nested, "--input", "k=1", "--json")
    assert first.code == 1
    run_id = first.json()["run"]
    snap = view(home, run_id)
    assert snap.nodes["outer/add"].state is NodeState.FAILED
    assert snap.nodes["report"].state is NodeState.SKIPPED  # failure leaves the group as a node's would
    assert snap.group_state("outer") is NodeState.FAILED
    assert snap.group_state("again") is NodeState.SUCCEEDED
    shown = {n["id"]: n["state"] for n in weft("show", run_id, "--json").json()["nodes"]}
    assert shown["outer"] == "failed" and shown["outer/first"] == "succeeded"

    add.write_text(ADD)
    again = weft("restart", run_id, "outer/add", "--json")
    assert again.code == 0, again.err
    after = view(home, run_id)
    assert after.nodes["outer/add"].attempt == 2 and after.nodes["outer/first/plan"].attempt == 1
    assert after.nodes["report"].outputs == {"sum": 21 + 10}
    assert after.group_state("outer") is NodeState.SUCCEEDED


def test_inputs_are_typed_and_required(weft: Any, nested: Path) -> None:
    missing = weft("run", nested)
    assert missing.code == 2 and missing.err.strip().endswith("missing input k: add --input k=...")
    assert len(missing.err.strip().splitlines()) == 1
    wrong = weft("run", nested, "--input", "k=three")
    assert wrong.code == 2 and "--input k: 'three' is not an integer" in wrong.err
    unknown = weft("run", nested, "--input", "k=1", "--input", "q=1")
    assert unknown.code == 2 and "no input 'q' (inputs: k)" in unknown.err


def test_optional_input_may_be_left_out(weft: Any, tmp_path: Path) -> None:
    (tmp_path / "opt.weft.yaml").write_text(
        f"weft: 1\nname: opt\ninputs: {{who: str?, n: int}}\nnodes:\n"
        f'  - {{id: hi, command: [{PY!r}, -c, \'import weft_task as w; w.output("o", [w.inputs["who"], '
        'w.inputs["n"]])\'], inputs: {who: str?, n: int}, outputs: {o: json}}\n'
        "edges:\n  - {from: inputs.who, to: hi.who}\n  - {from: inputs.n, to: hi.n}\n"
    )
    result = weft("run", tmp_path / "opt.weft.yaml", "--input", "n=4", "--json")
    assert result.code == 0, result.err
    assert weft("show", result.json()["run"], "--json").json()["outputs"]["hi"] == {"o": [None, 4]}


def test_a_workflow_that_includes_itself_names_the_chain(weft: Any, tmp_path: Path) -> None:
    (tmp_path / "a.weft.yaml").write_text("weft: 1\nname: a\nnodes:\n  - {id: b, workflow: b.weft.yaml}\n")
    (tmp_path / "b.weft.yaml").write_text("weft: 1\nname: b\nnodes:\n  - {id: a, workflow: a.weft.yaml}\n")
    with pytest.raises(WorkflowInvalid) as err:
        load_file(tmp_path / "a.weft.yaml")
    a, b = tmp_path / "a.weft.yaml", tmp_path / "b.weft.yaml"
    assert str(err.value).startswith(f"{b}:4:")
    assert str(err.value).endswith(f"workflow: a.weft.yaml: a workflow includes itself: {a} -> {b} -> {a}")
    result = weft("validate", a)
    assert result.code == 2 and "a workflow includes itself" in result.err


def test_ports_of_a_workflow_node_are_type_checked(nested: Path, tmp_path: Path) -> None:
    bad = nested.parent / "bad.weft.yaml"
    bad.write_text(
        "weft: 1\nname: bad\nnodes:\n"
        f"  - {{id: s, command: [{PY!r}, x.py], outputs: {{v: str}}}}\n"
        "  - {id: st, workflow: 'lib:stats'}\n"
        f"  - {{id: r, command: [{PY!r}, x.py], inputs: {{t: bool}}}}\n"
        "edges:\n  - {from: s.v, to: st.n}\n  - {from: st.total, to: r.t}\n  - {from: st.nope, to: r.t}\n"
    )
    with pytest.raises(WorkflowInvalid) as err:
        load_file(bad)
    messages = [f"{p.location.line}:{p.message}" for p in err.value.problems]
    assert any(m.startswith("8:") and "str" in m and "int" in m for m in messages), messages
    assert any(m.startswith("9:") and "bool" in m for m in messages), messages
    assert any(m.startswith("10:") and "nope" in m for m in messages), messages


def test_outputs_and_inputs_edges_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "w.weft.yaml"
    path.write_text(
        "weft: 1\nname: w\ninputs: {n: int}\noutputs: {a: ghost.x, b: r.nope}\nnodes:\n"
        f"  - {{id: r, command: [{PY!r}, x.py], inputs: {{n: int?}}, outputs: {{v: int}}}}\n"
        "edges:\n  - {from: inputs.m, to: r.n}\n"
    )
    with pytest.raises(WorkflowInvalid) as err:
        load_file(path)
    text = str(err.value)
    assert "4:" in text and "workflow output 'a': unknown node 'ghost'" in text
    assert "workflow output 'b': node 'r' has no output 'nope'" in text
    assert "8:" in text and "inputs" in text and "'m'" in text


def test_a_workflow_node_has_no_command_of_its_own(tmp_path: Path) -> None:
    (tmp_path / "s.weft.yaml").write_text(f"weft: 1\nname: s\nnodes:\n  - {{id: x, command: [{PY!r}, -c, pass]}}\n")
    path = tmp_path / "w.weft.yaml"
    path.write_text(f"weft: 1\nname: w\nnodes:\n  - {{id: s, workflow: s.weft.yaml, command: [{PY!r}]}}\n")
    with pytest.raises(WorkflowInvalid) as err:
        load_file(path)
    assert "has no 'command' of its own" in str(err.value)


def test_aggregate_state() -> None:
    s = NodeState
    assert aggregate_state([s.SUCCEEDED, s.RUNNING, s.FAILED]) is s.RUNNING
    assert aggregate_state([s.SUCCEEDED, s.PENDING]) is s.RUNNING
    assert aggregate_state([s.PENDING, s.PENDING]) is s.PENDING
    assert aggregate_state([s.SUCCEEDED, s.FAILED, s.SKIPPED]) is s.FAILED
    assert aggregate_state([s.SKIPPED, s.SKIPPED]) is s.SKIPPED
    assert aggregate_state([s.CANCELLED, s.SUCCEEDED]) is s.CANCELLED
    assert aggregate_state([s.SUCCEEDED, s.SKIPPED]) is s.SUCCEEDED


LOOP = """\
weft: 1
name: doubling
inputs: {start: int}
outputs: {result: body.n}
operators:
  step: {inputs: {n: int}, outputs: {n: int}, command: [PY, step.py]}
nodes:
  - {id: body, operator: step}
  - {id: check, command: [PY, check.py], inputs: {n: int}, outputs: {n: int, more: bool}}
edges:
  - {from: inputs.start, to: body.n}
  - {from: body.n, to: check.n}
  - {from: check.n, to: body.n, when: check.more}
promises:
  - max_nodes: {max: MAX}
""".replace("PY", repr(PY))

LOOP_TOP = f"""\
weft: 1
name: two-loops
nodes:
  - id: seed
    command: [{PY!r}, -c, "import weft_task as w; w.output('a', 3); w.output('b', 15)"]
    outputs: {{a: int, b: int}}
  - {{id: left, workflow: sub/doubling.weft.yaml}}
  - {{id: right, workflow: sub/doubling.weft.yaml}}
  - id: done
    command: [{PY!r}, -c, "import weft_task as w; w.output('v', [w.inputs['x'], w.inputs['y']])"]
    inputs: {{x: int, y: int}}
    outputs: {{v: json}}
edges:
  - {{from: seed.a, to: left.start}}
  - {{from: seed.b, to: right.start}}
  - {{from: left.result, to: done.x}}
  - {{from: right.result, to: done.y}}
"""


def loop_workflow(tmp_path: Path, max_nodes: int = 10) -> Path:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "doubling.weft.yaml").write_text(LOOP.replace("MAX", str(max_nodes)))
    (tmp_path / "sub" / "step.py").write_text("import weft_task as w\nw.output('n', w.inputs['n'] * 2)\n")
    (tmp_path / "sub" / "check.py").write_text(
        "import weft_task as w\nw.output('n', w.inputs['n'])\nw.output('more', w.inputs['n'] < 20)\n"
    )
    (tmp_path / "top.weft.yaml").write_text(LOOP_TOP)
    return tmp_path / "top.weft.yaml"


def test_a_loop_inside_an_included_workflow_goes_round_under_its_prefix(weft: Any, home: Path, tmp_path: Path) -> None:
    top = loop_workflow(tmp_path)
    result = weft("run", top, "--json")
    assert result.code == 0, result.err
    run_id = result.json()["run"]
    snap = view(home, run_id)
    # left: 3 -> 6 -> 12 -> 24 (three iterations); right: 15 -> 30 (one)
    assert snap.nodes["done"].outputs == {"v": [24, 30]}
    left = sorted(n for n in snap.nodes if n.startswith("left/"))
    assert left == ["left/body", "left/body@2", "left/body@3", "left/check", "left/check@2", "left/check@3"]
    assert sorted(n for n in snap.nodes if n.startswith("right/")) == ["right/body", "right/check"]
    assert snap.nodes["left/body@3"].created_by == "left/check@2"
    assert snap.group_state("left") is NodeState.SUCCEEDED
    shown = {n["id"]: n for n in weft("show", run_id, "--json").json()["nodes"]}
    assert shown["left/check@3"]["group"] == "left" and len(shown["left"]["members"]) == 6

    # restarting the loop's entry retires its iterations; they are made again as it goes round
    again = weft("restart", run_id, "left/body", "--json")
    assert again.code == 0, again.err
    after = view(home, run_id)
    assert after.nodes["left/body"].attempt == 2 and after.nodes["right/body"].attempt == 1
    assert after.nodes["left/body@3"].state is NodeState.SUCCEEDED and after.nodes["done"].outputs == {"v": [24, 30]}


def test_a_promise_of_an_included_workflow_counts_its_loops_iterations(weft: Any, tmp_path: Path) -> None:
    top = loop_workflow(tmp_path, max_nodes=1)  # left's second iteration would make 2 nodes
    result = weft("run", top, "--json")
    assert result.code == 3 and result.json()["state"] == "broken", result.err
    broken = weft("show", result.json()["run"], "--json").json()["broken"]
    assert broken["task"] == "left/check"


def test_globs_in_an_included_workflows_promises_match_its_own_node_ids() -> None:
    from engine.workflow.model import PromiseSpec
    from engine.workflow.nesting import scoped_promises

    def rename(name: str) -> str:
        return name if name == "square" else f"left/{name}"

    def scoped(promise: PromiseSpec) -> PromiseSpec:
        (out,) = scoped_promises(promise, rename, "left/", ["square", "sum-up"])
        return out

    only = scoped(PromiseSpec("only_nodes", {"match": ["m-*", "sum", "sq*"]}))
    # a glob of ids gets the prefix; one that names an operator also stays as written
    assert only.args == {"match": ["left/m-*", "left/sum", "left/sq*", "sq*"], "by": "left/*"}
    edges = scoped(PromiseSpec("only_edges", {"pairs": [["plan", "m-*"]], "by": "plan-?"}))
    assert edges.args == {"pairs": [["left/plan", "left/m-*"]], "by": "left/plan-?"}
    shape = scoped(PromiseSpec("shape", "plan -> 'm-*'* -> 'sum-*' -> join"))
    assert shape.args == "left/plan -> 'left/m-*'* -> 'sum-*' -> left/join" and shape.by == "left/*"
    full = scoped(PromiseSpec("only_nodes", {"match": ["other/x-*"]}))
    assert full.args["match"] == ["other/x-*"]  # written against full run ids: as written


def test_the_graph_shows_the_loops_of_included_workflows_as_ghosts(weft: Any, home: Path, tmp_path: Path) -> None:
    """Before any run (`weft graph FILE`) and at any event of a run, each use of an included
    workflow's loop has its own "may repeat" ghost, hanging off its newest latch."""
    top = loop_workflow(tmp_path)
    drawn = weft("graph", top, "--format", "json").json()
    ghosts = {n["owner"]: n for n in drawn["nodes"] if n["ghost"]}
    assert set(ghosts) == {"left/check", "right/check"}
    assert ghosts["left/check"]["label"] == "may repeat while `left/check`.more"
    assert ghosts["left/check"]["match"] == ["left/body", "left/check"]
    ghost_edges = {(e["from"], e["to"]) for e in drawn["edges"] if e["ghost"]}
    assert ghost_edges == {("left/check", "ghost:left/check:loop"), ("right/check", "ghost:right/check:loop")}
    dot = weft("graph", top).out
    assert '"left/check" -> "ghost:left/check:loop" [style=dashed' in dot
    assert '"ghost:right/check:loop" [label="may repeat while `right/check`.more"' in dot

    run_id = weft("run", top, "--json").json()["run"]
    store = Store(home)
    try:
        changes = [r.seq for r in store.events(run_id, (GraphChanged,)) if "left/body@2" in str(r.event)]
    finally:
        store.close()
    at = weft("graph", run_id, "--at", str(changes[0]), "--format", "json").json()
    assert "left/check@2" in {n["id"] for n in at["nodes"]}
    assert [n["owner"] for n in at["nodes"] if n["ghost"] and n["owner"].startswith("left/")] == ["left/check@2"]
    end = weft("graph", run_id, "--format", "json").json()
    assert not [n for n in end["nodes"] if n["ghost"]]  # a finished run grows no more
