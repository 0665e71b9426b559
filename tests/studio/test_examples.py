"""Acceptance: every example opens in the studio, saves, and reads back as an equal workflow."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest

from engine.workflow.loader import load_file
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
    # the text: every comment (the $schema line first), key order and style kept; the only
    # lines that differ are the node's position (a `style` line, or `pos` inside one)
    before, after = path.read_text(encoding="utf-8"), saved.read_text(encoding="utf-8")
    assert after.splitlines()[0] == before.splitlines()[0] and "$schema" in before.splitlines()[0]
    changed = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:2] in ("- ", "+ ")]
    assert changed and all("pos" in line or line[2:].strip() == "style:" for line in changed), changed
    assert len([line for line in changed if line.startswith("+ ")]) <= 2, changed
    window.undo_stack.setClean()  # saved
    assert window.open(saved)
    assert tuple(window.canvas.item(first).xy_pos) == (123.0, 45.0)


@pytest.mark.parametrize("name", WORKFLOWS)
def test_saving_an_unchanged_example_writes_the_same_text(qtbot: Any, window: Any, examples: Path, name: str) -> None:
    path = examples / name
    assert window.open(path)
    saved = examples / f"same-{name}"
    window.document.save(saved)
    assert saved.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
