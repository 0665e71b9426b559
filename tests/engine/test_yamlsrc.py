"""YAML text to data with places: read from the parser's events, deeper places found on demand."""

from __future__ import annotations

from engine.errors import ProblemCollector
from engine.workflow.yamlsrc import Document, parse_yaml

TEXT = """\
weft: 1
nodes:
  - id: a
    command: [ls, "-l", &dir /tmp]
    params: &p {depth: 2, tags: [x, y]}
  - {id: b, command: [cat, *dir], params: *p}
"""


def parsed(text: str) -> tuple[Document | None, list[str]]:
    problems = ProblemCollector()
    return parse_yaml(text, "w.yaml", problems), [str(p) for p in problems.problems]


def test_values_and_their_places_at_every_depth() -> None:
    doc, problems = parsed(TEXT)
    assert problems == [] and doc is not None
    assert doc.data["nodes"][1] == {"id": "b", "command": ["cat", "/tmp"], "params": {"depth": 2, "tags": ["x", "y"]}}
    at = doc.source.at
    assert str(at(("nodes", 1))) == "w.yaml:6:5"
    assert str(at(("nodes", 0, "command", 1))) == "w.yaml:4:20"  # inside the quotes
    assert str(at(("nodes", 0, "params", "tags", 1))) == "w.yaml:5:37"
    assert str(doc.source.key(("nodes", 0, "params"))) == "w.yaml:5:5"
    assert str(at(("nodes", 0, "missing", 3))) == "w.yaml:3:5"  # the nearest placed ancestor


def test_an_alias_is_placed_where_its_anchor_is() -> None:
    doc, _ = parsed(TEXT)
    assert doc is not None
    assert str(doc.source.at(("nodes", 1, "command", 1))) == "w.yaml:4:25"
    assert str(doc.source.at(("nodes", 1, "params", "tags", 0))) == "w.yaml:5:34"


def test_a_loop_met_inside_a_replayed_anchor_is_reported_where_it_closes() -> None:
    doc, problems = parsed("a: &a [1, &b [*a]]\nc: *b\n")
    assert problems == [
        "w.yaml:1:4: a YAML alias refers to a value that contains it",
        "w.yaml:1:11: a YAML alias refers to a value that contains it",
    ]
    assert doc is not None and doc.data == {"a": [1, [None]], "c": [[1, None]]}


def test_problems_of_a_text_that_does_not_parse_are_only_its_syntax() -> None:
    doc, problems = parsed("a: 1\na: 2\nb: [\n")
    assert doc is None
    assert len(problems) == 1 and problems[0].startswith("w.yaml:4:1: YAML syntax:")
