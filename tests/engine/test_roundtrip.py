"""Every example loads, writes back and loads to an equal model."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.loader import load_file, load_text
from engine.writer import write_text
from tests.conftest import EXAMPLES

WORKFLOWS = sorted(EXAMPLES.glob("*.weft.yaml"))


def test_there_are_examples():
    assert len(WORKFLOWS) >= 3


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_example_round_trips(path: Path, tmp_path: Path):
    first = load_file(path).workflow
    text = write_text(first)
    copy = tmp_path / path.name
    copy.write_text(text)
    second = load_file(copy).workflow
    assert second == first
    assert write_text(second) == text  # writing is canonical: a fixed point after one pass


def test_writer_keeps_unset_fields_unset_and_ids_as_text():
    text = """
weft: 1
name: t
nodes:
  - id: 1
    command: [python3, x.py]
  - id: b
    command: [python3, y.py]
    retries: 2
edges:
  - {from: 1, to: b}
"""
    workflow = load_text(text).workflow
    written = write_text(workflow)
    assert "id: '1'" in written
    assert "retries: 2" in written and "timeout" not in written
    assert load_text(written).workflow == workflow


def test_multiline_text_stays_readable():
    text = "weft: 1\nname: t\nnodes:\n  - id: a\n    shell: true\n    command: |\n      echo one\n      echo two\n"
    written = write_text(load_text(text).workflow)
    assert "command: |" in written
    assert load_text(written).workflow == load_text(text).workflow
