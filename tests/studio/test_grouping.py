"""Nodes grouped into a sub-workflow file, and library workflows dragged from the palette."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from PySide6 import QtCore, QtGui

from engine.events import NodeState
from engine.workflow.loader import load_file
from engine.workflow.model import EdgeSpec, NodeSpec
from studio.model.document import Document, EdgeKey
from studio.model.grouping import plan_group
from tests.conftest import ROOT
from tests.studio.conftest import run_to_end

ARTIFACTS = ROOT / "test-artifacts"

#: seed -> double -> add -> square -> total, with seed feeding add too: (2·3 + 3)² = 81
CHAIN = """\
weft: 1
name: chain
types:
  Pair: {a: int, b: int}
operators:
  sq:
    inputs: {x: int}
    outputs: {y: int}
    command: [python3, -c, "import weft_task as w; w.output('y', w.inputs['x'] ** 2)"]
nodes:
  - id: seed
    command: [python3, -c, "import weft_task as w; w.output('n', 3)"]
    outputs: {n: int}
    style: {pos: [0, 0]}
  - id: double
    command: [python3, -c, "import weft_task as w; w.output('y', 2 * w.inputs['x'])"]
    inputs: {x: int}
    outputs: {y: int}
    style: {pos: [250, 0]}
  - id: add
    command: [python3, -c, "import weft_task as w; w.output('y', w.inputs['x'] + w.inputs['k'])"]
    inputs: {x: int, k: int}
    outputs: {y: int}
    style: {pos: [500, 0]}
  - id: square
    operator: sq
    style: {pos: [750, 0]}
  - id: total
    command: [python3, -c, "import weft_task as w; w.output('total', w.inputs['x'])"]
    inputs: {x: int}
    outputs: {total: int}
    style: {pos: [1000, 0]}
edges:
  - {from: seed.n, to: double.x}
  - {from: double.y, to: add.x}
  - {from: seed.n, to: add.k}
  - {from: add.y, to: square.x}
  - {from: square.y, to: total.x}
"""

GROUPED = ["double", "add", "square"]


def _chain(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    path = folder / "chain.weft.yaml"
    path.write_text(CHAIN)
    return path


def _wires(doc: Document) -> set[EdgeKey]:
    return {EdgeKey.of(e) for e in doc.edges}


def test_the_plan_makes_inputs_outputs_and_refuses_what_would_not_run_the_same(tmp_path: Path) -> None:
    doc = Document.open(_chain(tmp_path))
    plan = plan_group(doc, GROUPED, tmp_path / "flows" / "middle")
    assert plan.refused is None and plan.path == tmp_path / "flows" / "middle.weft.yaml"
    data = yaml.safe_load(plan.text)
    assert data["inputs"] == {"x": "int", "k": "int"} and data["outputs"] == {"y": "square.y"}
    assert {"from": "inputs.x", "to": "double.x"} in data["edges"] and "sq" in data["operators"]
    assert "seed" not in str(data["nodes"])
    assert plan.node is not None and plan.node.workflow == "middle.weft.yaml"
    assert plan.node.style == {"pos": [500.0, 0.0]}
    assert {str(EdgeKey.of(e)) for e in plan.edges} == {
        "seed.n -> middle.x",
        "seed.n -> middle.k",
        "middle.y -> total.x",
    }
    assert "two nodes" in (plan_group(doc, ["add"], tmp_path / "flows" / "one.weft.yaml").refused or "")
    assert "folder" in (plan_group(doc, GROUPED, tmp_path / "elsewhere.weft.yaml").refused or "")
    doc.add_node(NodeSpec(id="late", command=["true"]))
    doc.add_edge(EdgeSpec("square", "late", when="add.y > 3"))
    assert "reads add" in (plan_group(doc, GROUPED, tmp_path / "flows" / "m.weft.yaml").refused or "")


def test_grouping_is_one_undo_step_and_undo_restores_the_graph(window: Any, tmp_path: Path) -> None:
    path = _chain(tmp_path)
    assert window.open(path)
    doc = window.document
    nodes, wires = doc.node_ids(), _wires(doc)
    window.canvas.select(GROUPED)
    assert window.actions.group.isEnabled() and window.actions.group in window.canvas.viewer.actions()
    assert window.group_selection(path.parent / "middle.weft.yaml") is None
    assert doc.node_ids() == ["seed", "total", "middle"]
    assert window.canvas.selected_ids() == ["middle"]
    assert window.undo_stack.count() == 1 and "Group 3 nodes" in window.undo_stack.undoText()
    window.undo_stack.undo()
    assert sorted(doc.node_ids()) == sorted(nodes) and _wires(doc) == wires
    assert sorted(window.canvas.nodes) == sorted(nodes)
    assert (path.parent / "middle.weft.yaml").is_file()  # the written file stays
    window.undo_stack.redo()
    assert doc.node_ids() == ["seed", "total", "middle"]


def test_a_grouped_workflow_loads_runs_the_same_and_opens(qtbot: Any, window: Any, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = _chain(tmp_path)
    assert window.open(path)
    before = run_to_end(qtbot, window)
    assert before.nodes["total"].outputs == {"total": 81}
    window.close_run()

    window.canvas.select(GROUPED)
    assert window.group_selection(path.parent / "middle.weft.yaml") is None
    sub = path.parent / "middle.weft.yaml"
    loaded_sub = load_file(sub)
    assert [n.id for n in loaded_sub.workflow.nodes] == GROUPED
    assert loaded_sub.workflow.inputs == {"x": "int", "k": "int"}
    assert window.document.ports("middle") == ({"x": "int", "k": "int"}, {"y": "int"})
    item = window.canvas.item("middle")
    assert item.sub_workflow == "middle.weft.yaml" and not item.problem
    assert window.save()
    text = path.read_text()
    assert "workflow: middle.weft.yaml" in text and "double" not in text
    assert [n.id for n in load_file(path).workflow.nodes] == ["seed", "total", "middle"]
    window.canvas.fit()
    qtbot.wait(100)
    assert window.grab().save(str(ARTIFACTS / "studio-grouped.png"))

    after = run_to_end(qtbot, window)
    assert after.nodes["total"].outputs == before.nodes["total"].outputs
    assert after.nodes["middle/square"].outputs == {"y": 81}
    window.canvas.run_layer.flush()
    group = window.canvas.item("middle")
    assert group.run_state is NodeState.SUCCEEDED and "3 of 3 inner nodes finished" in group.note
    window.canvas.select(["middle"])
    qtbot.wait(100)
    assert window.grab().save(str(ARTIFACTS / "studio-grouped-run.png"))
    window.close_run()

    window.canvas.activated.emit("middle")  # a double-click opens the new file
    assert window.document.path == sub.resolve()
    assert window.breadcrumbs.text() == "chain ▸ middle"
    window.breadcrumbs.buttons[0].click()
    assert window.document.path == path.resolve() and not window.breadcrumbs.isVisible()


STATS = """\
weft: 1
name: stats
description: y = x + 100
inputs: {x: int}
outputs: {y: plus.y}
nodes:
  - id: plus
    command: [python3, -c, "import weft_task as w; w.output('y', w.inputs['x'] + 100)"]
    inputs: {x: int}
    outputs: {y: int}
edges:
  - {from: inputs.x, to: plus.x}
"""


def test_a_library_workflow_is_dragged_from_the_palette(window: Any, tmp_path: Path, monkeypatch: Any) -> None:
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "stats.weft.yaml").write_text(STATS)
    monkeypatch.setenv("WEFT_LIBRARY_PATH", str(lab))
    window.palette.set_folders([lab])
    entry = window.palette.find_workflow("lab:stats")
    assert entry is not None and entry.text(0) == "stats (sub-workflow)"
    assert "inputs: x: int" in entry.toolTip(0) and "outputs: y: int" in entry.toolTip(0)
    assert window.palette.libraries() == window.palette._builtin + window.palette._user  # not an operator file
    viewer = window.canvas.viewer
    point = viewer.mapFromScene(QtCore.QPointF(100.0, 80.0))
    mime = window.palette.mime_for(entry)
    viewer.dropEvent(
        QtGui.QDropEvent(QtCore.QPointF(point), QtCore.Qt.CopyAction, mime, QtCore.Qt.LeftButton, QtCore.Qt.NoModifier)
    )
    spec = window.document.node("stats")
    assert spec is not None and spec.workflow == "lab:stats"
    assert window.document.ports("stats") == ({"x": "int"}, {"y": "int"})
    assert "sub-workflow" in [text for text, _color in window.canvas.item("stats").badges()]
    window.undo_stack.undo()
    assert window.document.node("stats") is None
