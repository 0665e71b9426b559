"""Acceptance: finding past runs (filters), their durations, deleting them (a live run refused),
playing a replay, and exporting the graph as SVG. Real runs (`weft run` in its own process,
and the studio's own), the real SQLite home, real widgets offscreen, GraphViz's real `dot`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtCore, QtWidgets

from engine.history.store import Store
from studio import export
from studio.replay import play_times
from studio.runs_dialog import RunsDialog, duration_text
from tests.conftest import ROOT, alive

ARTIFACTS = ROOT / "test-artifacts"
PY = sys.executable
SVG = "{http://www.w3.org/2000/svg}"


def sleeper(node: str, seconds: float) -> str:
    return f"{{id: {node}, command: {[PY, '-c', f'import time; time.sleep({seconds})']!r}}}"


def workflow(folder: Path, name: str, nodes: list[str], chain: bool = True) -> Path:
    """A workflow of ``nodes`` (YAML flow mappings), in a chain when ``chain``."""
    ids = [re.match(r"\{id: ([\w-]+)", n).group(1) for n in nodes]  # type: ignore[union-attr]
    lines = ["weft: 1", f"name: {name}", "nodes:", *(f"  - {n}" for n in nodes)]
    if chain and len(ids) > 1:
        lines += ["edges:", *(f"  - {{from: {a}, to: {b}}}" for a, b in zip(ids, ids[1:], strict=False))]
    path = folder / f"{name}.weft.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_cli(home: Path, path: Path) -> str:
    """Run ``path`` to its end with the real `weft run`; its run id."""
    proc = subprocess.run(
        [PY, "-m", "engine.cli.main", "run", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, WEFT_HOME=str(home)),
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return str(json.loads(proc.stdout)["run"])


@pytest.fixture
def live_run(home: Path, tmp_path: Path) -> Iterator[Callable[[], tuple[subprocess.Popen[str], str]]]:
    """Start a `weft run` of a long task in its own process; kill it (and its task) at the end."""
    procs: list[subprocess.Popen[str]] = []

    def start() -> tuple[subprocess.Popen[str], str]:
        path = workflow(tmp_path, "long-one", [sleeper("wait", 60)])
        before = {r["id"] for r in runs(home)}
        proc = subprocess.Popen(
            [PY, "-m", "engine.cli.main", "run", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
            env=dict(os.environ, WEFT_HOME=str(home)),
            start_new_session=True,
        )
        procs.append(proc)
        deadline = time.monotonic() + 30
        while not (new := {r["id"] for r in runs(home)} - before):
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.05)
        return proc, new.pop()

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def runs(home: Path) -> list[dict[str, Any]]:
    store = Store(home)
    try:
        return store.runs()
    finally:
        store.close()


@pytest.fixture
def three_runs(home: Path, tmp_path: Path) -> dict[str, str]:
    """Two succeeded runs of `quick-sum`, one failed run of `broken-step` (by name: run id)."""
    quick = workflow(tmp_path, "quick-sum", [sleeper("a", 0.05)])
    failing = workflow(tmp_path, "broken-step", [f"{{id: bad, command: [{PY!r}, -c, 'raise SystemExit(3)']}}"])
    return {"quick-1": run_cli(home, quick), "quick-2": run_cli(home, quick), "failed": run_cli(home, failing)}


def open_dialog(qtbot: Any, home: Path) -> RunsDialog:
    store = Store(home)
    dialog = RunsDialog(store)
    qtbot.addWidget(dialog, before_close_func=lambda _d: store.close())
    dialog.show()
    activate(qtbot, dialog)
    return dialog


def activate(qtbot: Any, window: QtWidgets.QWidget) -> None:
    """Make ``window`` the active one: shortcuts work in the active window only (and a closed
    message box leaves none active offscreen)."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is window, timeout=3000)


def visible(dialog: RunsDialog) -> set[str]:
    return {dialog.table.item(r, 0).text() for r in dialog.visible_rows()}


def select(dialog: RunsDialog, run_ids: list[str]) -> None:
    """Select these rows as ctrl+clicks would."""
    dialog.table.clearSelection()
    model, selection = dialog.table.model(), dialog.table.selectionModel()
    for run_id in run_ids:
        selection.select(
            model.index(dialog.row_of(run_id), 0),
            QtCore.QItemSelectionModel.Select | QtCore.QItemSelectionModel.Rows,
        )


def answer_confirmation(qtbot: Any, dialog: RunsDialog, button: str, seen: list[str]) -> None:
    """Press ``button`` (Delete or Cancel) on the dialog's "Delete runs?" question if it shows
    within 3 s."""
    deadline = time.monotonic() + 3

    def press() -> None:
        box = dialog.confirmation
        if box is None or not box.isVisible():
            if time.monotonic() < deadline:
                QtCore.QTimer.singleShot(20, press)
            return
        seen.append(box.text())
        chosen = next(b for b in box.buttons() if b.text().replace("&", "") == button)
        qtbot.mouseClick(chosen, QtCore.Qt.LeftButton)

    QtCore.QTimer.singleShot(20, press)


# -- the list of runs --------------------------------------------------------------------------


def test_filter_narrows_the_table_by_text_and_by_state(qtbot: Any, home: Path, three_runs: dict[str, str]) -> None:
    dialog = open_dialog(qtbot, home)
    everything = set(three_runs.values())
    assert visible(dialog) == everything and dialog.shown.text() == "3 of 3 runs"

    qtbot.keyClicks(dialog.filter, "BROKEN")  # any case, the workflow's name
    assert visible(dialog) == {three_runs["failed"]} and dialog.shown.text() == "1 of 3 runs"
    assert dialog.selected_ids() == [three_runs["failed"]]  # the one left is selected, ready to open
    dialog.filter.clear()
    qtbot.keyClicks(dialog.filter, three_runs["quick-2"][-6:])  # part of a run id
    assert visible(dialog) == {three_runs["quick-2"]}
    dialog.filter.clear()
    assert visible(dialog) == everything

    entries = [dialog.state_filter.itemText(i) for i in range(dialog.state_filter.count())]
    assert entries[0] == "All states (3)" and "succeeded (2)" in entries and "failed (1)" in entries
    assert "interrupted (0)" in entries and "running (0)" in entries
    dialog.set_state_filter("succeeded")
    assert visible(dialog) == {three_runs["quick-1"], three_runs["quick-2"]}
    qtbot.keyClicks(dialog.filter, "broken")  # both filters at once: nothing
    assert visible(dialog) == set() and dialog.shown.text() == "0 of 3 runs"
    assert not dialog.open_button.isEnabled() and not dialog.delete_button.isEnabled()
    dialog.set_state_filter("failed")
    assert visible(dialog) == {three_runs["failed"]}
    dialog.set_state_filter(None)
    dialog.filter.clear()
    assert visible(dialog) == everything


def test_the_duration_column_is_finished_minus_started(qtbot: Any, home: Path, tmp_path: Path) -> None:
    run_id = run_cli(home, workflow(tmp_path, "one-second", [sleeper("nap", 1.2)]))
    row = next(r for r in runs(home) if r["id"] == run_id)
    dialog = open_dialog(qtbot, home)
    text = dialog.table.item(dialog.row_of(run_id), dialog.DURATION_COLUMN).text()
    assert text == duration_text(row["finished_at"] - row["started_at"])
    assert re.fullmatch(r"\d\.\d s", text) and 1.2 <= float(text[:-2]) < 9, text
    assert dialog.COLUMNS[dialog.DURATION_COLUMN] == "Duration"
    assert [duration_text(s) for s in (0.42, 12.7, 185, 7440, 266400)] == [
        "0.4 s",
        "12 s",
        "3 min 05 s",
        "2 h 04 min",
        "3 d 2 h",
    ]


def test_delete_removes_the_selected_runs_from_the_table_and_the_store(
    qtbot: Any, home: Path, three_runs: dict[str, str]
) -> None:
    gone = [three_runs["quick-1"], three_runs["failed"]]
    assert all((home / "workspaces" / r).is_dir() for r in gone)
    dialog = open_dialog(qtbot, home)
    select(dialog, gone)
    assert dialog.delete_button.isEnabled()
    seen: list[str] = []
    answer_confirmation(qtbot, dialog, "Cancel", seen)  # asked first; Cancel keeps them
    qtbot.mouseClick(dialog.delete_button, QtCore.Qt.LeftButton)
    assert seen == ["Delete 2 runs?"]
    assert {r["id"] for r in runs(home)} == set(three_runs.values()) and visible(dialog) == set(three_runs.values())

    answer_confirmation(qtbot, dialog, "Delete", seen)
    qtbot.mouseClick(dialog.delete_button, QtCore.Qt.LeftButton)
    assert seen[-1] == "Delete 2 runs?"
    assert visible(dialog) == {three_runs["quick-2"]} and dialog.table.rowCount() == 1
    assert {r["id"] for r in runs(home)} == {three_runs["quick-2"]}
    assert not any((home / "workspaces" / r).exists() for r in gone)
    assert sorted(dialog.deleted) == sorted(gone)
    assert dialog.message.text() == "Deleted 2 runs." and dialog.shown.text() == "1 of 1 run"
    assert dialog.state_filter.itemText(0) == "All states (1)"
    # the Delete key asks too, for the one left
    select(dialog, [three_runs["quick-2"]])
    answer_confirmation(qtbot, dialog, "Delete", seen)
    activate(qtbot, dialog)
    dialog.table.setFocus()
    qtbot.keyClick(dialog.table, QtCore.Qt.Key_Delete)
    assert seen[-1] == f"Delete run {three_runs['quick-2']}?" and runs(home) == []


def test_a_live_runs_delete_is_refused_with_the_reason(
    qtbot: Any, home: Path, three_runs: dict[str, str], live_run: Any
) -> None:
    proc, live = live_run()
    dialog = open_dialog(qtbot, home)
    row = dialog.row_of(live)
    assert dialog.table.item(row, dialog.STATE_COLUMN).text() == "running"
    so_far = dialog.table.item(row, dialog.DURATION_COLUMN).text()
    assert so_far.endswith(" s so far"), so_far
    qtbot.waitUntil(lambda: dialog.table.item(row, dialog.DURATION_COLUMN).text() != so_far, timeout=5000)

    select(dialog, [three_runs["quick-1"], live])
    assert not dialog.delete_button.isEnabled()
    reason = dialog.message.text()
    assert dialog.message.isVisible()
    assert f"run {live} is running: process {proc.pid} on " in reason and f"weft stop {live}" in reason
    # the Delete key asks nothing and deletes nothing: the engine's check, made again now
    seen: list[str] = []
    answer_confirmation(qtbot, dialog, "Delete", seen)  # would press Delete if it were asked
    activate(qtbot, dialog)
    dialog.table.setFocus()
    qtbot.keyClick(dialog.table, QtCore.Qt.Key_Delete)
    qtbot.wait(200)
    assert seen == [] and "nothing was deleted" in dialog.message.text()
    assert {live, three_runs["quick-1"]} <= {r["id"] for r in runs(home)}
    assert (home / "workspaces" / live).is_dir()
    ARTIFACTS.mkdir(exist_ok=True)
    dialog.grab().save(str(ARTIFACTS / "studio-history-live-refused.png"))
    os.killpg(proc.pid, signal.SIGKILL)  # the engine dies: interrupted, deletable
    proc.wait()
    qtbot.waitUntil(lambda: not alive(proc.pid), timeout=5000)
    dialog.close()
    again = open_dialog(qtbot, home)
    select(again, [live])
    assert again.interrupted(again.row_of(live)) and again.delete_button.isEnabled()
    assert again.table.item(again.row_of(live), again.DURATION_COLUMN).text() == "—"
    answer_confirmation(qtbot, again, "Delete", seen)
    qtbot.mouseClick(again.delete_button, QtCore.Qt.LeftButton)
    assert live not in {r["id"] for r in runs(home)} and not (home / "workspaces" / live).exists()


def test_deleting_the_past_run_on_show_goes_back_to_editing(
    qtbot: Any, window: Any, home: Path, three_runs: dict[str, str]
) -> None:
    shown = three_runs["quick-2"]
    window.history.open(shown)
    assert window.past_run == shown and window.replay.isVisible()
    seen: list[str] = []

    def in_dialog() -> None:
        dialog = window.history.dialog
        if dialog is None or not dialog.isVisible():
            QtCore.QTimer.singleShot(20, in_dialog)
            return
        select(dialog, [shown])
        answer_confirmation(qtbot, dialog, "Delete", seen)
        dialog.delete_selected()
        seen.append(dialog.message.text())
        dialog.reject()

    QtCore.QTimer.singleShot(20, in_dialog)
    window.history.choose()
    assert seen == [f"Delete run {shown}?", "Deleted 1 run."]
    assert window.past_run is None and not window.replay.isVisible() and not window.read_only


def test_screenshot_of_the_history_with_filters_and_durations(
    qtbot: Any, home: Path, three_runs: dict[str, str], tmp_path: Path, live_run: Any
) -> None:
    nightly = workflow(tmp_path, "nightly-report", [sleeper("fetch", 0.3), sleeper("render", 1.1)])
    reports = {run_cli(home, nightly), run_cli(home, nightly)}
    live_run()
    dialog = open_dialog(qtbot, home)
    ARTIFACTS.mkdir(exist_ok=True)
    dialog.grab().save(str(ARTIFACTS / "studio-history-all.png"))
    dialog.set_state_filter("succeeded")
    qtbot.keyClicks(dialog.filter, "report")
    dialog.grab().save(str(ARTIFACTS / "studio-history-filtered.png"))
    assert visible(dialog) == reports and dialog.shown.text() == "2 of 6 runs"


# -- replay ------------------------------------------------------------------------------------


def test_gaps_are_capped_in_playback() -> None:
    assert play_times([100.0, 100.5, 110.5, 110.6]) == pytest.approx([0.0, 0.5, 1.5, 1.6])
    assert play_times([]) == []


@pytest.fixture
def paced_run(qtbot: Any, window: Any, tmp_path: Path, home: Path) -> str:
    """A finished run with its events spread over ~4 s, one idle gap of 3 s among them (capped to
    1 s in playback), opened in the window."""
    path = workflow(tmp_path, "paced", [sleeper("s1", 0.4), sleeper("s2", 0.4), sleeper("s3", 3.0)])
    run_id = run_cli(home, path)
    window.history.open(run_id)
    return run_id


def play_to_end(qtbot: Any, window: Any, speed: str) -> float:
    """Play the replay from its start at ``speed``; seconds until it stopped by itself at the end."""
    bar = window.replay
    bar.speed.setCurrentText(speed)
    started = time.monotonic()
    bar.play_button.click()
    assert bar.playing and bar.slider.value() == 1  # from the start: the end was shown
    qtbot.waitUntil(lambda: not bar.playing, timeout=30000)
    return time.monotonic() - started


def test_play_advances_through_the_events_and_stops_at_the_end(qtbot: Any, window: Any, paced_run: str) -> None:
    bar, history = window.replay, window.history
    last = history.last
    assert bar.slider.value() == last and bar.play_action.text() == "Play"
    bar.play_button.click()
    assert bar.play_action.text() == "Pause"
    seen: list[int] = []
    qtbot.waitUntil(lambda: seen.append(history.at) or history.at > 3, timeout=5000)
    middle = history.at
    assert 1 < middle < last and bar.slider.value() == middle  # the canvas follows the slider
    qtbot.waitUntil(lambda: not bar.playing, timeout=15000)
    assert bar.slider.value() == last and history.at == last
    assert bar.play_action.text() == "Play" and bar.label.text().startswith(f"event {last} of {last} at ")
    assert window.canvas.item("s3").run_state == "succeeded"

    # Space plays and pauses while the bar has the focus
    activate(qtbot, window)
    bar.slider.setFocus()
    qtbot.keyClick(bar.slider, QtCore.Qt.Key_Space)
    assert bar.playing
    qtbot.waitUntil(lambda: history.at > 2, timeout=5000)
    qtbot.keyClick(bar.slider, QtCore.Qt.Key_Space)
    assert not bar.playing
    paused_at = history.at
    qtbot.wait(700)
    assert history.at == paused_at < last  # paused stays put
    bar.play_button.click()
    ARTIFACTS.mkdir(exist_ok=True)
    window.grab().save(str(ARTIFACTS / "studio-replay-playing.png"))
    bar.grab().save(str(ARTIFACTS / "studio-replay-bar.png"))
    qtbot.waitUntil(lambda: not bar.playing, timeout=15000)


def test_speed_changes_the_pace_and_idle_gaps_are_capped(qtbot: Any, window: Any, paced_run: str, home: Path) -> None:
    row = next(r for r in runs(home) if r["id"] == paced_run)
    took = row["finished_at"] - row["started_at"]
    assert took > 3.5
    bar = window.replay
    timeline = bar.times[-1]
    assert 1.5 < timeline < took - 2  # the 3 s gap counts 1 s
    at_1x = play_to_end(qtbot, window, "1×")
    assert timeline * 0.9 < at_1x < took - 1, (timeline, at_1x)
    at_4x = play_to_end(qtbot, window, "4×")
    assert at_4x < at_1x * 0.6, (at_1x, at_4x)
    # a change of speed while playing takes effect from there
    bar.speed.setCurrentText("0.5×")
    bar.play_button.click()
    qtbot.wait(300)
    bar.speed.setCurrentText("10×")
    qtbot.waitUntil(lambda: not bar.playing, timeout=5000)


# -- export ------------------------------------------------------------------------------------


def svg_node_ids(path: Path) -> set[str]:
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return {str(g.findtext(f"{SVG}title")) for g in root.iter(f"{SVG}g") if g.get("class") == "node"}


def test_export_svg_of_the_workflow_and_of_a_past_run(
    qtbot: Any, window: Any, examples: Path, tmp_path: Path, graphviz: str
) -> None:
    assert window.actions.export_svg in window.menuBar().actions()[0].menu().actions()
    assert window.open(examples / "fan-out.weft.yaml")
    svg = export.export_svg(window.document, window.canvas.run_layer.model, window, tmp_path / "plan.svg")
    assert svg_node_ids(svg) == {"plan", "ghost:plan"}
    window.runs.start()
    assert window.runs.wait(90)
    window.history.open(window.runs.model.run_id)
    window.replay.slider.setValue(1)
    qtbot.waitUntil(lambda: window.history.at == 1, timeout=3000)
    window.replay.slider.setValue(window.history.last)
    qtbot.waitUntil(lambda: window.history.at == window.history.last, timeout=3000)
    svg = export.export_svg(window.document, window.canvas.run_layer.model, window, tmp_path / "run.svg")
    assert svg_node_ids(svg) == {"plan", "sum", *(f"square-{i}" for i in range(1, 6))}


def test_export_svg_without_graphviz_says_so(
    qtbot: Any, window: Any, examples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = os.pathsep.join(
        d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not os.access(os.path.join(d, "dot"), os.X_OK)
    )
    monkeypatch.setenv("PATH", path or str(tmp_path))
    said: list[tuple[str, str]] = []
    monkeypatch.setattr(
        QtWidgets.QMessageBox, "warning", staticmethod(lambda _p, title, text: said.append((title, text)))
    )
    assert window.open(examples / "fan-out.weft.yaml")
    window.actions.export_svg.trigger()  # no file is asked for (the fixture fails any file dialog)
    assert len(said) == 1 and said[0][0] == "Export SVG"
    assert "GraphViz's `dot` program, which is not installed" in said[0][1] and "apt install graphviz" in said[0][1]
    assert list(tmp_path.glob("*.svg")) == []
