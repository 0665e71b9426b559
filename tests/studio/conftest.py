"""Studio test fixtures: real Qt widgets (offscreen), real runs, a real SQLite home."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_PREFERRED_BINDING", "PySide6")

import shutil  # noqa: E402 - after the Qt environment above
from collections.abc import Iterator  # noqa: E402 - after the Qt environment above
from pathlib import Path  # noqa: E402 - after the Qt environment above
from typing import Any

import pytest  # noqa: E402 - after the Qt environment above
from PySide6 import QtCore, QtGui, QtTest, QtWidgets  # noqa: E402 - after the Qt environment above

from tests.conftest import EXAMPLES  # noqa: E402 - after the Qt environment above

HERE = Path(__file__).resolve().parent
WORKFLOWS = HERE / "workflows"


def pytest_collection_modifyitems(items: list[Any]) -> None:
    # NodeGraphQt calls Qt functions PySide6 marks deprecated (QMouseEvent.pos()); not ours to fix
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.filterwarnings("ignore::DeprecationWarning:NodeGraphQt"))


@pytest.fixture(autouse=True)
def empty_clipboard(qapp: Any) -> Iterator[None]:
    """Each test starts and ends with an empty clipboard: what one test copied never reaches
    the next, and Qt's offscreen platform crashes at exit if the clipboard still holds data."""
    qapp.clipboard().clear()
    yield
    qapp.clipboard().clear()


@pytest.fixture(autouse=True)
def no_modal_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A modal dialog would wait forever offscreen: fail the test at once instead."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"unexpected modal dialog: {[a for a in args if isinstance(a, str)]}")

    for name in ("question", "warning", "information", "critical"):
        monkeypatch.setattr(QtWidgets.QMessageBox, name, staticmethod(refuse))
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", staticmethod(refuse))
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", staticmethod(refuse))


@pytest.fixture
def settings(tmp_path: Path) -> QtCore.QSettings:
    """The studio's settings in a temporary INI file (never the user's)."""
    return QtCore.QSettings(str(tmp_path / "studio.ini"), QtCore.QSettings.IniFormat)


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A copy of resources/examples (scripts and data included), so saving never touches the repo."""
    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target)
    return target


def make_window(qtbot: Any, settings: QtCore.QSettings, home: Path, library: Path | None = None) -> Any:
    from studio.mainwindow import MainWindow

    window = MainWindow(settings, home, library)
    qtbot.addWidget(window, before_close_func=_quietly)
    window.show()
    return window


def _quietly(window: Any) -> None:
    window.runs.stop()
    window.runs.controller.wait(15)
    window.undo_stack.setClean()  # no "save changes?" question at teardown


@pytest.fixture
def window(qtbot: Any, settings: QtCore.QSettings, home: Path, tmp_path: Path) -> Iterator[Any]:
    yield make_window(qtbot, settings, home, tmp_path / "my-operators")


def port_center(window: Any, port: Any) -> QtCore.QPoint:
    rect = port.sceneBoundingRect()
    return window.canvas.viewer.mapFromScene(rect.center())


def drag_wire(qtbot: Any, window: Any, source: Any, target: Any) -> None:
    """Draw a wire with the mouse, from port item ``source`` to port item ``target``."""
    drag_between(window, port_center(window, source), port_center(window, target))


def drag_between(window: Any, start: QtCore.QPoint, end: QtCore.QPoint) -> None:
    """Press at ``start`` in the canvas, move in steps, let go at ``end`` (viewport points)."""
    viewer = window.canvas.viewer
    QtTest.QTest.mousePress(viewer.viewport(), QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, start)
    for i in range(1, 6):
        point = start + (end - start) * (i / 5)
        event = QtGui.QMouseEvent(
            QtCore.QEvent.MouseMove,
            QtCore.QPointF(point),
            QtCore.QPointF(viewer.viewport().mapToGlobal(point)),
            QtCore.Qt.NoButton,
            QtCore.Qt.LeftButton,
            QtCore.Qt.NoModifier,
        )
        QtWidgets.QApplication.sendEvent(viewer.viewport(), event)
    QtTest.QTest.mouseRelease(viewer.viewport(), QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, end)


def drop_operator(window: Any, operator: str, library: Path | None, scene_pos: tuple[float, float]) -> None:
    """Drop the palette's entry for ``operator`` on the canvas at ``scene_pos``, as a drag does."""
    item = window.palette.find(operator, library)
    assert item is not None, f"no palette entry for {operator} ({library})"
    mime = window.palette.mime_for(item)
    viewer = window.canvas.viewer
    point = viewer.mapFromScene(QtCore.QPointF(*scene_pos))
    event = QtGui.QDropEvent(
        QtCore.QPointF(point), QtCore.Qt.CopyAction, mime, QtCore.Qt.LeftButton, QtCore.Qt.NoModifier
    )
    viewer.dropEvent(event)


def run_to_end(qtbot: Any, window: Any, timeout: float = 90) -> Any:
    assert window.runs.start() is not None, window.problems.messages()
    assert window.runs.wait(timeout), "the run did not end in time"
    return window.runs.model
