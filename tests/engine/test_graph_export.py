"""`weft graph --format svg|png`: pictures drawn by GraphViz's real `dot`, of files and of past runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from engine.workflow.loader import load_file
from engine.workflow.nesting import expand
from tests.conftest import EXAMPLES

SVG = "{http://www.w3.org/2000/svg}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAN_OUT = EXAMPLES / "fan-out.weft.yaml"


def svg_nodes(svg: str) -> dict[str, ET.Element]:
    """The SVG's node groups by their title (GraphViz writes the node id there)."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return {g.findtext(f"{SVG}title"): g for g in root.iter(f"{SVG}g") if g.get("class") == "node"}


def svg_edges(svg: str) -> set[str]:
    root = ET.fromstring(svg)
    return {g.findtext(f"{SVG}title") for g in root.iter(f"{SVG}g") if g.get("class") == "edge"}


def texts(group: ET.Element) -> list[str]:
    return [t.text or "" for t in group.iter(f"{SVG}text")]


def dashed(group: ET.Element) -> bool:
    return any(shape.get("stroke-dasharray") for shape in group if shape.tag in (f"{SVG}path", f"{SVG}polygon"))


def test_svg_of_a_workflow_file_has_every_node_and_edge(weft, graphviz):
    result = weft("graph", EXAMPLES / "word-count.weft.yaml", "--format", "svg")
    assert result.code == 0, result.err
    nodes = svg_nodes(result.out)
    assert set(nodes) == {"read", "count", "report", "too-short"}
    assert texts(nodes["count"]) == ["Count words"]  # the style label
    assert {"read->count", "count->report", "count->too-short"} <= svg_edges(result.out)
    assert not any(dashed(g) for g in nodes.values())  # a static workflow: no ghosts


def test_svg_draws_a_ghost_dashed_with_its_label(weft, graphviz, tmp_path):
    out = tmp_path / "fan-out.svg"
    result = weft("graph", FAN_OUT, "--format", "svg", "-o", out)
    assert result.code == 0 and result.out == "", result.err
    nodes = svg_nodes(out.read_text(encoding="utf-8"))
    assert set(nodes) == {"plan", "ghost:plan"}
    assert dashed(nodes["ghost:plan"]) and not dashed(nodes["plan"])
    assert texts(nodes["ghost:plan"]) == ["anything may follow"]


def test_png_to_a_file_and_to_a_pipe(weft, graphviz, tmp_path):
    out = tmp_path / "four.png"
    result = weft("graph", EXAMPLES / "four-nodes.weft.yaml", "--format", "png", "--output", out)
    assert result.code == 0, result.err
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000
    # stdout that is not a terminal gets the bytes unchanged
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "graph", str(EXAMPLES / "four-nodes.weft.yaml"), "--format", "png"],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stdout == data


def test_png_refuses_a_terminal_as_stdout(graphviz):
    import pty

    main, sub = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "engine.cli.main", "graph", str(FAN_OUT), "--format", "png"],
            stdout=sub,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(sub)
        os.close(main)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "-o FILE" in proc.stderr


def test_svg_and_png_of_a_past_run_at_an_event(weft, graphviz, tmp_path):
    run = weft("run", FAN_OUT, "--json").json()["run"]
    early = weft("graph", run, "--at", "2", "--format", "svg")  # plan is running, nothing created yet
    assert early.code == 0, early.err
    nodes = svg_nodes(early.out)
    assert set(nodes) == {"plan", "ghost:plan"} and dashed(nodes["ghost:plan"])
    final = weft("graph", run, "--format", "svg")
    nodes = svg_nodes(final.out)
    assert set(nodes) == {"plan", "sum", *(f"square-{i}" for i in range(1, 6))}
    assert not any(dashed(g) for g in nodes.values())
    assert len(svg_edges(final.out)) == 5
    out = tmp_path / "run.png"
    assert weft("graph", run, "--at", "3", "--format", "png", "-o", out).code == 0
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_an_unwritable_output_is_one_line_exit_2(weft, graphviz, tmp_path):
    result = weft("graph", FAN_OUT, "--format", "svg", "-o", tmp_path / "no" / "such" / "dir.svg")
    assert result.code == 2 and result.err.count("\n") == 1 and "cannot write" in result.err


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_without_graphviz_svg_and_png_exit_2_in_one_line(home, tmp_path, fmt):
    """PATH stripped of every folder holding a `dot`: nothing else `weft graph` needs is lost."""
    path = os.pathsep.join(
        d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not os.access(os.path.join(d, "dot"), os.X_OK)
    )
    env = dict(os.environ, WEFT_HOME=str(home), PATH=path or str(tmp_path))
    out = tmp_path / f"picture.{fmt}"
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "graph", str(FAN_OUT), "--format", fmt, "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "install GraphViz" in proc.stderr and "--format dot|json" in proc.stderr
    assert not out.exists()
    # the formats Weft writes itself still work
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "graph", str(FAN_OUT), "--format", "dot"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stdout.startswith('digraph "fan-out"')


# -- the docs' pictures (docs/images/make.py) -------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PICTURES = DOCS / "images"
SUFFIX = ".weft.yaml"


def test_the_docs_pictures_script_draws_every_example(graphviz, tmp_path):
    out = tmp_path / "pictures"
    proc = subprocess.run(
        [sys.executable, str(PICTURES / "make.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    examples = sorted(EXAMPLES.glob(f"*{SUFFIX}"))
    assert examples
    for path in examples:
        name = path.name[: -len(SUFFIX)]
        loaded = load_file(path)
        run_nodes = expand(loaded).resolved  # a workflow: node is drawn as the nodes it becomes
        nodes = svg_nodes((out / f"{name}.svg").read_text(encoding="utf-8"))
        assert set(run_nodes) <= set(nodes), name
        assert all(dashed(g) == title.startswith("ghost:") for title, g in nodes.items()), name
        if any(node.dynamic for node in loaded.nodes.values()):
            final = svg_nodes((out / f"{name}-run-final.svg").read_text(encoding="utf-8"))
            assert set(run_nodes) <= set(final) and not any(dashed(g) for g in final.values()), name
    early = svg_nodes((out / "fan-out-run-early.svg").read_text(encoding="utf-8"))
    assert set(early) == {"plan", "ghost:plan"}
    grown = svg_nodes((out / "fan-out-run-grown.svg").read_text(encoding="utf-8"))
    assert {"sum", "square-5", "ghost:plan"} <= set(grown)  # plan still runs: its ghost is there
    final_text = (out / "fan-out-run-final.svg").read_text(encoding="utf-8")
    assert "fan-out run" in final_text and not re.search(r"r-\d{8}-\d{6}-", final_text)  # no run id in it


def test_every_example_and_every_picture_the_docs_show_is_in_docs_images():
    missing = [
        p.name[: -len(SUFFIX)] + ".svg"
        for p in EXAMPLES.glob(f"*{SUFFIX}")
        if not (PICTURES / (p.name[: -len(SUFFIX)] + ".svg")).exists()
    ]
    for page in DOCS.glob("*.md"):
        for ref in re.findall(r"\]\((images/[^)\s]+\.svg)\)", page.read_text(encoding="utf-8")):
            if not (DOCS / ref).exists():
                missing.append(f"{ref} (shown by {page.name})")
    assert not missing, f"run `python docs/images/make.py` and commit what it writes; missing: {missing}"
    for picture in PICTURES.glob("*.svg"):
        assert ET.parse(picture).getroot().tag == f"{SVG}svg", picture.name
