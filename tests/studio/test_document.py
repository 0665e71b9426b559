"""The studio's document and layout, without Qt: edits, checks, renames, regions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.languages import expr
from engine.workflow.loader import load_file
from engine.workflow.model import EdgeSpec, NodeSpec, PromiseSpec
from studio.canvas.layout import Grid, beside, layered
from studio.model.document import Document, EdgeKey, rename_in_condition
from studio.model.regions import region_members, shape_anchors
from tests.conftest import EXAMPLES


def word_count() -> Document:
    return Document.open(EXAMPLES / "word-count.weft.yaml")


def test_the_model_side_never_imports_qt() -> None:
    code = (
        "import sys; import studio.model.document, studio.model.runmodel, studio.model.regions, "
        "studio.canvas.layout, studio.model.library, studio.model.events, studio.runhost; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'NodeGraphQt', 'Qt')]; print(bad); raise SystemExit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_connection_problems_name_the_reason() -> None:
    doc = word_count()
    assert (
        doc.connection_problem("read", "text", "report", "total")
        == "read.text (str) cannot feed report.total (int): str is not assignable to int"
    )
    assert "file and str are kept distinct" in doc.connection_problem("read", "copy", "count", "text")
    assert doc.connection_problem("read", "text", "count", "text") == "duplicate edge read.text -> count.text"
    assert "cycle" in doc.connection_problem("report", None, "read", None)
    # a node wired to itself is a loop of one node (SPEC §10): its back edge is accepted
    assert doc.connection_problem("read", None, "read", None) is None
    assert "runs-after" in doc.connection_problem("read", "text", "count", None)
    assert doc.connection_problem("read", "txt", "count", "text") == (
        "node 'read' has no output 'txt' (outputs: text, copy) (did you mean 'text'?)"
    )
    assert doc.connection_problem("count", "total", "report", "counts") is not None
    assert doc.connection_problem("too-short", None, "report", None) is None


def test_remove_and_restore_a_node_with_its_edges() -> None:
    doc = word_count()
    before = (list(doc.nodes), list(doc.edges))
    removed = doc.remove_node("count")
    assert doc.node("count") is None and all("count" not in (e.source, e.target) for e in doc.edges)
    doc.restore_node(removed)
    assert (doc.nodes, doc.edges) == before


def test_rename_carries_into_edges_and_conditions() -> None:
    doc = word_count()
    spec = doc.node("count")
    import dataclasses

    doc.replace_node("count", dataclasses.replace(spec, id="counter"))
    assert {e.when for e in doc.edges if e.when} == {"counter.total > 10", "counter.total <= 10"}
    assert all("count" not in (e.source, e.target) for e in doc.edges)
    assert rename_in_condition("a.x > 1 and `a`.y", "a", "1b") == "`1b`.x > 1 and `1b`.y"
    assert rename_in_condition("not (", "a", "b") == "not ("
    # every keyword of the expression language, as the engine's reader knows them (None, True...)
    for keyword in ("None", "True", "False", "null", "len", "and", "in"):
        renamed = rename_in_condition("a.out > 3", "a", keyword)
        assert renamed == f"`{keyword}`.out > 3"
        assert [r.node for r in expr.parse(renamed).references()] == [keyword]


def test_positions_are_style_and_survive_saving(tmp_path: Path) -> None:
    doc = word_count()
    old = doc.set_positions({"read": (10, 20)})
    assert old == {"read": None}
    path = doc.save(tmp_path / "wc.weft.yaml")
    assert load_file(path).workflow.nodes[0].style == {"pos": [10.0, 20.0]}
    assert Document.open(path).position("read") == (10.0, 20.0)
    doc.set_positions({"read": None})
    assert doc.node("read").style is None


def test_unique_ids() -> None:
    doc = word_count()
    assert doc.unique_id("count") == "count-2"
    assert doc.unique_id("new one!") == "new-one"


def test_regions_come_from_the_anchors() -> None:
    doc = (
        Document.open(EXAMPLES / "random-map.weft.yaml")
        if (EXAMPLES / "random-map.weft.yaml").exists()
        else pytest.skip("no random-map example")
    )
    region = doc.regions()[0]
    assert region.anchors == ("A", "B") and region.members == {"A", "B"}
    doc.add_node(NodeSpec(id="m-1", operator="M"))
    doc.add_edge(EdgeSpec("A", "m-1"))
    doc.add_edge(EdgeSpec("m-1", "B"))
    doc.add_node(NodeSpec(id="elsewhere", operator="M"))
    assert doc.regions()[0].members == {"A", "B", "m-1"}
    assert shape_anchors("start -> (left | right) -> end") == ("start", "end")
    import networkx as nx

    members, problem = region_members(nx.DiGraph([("A", "B")]), ("A", "Z"))
    assert problem == "anchor 'Z' is not a node"
    created = {"x": "A", "y": "x", "z": "B"}  # x by the first anchor, y by a region node; z by the last
    members, _ = region_members(nx.DiGraph([("A", "B")]), ("A", "B"), created)
    assert members == {"A", "B", "x", "y"}


def test_promises_edit_in_place() -> None:
    doc = word_count()
    doc.insert_promise(0, PromiseSpec(kind="no_new_nodes", args={}))
    old = doc.replace_promise(0, PromiseSpec(kind="max_nodes", args={"max": 3}))
    assert old.kind == "no_new_nodes" and doc.promises[0].args == {"max": 3}
    assert doc.remove_promise(0).kind == "max_nodes" and doc.promises == []


def test_invalid_text_keeps_what_can_be_read() -> None:
    doc = Document.from_text(
        "weft: 1\nname: t\nnodes:\n  - {id: a, command: [x]}\n  - {id: b, retries: -1}\n"
        "edges:\n  - {from: a, to: nowhere}\n",
        file="t.weft.yaml",
    )
    assert [n.id for n in doc.nodes] == ["a", "b"]
    assert doc.problems and all(p.location.line > 0 for p in doc.problems)
    assert not doc.complete


def test_layered_layout_keeps_placed_nodes_and_never_overlaps() -> None:
    nodes = ["a", "b", "c", "d"]
    placed = {"b": (300.0, 0.0)}
    out = layered(nodes, [("a", "b"), ("a", "c"), ("c", "d")], placed, {n: 60.0 for n in nodes})
    assert "b" not in out and out["a"][0] < out["c"][0] < out["d"][0]
    assert out["c"] != placed["b"]
    grid = Grid()
    slots = {beside([(0.0, 0.0)], 60.0, grid) for _ in range(50)}
    assert len(slots) == 50 and all(x == 300.0 for x, _y in slots)


def test_edge_keys() -> None:
    key = EdgeKey.of(EdgeSpec("a", "b", "out", "in"))
    assert str(key) == "a.out -> b.in" and key.canvas_ports == ("out", "in")
    assert EdgeKey.of(EdgeSpec("a", "b")).canvas_ports == ("(then)", "(after)")


def test_saved_files_keep_their_permissions_and_name_the_shipped_library_portably(tmp_path: Path) -> None:
    import os
    import stat

    from engine.workflow.loader import SHIPPED_LIBRARY, load_file
    from studio.model.document import Document

    path = tmp_path / "w.weft.yaml"
    path.write_text("weft: 1\nname: w\nnodes:\n  - {id: a, command: [/bin/true]}\n")
    os.chmod(path, 0o640)
    doc = Document.open(path)
    entry = doc.import_for(SHIPPED_LIBRARY / "basic.weft.yaml")
    assert entry == "weft:basic"  # not ../../<where Weft is installed>/resources/operators/...
    doc.set_fields(imports=[entry])
    doc.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert "imports: ['weft:basic']" in path.read_text()
    assert "sleep" in load_file(path).workflow.library  # the engine finds it by library name
    fresh = tmp_path / "new.weft.yaml"
    umask = os.umask(0o022)
    try:
        doc.save(fresh)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
    assert Document.open(fresh).workflow.imports == ["weft:basic"]  # moved: still the same reference
