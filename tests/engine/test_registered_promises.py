"""A promise the drawn workflow already breaks, or can never keep, is an error at validation:
`weft validate` and `weft run` exit 2 with the promise's location, and no task starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import WorkflowInvalid
from engine.promises.registered import checked, registration_problems
from engine.workflow.loader import load_file

EXTRA_ENTRY = """\
weft: 1
name: extra
nodes:
  - {id: a, command: [/bin/true]}
  - {id: b, command: [/bin/true]}
  - {id: c, command: [/bin/true]}
  - {id: x, command: [/bin/true]}
edges:
  - {from: a, to: b}
  - {from: b, to: c}
  - {from: x, to: c}
promises:
  - shape: "a -> b -> c"
"""


def test_a_shape_the_drawn_graph_breaks_fails_validation_at_the_promise(weft: Any, tmp_path: Path) -> None:
    path = tmp_path / "extra.weft.yaml"
    path.write_text(EXTRA_ENTRY)
    result = weft("validate", str(path))
    assert result.code == 2
    assert result.err.splitlines() == [
        f"{path}:13:13: error: promise `shape a -> b -> c` cannot be kept: edge x -> c enters the region "
        "from outside (only a may lead into it)",
        "1 error",
    ]
    run = weft("run", str(path), "--json")
    assert run.code == 2 and "cannot be kept" in run.err
    assert weft("runs", "--json").json() == []  # refused before any run was recorded


@pytest.mark.parametrize(
    ("edges", "promise", "problem"),
    [
        ("a -> b, b -> c", "a -> b -> c", None),
        ("a -> b, b -> c, c -> x", "a -> b -> c", None),  # leaving through the last anchor
        ("x -> a, a -> b, b -> c", "a -> b -> c", None),  # entering through the first
        ("a -> b, b -> c, a -> x", "a -> b -> c", "edge a -> x leaves the region other than through c"),
        ("a -> b, b -> c, b -> x", "a -> b -> c", "edge b -> x leaves the region other than through c"),
        ("a -> b, a -> c", "a -> b -> c", "edge a -> b leaves the region other than through c"),  # b: no path on
        ("a -> c", "a -> b -> c", "the region (a, c) does not have the form `a -> b -> c`"),
        ("a -> b, b -> c, a -> c", "a -> b -> c", None),  # compared after transitive reduction
        ("a -> b", "a -> b -> c", "no path leads from a to c"),
        ("a -> b, b -> c, a -> x, x -> c", "a -> (b | x) -> c", "does not have the form"),
        ("a -> b, b -> c, a -> x, x -> c", "a -> (b & x) -> c", None),
    ],
)
def test_static_workflows_are_checked_as_drawn(tmp_path: Path, edges: str, promise: str, problem: str | None) -> None:
    nodes = "".join(f"  - {{id: {n}, command: [/bin/true]}}\n" for n in "abcx")
    pairs = [e.split(" -> ") for e in edges.split(", ")]
    text = (
        "weft: 1\nname: s\nnodes:\n"
        + nodes
        + "edges:\n"
        + "".join(f"  - {{from: {s}, to: {t}}}\n" for s, t in pairs)
        + f"promises:\n  - shape: '{promise}'\n"
    )
    path = tmp_path / "s.weft.yaml"
    path.write_text(text)
    found = registration_problems(load_file(path))
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0].message, found
        assert str(found[0].location).startswith(f"{path}:")


def test_a_node_behind_a_when_may_still_be_skipped(tmp_path: Path) -> None:
    path = tmp_path / "w.weft.yaml"
    path.write_text(
        "weft: 1\nname: w\nnodes:\n"
        "  - {id: a, command: [/bin/true], outputs: {go: str}}\n"
        + "".join(f"  - {{id: {n}, command: [/bin/true]}}\n" for n in "bcx")
        + "edges:\n  - {from: a, to: b}\n  - {from: b, to: c}\n  - {from: a, to: x, when: \"a.go == 'x'\"}\n"
        "  - {from: x, to: c}\n"
        "promises:\n  - shape: 'a -> b -> c'\n"
    )
    assert registration_problems(load_file(path)) == []


def test_a_dynamic_workflow_is_refused_only_when_no_continuation_can_keep_it(tmp_path: Path) -> None:
    """A map whose first anchor also leads to a node that can never join the region (it
    matches no atom and cannot be skipped) can never keep `A -> M* -> B`; the same map
    without that edge is fine however A grows it."""
    base = (
        "weft: 1\nname: m\noperators:\n  M: {command: [/bin/true]}\nnodes:\n"
        "  - {id: A, command: [/bin/true], dynamic: true}\n  - {id: B, command: [/bin/true]}\n"
        "  - {id: C, command: [/bin/true]}\nedges:\n  - {from: A, to: B}\n"
    )
    fine = tmp_path / "fine.weft.yaml"
    fine.write_text(base + "promises:\n  - shape: 'A -> M* -> B'\n")
    assert checked(load_file(fine)).workflow.name == "m"
    bad = tmp_path / "bad.weft.yaml"
    bad.write_text(base + "  - {from: A, to: C}\npromises:\n  - shape: 'A -> M* -> B'\n")
    with pytest.raises(WorkflowInvalid) as caught:
        checked(load_file(bad))
    assert "edge A -> C leaves the region other than through B, and C cannot join the region" in str(caught.value)


def test_every_shipped_example_keeps_its_promises_as_drawn() -> None:
    examples = sorted((Path(__file__).parents[2] / "resources" / "examples").glob("*.weft.yaml"))
    assert examples
    for path in examples:
        assert registration_problems(load_file(path)) == [], path


def test_a_loop_may_still_grow_the_region_into_its_form(tmp_path: Path) -> None:
    """Drawn, the loop is one round; the shape asks for two or more: its unrolling may get there."""
    path = tmp_path / "l.weft.yaml"
    path.write_text(
        "weft: 1\nname: l\nnodes:\n  - {id: a, command: [/bin/true]}\n"
        "  - {id: body, command: [/bin/true], outputs: {again: bool}}\n  - {id: z, command: [/bin/true]}\n"
        "edges:\n  - {from: a, to: body}\n  - {from: body, to: body, when: body.again}\n  - {from: body, to: z}\n"
        "promises:\n  - shape: 'a -> body -> body -> Rest -> z'\n    where: {Rest: 'body -> Rest | ()'}\n"
    )
    assert registration_problems(load_file(path)) == []
