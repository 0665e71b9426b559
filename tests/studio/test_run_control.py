"""Working with a run from the studio (SPEC §9): restart from a node's menu, answer a waiting
node's question, resume an interrupted run from the history, retired nodes faded. Real
windows, real runs (subprocess tasks, the run's own host process), the real SQLite home."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from engine.events import NodeState, RunState
from engine.history.store import Store
from studio.canvas.items import RETIRED_OPACITY
from tests.conftest import ROOT
from tests.engine.conftest import view
from tests.studio.conftest import WORKFLOWS

ARTIFACTS = ROOT / "test-artifacts"
PY = sys.executable


def controls(home: Path, run_id: str) -> list[Any]:
    store = Store(home)
    try:
        return store.controls(run_id)
    finally:
        store.close()


def write_workflow(folder: Path, name: str, nodes: list[str], edges: list[str]) -> Path:
    path = folder / f"{name}.weft.yaml"
    lines = ["weft: 1", f"name: {name}", "nodes:", *(f"  - {n}" for n in nodes)]
    if edges:
        lines += ["edges:", *(f"  - {e}" for e in edges)]
    path.write_text("\n".join(lines) + "\n")
    return path


def counting(folder: Path, node: str) -> str:
    """A node whose task appends a line to ``NODE.count`` in ``folder`` (how often it ran)."""
    argv = [PY, "-c", f"open({str(folder / (node + '.count'))!r}, 'a').write('x\\n')"]
    return f"{{id: {node}, command: {argv!r}}}"


def runs_of(folder: Path, node: str) -> int:
    path = folder / f"{node}.count"
    return len(path.read_text().splitlines()) if path.exists() else 0


def node_menu(qtbot: Any, window: Any, node_id: str, shot: str | None = None) -> list[tuple[str, bool]]:
    """Right-click node ``node_id`` on the canvas; the menu's actions (text, enabled). The menu
    is closed again (``shot``: after a picture of the window with it open is saved there);
    ``window._node_menu`` keeps its actions for a test to trigger."""
    viewer = window.canvas.viewer
    item = window.canvas.item(node_id)
    assert item is not None, f"{node_id} is not drawn"
    viewer.centerOn(item)
    pos = viewer.mapFromScene(item.sceneBoundingRect().center())
    seen: list[tuple[str, bool]] = []

    def look() -> None:
        menu = QtWidgets.QApplication.activePopupWidget()
        if menu is None:  # not open yet
            QtCore.QTimer.singleShot(20, look)
            return
        seen.extend((a.text(), a.isEnabled()) for a in menu.actions())
        if shot is not None:
            picture = window.grab()
            painter = QtGui.QPainter(picture)
            painter.drawPixmap(window.mapFromGlobal(menu.pos()), menu.grab())
            painter.end()
            ARTIFACTS.mkdir(exist_ok=True)
            picture.save(str(ARTIFACTS / shot))
        menu.close()

    QtCore.QTimer.singleShot(20, look)
    event = QtGui.QContextMenuEvent(QtGui.QContextMenuEvent.Mouse, pos, viewer.viewport().mapToGlobal(pos))
    QtWidgets.QApplication.sendEvent(viewer.viewport(), event)
    assert seen, "no menu opened on the node"
    return seen


def choose(window: Any, text: str) -> None:
    """Trigger the action of the node menu shown last whose text starts with ``text``."""
    menu = window._node_menu
    assert menu is not None
    actions = [a for a in menu.actions() if a.text().startswith(text)]
    assert actions and actions[0].isEnabled(), [(a.text(), a.isEnabled()) for a in menu.actions()]
    actions[0].trigger()


def grab(window: Any, name: str) -> Path:
    window.canvas.run_layer.flush()
    QtWidgets.QApplication.processEvents()
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    assert window.grab().save(str(path))
    return path


# -- restart -----------------------------------------------------------------------------------


def test_restart_from_the_menu_of_a_failed_node_reruns_it_and_downstream_only(
    qtbot: Any, window: Any, home: Path, tmp_path: Path
) -> None:
    script = tmp_path / "b.py"
    script.write_text(
        f"open({str(tmp_path / 'b.count')!r}, 'a').write('x\\n')\nraise SystemExit('b is broken: fix b.py')\n"
    )
    workflow = write_workflow(
        tmp_path,
        "fixme",
        [counting(tmp_path, "a"), f"{{id: b, command: {[PY, str(script)]!r}}}", counting(tmp_path, "c")]
        + [counting(tmp_path, "d")],
        ["{from: a, to: b}", "{from: b, to: c}", "{from: a, to: d}"],
    )
    assert window.open(workflow)
    run_id = window.runs.start()
    assert window.runs.wait(60)
    assert window.runs.model.state is RunState.FAILED
    assert window.canvas.item("b").run_state == NodeState.FAILED
    assert (runs_of(tmp_path, "a"), runs_of(tmp_path, "b"), runs_of(tmp_path, "c")) == (1, 1, 0)

    assert node_menu(qtbot, window, "a")[0] == ("Restart from here", True)
    go = tmp_path / "go"
    script.write_text(  # fixed; it waits for ``go``, so the test sees the restart drawn
        "import os, time\n"
        f"open({str(tmp_path / 'b.count')!r}, 'a').write('x\\n')\n"
        f"while not os.path.exists({str(go)!r}):\n"
        "    time.sleep(0.05)\n"
    )
    assert node_menu(qtbot, window, "b", shot="studio-restart-menu.png")[0] == ("Restart from here", True)
    choose(window, "Restart from here")
    assert window.runs.running and window.runs.controller.run_id == run_id
    # drawn live: b runs again, c is pending again (it was skipped), a and d as they were
    qtbot.waitUntil(lambda: window.canvas.item("b").run_state == NodeState.RUNNING, timeout=30000)
    looks = {n: window.canvas.item(n).run_state for n in "abcd"}
    assert looks == {"a": NodeState.SUCCEEDED, "b": NodeState.RUNNING, "c": NodeState.PENDING, "d": NodeState.SUCCEEDED}
    go.write_text("")
    assert window.runs.wait(60)
    after = view(home, run_id)
    assert after.state is RunState.SUCCEEDED
    assert {n: after.nodes[n].attempt for n in "abcd"} == {"a": 1, "b": 2, "c": 1, "d": 1}
    assert [runs_of(tmp_path, n) for n in "abcd"] == [1, 2, 1, 1]  # a and d never ran again
    assert {n: window.canvas.item(n).run_state for n in "abcd"} == dict.fromkeys("abcd", NodeState.SUCCEEDED)
    assert "succeeded" in window.statusBar().currentMessage()


def test_restart_is_refused_in_one_line_where_the_engine_refuses(qtbot: Any, window: Any, home: Path) -> None:
    assert window.open(WORKFLOWS / "max-two.weft.yaml")
    run_id = window.runs.start()
    assert window.runs.wait(60) and window.runs.model.state is RunState.BROKEN
    attempts = view(home, run_id).nodes["plan"].attempt
    assert node_menu(qtbot, window, "plan")[0] == ("Restart from here", True)
    choose(window, "Restart from here")  # a broken run is final: the studio says so, as `weft restart` does
    assert not window.runs.running
    assert window.statusBar().currentMessage() == f"cannot restart run {run_id}: it is broken (a broken run is final)"
    assert view(home, run_id).nodes["plan"].attempt == attempts


# -- asking a person -------------------------------------------------------------------------


def asking(tmp_path: Path, fields: str, outputs: str, downstream_inputs: str) -> Path:
    """gate asks ``fields``; deploy gets its answers as inputs and writes them to got.json."""
    (tmp_path / "ask.py").write_text(f"import weft_task\nweft_task.ask('Deploy?', {fields})\n")
    (tmp_path / "deploy.py").write_text(
        "import json, sys, weft_task\n"
        f"open({str(tmp_path / 'got.json')!r}, 'w').write(json.dumps(weft_task.inputs, sort_keys=True))\n"
    )
    return write_workflow(
        tmp_path,
        "asker",
        [
            f"{{id: gate, command: {[PY, str(tmp_path / 'ask.py')]!r}, outputs: {outputs}}}",
            f"{{id: deploy, command: {[PY, str(tmp_path / 'deploy.py')]!r}, inputs: {downstream_inputs}}}",
        ],
        [f"{{from: gate.{name}, to: deploy.{name}}}" for name in ("approve", "note", "replicas") if name in outputs],
    )


def wait_for_question(qtbot: Any, window: Any) -> Any:
    form = window.run_panel.question
    qtbot.waitUntil(lambda: form.isVisible() and form.node == "gate", timeout=30000)
    return form


def test_a_waiting_node_shows_its_question_as_a_form_and_one_click_answers_it(
    qtbot: Any, window: Any, home: Path, tmp_path: Path
) -> None:
    workflow = asking(
        tmp_path,
        "{'approve': 'bool', 'note': 'str?'}",
        "{approve: bool, note: str?}",
        "{approve: bool, note: str?}",
    )
    assert window.open(workflow)
    run_id = window.runs.start()
    form = wait_for_question(qtbot, window)
    assert window.canvas.selected_ids() == ["gate"]  # the question came to the front by itself
    gate = window.canvas.item("gate")
    assert gate.run_state == NodeState.WAITING and gate.question == "Deploy?"
    assert "asks: Deploy?" in gate.tooltip()
    assert form.title() == "gate asks" and form.prompt.text() == "Deploy?"
    assert isinstance(form.inputs["approve"], QtWidgets.QCheckBox)
    assert isinstance(form.inputs["note"], QtWidgets.QLineEdit)
    assert window.runs.running  # a waiting node holds no process, but the run goes on
    menu = dict(node_menu(qtbot, window, "gate"))
    assert menu == {"Restart from here (when it has finished)": False, "Answer…": True}
    assert dict(node_menu(qtbot, window, "deploy")) == {"Restart from here (when it has finished)": False}
    window.canvas.select(["gate"])
    grab(window, "studio-waiting-question.png")

    box = form.inputs["approve"]
    qtbot.mouseClick(box, QtCore.Qt.LeftButton, pos=QtCore.QPoint(8, box.height() // 2))  # on its box
    assert box.isChecked()
    qtbot.keyClicks(form.inputs["note"], "ship it")
    qtbot.mouseClick(form.button, QtCore.Qt.LeftButton)
    assert not form.error.text().startswith("field"), form.error.text()
    assert window.runs.wait(60)
    after = view(home, run_id)
    assert after.state is RunState.SUCCEEDED
    assert after.nodes["gate"].state is NodeState.SUCCEEDED
    assert after.nodes["gate"].outputs == {"approve": True, "note": "ship it"}
    assert (tmp_path / "got.json").read_text() == '{"approve": true, "note": "ship it"}'
    assert not form.isVisible()  # the node moved on: no question left to answer


def test_a_wrong_answer_is_shown_in_one_line_and_nothing_is_sent(
    qtbot: Any, window: Any, home: Path, tmp_path: Path
) -> None:
    workflow = asking(tmp_path, "{'replicas': 'int', 'settings': 'json?'}", "{replicas: int}", "{replicas: int}")
    assert window.open(workflow)
    run_id = window.runs.start()
    form = wait_for_question(qtbot, window)
    assert isinstance(form.inputs["replicas"], QtWidgets.QLineEdit)
    assert isinstance(form.inputs["settings"], QtWidgets.QPlainTextEdit)

    qtbot.keyClicks(form.inputs["replicas"], "three")
    qtbot.mouseClick(form.button, QtCore.Qt.LeftButton)
    assert form.error.isVisible() and form.error.text() == "field 'replicas' (int): 'three' is not an integer"
    form.inputs["replicas"].setText("")
    qtbot.mouseClick(form.button, QtCore.Qt.LeftButton)
    assert form.error.text() == "field 'replicas' (int) needs an answer"
    form.inputs["replicas"].setText("3")
    form.inputs["settings"].setPlainText("{not json")
    qtbot.mouseClick(form.button, QtCore.Qt.LeftButton)
    assert form.error.text().startswith("field 'settings' (json?): "), form.error.text()
    time.sleep(0.5)  # longer than the run takes to see a control
    assert controls(home, run_id) == []
    assert view(home, run_id).nodes["gate"].state is NodeState.WAITING  # nothing reached the run

    form.inputs["settings"].setPlainText('{"zone": "eu"}')
    qtbot.mouseClick(form.button, QtCore.Qt.LeftButton)
    assert window.runs.wait(60)
    assert view(home, run_id).nodes["gate"].outputs == {"replicas": 3, "settings": {"zone": "eu"}}
    assert (tmp_path / "got.json").read_text() == '{"replicas": 3}'


# -- interrupted runs and the history --------------------------------------------------------


@pytest.fixture
def killed_run(home: Path, tmp_path: Path) -> Iterator[Any]:
    """`weft run` of a chain in its own process, killed (-9) while its second node runs: the
    run is `interrupted`. Yields (run id, folder); kills whatever is left at the end."""
    folder = tmp_path / "chain"
    folder.mkdir()
    (folder / "slow").write_text("")  # n1 sleeps while this file is there
    step = (
        "import os, sys, time; open(sys.argv[1], 'a').write(f'{os.getpid()}\\n');"
        " time.sleep(30 if os.path.exists(sys.argv[2]) else 0.1)"
    )
    flags = [folder / ("slow" if i == 1 else "fast") for i in range(3)]
    argvs = [[PY, "-c", step, str(folder / f"n{i}.count"), str(flag)] for i, flag in enumerate(flags)]
    nodes = [f"{{id: n{i}, command: {argv!r}}}" for i, argv in enumerate(argvs)]
    workflow = write_workflow(folder, "chain", nodes, ["{from: n0, to: n1}", "{from: n1, to: n2}"])
    proc = subprocess.Popen(
        [PY, "-m", "engine.cli.main", "run", str(workflow)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, WEFT_HOME=str(home)),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        run_id = None
        while run_id is None or view(home, run_id).nodes["n1"].state is not NodeState.RUNNING:  # as stored
            assert time.monotonic() < deadline, "the run never reached n1"
            time.sleep(0.05)
            if run_id is None and (home / "weft.db").exists():
                store = Store(home)
                try:
                    run_id = next((r["id"] for r in store.runs() if store.last_seq(r["id"])), None)
                finally:
                    store.close()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        store = Store(home)
        try:
            assert store.run(run_id)["state"] == "interrupted"
        finally:
            store.close()
        yield run_id, folder
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for line in (folder / "n1.count").read_text().split() if (folder / "n1.count").exists() else []:
            try:
                os.kill(int(line), signal.SIGKILL)
            except OSError:
                pass


def test_the_history_marks_an_interrupted_run_and_resume_finishes_it(
    qtbot: Any, window: Any, home: Path, killed_run: Any
) -> None:
    run_id, folder = killed_run
    (folder / "slow").unlink()  # n1's next attempt is quick
    assert window.open(write_workflow(folder, "quick", [counting(folder, "q")], []))
    finished = window.runs.start()
    assert window.runs.wait(60)
    seen: dict[str, Any] = {}

    def in_dialog() -> None:
        dialog = window.history.dialog
        if dialog is None or not dialog.isVisible():
            QtCore.QTimer.singleShot(20, in_dialog)
            return
        rows = {dialog.table.item(r, 0).text(): r for r in range(dialog.table.rowCount())}
        dialog.table.selectRow(rows[finished])
        seen["resume of a finished run"] = dialog.resume_button.isEnabled()
        ARTIFACTS.mkdir(exist_ok=True)
        dialog.grab().save(str(ARTIFACTS / "studio-history-interrupted.png"))
        dialog.table.selectRow(rows[run_id])
        state = dialog.table.item(rows[run_id], dialog.STATE_COLUMN)
        seen.update(
            state=state.text(),
            bold=state.font().bold(),
            note=dialog.note.text() if dialog.note.isVisible() else "",
            resume=dialog.resume_button.isEnabled(),
        )
        qtbot.mouseClick(dialog.resume_button, QtCore.Qt.LeftButton)

    QtCore.QTimer.singleShot(20, in_dialog)
    window.history.choose()
    assert seen == {
        "resume of a finished run": False,
        "state": "interrupted — can be resumed",
        "bold": True,
        "note": "1 interrupted run: select one and press Resume to continue it here.",
        "resume": True,
    }
    assert window.runs.running and window.runs.controller.run_id == run_id
    assert not window.replay.isVisible()  # the live view took over from the replay
    # it shows the run as far as it went at once: n0 succeeded before the kill
    assert window.canvas.item("n0").run_state == NodeState.SUCCEEDED
    assert window.runs.wait(60)
    after = view(home, run_id)
    assert after.state is RunState.SUCCEEDED
    assert after.nodes["n0"].attempt == 1 and after.nodes["n1"].attempt == 2
    assert runs_of(folder, "n0") == 1 and runs_of(folder, "n2") == 1
    assert {n: window.canvas.item(n).run_state for n in ("n0", "n1", "n2")} == dict.fromkeys(
        ("n0", "n1", "n2"), NodeState.SUCCEEDED
    )


# -- retired nodes ---------------------------------------------------------------------------


def test_a_restarted_creator_leaves_what_it_made_before_faded_live_and_in_replay(
    qtbot: Any, window: Any, home: Path, tmp_path: Path
) -> None:
    """A creates m-0 and m-1 on its first attempt, m-0 and m-2 on its second: restarted, m-1
    and its wires stay drawn, faded (retired), m-0 is made again and drawn as new."""
    script = tmp_path / "creator.py"
    script.write_text(
        "import weft_task as w\n"
        "ids = ['m-0', 'm-1'] if w.attempt == 1 else ['m-0', 'm-2']\n"
        "w.mutate(nodes=[{'id': i, 'operator': 'M'} for i in ids],\n"
        "         edges=[e for i in ids for e in ({'from': 'A', 'to': i}, {'from': i, 'to': 'B'})])\n"
    )
    workflow = tmp_path / "map.weft.yaml"
    workflow.write_text(
        "weft: 1\nname: map\n"
        f"operators:\n  M: {{command: [{PY!r}, -c, pass]}}\n"
        f"nodes:\n  - {{id: A, command: [{PY!r}, {str(script)!r}], dynamic: true}}\n"
        f"  - {{id: B, command: [{PY!r}, -c, pass]}}\n"
        "edges:\n  - {from: A, to: B}\n"
        "promises:\n  - shape: 'A -> M* -> B'\n"
    )
    assert window.open(workflow)
    run_id = window.runs.start()
    assert window.runs.wait(60) and window.runs.model.state is RunState.SUCCEEDED
    layer = window.canvas.run_layer
    assert set(layer.items) == {"m-0", "m-1"}
    restart_at = view(home, run_id).at

    node_menu(qtbot, window, "A")
    choose(window, "Restart from here")
    assert window.runs.wait(60) and window.runs.model.state is RunState.SUCCEEDED
    layer.flush()

    def looks(layer: Any) -> dict[str, tuple[str | None, float]]:
        return {n: (item.run_state, round(item.opacity(), 2)) for n, item in layer.items.items()}

    faded = round(RETIRED_OPACITY, 2)
    assert looks(layer) == {
        "m-0": (NodeState.SUCCEEDED, 1.0),
        "m-1": (NodeState.RETIRED, faded),
        "m-2": (NodeState.SUCCEEDED, 1.0),
    }
    retired_edges = {(k.source, k.target) for k, e in layer.edges.items() if e.retired}
    assert retired_edges == {("A", "m-1"), ("m-1", "B")}
    assert all(e.opacity() == 1.0 for k, e in layer.edges.items() if not e.retired)
    assert "no longer in the graph" in layer.items["m-1"].tooltip()
    assert dict(node_menu(qtbot, window, "m-1")) == {"Restart from here (retired by an earlier restart)": False}
    grab(window, "studio-restart-retired.png")

    # replay: faded from the restart on, as they were before it
    window.history.open(run_id)
    assert looks(layer)["m-1"] == (NodeState.RETIRED, faded)
    window.history.seek(restart_at)
    assert looks(layer) == {"m-0": (NodeState.SUCCEEDED, 1.0), "m-1": (NodeState.SUCCEEDED, 1.0)}
    assert not any(e.retired for e in layer.edges.values())
    window.history.seek(window.history.last)
    assert looks(layer)["m-1"] == (NodeState.RETIRED, faded)
    assert {(k.source, k.target) for k, e in layer.edges.items() if e.retired} == {("A", "m-1"), ("m-1", "B")}


def test_restart_of_a_paused_live_run_goes_through_the_store_and_the_run_goes_on(
    qtbot: Any, window: Any, home: Path, tmp_path: Path
) -> None:
    flag = tmp_path / "go"
    waiter = (
        "import os, sys, time\n"
        f"open({str(tmp_path / 'b.count')!r}, 'a').write('x\\n')\n"
        f"while not os.path.exists({str(flag)!r}):\n"
        "    time.sleep(0.05)\n"
    )
    (tmp_path / "b.py").write_text(waiter)
    workflow = write_workflow(
        tmp_path,
        "held",
        [counting(tmp_path, "a"), f"{{id: b, command: {[PY, str(tmp_path / 'b.py')]!r}}}", counting(tmp_path, "c")],
        ["{from: a, to: b}", "{from: b, to: c}"],
    )
    assert window.open(workflow)
    run_id = window.runs.start()
    qtbot.waitUntil(lambda: window.canvas.item("b").run_state == NodeState.RUNNING, timeout=30000)
    assert node_menu(qtbot, window, "a")[0] == ("Restart from here (pause the run first)", False)
    window.actions.pause.trigger()
    qtbot.waitUntil(lambda: window.runs.model.state is RunState.PAUSED, timeout=10000)
    assert window.actions.pause.text() == "Res&ume"
    assert node_menu(qtbot, window, "a")[0] == ("Restart from here", True)
    choose(window, "Restart from here")
    assert window.statusBar().currentMessage() == "Restarting a…"
    # the run took it: b's task was stopped, a runs again, and the run goes on by itself
    qtbot.waitUntil(lambda: runs_of(tmp_path, "b") == 2, timeout=30000)
    assert window.actions.pause.text() == "&Pause"
    flag.write_text("")
    assert window.runs.wait(60)
    after = view(home, run_id)
    assert after.state is RunState.SUCCEEDED
    assert {n: after.nodes[n].attempt for n in "abc"} == {"a": 2, "b": 2, "c": 1}
    assert [runs_of(tmp_path, n) for n in "abc"] == [2, 2, 1]


def test_a_cached_node_is_marked_and_says_where_from(qtbot: Any, window: Any, tmp_path: Path) -> None:
    """Drawn from the item's ``cached_from`` (the run layer reads it from the fold's record)."""
    from studio.canvas.items import SPAWNED, RunNodeItem

    item = RunNodeItem("n", "n", SPAWNED, "op")
    window.canvas.viewer.scene().addItem(item)
    item.run_state, item.cached_from = NodeState.SUCCEEDED, "r-20260101-000000-abcdef"
    item.refresh()
    assert "cached from run r-20260101-000000-abcdef" in item.tooltip()
    image = QtGui.QImage(200, 70, QtGui.QImage.Format_ARGB32)
    image.fill(0)
    painter = QtGui.QPainter(image)
    item.paint(painter, None, None)
    painter.end()
    # the teal "cached" badge, in the footer's right end (left of its text)
    badge = image.pixelColor(int(item.WIDTH) - 50, int(item.HEIGHT) - 11)
    assert (badge.red(), badge.green(), badge.blue()) == (80, 190, 200)


def test_a_run_opened_from_the_history_is_restarted_from_a_node(
    qtbot: Any, window: Any, home: Path, tmp_path: Path
) -> None:
    flag = tmp_path / "fixed"
    script = tmp_path / "b.py"
    script.write_text(
        f"import os\nfixed = os.path.exists({str(flag)!r})\nprint('b is', 'fixed' if fixed else 'broken')\n"
        "raise SystemExit(0 if fixed else 'not yet')\n"
    )
    workflow = write_workflow(
        tmp_path,
        "later",
        [counting(tmp_path, "a"), f"{{id: b, command: {[PY, str(script)]!r}}}", counting(tmp_path, "c")],
        ["{from: a, to: b}", "{from: b, to: c}"],
    )
    assert window.open(workflow)
    run_id = window.runs.start()
    assert window.runs.wait(60)
    window.close_run()
    window.history.open(run_id)  # as Open Past Run does
    assert window.past_run == run_id and window.replay.isVisible()
    assert not window.replay.resume_button.isVisible()  # it ended: nothing to resume
    flag.write_text("")
    assert node_menu(qtbot, window, "b")[0] == ("Restart from here", True)
    choose(window, "Restart from here")
    assert window.runs.running and not window.replay.isVisible()
    assert window.runs.wait(60)
    after = view(home, run_id)
    assert after.state is RunState.SUCCEEDED and after.nodes["b"].attempt == 2
    assert [runs_of(tmp_path, n) for n in "ac"] == [1, 1]
    assert window.canvas.item("c").run_state == NodeState.SUCCEEDED
    assert window.read_only  # still the run's own workflow, not an editable file
    window.canvas.select(["b"])  # its log has both attempts: the one before the restart too
    qtbot.waitUntil(lambda: window.run_panel.node == "b")
    lines = window.run_panel.log.toPlainText()
    assert "b is broken" in lines and "b is fixed" in lines
    assert lines.index("b is broken") < lines.index("b is fixed")
