"""Workflows inside workflows in the studio: `workflow:` nodes drawn, opened, grouped and run."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from PySide6 import QtWidgets

from engine.events import NodeState, RunState
from engine.workflow.model import NodeSpec
from studio.model.document import Document
from tests.conftest import ROOT
from tests.engine.conftest import view
from tests.studio.conftest import run_to_end

ARTIFACTS = ROOT / "test-artifacts"


def test_a_workflow_node_has_its_sub_workflows_ports(examples: Path) -> None:
    doc = Document.open(examples / "nested.weft.yaml")
    assert doc.complete, doc.problems
    assert doc.ports("left") == ({"x": "int"}, {"y": "int"})
    sub = doc.subworkflow("left")
    assert sub is not None and sub.path == (examples / "nested" / "square-plus-one.weft.yaml").resolve()
    assert sub.members == ("square", "plus-one") and sub.problem is None
    assert doc.subworkflow("seed") is None
    # wiring it type-checks like any node
    assert doc.connection_problem("seed", "a", "right", "x") is None  # replaces the wire feeding it
    doc.add_node(NodeSpec(id="names", command=["true"], inputs={"names": "list[str]"}))
    assert "cannot feed" in (doc.connection_problem("left", "y", "names", "names") or "")


def test_a_workflow_node_is_drawn_with_its_ports_and_badge(window: Any, examples: Path) -> None:
    assert window.open(examples / "nested.weft.yaml")
    item = window.canvas.item("left")
    assert item.sub_workflow == "nested/square-plus-one.weft.yaml"
    assert ("sub-workflow" in [text for text, _color in item.badges()]) and not item.problem
    assert window.canvas.port("left", "x", False) is not None and window.canvas.port("left", "y", True) is not None
    window.canvas.select(["left"])
    props = window.properties
    assert "square-plus-one.weft.yaml" in props.f["operator"].text()
    assert "in <b>x</b>: int" in props.ports.text() and "out <b>y</b>: int" in props.ports.text()
    assert not props._node_layout.isRowVisible(props.f["command"])
    props.f["label"].setText("left half")
    props.f["label"].editingFinished.emit()
    spec = window.document.node("left")
    assert spec.workflow == "nested/square-plus-one.weft.yaml" and spec.style["label"] == "left half"


def test_double_click_opens_the_sub_workflow_and_the_breadcrumb_goes_back(
    qtbot: Any, window: Any, examples: Path, monkeypatch: Any
) -> None:
    parent = (examples / "nested.weft.yaml").resolve()
    assert window.open(parent)
    window.canvas.activated.emit("left")  # what a double-click on the node sends
    child = (examples / "nested" / "square-plus-one.weft.yaml").resolve()
    assert window.document.path == child
    assert window.breadcrumbs.isVisible() and window.breadcrumbs.text() == "nested ▸ square-plus-one"
    # an unsaved change is asked about before going back, as before opening another file
    window.editor.move({"square": (10.0, 20.0)})
    asked: list[str] = []

    def answer(*args: Any) -> Any:
        asked.append(args[2])
        return QtWidgets.QMessageBox.Discard

    monkeypatch.setattr(QtWidgets.QMessageBox, "question", staticmethod(answer))
    window.breadcrumbs.buttons[0].click()
    assert asked and window.document.path == parent
    assert not window.breadcrumbs.isVisible()


def test_a_run_shows_the_workflow_node_with_its_inner_nodes_state(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "nested.weft.yaml")
    model = run_to_end(qtbot, window)
    assert model.nodes["total"].outputs == {"total": 15}  # (2² + 1) + (3² + 1)
    layer = window.canvas.run_layer
    layer.flush()
    left = window.canvas.item("left")
    assert left.run_state is NodeState.SUCCEEDED and "2 of 2 inner nodes finished" in left.note
    assert not any(n.startswith(("left/", "right/")) for n in layer.items)  # folded: not drawn
    assert layer.stack_action("left") == "Expand"
    assert layer.toggle("left")
    assert {"left/square", "left/plus-one"} <= set(layer.items)
    assert layer.items["left/square"].run_state is NodeState.SUCCEEDED
    assert layer.stack_action("left/square") == "Collapse"
    assert layer.toggle("left/square")
    assert not any(n.startswith("left/") for n in layer.items)


def test_answering_a_question_inside_an_included_workflow_uses_the_texts_the_run_recorded(
    qtbot: Any, window: Any, home: Path, tmp_path: Path
) -> None:
    """A node inside a `workflow:` node asks: its question shows by itself, and the answer is
    read with the run's types from the workflow the run started with, included files too, so
    breaking the included file on disk meanwhile does not stop it."""
    py = sys.executable
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ask.py").write_text("import weft_task\nweft_task.ask('Deploy?', {'approve': 'bool'})\n")
    gate = tmp_path / "sub" / "gate.weft.yaml"
    gate.write_text(
        "weft: 1\noutputs: {approve: ask.approve}\nnodes:\n"
        f"  - {{id: ask, command: [{py!r}, ask.py], outputs: {{approve: bool}}}}\n"
    )
    got = tmp_path / "got.json"
    deploy = [py, "-c", f"import json, weft_task as w; open({str(got)!r}, 'w').write(json.dumps(w.inputs))"]
    top = tmp_path / "top.weft.yaml"
    top.write_text(
        "weft: 1\nnodes:\n  - {id: gate, workflow: sub/gate.weft.yaml}\n"
        f"  - {{id: deploy, command: {deploy!r}, inputs: {{approve: bool}}}}\n"
        "edges:\n  - {from: gate.approve, to: deploy.approve}\n"
    )
    assert window.open(top)
    run_id = window.runs.start()
    form = window.run_panel.question
    # the question comes to the front by itself: the folded `gate` is expanded, its node chosen
    qtbot.waitUntil(lambda: form.isVisible() and form.node == "gate/ask", timeout=30000)
    assert window.canvas.selected_ids() == ["gate/ask"] and "gate/ask" in window.canvas.run_layer.items
    gate.write_text("weft: 1\nnodes: [\n")  # broken on disk: not even YAML
    sent, said = window.runs.answer(run_id, "gate/ask", {"approve": "bool"}, {"approve": True})
    assert sent, said
    assert window.runs.wait(60)
    assert view(home, run_id).state is RunState.SUCCEEDED
    assert json.loads(got.read_text()) == {"approve": True}


def test_the_library_nesting_example_runs_and_left_expands_to_its_inner_and_created_nodes(
    qtbot: Any, window: Any, examples: Path
) -> None:
    """resources/examples/library-nesting.weft.yaml: `numbers:summary` twice (a library named in
    its settings), which includes `numbers:square-sum`, whose planner creates nodes."""
    assert window.open(examples / "library-nesting.weft.yaml")
    doc = window.document
    assert doc.complete, doc.problems
    for node in ("left", "right"):
        item = window.canvas.item(node)
        assert not item.problem, item.problem
        assert doc.ports(node) == ({"path": "file"}, {"total": "int", "line": "str"})
    assert window.problems.messages() == []
    # opened from its node, `numbers:summary` sees the library it was found in (as in a run)
    assert window.open_subworkflow("left")
    assert window.document.path == (examples / "numbers" / "summary.weft.yaml").resolve()
    assert window.document.problems == [] and not window.canvas.item("squares").problem
    assert window.document.ports("squares") == ({"path": "file"}, {"total": "int", "count": "int"})
    assert window.back_to(0) and window.document.path == (examples / "library-nesting.weft.yaml").resolve()
    model = run_to_end(qtbot, window)
    assert model.state is RunState.SUCCEEDED, model.summary()
    assert model.nodes["report"].outputs == {"total": 55}
    layer = window.canvas.run_layer
    layer.flush()
    for node, count in (("left", 7), ("right", 6)):  # plan, join, describe and the created ones
        item = window.canvas.item(node)
        assert item.run_state is NodeState.SUCCEEDED and f"{count} of {count} inner nodes finished" in item.note
    assert not any(n.startswith(("left/", "right/")) for n in layer.items)
    assert layer.toggle("left")
    created = {"left/squares/m-1", "left/squares/m-2", "left/squares/m-3", "left/squares/sum"}
    assert {"left/squares/plan", "left/squares/join", "left/describe", *created} <= set(layer.items)
    assert all(layer.items[n].run_state is NodeState.SUCCEEDED for n in created)
    assert not any(n.startswith("right/") for n in layer.items)
    window.resize(2000, 1100)
    QtWidgets.QApplication.processEvents()
    window.canvas.fit()
    QtWidgets.QApplication.processEvents()
    ARTIFACTS.mkdir(exist_ok=True)
    assert window.grab().save(str(ARTIFACTS / "studio-library-nesting-left-expanded.png"))
