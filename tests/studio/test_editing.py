"""Editing on the canvas: undo and redo of every user edit, the panels, shortcuts, settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtTest

from engine.workflow.loader import load_file
from studio import export
from studio.model.library import BUILTIN_FOLDER
from tests.studio.conftest import drag_wire, drop_operator, make_window

BASIC = BUILTIN_FOLDER / "basic.weft.yaml"


def test_undo_and_redo_every_kind_of_edit(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    doc = window.document
    original = load_file(examples / "word-count.weft.yaml").workflow
    drop_operator(window, "sleep", BASIC, (900, 300))  # add (and import)
    assert doc.node("sleep") and doc.workflow.imports
    window.canvas.select(["too-short"])
    window.delete_selection()  # delete a node and its wire
    assert doc.node("too-short") is None
    drag_wire(
        qtbot, window, window.canvas.port("report", "(then)", True), window.canvas.port("sleep", "(after)", False)
    )  # wire
    assert any(e.target == "sleep" for e in doc.edges)
    window.editor.move({"read": (-400.0, 50.0)})  # move
    window.canvas.select(["read"])
    window.properties.f["retries"].setText("3")  # edit a field
    window.properties.f["retries"].editingFinished.emit()
    assert doc.node("read").retries == 3
    steps = window.undo_stack.count()
    assert steps == 5
    for _ in range(steps):
        window.undo_stack.undo()
    assert doc.workflow == original
    assert sorted(window.canvas.nodes) == sorted(n.id for n in original.nodes)
    for _ in range(steps):
        window.undo_stack.redo()
    assert doc.node("read").retries == 3 and doc.node("too-short") is None and doc.node("sleep")
    assert tuple(window.canvas.item("read").xy_pos) == (-400.0, 50.0)


def test_shortcuts(qtbot: Any, window: Any, examples: Path) -> None:
    actions = window.actions
    expected = {
        actions.new: QtGui.QKeySequence.New,
        actions.open: QtGui.QKeySequence.Open,
        actions.save: QtGui.QKeySequence.Save,
        actions.save_as: QtGui.QKeySequence.SaveAs,
        actions.undo: QtGui.QKeySequence.Undo,
        actions.delete: QtGui.QKeySequence.Delete,
    }
    for action, key in expected.items():
        assert action.shortcut() == QtGui.QKeySequence(key), action.text()
    assert actions.run.shortcut().toString() == "F5"
    assert actions.stop.shortcut().toString() == "Shift+F5"
    assert actions.validate.shortcut().toString() == "F7"
    assert actions.fit.shortcut().toString() == "Ctrl+0"
    assert window.open(examples / "four-nodes.weft.yaml")
    window.canvas.select(["end"])
    window.canvas.viewer.setFocus()
    QtTest.QTest.keyClick(window.canvas.viewer, QtCore.Qt.Key_Delete)
    assert window.document.node("end") is None
    QtTest.QTest.keyClick(window, QtCore.Qt.Key_Z, QtCore.Qt.ControlModifier)
    assert window.document.node("end") is not None


def test_recent_files_and_window_layout_are_remembered(qtbot: Any, settings: Any, home: Path, examples: Path) -> None:
    first = make_window(qtbot, settings, home)
    assert first.open(examples / "word-count.weft.yaml")
    assert first.open(examples / "four-nodes.weft.yaml")
    first.docks["palette"].hide()
    first.resize(1111, 777)
    first.close()
    second = make_window(qtbot, settings, home)
    assert second.recent_files()[:2] == [str(examples / "four-nodes.weft.yaml"), str(examples / "word-count.weft.yaml")]
    assert [a.text() for a in second.actions.recent.actions()][:2] == ["four-nodes.weft.yaml", "word-count.weft.yaml"]
    assert not second.docks["palette"].isVisible()


def test_invalid_text_opens_with_located_problems(qtbot: Any, window: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.weft.yaml"
    path.write_text(
        "weft: 1\nname: bad\nnodes:\n  - id: a\n    command: [python3, a.py]\n"
        "  - id: b\n    comand: [python3, b.py]\n"
        "edges:\n  - {from: a, to: c}\n"
    )
    assert window.open(path)
    messages = window.problems.messages()
    assert any(f"{path}:7:5: unknown key 'comand' in node (did you mean 'command'?)" in m for m in messages), messages
    assert any(":9:" in m and "unknown node 'c'" in m for m in messages), messages
    assert window.bottom_tabs.currentWidget() is window.problems
    assert "a" in window.canvas.nodes and "b" in window.canvas.nodes  # what could be read is drawn
    window.problems.list.setCurrentRow(0)
    window.problems._activated(window.problems.list.item(0))
    assert window.canvas.selected_ids() == ["b"]
    syntax = tmp_path / "syntax.weft.yaml"
    syntax.write_text("weft: 1\nnodes: [\n")
    assert window.open(syntax)
    assert any(":3:" in m or ":2:" in m for m in window.problems.messages())
    assert not window.open(tmp_path / "missing.weft.yaml", quiet=True)
    assert "no such file" in window.last_error


def test_validate_reports_every_problem(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    assert window.validate()
    window.canvas.select(["read"])
    window.delete_selection()
    assert not window.validate()
    assert any("input 'text' of node 'count' is not fed" in m for m in window.problems.messages())


def test_export_dot_and_png(qtbot: Any, window: Any, examples: Path, tmp_path: Path) -> None:
    assert window.open(examples / "fan-out.weft.yaml")
    dot = export.export_dot(window.document, window.canvas.run_layer.model, window, tmp_path / "g.dot")
    text = dot.read_text()
    assert '"plan"' in text and "ghost:plan" in text and "dashed" in text  # the as-of-now graph
    png = export.export_png(window.document, window.canvas.render, window, tmp_path / "g.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_properties_refuse_bad_values_with_reasons(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    window.canvas.select(["read"])
    props = window.properties
    props.f["retries"].setText("-2")
    props.f["retries"].editingFinished.emit()
    assert "retries must be at least 0" in props.problems.text()
    props.f["params"].setText("{path: [unclosed")
    props.f["params"].editingFinished.emit()
    assert "params: not valid YAML" in props.problems.text()
    props.f["id"].setText("count")
    props.f["params"].setText("{path: data/words.txt}")
    props.f["retries"].setText("")
    props.f["id"].editingFinished.emit()
    assert "taken" in props.problems.text()
    assert window.undo_stack.count() == 0
    # the dynamic badge follows the node's setting
    props.f["id"].setText("read")
    props.f["dynamic"].setCurrentIndex(1)
    props._commit_node()
    assert window.canvas.item("read").dynamic


def test_the_palette_offers_workflow_builtin_and_user_operators(
    qtbot: Any, settings: Any, home: Path, tmp_path: Path, examples: Path
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "tools.weft.yaml").write_text("weft: 1\noperators:\n  shout:\n    command: [echo, HI]\n")
    window = make_window(qtbot, settings, home, mine)
    assert window.open(examples / "word-count.weft.yaml")
    assert window.palette.find("count") is not None  # the workflow's own
    assert window.palette.find("read", BUILTIN_FOLDER / "text.weft.yaml") is not None
    assert window.palette.find("shout", mine / "tools.weft.yaml") is not None
    drop_operator(window, "shout", mine / "tools.weft.yaml", (0, 400))
    assert window.document.node("shout").operator == "shout"
    assert any(i.endswith("tools.weft.yaml") for i in window.document.workflow.imports)
    window.palette.filter.setText("sho")
    assert window.palette.find("shout", mine / "tools.weft.yaml").isHidden() is False
    assert window.palette.find("count").isHidden()


def test_a_ports_type_shows_on_hover(qtbot: Any, window: Any, examples: Path) -> None:
    from tests.studio.conftest import port_center

    assert window.open(examples / "word-count.weft.yaml")
    window.canvas.fit()
    qtbot.wait(50)
    port = window.canvas.port("count", "counts", True)
    viewport = window.canvas.viewer.viewport()
    QtTest.QTest.mouseMove(viewport, port_center(window, port) + QtCore.QPoint(40, 40))
    QtTest.QTest.mouseMove(viewport, port_center(window, port))
    qtbot.waitUntil(
        lambda: "count.counts: output of type dict[str, int]" in window.statusBar().currentMessage(), timeout=3000
    )
    assert port.toolTip() == "count.counts: output of type dict[str, int]"


def test_workflow_settings_do_not_redraw_nodes_but_imports_do(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    before = {n: window.canvas.item(n) for n in window.document.node_ids()}
    window.properties.show_workflow()
    window.properties.w["name"].setText("renamed")
    window.properties.w["name"].editingFinished.emit()
    assert window.document.workflow.name == "renamed"
    assert all(window.canvas.item(n) is item for n, item in before.items())
    drop_operator(window, "log", BASIC, (0, 500))  # imports basic: nodes of operators are redrawn
    assert window.canvas.item("count") is not before["count"]
    assert window.canvas.item("read") is before["read"]  # an inline node does not depend on imports
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert window.document.workflow.name == "word-count" and not window.document.workflow.imports


def test_nothing_can_be_edited_while_a_run_goes_on(qtbot: Any, window: Any, tmp_path: Path) -> None:
    slow = tmp_path / "slow.weft.yaml"
    slow.write_text(
        "weft: 1\nname: slow\nnodes:\n  - {id: a, command: [python3, -c, 'import time; time.sleep(30)']}\n"
        "  - {id: b, command: [python3, -c, 'pass']}\n"
    )
    assert window.open(slow)
    assert window.runs.start()
    assert not window.canvas.editable and window.properties.locked
    assert not window.actions.run.isEnabled() and window.actions.stop.isEnabled()
    window.canvas.select(["b"])
    assert window.properties.read_only and not window.properties.f["retries"].isEnabled()
    window.delete_selection()
    assert window.document.node("b") is not None
    assert window.canvas._wire_problem(
        window.canvas.port("a", "(then)", True), window.canvas.port("b", "(after)", False)
    ).startswith("the workflow cannot be edited")
    window.runs.stop()
    assert window.runs.wait(20)
    assert window.canvas.editable and not window.properties.locked
    window.canvas.select(["b"])
    assert window.properties.f["retries"].isEnabled()


def test_a_shape_the_drawing_breaks_is_a_problem_at_validate_and_run(qtbot: Any, window: Any, tmp_path: Path) -> None:
    path = tmp_path / "extra.weft.yaml"
    path.write_text(
        "weft: 1\nname: extra\nnodes:\n"
        + "".join(f"  - {{id: {n}, command: [/bin/true]}}\n" for n in "abcx")
        + "edges:\n  - {from: a, to: b}\n  - {from: b, to: c}\n  - {from: x, to: c}\n"
        "promises:\n  - shape: 'a -> b -> c'\n"
    )
    assert window.open(path)
    assert not window.validate()
    expected = f"{path}:13:13: promise `shape a -> b -> c` cannot be kept: edge x -> c enters the region from outside"
    assert any(m.startswith(expected) for m in window.problems.messages()), window.problems.messages()
    assert window.runs.start() is None  # Run refuses it too, before anything starts
    assert any(m.startswith(expected) for m in window.problems.messages()), window.problems.messages()


def test_a_duplicate_node_id_keeps_the_first_node_drawn_and_says_so(qtbot: Any, window: Any, tmp_path: Path) -> None:
    path = tmp_path / "dup.weft.yaml"
    path.write_text(
        "weft: 1\nname: dup\nnodes:\n  - {id: a, command: [/bin/true]}\n  - {id: a, command: [/bin/false]}\n"
        "  - {id: b, command: [/bin/true]}\nedges:\n  - {from: a, to: b}\n"
    )
    assert window.open(path)
    assert any(":5:" in m and "duplicate node id 'a'" in m for m in window.problems.messages())
    assert sorted(window.canvas.nodes) == ["a", "b"]
    assert window.canvas.item("a").detail == "2 nodes have the id 'a': see Problems"
    assert window.document.node("a").command == ["/bin/true"]  # the first one, not replaced


def test_problems_found_at_run_point_into_the_users_file(qtbot: Any, window: Any, tmp_path: Path) -> None:
    """Comments, blank lines and the user's own layout stay: a problem found when Run is
    pressed names the line of the file as the user wrote it."""
    path = tmp_path / "mine.weft.yaml"
    path.write_text(
        "# my workflow\n\nweft: 1\nname: mine   # named by me\n\nnodes:\n"
        "  - id: a\n    command: [/bin/true]\n\n  # the second one\n"
        "  - id: b\n    command: [/bin/true]\n    inputs: {x: int}\n"
    )
    assert window.open(path)
    assert window.runs.start() is None
    messages = window.problems.messages()
    assert any(m.startswith(f"{path}:11:") and "input 'x' of node 'b' is not fed" in m for m in messages), messages
