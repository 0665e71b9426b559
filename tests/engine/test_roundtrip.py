"""Every example loads, writes back and loads to an equal model."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.workflow.loader import load_file, load_text
from engine.workflow.roundtrip import _UNWRITABLE, merge_text
from engine.workflow.writer import write_text
from tests.conftest import EXAMPLES

WORKFLOWS = sorted(EXAMPLES.glob("*.weft.yaml"))


def test_there_are_examples():
    assert len(WORKFLOWS) >= 3


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_example_round_trips(path: Path, tmp_path: Path):
    first = load_file(path).workflow
    text = write_text(first)
    for folder in first.included.values():  # a workflow: node's file, relative to the example
        target = tmp_path / folder.workflow.path.relative_to(path.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(folder.workflow.path.read_text())
    for library in first.settings.libraries or []:  # a library folder beside the example
        shutil.copytree(path.parent / library, tmp_path / library, dirs_exist_ok=True)
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


# -- writing over the text a workflow came from (engine.workflow.roundtrip) --------------------------

TRICKY = st.sampled_from(
    [
        "yes",
        "no",
        "on",
        "off",
        "y",
        "~",
        "null",
        "1e3",
        "010",
        "0x1F",
        ":x",
        "- a",
        "#c",
        "a: b",
        "{x}",
        "[1]",
        "multi\nline",
        "tab\there",
        "é",
        "",
        " lead",
        "trail ",
        "*ref",
        "&anchor",
        "!tag",
        "%p",
        "@at",
        "`tick`",
        "'q'",
        '"d"',
        "2001-12-14",
        "1_000",
        "+1",
    ]
)
SCALARS = st.one_of(
    TRICKY,
    st.text(max_size=8),
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
KEYS = st.one_of(
    TRICKY.filter(lambda k: "\n" not in k and k != ""), st.from_regex(r"[a-z][a-z0-9_-]{0,6}", fullmatch=True)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=16,
)
DOCS = st.dictionaries(KEYS, VALUES, min_size=1, max_size=5)


@settings(max_examples=300, deadline=None)
@given(before=DOCS, after=DOCS, flow=st.booleans())
def test_writing_over_old_text_reads_back_as_the_new_data(before, after, flow) -> None:
    """Whatever the old text and the new data, the merged text reads (with the engine's own
    YAML reader) as exactly the new data, and merging the same data again changes nothing."""
    old = yaml.safe_dump(before, sort_keys=False, default_flow_style=None if flow else False, allow_unicode=True)
    merged = merge_text(old, after)
    if merged is None:  # the caller then writes the canonical text: only for these characters
        assert any(_UNWRITABLE.search(s) for s in _strings(after))
        return
    assert yaml.safe_load(merged) == after
    again = merge_text(merged, after)
    assert again is not None and yaml.safe_load(again) == after
    # ruamel.yaml may respell what reads the same: a 17-digit float's last digit, the
    # indentation inside a quoted string that spans lines
    if not any(
        isinstance(s, float) and len(repr(s).lstrip("-").split("e")[0]) > 16 or "\n" in str(s)
        for s in _strings(after, floats=True)
    ):
        assert again == merged


def _strings(value: object, floats: bool = False) -> list[object]:
    """Every string (and float, if asked) in ``value``, keys included."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k, floats), *_strings(v, floats))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, floats)]
    return [value] if isinstance(value, str) or (floats and isinstance(value, float)) else []


def test_writing_over_old_text_keeps_comments_and_style_of_what_did_not_change() -> None:
    old = textwrap.dedent("""\
        # yaml-language-server: $schema=../schema/weft.schema.json
        weft: 1
        name: demo   # the name people see
        nodes:
        - id: a
          command: [python3, a.py]   # reads the input
        - {id: b, command: [python3, b.py]}
        edges:
        - {from: a, to: b}
    """)
    data = yaml.safe_load(old)
    data["nodes"][1]["style"] = {"pos": [1.0, 2.0]}
    data["nodes"].insert(0, {"id": "new", "command": ["true"]})
    merged = merge_text(old, data)
    assert merged is not None and yaml.safe_load(merged) == data
    for line in (
        "# yaml-language-server: $schema=../schema/weft.schema.json",
        "name: demo   # the name people see",
        "  command: [python3, a.py]   # reads the input",
        "- {from: a, to: b}",
    ):
        assert line in merged.splitlines(), merged
    assert "{id: b, command: [python3, b.py], style: {pos: [1.0, 2.0]}}" in merged
