"""Workflows inside workflows in the studio: `workflow:` nodes drawn, opened, grouped and run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.workflow.model import NodeSpec
from studio.model.document import Document


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
