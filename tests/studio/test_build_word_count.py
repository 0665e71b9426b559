"""Acceptance: build word-count on the canvas the way a person does, save it, read it back.

Nodes come from palette drops, wires from mouse drags between ports; an incompatible wire is
refused while it is dragged, with the reason in the status bar. The saved file is loaded by
the engine to the same graph as the word-count example, and reopens in the studio unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.workflow.loader import load_file
from studio.model.library import BUILTIN_FOLDER
from tests.conftest import EXAMPLES
from tests.studio.conftest import drag_wire, drop_operator

TEXT = BUILTIN_FOLDER / "text.weft.yaml"
BASIC = BUILTIN_FOLDER / "basic.weft.yaml"


def graph_of(path: Path) -> tuple[set[tuple[str, dict[str, str], dict[str, str]]], set[tuple[str, ...]]]:
    """Node ids with their resolved port types, and edges with ports and conditions."""
    loaded = load_file(path)
    nodes = {(n, tuple(sorted(r.inputs.items())), tuple(sorted(r.outputs.items()))) for n, r in loaded.nodes.items()}
    edges = {
        (e.source, e.source_port or "", e.target, e.target_port or "", e.when or "") for e in loaded.workflow.edges
    }
    return nodes, edges


def build(qtbot: Any, window: Any) -> None:
    for operator, library, pos, node_id in (
        ("read", TEXT, (0, 0), "read"),
        ("count", TEXT, (320, 0), "count"),
        ("report", TEXT, (640, 0), "report"),
        ("log", BASIC, (640, 220), "log"),
    ):
        drop_operator(window, operator, library, pos)
        assert window.canvas.item(node_id) is not None, window.statusBar().currentMessage()
    # the log node becomes too-short: renamed in the properties panel, with its message
    window.canvas.select(["log"])
    props = window.properties
    assert props.node_id == "log"
    props.f["id"].setText("too-short")
    props.f["params"].setText("{message: text too short to report}")
    props.f["id"].editingFinished.emit()
    assert window.document.node("too-short") is not None, props.problems.text()
    window.canvas.fit()
    qtbot.wait(50)

    port = window.canvas.port
    drag_wire(qtbot, window, port("read", "text", True), port("count", "text", False))
    drag_wire(qtbot, window, port("count", "counts", True), port("report", "counts", False))
    drag_wire(qtbot, window, port("count", "total", True), port("report", "total", False))
    drag_wire(qtbot, window, port("count", "(then)", True), port("report", "(after)", False))
    drag_wire(qtbot, window, port("count", "(then)", True), port("too-short", "(after)", False))
    assert len(window.document.edges) == 5, [str(e) for e in window.document.edges]

    # the conditions of the two runs-after wires, typed in the properties panel
    for target, when in (("report", "count.total > 10"), ("too-short", "count.total <= 10")):
        edge = next(e for e in window.document.edges if e.target == target and e.source_port is None)
        from studio.model.document import EdgeKey

        props.show_edge(EdgeKey.of(edge))
        props.when.setText(when)
        props.when.editingFinished.emit()
    # where the example's read node reads from
    window.canvas.select(["read"])
    props.f["params"].setText("{path: data/words.txt}")
    props.f["params"].editingFinished.emit()


def test_build_word_count_save_and_reopen(qtbot: Any, window: Any, examples: Path, tmp_path: Path) -> None:
    build(qtbot, window)

    # an incompatible wire is refused while dragged: nothing lands, the reason is shown
    edges_before = list(window.document.edges)
    port = window.canvas.port
    drag_wire(qtbot, window, port("read", "copy", True), port("report", "total", False))
    assert window.document.edges == edges_before
    message = window.statusBar().currentMessage()
    assert "Refused" in message and "file is not assignable to int" in message, message

    target = examples / "built.weft.yaml"  # beside the example's data/ folder
    window.document.save(target)
    window.undo_stack.setClean()

    # the engine loads the file to the same graph as the example
    assert graph_of(target) == graph_of(EXAMPLES / "word-count.weft.yaml")
    first = load_file(target).workflow

    # reopened in the studio: unchanged (same workflow, same places on the canvas)
    positions = {n: tuple(window.canvas.item(n).xy_pos) for n in window.document.node_ids()}
    assert window.open(target)
    assert load_file(target).workflow == first
    assert window.document.workflow == first
    assert {n: tuple(window.canvas.item(n).xy_pos) for n in window.document.node_ids()} == positions
    assert sorted(window.canvas.nodes) == sorted(n.id for n in first.nodes)
    assert window.document.problems == []

    # saved elsewhere, its imports are rewritten to find the same libraries
    again = tmp_path / "elsewhere" / "again.weft.yaml"
    again.parent.mkdir()
    window.document.save(again)
    assert load_file(again).workflow.library.keys() == load_file(target).workflow.library.keys()
    assert load_file(again).workflow.nodes == first.nodes


def test_the_built_workflow_runs(qtbot: Any, window: Any, examples: Path) -> None:
    from tests.studio.conftest import run_to_end

    build(qtbot, window)
    window.document.save(examples / "built.weft.yaml")
    window.undo_stack.setClean()
    model = run_to_end(qtbot, window)
    assert model.state == "succeeded", model.summary()
    assert model.nodes["report"].state == "succeeded"
    assert model.nodes["too-short"].state == "skipped"
    assert model.nodes["report"].outputs["summary"]["total"] > 10
