"""Acceptance: every example opens in the studio, saves, and reads back as an equal workflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.loader import load_file
from tests.conftest import EXAMPLES

WORKFLOWS = sorted(p.name for p in EXAMPLES.glob("*.weft.yaml"))


def test_there_are_examples() -> None:
    assert len(WORKFLOWS) >= 3


@pytest.mark.parametrize("name", WORKFLOWS)
def test_open_save_and_get_an_equal_workflow(qtbot: Any, window: Any, examples: Path, name: str) -> None:
    path = examples / name
    assert window.open(path)
    assert window.document.problems == []
    assert sorted(window.canvas.nodes) == sorted(n.id for n in load_file(path).workflow.nodes)
    saved = examples / f"saved-{name}"
    window.document.save(saved)
    assert load_file(saved).workflow == load_file(path).workflow
    # and the studio draws the saved file the same way
    assert window.open(saved)
    assert sorted(window.canvas.nodes) == sorted(n.id for n in load_file(path).workflow.nodes)


@pytest.mark.parametrize("name", WORKFLOWS)
def test_moving_a_node_is_saved_and_only_that_changes(qtbot: Any, window: Any, examples: Path, name: str) -> None:
    path = examples / name
    assert window.open(path)
    first = window.document.node_ids()[0]
    window.editor.move({first: (123.0, 45.0)})
    saved = examples / f"moved-{name}"
    window.document.save(saved)
    original, moved = load_file(path).workflow, load_file(saved).workflow
    assert (moved.nodes[0].style or {})["pos"] == [123.0, 45.0]
    moved.nodes[0].style = {k: v for k, v in (moved.nodes[0].style or {}).items() if k != "pos"} or None
    assert moved == original
    window.undo_stack.setClean()  # saved
    assert window.open(saved)
    assert tuple(window.canvas.item(first).xy_pos) == (123.0, 45.0)
