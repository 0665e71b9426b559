"""Library images on a real Docker engine: ``image: LIBRARY:NAME`` built FROM other library
images, parents first, reused while nothing changed, rebuilt when a parent changes; and a
library operator's script reaching its container."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest


def text(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def image_ids(client: Any, repository: str) -> dict[str, str]:
    return {tag: image.id for image in client.images.list(name=repository) for tag in image.tags}


@pytest.mark.docker
def test_an_image_tree_is_built_parents_first_cached_and_rebuilt_when_a_parent_changes(
    weft: Any, tmp_path: Path, docker_image: str, docker_client: Any
) -> None:
    project = tmp_path / "project"
    lib = project / "testlib"
    parent = text(lib / "images" / "parent" / "Dockerfile", "FROM weft:base\nRUN echo parent-1 > /parent.txt\n")
    text(lib / "images" / "child" / "Dockerfile", "FROM testlib:parent\nRUN echo child > /child.txt\n")
    text(
        lib / "tools.weft.yaml",
        """\
        weft: 1
        operators:
          layers:
            outputs: {seen: str}
            command: [python3, ops/layers.py]
        """,
    )
    text(
        lib / "ops" / "layers.py",
        "import weft_task as w\nw.output('seen', open('/parent.txt').read() + open('/child.txt').read())\n",
    )
    path = text(
        project / "wf.weft.yaml",
        """\
        weft: 1
        settings: {executor: docker, libraries: [testlib]}
        nodes:
          - {id: look, operator: "testlib:layers", image: "testlib:child"}
        """,
    )
    repositories = ("weft-build/testlib-parent", "weft-build/testlib-child")
    try:
        first = weft("run", path, "--json")
        assert first.code == 0 and first.json()["state"] == "succeeded", first.err
        shown = weft("show", "last", "--json").json()
        assert weft("show", "last").out.count("parent-1") == 1, shown
        built = {repo: image_ids(docker_client, repo) for repo in repositories}
        assert all(len(tags) == 1 for tags in built.values()), built

        again = weft("run", path, "--json")
        assert again.code == 0, again.err
        assert {repo: image_ids(docker_client, repo) for repo in repositories} == built  # nothing rebuilt

        parent.write_text("FROM weft:base\nRUN echo parent-2 > /parent.txt\n")
        changed = weft("run", path, "--json")
        assert changed.code == 0, changed.err
        assert "parent-2" in weft("show", "last").out
        after = {repo: image_ids(docker_client, repo) for repo in repositories}
        for repo in repositories:  # the child was rebuilt on the new parent, under a new tag
            assert len(after[repo]) == 2 and set(built[repo]) < set(after[repo]), after
    finally:
        for repo in repositories:
            for tag in image_ids(docker_client, repo):
                docker_client.images.remove(tag, force=True)


@pytest.mark.docker
def test_shipped_operators_run_in_containers(weft: Any, tmp_path: Path, docker_image: str) -> None:
    (tmp_path / "data.txt").write_text("a\nb\n")
    path = text(
        tmp_path / "wf.weft.yaml",
        """\
        weft: 1
        settings: {executor: docker}
        nodes:
          - id: snippet
            operator: weft:python
            image: weft:base
            params: {code: "import weft_task as w, os; w.output('result', os.environ['LANG'])"}
          - {id: read, operator: "weft:read", params: {path: data.txt}}
          - {id: lines, operator: "weft:lines"}
          - {id: joined, operator: "weft:join", params: {separator: "+"}}
        edges:
          - {from: read.text, to: lines.text}
          - {from: lines.lines, to: joined.lines}
        """,
    )
    done = weft("run", path, "--json")
    assert done.code == 0 and done.json()["state"] == "succeeded", done.err + weft("logs", "last").out
    shown = weft("show", "last").out
    assert "joined.text = a+b" in shown and "snippet.result = C.UTF-8" in shown, shown  # LANG from weft:base
