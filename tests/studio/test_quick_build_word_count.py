"""Acceptance: build word-count with the keyboard-first gestures only, then copy a node and save.

Every node comes from quick add (Tab, typing, Enter) or from a wire let go in empty space;
the remaining wires are drawn between ports with the mouse, and ids, params and conditions are
typed into the inspector. The saved file is loaded by the engine to exactly the nodes and
edges meant: word-count's, plus the pasted copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtTest

from engine.workflow.loader import load_file
from studio.model.document import EdgeKey
from tests.conftest import EXAMPLES
from tests.studio.conftest import drag_wire
from tests.studio.test_build_word_count import graph_of
from tests.studio.test_quick_build import choose, drag_to_empty, key, point_at


def screenshot(window: Any, name: str) -> None:
    """The window with the popup where it stands over it (the popup is a window of its own)."""
    image = window.grab()
    popup = window.quick_add.popup
    painter = QtGui.QPainter(image)
    painter.drawPixmap(window.mapFromGlobal(popup.mapToGlobal(QtCore.QPoint(0, 0))), popup.grab())
    painter.end()
    Path("test-artifacts").mkdir(exist_ok=True)
    image.save(f"test-artifacts/{name}.png")


def test_build_word_count_with_quick_add_and_wires_let_go_in_empty_space(
    qtbot: Any, window: Any, examples: Path
) -> None:
    port = window.canvas.port
    popup = window.quick_add.popup
    doc = window.document

    # read: Tab at the pointer, type, Enter
    point_at(window, (0.0, 40.0))
    key(window, QtCore.Qt.Key_Tab)
    QtTest.QTest.keyClicks(popup.filter, "rea")
    screenshot(window, "quick-add")
    QtTest.QTest.keyClick(popup.filter, QtCore.Qt.Key_Return)
    assert doc.node_ids() == ["read"]
    window.canvas.fit()
    qtbot.wait(20)

    def beside(node_id: str, dx: float, dy: float = 40.0) -> tuple[float, float]:
        x, y = window.canvas.item(node_id).xy_pos
        return (x + dx, y + dy)

    # count: from read.text into empty space
    drag_to_empty(window, port("read", "text", True), beside("read", 300.0))
    assert {c.name for c in popup.visible_choices()} == {"count", "lines", "show", "map", "python", "write"}
    QtTest.QTest.keyClicks(popup.filter, "c")
    screenshot(window, "wire-drag")
    QtTest.QTest.keyClick(popup.filter, QtCore.Qt.Key_Return)
    # report: from count.counts; too-short: a log node from count's runs-after port
    drag_to_empty(window, port("count", "counts", True), beside("count", 300.0))
    choose(window, "report")
    drag_to_empty(window, port("count", "(then)", True), beside("count", 300.0, 240.0))
    choose(window, "log")
    assert doc.node_ids() == ["read", "count", "report", "log"]
    assert {str(e) for e in doc.edges} == {"read.text -> count.text", "count.counts -> report.counts", "count -> log"}

    # the two wires between nodes that exist already, drawn port to port
    window.canvas.fit()
    qtbot.wait(20)
    drag_wire(qtbot, window, port("count", "total", True), port("report", "total", False))
    drag_wire(qtbot, window, port("count", "(then)", True), port("report", "(after)", False))
    assert len(doc.edges) == 5, [str(e) for e in doc.edges]

    # ids, params and conditions in the inspector
    props = window.properties
    window.canvas.select(["log"])
    props.f["id"].setText("too-short")
    props.f["params"].setText("{message: text too short to report}")
    props.f["id"].editingFinished.emit()
    assert doc.node("too-short") is not None, props.problems.text()
    window.canvas.select(["read"])
    props.f["params"].setText("{path: data/words.txt}")
    props.f["params"].editingFinished.emit()
    for target, when in (("report", "count.total > 10"), ("too-short", "count.total <= 10")):
        edge = next(e for e in doc.edges if e.target == target and e.source_port is None)
        props.show_edge(EdgeKey.of(edge))
        props.when.setText(when)
        props.when.editingFinished.emit()

    # one node copied and pasted: a second report at the pointer, unwired
    window.canvas.select(["too-short"])
    key(window, QtCore.Qt.Key_C, QtCore.Qt.ControlModifier)
    point_at(window, beside("too-short", 0.0, 160.0))
    key(window, QtCore.Qt.Key_V, QtCore.Qt.ControlModifier)
    assert window.canvas.selected_ids() == ["too-short-2"]
    window.canvas.fit()
    qtbot.wait(20)
    window.grab().save("test-artifacts/quick-built-word-count.png")

    target = examples / "quick-built.weft.yaml"
    window.document.save(target)
    window.undo_stack.setClean()

    # exactly what was meant: word-count's nodes and edges, and the pasted copy with nothing wired
    nodes, edges = graph_of(target)
    expected_nodes, expected_edges = graph_of(EXAMPLES / "word-count.weft.yaml")
    assert edges == expected_edges
    assert nodes == expected_nodes | {("too-short-2", (), ())}
    loaded = load_file(target).workflow
    copy = next(n for n in loaded.nodes if n.id == "too-short-2")
    assert (copy.operator, copy.params) == ("log", {"message": "text too short to report"})
