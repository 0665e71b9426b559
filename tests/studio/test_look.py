"""How the studio reads: wires (click to select, `when` labels, kinds), node badges and states,
themes, preferences, help, and small defects a tester saw (each with the check that catches it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtCore, QtGui, QtTest, QtWidgets

from studio import theme
from studio.canvas.items import STATE_COLORS, STATE_ICONS, short_image, where_text
from studio.canvas.nodegraph import PipeItem
from studio.canvas.wires import WeftPipeItem
from studio.model.document import EdgeKey
from studio.model.library import BUILTIN_FOLDER
from studio.preferences import DEFAULT_EXECUTOR, Preferences
from tests.studio.conftest import drag_wire, drop_operator, make_window

BASIC = BUILTIN_FOLDER / "basic.weft.yaml"


@pytest.fixture(autouse=True)
def dark_again(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Themes and library folders are process-wide: every test leaves them as it found them."""
    monkeypatch.setenv("WEFT_LIBRARY_PATH", os.environ.get("WEFT_LIBRARY_PATH", ""))
    yield
    theme.apply(theme.DARK)


def pipe_of(window: Any, key: EdgeKey) -> WeftPipeItem:
    out_name, in_name = key.canvas_ports
    out = window.canvas.port(key.source, out_name, True)
    inp = window.canvas.port(key.target, in_name, False)
    pipe = next(p for p in inp.connected_pipes if p.output_port is out)
    assert isinstance(pipe, WeftPipeItem)
    return pipe


def click_scene(window: Any, point: QtCore.QPointF) -> None:
    viewer = window.canvas.viewer
    QtTest.QTest.mouseClick(viewer.viewport(), QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, viewer.mapFromScene(point))


# -- wires --------------------------------------------------------------------------------------


def test_a_click_on_a_wire_selects_it_and_the_inspector_shows_its_when(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    window.canvas.fit()
    qtbot.wait(50)
    key = EdgeKey("read", "text", "count", "text")
    edges = list(window.document.edges)
    pipe = pipe_of(window, key)
    click_scene(window, pipe.path().pointAtPercent(0.5))
    assert window.canvas.selected_edges() == [key]
    assert window.properties.edge == key and window.properties.stack.currentIndex() == 1
    assert window.document.edges == edges  # nothing was picked up or rewired
    # a `when` typed for it shows on the wire, which stays selected
    window.properties.when.setText("len(read.text) > 3")
    window.properties.when.editingFinished.emit()
    pipe = pipe_of(window, key)
    assert pipe.label is not None and pipe.label.isVisible() and pipe.label.text == "len(read.text) > 3"
    assert window.canvas.selected_edges() == [key]
    assert window.properties.edge == key


def test_a_drag_from_a_wires_port_end_still_moves_it(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    window.canvas.fit()
    qtbot.wait(50)
    viewer = window.canvas.viewer
    start = viewer.mapFromScene(window.canvas.port("report", "total", False).sceneBoundingRect().center())
    end = start + QtCore.QPoint(0, 160)  # empty canvas below the node
    QtTest.QTest.mousePress(viewer.viewport(), QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, start)
    for i in range(1, 6):
        point = QtCore.QPointF(start + (end - start) * (i / 5))
        event = QtGui.QMouseEvent(
            QtCore.QEvent.MouseMove,
            point,
            QtCore.QPointF(viewer.viewport().mapToGlobal(point.toPoint())),
            QtCore.Qt.NoButton,
            QtCore.Qt.LeftButton,
            QtCore.Qt.NoModifier,
        )
        QtWidgets.QApplication.sendEvent(viewer.viewport(), event)
    QtTest.QTest.mouseRelease(viewer.viewport(), QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, end)
    assert not any(e.target == "report" and e.target_port == "total" for e in window.document.edges)
    assert window.undo_stack.undoText().startswith("Disconnect count.total")


def test_wires_say_what_they_are(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    data = pipe_of(window, EdgeKey("count", "total", "report", "total"))
    after = pipe_of(window, EdgeKey("count", None, "too-short", None))
    # the tooltip is made when the pointer comes (a thousand wires are drawn without one)
    assert data.kind_text() == "int → int" and "int → int" in data.tip()
    assert after.kind_text() == "runs after" and "runs after" in after.tip()
    assert "when count.total <= 10" in after.tip()
    assert after.label is not None and after.label.text == "count.total <= 10"
    assert data.label is None or not data.label.isVisible()
    # runs-after: thin, dashed, grey; data: solid, in the colour of its type
    assert after.pen().style() == QtCore.Qt.DashLine and data.pen().style() == QtCore.Qt.SolidLine
    assert after.pen().widthF() < data.pen().widthF()
    assert data.pen().color() != after.pen().color()


def test_wires_are_drawn_as_nodegraphqt_draws_them(qtbot: Any, window: Any, examples: Path) -> None:
    """Weft draws its wires' curves and pointers itself (it is a large part of opening a big
    workflow): the same curve and pointer as NodeGraphQt's own drawing, also after a move."""

    def drawn(pipe: WeftPipeItem) -> tuple[Any, ...]:
        path, pointer = pipe.path(), pipe._dir_pointer
        points = [(round(path.elementAt(i).x, 3), round(path.elementAt(i).y, 3)) for i in range(path.elementCount())]
        place = (round(pointer.pos().x(), 1), round(pointer.pos().y(), 1))  # NodeGraphQt measures the
        return points, pointer.isVisible(), place, round(pointer.rotation()), round(pointer.scale(), 2)  # path

    assert window.open(examples / "word-count.weft.yaml")
    window.canvas.nodes["report"].view.setPos(900.0, 260.0)  # a steeper curve for two of them
    pipes = [item for item in window.canvas.viewer.scene().items() if isinstance(item, WeftPipeItem)]
    assert len(pipes) == 5
    for pipe in pipes:
        ours = drawn(pipe)
        PipeItem.draw_path(pipe, pipe.input_port, pipe.output_port)  # NodeGraphQt's own drawing
        assert ours == drawn(pipe), pipe.ends_text()
        assert ours[1] and len(ours[0]) == 4  # a visible pointer on one cubic


def test_a_refusal_goes_once_a_wire_lands(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    window.canvas.fit()
    qtbot.wait(50)
    port = window.canvas.port
    drag_wire(qtbot, window, port("read", "copy", True), port("report", "total", False))
    assert "Refused" in window.statusBar().currentMessage()
    drag_wire(qtbot, window, port("read", "(then)", True), port("too-short", "(after)", False))
    message = window.statusBar().currentMessage()
    assert "Refused" not in message and message == "Connected read -> too-short", message


# -- nodes ---------------------------------------------------------------------------------------


def test_a_node_shows_where_it_runs_and_its_badges(qtbot: Any, window: Any, tmp_path: Path) -> None:
    path = tmp_path / "badges.weft.yaml"
    path.write_text(
        "weft: 1\nname: badges\nsettings: {image: registry.example.org/library/python:3.12-slim}\nnodes:\n"
        "  - {id: here, command: [python3, -c, pass]}\n"
        "  - {id: boxed, command: [python3, -c, pass], executor: docker, retries: 2, timeout: 120, cache: true}\n"
    )
    assert window.open(path)
    here, boxed = window.canvas.item("here"), window.canvas.item("boxed")
    assert here.where == "local" and here.badges() == []
    assert boxed.where == "docker · python:3.12-slim"
    assert [text for text, _colour in boxed.badges()] == ["cache", "↻2", "⏱2m"]
    assert "runs on: docker · python:3.12-slim" in boxed.tooltip()
    assert short_image("ghcr.io/some-org/a-very-long-image-name-indeed:2024.1").startswith("…")
    assert where_text(None, None) == "local"


def test_every_state_is_told_apart() -> None:
    assert len(set(STATE_COLORS.values())) == len(STATE_COLORS)
    assert len(set(STATE_ICONS.values())) == len(STATE_ICONS) == len(STATE_COLORS)
    failed = QtGui.QColor(*STATE_COLORS["failed"])
    assert failed.red() > 220 and failed.green() < 80 and failed.blue() < 80  # red, not maroon


def test_a_failed_node_is_drawn_red(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    item = window.canvas.item("count")
    item.run_state = "failed"
    item.refresh()
    rect = item.sceneBoundingRect()
    image = QtGui.QImage(int(rect.width()), int(rect.height()), QtGui.QImage.Format_ARGB32)
    image.fill(QtGui.QColor(0, 0, 0))
    painter = QtGui.QPainter(image)
    window.canvas.viewer.scene().render(painter, QtCore.QRectF(image.rect()), rect)
    painter.end()
    body = image.pixelColor(int(rect.width()) // 2, int(rect.height()) - 10)
    assert body.red() > body.green() + 40 and body.red() > body.blue() + 40, body.getRgb()


# -- themes, preferences, help -----------------------------------------------------------------


def test_the_theme_styles_canvas_and_panels_together(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    scene = window.canvas.viewer.scene()
    assert tuple(scene.background_color) == theme.DARK.canvas
    dark_window = QtWidgets.QApplication.palette().color(QtGui.QPalette.Window)
    window.apply_preferences(Preferences(theme="light"))
    assert tuple(scene.background_color) == theme.LIGHT.canvas
    assert scene.backgroundBrush().color() == QtGui.QColor(*theme.LIGHT.canvas)
    light_window = QtWidgets.QApplication.palette().color(QtGui.QPalette.Window)
    assert light_window == QtGui.QColor(*theme.LIGHT.window) and light_window != dark_window
    title = window.canvas.item("read")._text_item
    assert title.brush().color() == QtGui.QColor(*theme.LIGHT.node_title)
    # what is drawn changes too (not only the numbers)
    image = window.canvas.viewer.grab().toImage()
    corner = image.pixelColor(3, 3)
    assert corner.lightness() > 200, corner.getRgb()


def test_preferences_are_kept_and_applied_in_the_next_window(
    qtbot: Any, settings: QtCore.QSettings, home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "more-operators"
    folder.mkdir()
    (folder / "extra.weft.yaml").write_text(
        "weft: 1\nname: extra\noperators:\n  hello: {command: [python3, -c, 'print(1)']}\n"
    )
    first = make_window(qtbot, settings, home)
    first.apply_preferences(
        Preferences(executor="docker", image="python:3.12-slim", libraries=[str(folder)], theme="light"), save=True
    )
    first.close()
    second = make_window(qtbot, settings, home)
    assert second.prefs == Preferences("docker", "python:3.12-slim", [str(folder)], "light")
    assert theme.current() is theme.LIGHT
    assert tuple(second.canvas.viewer.scene().background_color) == theme.LIGHT.canvas
    assert second.palette.find("hello", folder / "extra.weft.yaml") is not None
    assert str(folder) in os.environ["WEFT_LIBRARY_PATH"].split(os.pathsep)
    settings_of_new = second.document.workflow.settings
    assert (settings_of_new.executor, settings_of_new.image) == ("docker", "python:3.12-slim")


def test_the_preferences_dialog_says_what_it_shows(qtbot: Any, window: Any) -> None:
    from studio.preferences import PreferencesDialog

    dialog = PreferencesDialog(Preferences(executor="docker", libraries=["/x"], theme="light"), window)
    qtbot.addWidget(dialog)
    assert [dialog.executor.itemText(i) for i in range(dialog.executor.count())] == [DEFAULT_EXECUTOR, "docker", "ray"]
    assert dialog.preferences() == Preferences("docker", None, ["/x"], "light")
    dialog.executor.setCurrentIndex(0)
    assert dialog.preferences().executor is None
    assert window.actions.preferences in window.menuBar().actions()[1].menu().actions()  # Edit


def test_getting_started_shows_on_an_empty_canvas_only(qtbot: Any, window: Any) -> None:
    card = window.getting_started
    assert card.isVisible() and "drag an operator" in card.text() and "F5" in card.text()
    drop_operator(window, "sleep", BASIC, (0, 0))
    assert not card.isVisible()
    window.undo_stack.undo()
    assert card.isVisible()


def test_help_offers_about_and_the_guides(qtbot: Any, window: Any) -> None:
    from studio import help

    menu = window.menuBar().actions()[-1].menu()
    texts = [a.text().replace("&", "") for a in menu.actions() if a.text()]
    assert texts[0] == "Studio Guide" and texts[-1] == "About Weft Studio"
    assert all(path.is_file() for _t, path in help.GUIDES)
    box = help.show_about(window)
    assert help.version() in box.text() and "studio.md" in box.text()
    box.close()


# -- defects ------------------------------------------------------------------------------------


def test_undo_says_one_wire(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    window.editor.delete([], [EdgeKey("read", "text", "count", "text")])
    assert window.actions.undo.text() == "&Undo Delete 1 wire"
    window.editor.delete(["report"], [EdgeKey("count", None, "too-short", None)])
    assert window.undo_stack.undoText() == "Delete 1 node and 1 wire"


def test_the_toolbar_keeps_its_place_as_the_undo_text_changes(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    toolbar = window.findChild(QtWidgets.QToolBar, "toolbar-main")
    run_button = toolbar.widgetForAction(window.actions.run)
    undo_button = toolbar.widgetForAction(window.actions.undo_tool)
    before = (run_button.x(), undo_button.width(), undo_button.text())
    assert not undo_button.isEnabled()
    window.editor.delete(["too-short", "report"], [EdgeKey("read", "text", "count", "text")])
    qtbot.wait(20)
    assert undo_button.isEnabled()
    assert (run_button.x(), undo_button.width(), undo_button.text()) == before
    assert "Delete 2 nodes and 1 wire" in undo_button.toolTip()


def test_the_ctrl_hint_goes_when_a_dialog_takes_the_keyboard(qtbot: Any, window: Any) -> None:
    viewer = window.canvas.viewer
    window.activateWindow()
    viewer.setFocus()
    qtbot.waitUntil(viewer.hasFocus)
    QtTest.QTest.keyPress(viewer, QtCore.Qt.Key_Control)  # (Qt adds Ctrl to its own press)
    assert "Deselect Nodes" in viewer.modifier_hint()
    dialog = QtWidgets.QDialog(window)  # what Ctrl+O (or Ctrl+H) opens while Ctrl is still down
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    dialog.setFocus()
    qtbot.waitUntil(lambda: not viewer.hasFocus())
    assert viewer.modifier_hint() == ""
    assert not viewer.CTRL_state  # and the next click on the canvas is a plain click again


def test_one_default_executor_entry(qtbot: Any, window: Any, examples: Path) -> None:
    combo = window.properties.w["executor"]
    entries = [combo.itemText(i) for i in range(combo.count())]
    assert entries == [DEFAULT_EXECUTOR, "docker", "ray"]
    assert window.open(examples / "word-count.weft.yaml")
    window.canvas.select(["read"])
    node_entries = [window.properties.f["executor"].itemText(i) for i in range(window.properties.f["executor"].count())]
    assert len(node_entries) == len(set(node_entries)) and "(local)" not in node_entries


def test_the_palette_keeps_the_operator_under_the_pointer(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    tree = window.palette.tree
    item = window.palette.find("sleep", BASIC)
    rect = tree.visualItemRect(item)
    point = rect.center()
    QtGui.QCursor.setPos(tree.viewport().mapToGlobal(point))
    under = tree.itemAt(point).data(0, QtCore.Qt.UserRole + 1)
    assert under["operator"] == "sleep"
    drop_operator(window, "sleep", BASIC, (900, 300))  # imports the basic library
    assert window.document.workflow.imports
    after = tree.itemAt(point)
    assert after is not None and after.data(0, QtCore.Qt.UserRole + 1) == under
    assert window.palette.find("sleep", BASIC).font(0).bold()  # listed as imported, in place


# -- pictures to look at -------------------------------------------------------------------------


def test_screenshots_under_both_themes(qtbot: Any, window: Any, examples: Path) -> None:
    """word-count under both themes, and a finished fan-out run with one failed square
    (saved under test-artifacts/ to be looked at)."""
    from tests.conftest import ROOT
    from tests.studio.conftest import run_to_end

    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    window.resize(1400, 860)
    square = examples / "ops" / "square.py"
    square.write_text(
        square.read_text() + "\nif x == 3:\n    weft.log('three is not allowed here')\n    raise SystemExit(1)\n"
    )
    for name in ("light", "dark"):
        window.apply_preferences(Preferences(theme=name))
        assert window.open(examples / "word-count.weft.yaml")
        window.canvas.fit()
        window.canvas.select(["count"])
        qtbot.wait(100)
        picture = window.grab()
        assert picture.save(str(artifacts / f"studio-word-count-{name}.png"))
        assert window.open(examples / "fan-out.weft.yaml")
        model = run_to_end(qtbot, window)
        assert model.nodes["square-3"].state == "failed" and model.nodes["sum"].state == "skipped"
        window.canvas.run_layer.flush()
        window.canvas.select(["square-3"])
        window.canvas.fit()
        qtbot.wait(100)
        assert window.grab().save(str(artifacts / f"studio-fan-out-failed-{name}.png"))
        window.close_run()
