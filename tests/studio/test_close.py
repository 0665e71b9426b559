"""Closing the window while a run goes on: the run stops as the question promises, before any
other question, and nothing is left running."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtWidgets

from engine.events import NodeState, RunState
from engine.history.fold import snapshot
from engine.history.store import Store
from tests.conftest import alive
from tests.studio.conftest import make_window

SLEEPER = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(60)"


def slow_run(qtbot: Any, settings: Any, home: Path, tmp_path: Path, edit: bool) -> tuple[Any, str, Path]:
    """A window running a one-node workflow whose task sleeps a minute, once the task runs:
    (the window, the run id, the file with the task's pid). ``edit``: with unsaved changes."""
    pid_file = tmp_path / "pid"
    workflow = tmp_path / "slow.weft.yaml"
    argv = [sys.executable, "-c", SLEEPER, str(pid_file)]
    workflow.write_text(f"weft: 1\nname: slow\nnodes:\n  - {{id: a, command: {argv!r}}}\n")
    window = make_window(qtbot, settings, home)
    assert window.open(workflow)
    if edit:
        window.editor.move({"a": (120.0, 40.0)})
    run_id = window.runs.start()
    assert run_id is not None
    # the file exists a moment before the pid is in it
    qtbot.waitUntil(lambda: pid_file.exists() and pid_file.read_text().strip().isdigit(), timeout=20000)
    return window, run_id, pid_file


def test_closing_during_a_run_stops_it_before_asking_to_save(
    qtbot: Any, settings: Any, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # unsaved changes: the second question will come
    window, run_id, pid_file = slow_run(qtbot, settings, home, tmp_path, edit=True)
    asked: list[tuple[str, bool]] = []

    def answer(parent: Any, title: str, *args: Any) -> Any:
        asked.append((title, window.runs.controller.running))
        if title == "A run is going on":
            return QtWidgets.QMessageBox.Yes
        return QtWidgets.QMessageBox.Discard

    monkeypatch.setattr(QtWidgets.QMessageBox, "question", staticmethod(answer))
    assert window.close()
    assert asked == [("A run is going on", True), ("Unsaved changes", False)], asked
    store = Store(home)
    try:
        view = snapshot(store, run_id)
    finally:
        store.close()
    assert view.state is RunState.CANCELLED and view.nodes["a"].state is NodeState.CANCELLED
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while alive(pid):
        assert time.monotonic() < deadline, "the task outlived the window"
        time.sleep(0.05)


def test_answering_no_keeps_the_window_and_the_run(
    qtbot: Any, settings: Any, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, _run_id, _pid_file = slow_run(qtbot, settings, home, tmp_path, edit=False)
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", staticmethod(lambda *a: QtWidgets.QMessageBox.No))
    assert not window.close()
    assert window.isVisible() and window.runs.controller.running


def test_pause_and_resume_from_the_toolbar(qtbot: Any, settings: Any, home: Path, tmp_path: Path) -> None:
    """Pause holds the next start while the running task ends; Resume lets the run finish."""
    flag = tmp_path / "go"
    first = [sys.executable, "-c", f"import os, time\nwhile not os.path.exists({str(flag)!r}): time.sleep(0.05)"]
    workflow = tmp_path / "two.weft.yaml"
    workflow.write_text(
        "weft: 1\nname: two\nnodes:\n"
        f"  - {{id: a, command: {first!r}}}\n"
        f"  - {{id: b, command: [{sys.executable!r}, -c, pass]}}\n"
        "edges:\n  - {from: a, to: b}\n"
    )
    window = make_window(qtbot, settings, home)
    assert window.open(workflow)
    assert not window.actions.pause.isEnabled()
    assert window.runs.start() is not None
    model = window.runs.model
    qtbot.waitUntil(
        lambda: model.nodes.get("a") is not None and model.nodes["a"].state is NodeState.RUNNING, timeout=20000
    )
    assert window.actions.pause.isEnabled()
    window.actions.pause.trigger()
    qtbot.waitUntil(lambda: model.state is RunState.PAUSED, timeout=5000)
    assert "Resume" in window.actions.pause.text().replace("&", "")
    flag.write_text("")  # a ends while the run is paused
    qtbot.waitUntil(lambda: model.nodes["a"].state is NodeState.SUCCEEDED, timeout=10000)
    qtbot.wait(800)
    assert model.nodes["b"].state is NodeState.PENDING, "b started while the run was paused"
    window.actions.pause.trigger()
    assert window.runs.wait(30)
    assert model.state is RunState.SUCCEEDED and model.nodes["b"].state is NodeState.SUCCEEDED
    assert not window.actions.pause.isEnabled() and "Pause" in window.actions.pause.text().replace("&", "")
