"""Acceptance: past runs — the final graph with states, logs and outputs, and the replay slider."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from engine.events import NodeState, NodeStateChanged
from studio.canvas.items import GHOST, SPAWNED
from tests.studio.conftest import make_window, run_to_end


def finished_fan_out(qtbot: Any, window: Any, examples: Path) -> str:
    assert window.open(examples / "fan-out.weft.yaml")
    model = run_to_end(qtbot, window)
    assert model.state == "succeeded"
    return model.run_id


def spawned(window: Any) -> set[str]:
    return {n for n, node in window.canvas.run_layer.nodes.items() if node.kind == SPAWNED}


def ghosts(window: Any) -> set[str]:
    return {n for n, node in window.canvas.run_layer.nodes.items() if node.kind == GHOST}


def test_replay_a_finished_run(qtbot: Any, window: Any, examples: Path) -> None:
    run_id = finished_fan_out(qtbot, window, examples)
    window.history.open(run_id)
    assert window.past_run == run_id and window.read_only and not window.canvas.editable
    assert window.replay.isVisible()
    # the final graph, every node with its state
    assert spawned(window) == {f"square-{i}" for i in range(1, 6)} | {"sum"}
    assert all(window.canvas.item(n).run_state == "succeeded" for n in spawned(window) | {"plan"})
    assert not ghosts(window)
    # each node's log and outputs
    window.canvas.select(["sum"])
    assert "succeeded" in window.run_panel.node_label.text()
    assert '"total": 55' in window.run_panel.outputs.toPlainText()
    window.canvas.select(["plan"])
    assert "planned 5 squares" in window.run_panel.log.toPlainText()

    # early in the run: fewer nodes, and the planner's ghost
    last = window.history.last
    early = next(
        rec.seq
        for rec in window.history.store.events(run_id, (NodeStateChanged,))
        if rec.event == NodeStateChanged("plan", NodeState.RUNNING, 1)
    )
    window.replay.slider.setValue(early)
    qtbot.waitUntil(lambda: window.history.at == early, timeout=3000)
    assert spawned(window) == set()
    assert ghosts(window) == {"ghost:plan"}
    assert window.canvas.item("plan").run_state == "running"
    window.canvas.select(["ghost:plan"])
    assert "Ghost" in window.properties.title.text() and "anything may follow" in window.properties.title.text()
    # and back to the end
    window.replay.slider.setValue(last)
    qtbot.waitUntil(lambda: window.history.at == last, timeout=3000)
    assert len(spawned(window)) == 6 and not ghosts(window)


def test_open_a_run_from_the_command_line(qtbot: Any, window: Any, examples: Path, home: Path, settings: Any) -> None:
    run_id = finished_fan_out(qtbot, window, examples)
    from studio import app

    other = make_window(qtbot, settings, home)
    other.history.open(run_id[:-2])  # a unique prefix is enough, as with `weft show`
    assert other.past_run == run_id and len(spawned(other)) == 6
    proc = subprocess.run(
        [sys.executable, "-m", "studio.app", "--home", str(home), "--run", "no-such-run"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert proc.returncode == 2
    assert "no run 'no-such-run'" in proc.stderr and "Traceback" not in proc.stderr
    assert app.parse_args(["--run", "last"]).run == "last"


def test_saving_a_past_runs_workflow_makes_it_editable(qtbot: Any, window: Any, examples: Path) -> None:
    run_id = finished_fan_out(qtbot, window, examples)
    window.history.open(run_id)
    copy = examples / "from-run.weft.yaml"
    assert window._save_to(copy)
    assert window.past_run is None and not window.read_only and window.canvas.editable
    assert window.document.path == copy.resolve()
