"""Acceptance: runs from the studio — the engine off the GUI thread, the canvas growing, ghosts,
a broken promise shown, Stop at any moment, nothing of it on the undo stack."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from studio.canvas.items import GHOST, REFUSED, SPAWNED, STATE_COLORS
from tests.studio.conftest import WORKFLOWS, run_to_end


def watch(window: Any) -> list[dict[str, Any]]:
    """What the canvas showed after every batch: ghosts and the creator's state."""
    seen: list[dict[str, Any]] = []

    def hook(changes: Any, model: Any) -> None:
        layer = window.canvas.run_layer
        seen.append(
            {
                "ghosts": [n for n, node in layer.nodes.items() if node.kind == GHOST],
                "A": model.nodes["A"].state if "A" in model.nodes else None,
                "thread": threading.current_thread() is threading.main_thread(),
            }
        )

    window.runs.batch_hooks.append(hook)
    return seen


def test_random_map_grows_on_the_canvas(qtbot: Any, window: Any, examples: Path) -> None:
    path = examples / "random-map.weft.yaml"  # A -> M* -> B, with a random number of M
    assert path.exists(), "the random map example"
    assert window.open(path)
    seen = watch(window)
    # A runs for a few tens of milliseconds: batches every 5 ms (not 30) so that this test sees
    # the canvas while A is still running, on any machine
    window.runs.bridge._timer.setInterval(5)
    qtbot.wait(300)  # let Qt finish deleting earlier tests' windows first: it can take a while
    model = run_to_end(qtbot, window)
    assert model.state == "succeeded", model.summary()
    assert all(s["thread"] for s in seen), "batches are handled on the GUI thread"

    created = [n for n, run in model.nodes.items() if run.created_by == "A"]
    layer = window.canvas.run_layer
    assert sorted(n for n, node in layer.nodes.items() if node.kind == SPAWNED) == sorted(created)
    for node_id in created + ["A", "B"]:
        item = window.canvas.item(node_id)
        assert item is not None, node_id
        assert item.run_state == "succeeded", (node_id, item.run_state)
        assert STATE_COLORS[item.run_state] == STATE_COLORS["succeeded"]
    # each M is right of its creator, and nothing the workflow placed moved
    a_x = window.canvas.item("A").xy_pos[0]
    assert all(window.canvas.item(n).xy_pos[0] > a_x for n in created)
    # a ghost while A could still create nodes; none at the end
    assert any(s["ghosts"] == ["ghost:A"] and s["A"] in ("pending", "running") for s in seen), seen
    assert not [n for n, node in layer.nodes.items() if node.kind == GHOST]
    # the region frame of the map promise holds A, B and every M
    frames = window.canvas.frames
    frames.update()
    assert frames.items and set(created) | {"A", "B"} <= set(frames.items[0].region.members)


def test_fan_out_nodes_appear_next_to_their_creator(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "fan-out.weft.yaml")
    plan_pos = tuple(window.canvas.item("plan").xy_pos)
    model = run_to_end(qtbot, window)
    assert model.state == "succeeded"
    squares = [f"square-{i}" for i in range(1, 6)]
    for node_id in squares + ["sum"]:
        assert window.canvas.item(node_id).run_state == "succeeded"
    assert tuple(window.canvas.item("plan").xy_pos) == plan_pos
    xs = {window.canvas.item(n).xy_pos[0] for n in squares}
    assert len(xs) == 1 and xs.pop() > plan_pos[0]
    assert window.canvas.item("sum").xy_pos[0] > window.canvas.item("square-1").xy_pos[0]
    # nodes a run created are shown read-only in the properties panel, with their log
    window.canvas.select(["sum"])
    assert window.properties.read_only and window.properties.node_id == "sum"
    assert window.run_panel.node == "sum"


def test_a_broken_promise_stops_the_run_and_is_shown(qtbot: Any, window: Any) -> None:
    assert window.open(WORKFLOWS / "max-two.weft.yaml")
    model = run_to_end(qtbot, window)
    assert model.state == "broken"
    banner = window.banner
    assert banner.isVisible()
    text = banner.label.text()
    assert "at-most-two" in text and "plan" in text and "extra" in text, text
    assert window.canvas.item("plan").culprit
    refused = window.canvas.item("refused:extra")
    assert refused is not None and refused.kind == REFUSED
    assert window.canvas.item("extra") is None  # never applied


def test_breaker_example_banner(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "breaker-max-nodes.weft.yaml")
    model = run_to_end(qtbot, window)
    assert model.state == "broken"
    assert window.banner.isVisible() and "at-most-two" in window.banner.label.text()


def test_stop_at_once_and_while_running(qtbot: Any, window: Any, tmp_path: Path) -> None:
    slow = tmp_path / "slow.weft.yaml"
    slow.write_text(
        "weft: 1\nname: slow\nnodes:\n"
        "  - {id: a, command: [python3, -c, 'import time; time.sleep(30)']}\n"
        "  - {id: b, command: [python3, -c, 'pass']}\nedges:\n  - {from: a, to: b}\n"
    )
    assert window.open(slow)
    assert window.runs.start()
    window.runs.stop()  # before the run's loop may even exist
    assert window.runs.wait(20)
    assert window.runs.model.state == "cancelled"
    assert window.runs.start()
    qtbot.waitUntil(
        lambda: window.runs.model.nodes.get("a") is not None and window.runs.model.nodes["a"].state == "running",
        timeout=10000,
    )
    window.runs.stop()
    assert window.runs.wait(20)
    model = window.runs.model
    assert model.state == "cancelled"
    assert model.nodes["a"].state == "cancelled" and model.nodes["b"].state == "cancelled"
    assert window.canvas.item("a").run_state == "cancelled"


def test_runs_never_enter_the_undo_stack(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "fan-out.weft.yaml")
    window.editor.move({"plan": (10.0, 20.0)})
    assert window.undo_stack.count() == 1
    run_to_end(qtbot, window)
    assert window.undo_stack.count() == 1
    window.undo_stack.undo()
    assert window.document.position("plan") is None
    assert window.canvas.item("sum") is not None  # the run's drawing is not an edit either


def test_invalid_workflow_does_not_run_and_says_why(qtbot: Any, window: Any, tmp_path: Path) -> None:
    path = tmp_path / "unfed.weft.yaml"
    path.write_text("weft: 1\nname: unfed\nnodes:\n  - {id: a, command: [x], inputs: {n: int}}\n")
    assert window.open(path)
    assert window.runs.start() is None
    messages = window.problems.messages()
    assert any("input 'n' of node 'a' is not fed" in m for m in messages), messages
    assert any(":4:" in m for m in messages), messages  # located


def test_a_run_whose_process_dies_is_reported(qtbot: Any, window: Any, tmp_path: Path) -> None:
    slow = tmp_path / "slow.weft.yaml"
    slow.write_text("weft: 1\nname: slow\nnodes:\n  - {id: a, command: [python3, -c, 'import time; time.sleep(30)']}\n")
    assert window.open(slow)
    assert window.runs.start()
    qtbot.waitUntil(
        lambda: "a" in window.runs.model.nodes and window.runs.model.nodes["a"].state == "running", timeout=10000
    )
    window.runs.controller.process.kill()  # the engine's process crashes: the window stays
    assert window.runs.wait(20)
    assert window.runs.model.state == "failed"
    assert "ended unexpectedly" in window.statusBar().currentMessage()
    assert not window.runs.running and window.actions.run.isEnabled()
