"""Loops on the canvas: wiring a back edge, drawing it, and a run's iterations folded into counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.canvas.canvas import pipe_between
from studio.model.document import EdgeKey


def _pipe(window: Any, key: EdgeKey) -> Any:
    ports = window.canvas._ports(key)
    assert ports is not None
    return pipe_between(ports[0].view, ports[1].view)


def test_refine_loop_opens_with_its_back_edge_drawn_as_a_loop(qtbot: Any, window: Any, examples: Path) -> None:
    assert window.open(examples / "refine-loop.weft.yaml")
    doc = window.document
    back = EdgeKey("score", "quality", "refine", "quality")
    assert doc.back_edges() == {back}
    pipe = _pipe(window, back)
    assert pipe is not None and pipe.back and pipe.when == "score.score < 0.85"
    # the edge from outside still feeds refine's input alongside the back edge
    assert _pipe(window, EdgeKey("draft", "quality", "refine", "quality")) is not None
    # laid out as a chain, left to right, the back edge ignored
    x = {n: window.canvas.nodes[n].view.xy_pos[0] for n in ("draft", "refine", "score", "publish")}
    assert x["draft"] < x["refine"] < x["score"] < x["publish"]
    # routed back under the nodes it joins
    bottom = max(window.canvas.nodes[n].view.sceneBoundingRect().bottom() for n in ("refine", "score"))
    assert pipe.path().boundingRect().bottom() > bottom


def _without_back_edge(examples: Path) -> Path:
    text = (examples / "refine-loop.weft.yaml").read_text()
    cut = '  - from: score.quality\n    to: refine.quality\n    when: "score.score < 0.85"\n'
    assert cut in text
    path = examples / "unlooped.weft.yaml"
    path.write_text(text.replace(cut, "").replace("promises:", "promises-cut:").split("promises-cut:")[0])
    return path


def test_wiring_a_back_edge_is_accepted_with_a_hint_and_validate_asks_for_its_when(
    qtbot: Any, window: Any, examples: Path
) -> None:
    assert window.open(_without_back_edge(examples))
    canvas, doc = window.canvas, window.document
    back = EdgeKey("score", "quality", "refine", "quality")
    assert doc.connection_problem("score", "quality", "refine", "quality") is None
    out, inp = canvas.port("score", "quality", True), canvas.port("refine", "quality", False)
    fed = canvas.port("draft", "quality", True)
    canvas._on_connection_changed([(inp, fed)], [(out, inp)])  # what the viewer reports for the drop
    assert doc.edge(back) is not None
    assert doc.edge(EdgeKey("draft", "quality", "refine", "quality")) is not None  # both feed refine
    message = window.statusBar().currentMessage()
    assert "closes a loop into 'refine'" in message and "needs a `when`" in message, message
    assert _pipe(window, back).back
    assert not window.validate()
    assert any("needs a `when`" in m for m in window.problems.messages()), window.problems.messages()
    window.editor.set_condition(back, "score.score < 0.85")
    assert window.validate(), window.problems.messages()
    pipe = _pipe(window, back)
    assert pipe.back and pipe.label is not None and pipe.label.isVisible()
    # a cycle that can never be a loop is still refused: one inside the loop (nested loops are not
    # supported), or into a node that is not the loop's entry
    for source, target in (("publish", "score"), ("score", "score")):
        problem = doc.connection_problem(source, None, target, None)
        assert problem is not None, (source, target)
    assert "cycle" in (doc.connection_problem("publish", None, "score", None) or "")


def test_a_run_of_refine_loop_counts_its_iterations_and_replay_walks_them(
    qtbot: Any, window: Any, examples: Path, tmp_path: Path
) -> None:
    from engine.events import NodeStateChanged
    from tests.studio.conftest import run_to_end

    assert window.open(examples / "refine-loop.weft.yaml")
    model = run_to_end(qtbot, window)
    window.canvas.run_layer.flush()
    rounds = [n for n in model.nodes if n == "refine" or n.startswith("refine@")]
    assert len(rounds) >= 2, sorted(model.nodes)
    layer = window.canvas.run_layer
    # iterations are not drawn as nodes of their own: counted on the loop's nodes
    assert not [n for n in layer.nodes if "@" in n], sorted(layer.nodes)
    for node in ("refine", "score"):
        item = window.canvas.item(node)
        assert item.iterations == len(rounds) and (f"×{len(rounds)}", item.badges()[0][1]) in item.badges()
        assert item.run_state == "succeeded"
    assert window.canvas.item("publish").run_state == "succeeded"
    window.canvas.select(["refine"])
    listed = window.run_panel.iterations.toPlainText()
    assert listed.startswith(f"{len(rounds)} iterations") and f"refine@{len(rounds)}  succeeded" in listed, listed
    assert window.canvas.render(str(tmp_path / "refine-loop-run.png"))
    window.canvas.render("/tmp/lc/refine-loop-run.png")

    # replay: at the start of the second iteration, the count is 2 (and 1 before it)
    run_id = model.run_id
    window.history.open(run_id)
    assert window.canvas.item("refine").iterations == len(rounds)
    second = next(
        rec.seq
        for rec in window.history.store.events(run_id, (NodeStateChanged,))
        if isinstance(rec.event, NodeStateChanged) and rec.event.node == "refine@2"
    )
    window.replay.slider.setValue(second)
    qtbot.waitUntil(lambda: window.history.at == second, timeout=3000)
    assert window.canvas.item("refine").iterations == 2
    window.replay.slider.setValue(1)
    qtbot.waitUntil(lambda: window.history.at == 1, timeout=3000)
    assert window.canvas.item("refine").iterations <= 1
