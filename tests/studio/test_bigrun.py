"""Acceptance: a run that creates 2,000 nodes reads as one stack, expands and collapses on request,
and the window stays responsive while it happens; created nodes keep the flow left to right."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtTest

from studio.canvas.items import SPAWNED
from studio.canvas.stacks import STACK
from studio.model.document import AFTER
from tests.studio.conftest import run_to_end

FANOUT = """\
import json, sys
n, k = int(sys.argv[1]), int(sys.argv[2])
sys.stdin.readline()
for start in range(0, n, k):
    ids = [f"M-{i:04d}" for i in range(start, min(n, start + k))]
    print(json.dumps({"weft": 1, "type": "mutate",
                      "nodes": [{"id": i, "operator": "M"} for i in ids],
                      "edges": [{"from": "A", "to": i} for i in ids] + [{"from": i, "to": "B"} for i in ids]}))
"""


def fanout(folder: Path, count: int, per_message: int, command: str = "[/bin/true]") -> Path:
    (folder / "fanout.py").write_text(FANOUT)
    path = folder / "fanout.weft.yaml"
    path.write_text(
        "weft: 1\nname: fanout\nsettings: {max_parallel: 32}\n"
        f"operators:\n  M: {{command: {command}}}\n"
        "nodes:\n"
        f"  - {{id: A, dynamic: true, command: [python3, fanout.py, '{count}', '{per_message}']}}\n"
        "  - {id: B, command: [/bin/true]}\n"
        "edges:\n  - {from: A, to: B}\n"
        "promises:\n  - shape: 'A -> M* -> B'\n"
    )
    return path


class Stalls:
    """A 10 ms timer on the GUI thread: the longest gap between two ticks is the longest stall."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self.timer = QtCore.QTimer()
        self.timer.setTimerType(QtCore.Qt.PreciseTimer)
        self.timer.setInterval(10)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def __enter__(self) -> Stalls:
        self.ticks = [time.perf_counter()]
        self.timer.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.timer.stop()
        self.ticks.append(time.perf_counter())

    @property
    def longest_ms(self) -> float:
        return max((b - a) * 1000 for a, b in zip(self.ticks, self.ticks[1:]))


def double_click(window: Any, item: Any) -> None:
    viewer = window.canvas.viewer
    point = viewer.mapFromScene(item.sceneBoundingRect().center())
    QtTest.QTest.mouseDClick(viewer.viewport(), QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, point)


def stacks(window: Any) -> list[Any]:
    return [i for i in window.canvas.run_layer.items.values() if i.kind == STACK]


def spawned(window: Any) -> list[str]:
    return [n for n, i in window.canvas.run_layer.items.items() if i.kind == SPAWNED]


def test_two_thousand_created_nodes_are_one_stack(qtbot: Any, window: Any, tmp_path: Path) -> None:
    assert window.open(fanout(tmp_path, 2000, 500))
    qtbot.wait(200)
    with Stalls() as stalls:
        model = run_to_end(qtbot, window, timeout=300)
    assert model.state == "succeeded", model.summary()
    assert sum(1 for r in model.nodes.values() if r.created_by == "A") == 2000
    print(f"\nlongest GUI stall during the 2,000-node run: {stalls.longest_ms:.0f} ms")
    assert stalls.longest_ms < 500, f"the window stalled {stalls.longest_ms:.0f} ms"

    # one stack node stands for the 2,000 M; no M is drawn on its own
    (stack,) = stacks(window)
    assert stack.name == "M × 2000"
    assert stack.detail == "2000 ✓"
    assert stack.run_state == "succeeded" and stack.progress == 1.0
    assert spawned(window) == []
    assert window.canvas.item("M-1234") is stack  # a member is found where it is drawn
    # wires into and out of the members are drawn once, to and from the stack
    layer = window.canvas.run_layer
    assert sorted((k.source, k.target) for k in layer.edges) == [("A", stack.weft_id), (stack.weft_id, "B")]
    # it flows left to right: A, the stack, B
    x = {n: window.canvas.item(n).scenePos().x() for n in ("A", "B")}
    assert x["A"] < stack.scenePos().x() < x["B"]
    window.canvas.fit()
    window.canvas.minimap.refresh()
    qtbot.wait(50)
    window.grab().save(str(Path("test-artifacts") / "bigrun-collapsed.png"))

    # double-click expands it: every member drawn, wired to A and B
    double_click(window, stack)
    qtbot.waitUntil(lambda: len(spawned(window)) == 2000 and not stacks(window), timeout=10000)
    layer.flush()
    assert len(layer.edges) == 4000
    assert window.canvas.item("M-1234").kind == SPAWNED
    # laid out in a block about as tall as wide, between A and B (which moved right of it)
    xs = [window.canvas.item(n).scenePos().x() for n in spawned(window)]
    ys = [window.canvas.item(n).scenePos().y() for n in spawned(window)]
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    assert 0.3 < width / height < 3, (width, height)
    assert x["A"] < min(xs) and max(xs) < window.canvas.item("B").scenePos().x()
    window.canvas.fit()
    window.canvas.minimap.refresh()
    qtbot.wait(50)
    window.grab().save(str(Path("test-artifacts") / "bigrun-expanded-fit.png"))
    window.canvas.viewer.reset_zoom(window.canvas.item("M-0000").sceneBoundingRect().center())
    window.canvas.minimap.refresh()
    qtbot.wait(50)
    window.grab().save(str(Path("test-artifacts") / "bigrun-expanded.png"))

    # a member's context menu collapses it again
    menu = window.node_menu("M-0007")
    (collapse,) = [a for a in menu.actions() if a.text() == "Collapse"]
    collapse.trigger()
    assert spawned(window) == [] and len(stacks(window)) == 1
    assert sorted((k.source, k.target) for k in layer.edges) == [
        ("A", stacks(window)[0].weft_id),
        (stacks(window)[0].weft_id, "B"),
    ]
    # and the stack's own menu offers Expand
    assert [a.text() for a in window.node_menu(stacks(window)[0].weft_id).actions()] == ["Expand"]


def test_a_few_siblings_are_not_stacked(qtbot: Any, window: Any, tmp_path: Path) -> None:
    assert window.open(fanout(tmp_path, 8, 8))
    model = run_to_end(qtbot, window)
    assert model.state == "succeeded", model.summary()
    assert stacks(window) == [] and len(spawned(window)) == 8
    assert window.node_menu("M-0001") is None or "Collapse" not in [
        a.text() for a in window.node_menu("M-0001").actions()
    ]


def test_stack_tally_while_members_run(qtbot: Any, window: Any, tmp_path: Path) -> None:
    """Mid-run, the stack says how many members are in each state and takes the worst colour."""
    assert window.open(fanout(tmp_path, 40, 40, command="[sleep, '0.3']"))
    seen: list[tuple[str, str]] = []
    window.runs.batch_hooks.append(lambda _c, _m: [seen.append((s.run_state, s.detail)) for s in stacks(window)])
    model = run_to_end(qtbot, window)
    assert model.state == "succeeded", model.summary()
    assert seen[-1] == ("succeeded", "40 ✓")
    assert any(state in ("pending", "running") for state, _ in seen), seen[:5]
    assert all(sum(int(part.split()[0]) for part in detail.split(" · ")) == 40 for _, detail in seen), seen


def test_subgraph_run_flows_left_to_right(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "subgraph.weft.yaml")
    model = run_to_end(qtbot, window)
    assert model.state == "succeeded", model.summary()
    layer = window.canvas.run_layer
    layer.flush()
    chain = [n for n, r in model.nodes.items() if r.created_by == "A"]
    assert len(chain) == 2
    first, second = sorted(
        chain, key=lambda n: any(k.source == n and k.target in chain for k in model.edges), reverse=True
    )
    x = {n: window.canvas.item(n).scenePos().x() for n in ("A", first, second, "B")}
    assert x["A"] < x[first] < x[second] < x["B"], x
    y = {n: window.canvas.item(n).scenePos().y() for n in (first, second)}
    assert y[first] == y[second], "the created chain stays level"
    wire = layer.edges[next(k for k in layer.edges if k.source == second and k.target == "B")]
    end = wire.path().pointAtPercent(1.0)
    b_in = window.canvas.port("B", AFTER, False).sceneBoundingRect().center()
    assert abs(end.x() - b_in.x()) < 2 and abs(end.y() - b_in.y()) < 2, "the wire follows B where it went"
    window.canvas.fit()
    window.canvas.minimap.refresh()
    qtbot.wait(50)
    window.grab().save(str(Path("test-artifacts") / "subgraph-run.png"))
    # clearing the run puts B back where the studio laid it out
    b_during = x["B"]
    window.close_run()
    assert window.canvas.item("B").scenePos().x() < b_during


def test_zoom_follow_and_minimap(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "subgraph.weft.yaml")
    qtbot.wait(50)
    viewer = window.canvas.viewer
    before = viewer.transform().m11()
    QtTest.QTest.keyClick(window, QtCore.Qt.Key_Equal, QtCore.Qt.ControlModifier)
    assert viewer.transform().m11() > before * 1.2
    QtTest.QTest.keyClick(window, QtCore.Qt.Key_Minus, QtCore.Qt.ControlModifier)
    QtTest.QTest.keyClick(window, QtCore.Qt.Key_Minus, QtCore.Qt.ControlModifier)
    assert viewer.transform().m11() < before
    assert window.actions.follow.isChecked() and window.canvas.run_layer.follow
    window.actions.follow.toggle()
    assert not window.canvas.run_layer.follow
    # the minimap shows every node; a click there moves the view there
    minimap = window.canvas.minimap
    assert minimap.isVisible() and window.actions.minimap.isChecked()
    minimap.refresh()
    assert len(minimap.boxes) == len(window.canvas.nodes)
    transform = minimap._transform()
    target = window.canvas.item("B").sceneBoundingRect().center()
    QtTest.QTest.mouseClick(minimap, QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, transform.map(target).toPoint())
    center = viewer.mapToScene(viewer.viewport().rect().center())
    assert abs(center.x() - target.x()) < 30 and abs(center.y() - target.y()) < 30
    window.grab().save(str(Path("test-artifacts") / "minimap.png"))
    window.actions.minimap.toggle()
    assert not minimap.isVisible()
