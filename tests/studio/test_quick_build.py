"""Building quickly: copy, cut, paste and duplicate of nodes; quick add; a wire let go in empty space.

Everything goes through the real window: keys on the canvas, the system clipboard, mouse drags
from real ports, typing into the real popup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtTest, QtWidgets

from engine.workflow.loader import load_file
from studio.model.clipboard import FRAGMENT_MIME
from studio.model.library import BUILTIN_FOLDER
from tests.studio.conftest import drag_between, drop_operator, make_window, port_center

TEXT = BUILTIN_FOLDER / "text.weft.yaml"


def key(window: Any, key: Any, modifier: Any = QtCore.Qt.NoModifier) -> None:
    """A key pressed on the canvas of ``window`` (made the active window first, as a click would)."""
    window.activateWindow()
    for _ in range(100):
        if window.isActiveWindow():
            break
        QtTest.QTest.qWait(10)
    assert window.isActiveWindow()
    window.canvas.viewer.setFocus()
    QtTest.QTest.keyClick(window.canvas.viewer, key, modifier)


def point_at(window: Any, scene: tuple[float, float]) -> QtCore.QPoint:
    """Put the pointer over the canvas at ``scene`` (scene coordinates); returns the viewport point."""
    viewer = window.canvas.viewer
    point = viewer.mapFromScene(QtCore.QPointF(*scene))
    QtGui.QCursor.setPos(viewer.viewport().mapToGlobal(point))
    return point


def drag_to_empty(window: Any, port: Any, scene: tuple[float, float]) -> None:
    """Drag a wire with the mouse from ``port`` and let it go at ``scene``, over nothing."""
    end = window.canvas.viewer.mapFromScene(QtCore.QPointF(*scene))
    assert window.canvas.viewer.node_at(end) is None
    drag_between(window, port_center(window, port), end)


def choose(window: Any, typed: str) -> None:
    """Type into the open quick-add popup and press Enter."""
    popup = window.quick_add.popup
    assert popup.isVisible()
    QtTest.QTest.keyClicks(popup.filter, typed)
    QtTest.QTest.keyClick(popup.filter, QtCore.Qt.Key_Return)
    assert not popup.isVisible()


def near(pos: tuple[float, float] | None, expected: tuple[float, float]) -> bool:
    """Within a pixel of the view (scene points go through the view's integer pixels)."""
    return pos is not None and abs(pos[0] - expected[0]) <= 1.5 and abs(pos[1] - expected[1]) <= 1.5


def edges_of(window: Any) -> set[str]:
    return {str(e) + (f" when {e.when}" if e.when else "") for e in window.document.edges}


# -- copy, cut, paste, duplicate -----------------------------------------------------------------


def test_copy_and_paste_renames_ids_and_keeps_the_wires_between_the_copied_nodes(
    qtbot: Any, window: Any, examples: Path
) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    before = edges_of(window)
    window.canvas.select(["count", "report"])
    key(window, QtCore.Qt.Key_C, QtCore.Qt.ControlModifier)
    mime = QtWidgets.QApplication.clipboard().mimeData()
    assert mime.hasFormat(FRAGMENT_MIME) and "id: report" in mime.text()

    depth = window.undo_stack.count()
    point_at(window, (100.0, 500.0))
    key(window, QtCore.Qt.Key_V, QtCore.Qt.ControlModifier)
    assert window.document.node_ids()[-2:] == ["count-2", "report-2"]
    # the wires between the copied nodes come along, renamed with them (the condition too);
    # the wire from read (not copied) does not
    assert edges_of(window) - before == {
        "count-2.counts -> report-2.counts",
        "count-2.total -> report-2.total",
        "count-2 -> report-2 when count-2.total > 10",
    }
    # where the pointer is, in the same arrangement, and selected
    count_at = window.document.position("count-2")
    assert near(count_at, (100.0, 500.0))
    assert window.document.position("report-2") == (count_at[0] + 300.0, count_at[1])
    assert sorted(window.canvas.selected_ids()) == ["count-2", "report-2"]
    assert window.canvas.item("report-2") is not None

    # a second paste: the next free ids
    point_at(window, (100.0, 800.0))
    key(window, QtCore.Qt.Key_V, QtCore.Qt.ControlModifier)
    assert window.document.node_ids()[-2:] == ["count-3", "report-3"]

    # one undo step per paste
    assert window.undo_stack.count() == depth + 2
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert window.document.node_ids() == ["read", "count", "report", "too-short"]
    assert edges_of(window) == before
    assert "count-2" not in window.canvas.nodes


def test_cut_removes_nodes_and_undo_brings_them_back(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    before = edges_of(window)
    window.canvas.select(["read"])
    key(window, QtCore.Qt.Key_X, QtCore.Qt.ControlModifier)
    assert window.document.node("read") is None
    assert "read" not in window.canvas.nodes
    assert not any("read" in e for e in edges_of(window))

    window.undo_stack.undo()
    assert window.document.node_ids()[0] == "read"
    assert edges_of(window) == before

    # what was cut is on the clipboard: pasting it again is a new node beside the original
    point_at(window, (0.0, 400.0))
    key(window, QtCore.Qt.Key_V, QtCore.Qt.ControlModifier)
    assert window.document.node("read-2").params == {"path": "data/words.txt"}
    assert window.document.node("read-2").outputs == {"text": "str", "copy": "file"}


def test_duplicate_puts_a_copy_beside_the_original_and_leaves_the_clipboard(
    qtbot: Any, window: Any, examples: Path
) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    QtWidgets.QApplication.clipboard().setText("something else")
    window.canvas.select(["count"])
    x, y = window.canvas.item("count").xy_pos
    key(window, QtCore.Qt.Key_D, QtCore.Qt.ControlModifier)
    assert window.document.node_ids()[-1] == "count-2"
    assert window.document.position("count-2") == (x + 40.0, y + 40.0)
    assert window.document.node("count-2").style["label"] == "Count words"
    assert window.canvas.selected_ids() == ["count-2"]
    assert QtWidgets.QApplication.clipboard().text() == "something else"
    assert window.undo_stack.undoText() == "Duplicate count-2"


def test_paste_into_another_windows_workflow_brings_operators_types_and_imports(
    qtbot: Any, window: Any, settings: Any, home: Path, examples: Path, tmp_path: Path
) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    drop_operator(window, "lines", TEXT, (0.0, 300.0))  # an operator from a library
    assert window.editor.connect("read", "text", "lines", "text") is None
    window.canvas.select(["read", "count", "report", "lines"])
    key(window, QtCore.Qt.Key_C, QtCore.Qt.ControlModifier)

    # the other workflow has an operator 'count' of its own that is not the copied one,
    # and a node 'report' already
    other = tmp_path / "other" / "other.weft.yaml"
    other.parent.mkdir()
    other.write_text(
        "weft: 1\nname: other\noperators:\n  count: {command: [python3, mine.py], outputs: {n: int}}\n"
        "nodes:\n  - {id: report, operator: count}\n",
        encoding="utf-8",
    )
    second = make_window(qtbot, settings, home, tmp_path / "lib2")
    assert second.open(other)
    point_at(second, (0.0, 0.0))
    key(second, QtCore.Qt.Key_V, QtCore.Qt.ControlModifier)
    doc = second.document
    assert doc.node_ids() == ["report", "read", "count", "report-2", "lines"], second.statusBar().currentMessage()
    # the copied own operator came along renamed, since 'count' means something else here
    assert doc.node("count").operator == "count-2"
    assert doc.workflow.operators["count-2"].command == ["python3", "ops/count.py"]
    assert doc.workflow.operators["count"].command == ["python3", "mine.py"]
    assert doc.workflow.types == {"Summary": {"total": "int", "distinct": "int", "top": "list[str]"}}
    assert len(doc.workflow.imports) == 1 and doc.operator_library("lines") == TEXT.resolve()
    assert {str(e) for e in doc.edges} == {
        "read.text -> count.text",
        "read.text -> lines.text",
        "count.counts -> report-2.counts",
        "count.total -> report-2.total",
        "count -> report-2",
    }
    assert "came along as 'count-2'" in second.statusBar().currentMessage()

    # it saves to a workflow the engine reads, with the pasted nodes' ports
    second.document.save(other)
    loaded = load_file(other)
    assert loaded.nodes["report-2"].inputs == {"counts": "dict[str, int]", "total": "int"}
    assert loaded.nodes["lines"].outputs == {"lines": "list[str]", "count": "int"}
    assert loaded.nodes["count"].outputs == {"counts": "dict[str, int]", "total": "int"}

    # one undo takes the whole paste back, operators, types and import included
    second.undo_stack.undo()
    assert doc.node_ids() == ["report"]
    assert list(doc.workflow.operators) == ["count"] and doc.workflow.types == {} and doc.workflow.imports == []


def test_a_library_operator_that_clashes_is_refused_with_the_reason(
    qtbot: Any, window: Any, settings: Any, home: Path, tmp_path: Path
) -> None:
    drop_operator(window, "count", TEXT, (0.0, 0.0))
    window.canvas.select(["count"])
    key(window, QtCore.Qt.Key_C, QtCore.Qt.ControlModifier)
    other = tmp_path / "other.weft.yaml"
    other.write_text("weft: 1\nname: other\noperators:\n  count: {command: [python3, mine.py]}\nnodes: []\n")
    second = make_window(qtbot, settings, home, tmp_path / "lib2")
    assert second.open(other)
    key(second, QtCore.Qt.Key_V, QtCore.Qt.ControlModifier)
    assert second.document.nodes == []
    message = second.statusBar().currentMessage()
    assert "Cannot paste: operator 'count' here is this workflow's own" in message, message
    assert "text.weft.yaml" in message


# -- quick add ----------------------------------------------------------------------------------


def test_tab_opens_quick_add_at_the_pointer_and_enter_adds_the_node(qtbot: Any, window: Any) -> None:
    point_at(window, (200.0, 100.0))
    key(window, QtCore.Qt.Key_Tab)
    popup = window.quick_add.popup
    assert popup.isVisible() and popup.filter.hasFocus()
    names = [c.name for c in popup.visible_choices()]
    assert {"read", "count", "report", "log", "sleep"} <= set(names)

    QtTest.QTest.keyClicks(popup.filter, "re")
    assert [c.name for c in popup.visible_choices()][:2] == ["read", "report"]  # names starting with it first
    QtTest.QTest.keyClick(popup.filter, QtCore.Qt.Key_Down)
    assert popup.current().name == "report"
    QtTest.QTest.keyClick(popup.filter, QtCore.Qt.Key_Up)
    QtTest.QTest.keyClick(popup.filter, QtCore.Qt.Key_Return)
    assert not popup.isVisible()
    doc = window.document
    assert doc.node_ids() == ["read"] and doc.node("read").operator == "read"
    assert doc.operator_library("read") == TEXT.resolve()  # its library is imported
    x, y = doc.position("read")
    assert near((x, y + 40.0), (200.0, 100.0))
    assert window.canvas.selected_ids() == ["read"]
    window.undo_stack.undo()  # one step: the node and the import
    assert doc.nodes == [] and doc.workflow.imports == []


def test_double_click_on_empty_canvas_opens_quick_add_and_escape_leaves_nothing(qtbot: Any, window: Any) -> None:
    viewer = window.canvas.viewer
    point = point_at(window, (50.0, 50.0))
    QtTest.QTest.mouseDClick(viewer.viewport(), QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, point)
    popup = window.quick_add.popup
    assert popup.isVisible()
    QtTest.QTest.keyClicks(popup.filter, "sleep")
    QtTest.QTest.keyClick(popup.filter, QtCore.Qt.Key_Escape)
    assert not popup.isVisible()
    assert window.document.nodes == [] and window.undo_stack.count() == 0

    # nothing matches: Enter adds nothing
    key(window, QtCore.Qt.Key_Tab)
    QtTest.QTest.keyClicks(popup.filter, "no-such-operator")
    assert popup.visible_choices() == []
    QtTest.QTest.keyClick(popup.filter, QtCore.Qt.Key_Return)
    QtTest.QTest.keyClick(popup.filter, QtCore.Qt.Key_Escape)
    assert window.document.nodes == [] and window.undo_stack.count() == 0


def test_a_wire_let_go_in_empty_space_offers_only_fitting_operators_and_connects(
    qtbot: Any, window: Any, examples: Path
) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    window.canvas.fit()
    qtbot.wait(20)
    port = window.canvas.port
    popup = window.quick_add.popup
    empty = (window.canvas.item("read").xy_pos[0], window.canvas.item("read").xy_pos[1] + 260.0)

    # from an output of type str: operators with an input a str may feed (json? too), no others
    drag_to_empty(window, port("read", "text", True), empty)
    assert popup.isVisible()
    assert "read.text (str)" in popup.title.text()
    offered = {(c.name, c.port) for c in popup.visible_choices()}
    assert offered == {
        ("count", "text"),
        ("lines", "text"),
        ("show", "value"),
        ("map", "items"),
        ("python", "value"),
        ("write", "text"),
    }, offered
    QtTest.QTest.keyClick(popup.filter, QtCore.Qt.Key_Escape)  # Escape: nothing added, nothing wired
    assert window.document.node_ids() == ["read", "count", "report", "too-short"]
    assert window.undo_stack.count() == 0

    drag_to_empty(window, port("read", "text", True), empty)
    choose(window, "lines")
    assert window.document.node_ids()[-1] == "lines"
    assert "read.text -> lines.text" in edges_of(window)
    assert window.undo_stack.undoText().startswith("Add node lines and connect")

    # a wire picked up from a fed input and let go over nothing is cut (no list)
    drag_to_empty(window, port("report", "total", False), (empty[0] + 400.0, empty[1]))
    assert not popup.isVisible()
    assert "count.total -> report.total" not in edges_of(window)
    # from an input of type int, backwards: operators with an output that may feed an int
    drag_to_empty(window, port("report", "total", False), (empty[0] + 400.0, empty[1]))
    assert popup.isVisible() and "report.total (int)" in popup.title.text()
    offered = {(c.name, c.port) for c in popup.visible_choices()}
    assert offered == {
        ("count", "total"),
        ("lines", "count"),
        ("command", "code"),
        ("fetch", "status"),
        ("shell", "code"),
    }
    choose(window, "lines")
    assert "lines-2.count -> report.total" in edges_of(window)

    # from a runs-after port: everything fits
    drag_to_empty(window, port("too-short", "(then)", True), (empty[0] + 800.0, empty[1]))
    assert {"sleep", "log", "count"} <= {c.name for c in popup.visible_choices()}
    choose(window, "sleep")
    assert "too-short -> sleep" in edges_of(window)

    # each was one undo step
    for _ in range(4):
        window.undo_stack.undo()
    assert window.document.node_ids() == ["read", "count", "report", "too-short"]
    assert "count.total -> report.total" in edges_of(window)
