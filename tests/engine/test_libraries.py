"""Libraries (SPEC §10): ``operator: LIBRARY:NAME`` without imports, library folders from
``--library``, ``settings.libraries`` and the environment, located errors, and every operator
the project ships, each run once for real."""

from __future__ import annotations

import http.server
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.events import GraphChanged, NodeState, RunState
from engine.workflow.libraries import LibraryMiss, image_plan, libraries, resolve
from engine.workflow.loader import load_file
from tests.engine.conftest import states, view, wait_until


def text(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def library(folder: Path, **files: str) -> Path:
    """A library folder with operator files NAME.weft.yaml and scripts ops/NAME.py."""
    for name, body in files.items():
        where = folder / (f"ops/{name[4:]}.py" if name.startswith("ops_") else f"{name}.weft.yaml")
        text(where, body)
    return folder


TOOLS = """\
    weft: 1
    operators:
      shout:
        outputs: {said: str}
        command: [python3, ops/shout.py]
        params_schema:
          word: {type: str, default: hey}
    """
SHOUT = "import weft_task as w\nw.output('said', w.params['word'].upper())\n"


def test_a_shipped_operator_needs_no_import_and_brings_its_record_types(
    write: Callable[..., Path], run_file: Callable[..., Any]
) -> None:
    path = write(
        """\
        weft: 1
        nodes:
          - {id: read, operator: "weft:read", params: {path: words.txt}}
          - {id: count, operator: "weft:count"}
          - {id: report, operator: "weft:report"}
        edges:
          - {from: read.text, to: count.text}
          - {from: count.counts, to: report.counts}
          - {from: count.total, to: report.total}
        """
    )
    (path.parent / "words.txt").write_text("b a b\n")
    run = run_file(path)
    assert run.state is RunState.SUCCEEDED, states(run)
    assert run.outputs["report"]["summary"] == {"total": 3, "distinct": 2, "top": ["b", "a"]}


def test_unknown_library_item_and_ambiguous_names_are_located_and_nothing_is_recorded(
    tmp_path: Path, weft: Any, home: Path
) -> None:
    lib = library(tmp_path / "lib" / "twice", one=TOOLS, two=TOOLS, ops_shout=SHOUT)
    path = text(
        tmp_path / "wf.weft.yaml",
        """\
        weft: 1
        nodes:
          - id: a
            operator: nolib:read
          - id: b
            operator: weft:nothing
          - id: c
            operator: twice:shout
          - id: d
            operator: weft:reed
        """,
    )
    out = weft("run", path, "--library", lib)
    assert out.code == 2
    lines = out.err.splitlines()
    assert f"{path}:4:15: error: operator 'nolib:read': no library named 'nolib' (libraries: weft, my, twice)" in lines
    assert f"{path}:6:15: error: operator 'weft:nothing': library 'weft' has no operator 'nothing'" in lines
    assert (
        f"{path}:8:15: error: operator 'twice:shout': operator 'twice:shout' is defined by more than one file "
        "of the library: one.weft.yaml and two.weft.yaml" in lines
    )
    assert any(line.startswith(f"{path}:10:15:") and "did you mean 'read'" in line for line in lines), lines
    assert weft("runs", "--json").json() == []
    missing = weft("validate", path, "--library", tmp_path / "absent")
    assert missing.code == 2 and "is not a folder" in missing.err


def test_library_folders_from_the_command_line_settings_and_the_environment(
    tmp_path: Path, weft: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    library(project / "libs" / "mine", tools=TOOLS, ops_shout=SHOUT)
    library(tmp_path / "elsewhere" / "theirs", tools=TOOLS, ops_shout=SHOUT)
    declared = text(
        project / "declared.weft.yaml",
        """\
        weft: 1
        settings: {libraries: [libs/mine]}
        nodes:
          - {id: s, operator: "mine:shout", params: {word: hi}}
        """,
    )
    done = weft("run", declared, "--json")
    assert done.code == 0 and done.json()["state"] == "succeeded", done.err
    assert weft("show", "last", "--json").json()["nodes"][0]["operator"] == "mine:shout"

    given = text(project / "given.weft.yaml", "weft: 1\nnodes:\n  - {id: s, operator: 'theirs:shout'}\n")
    assert weft("validate", given).code == 2
    assert weft("validate", given, "--library", tmp_path / "elsewhere" / "theirs").code == 0
    monkeypatch.setenv("WEFT_LIBRARY_PATH", str(tmp_path / "elsewhere" / "theirs"))
    assert weft("validate", given).code == 0
    assert set(libraries()) == {"weft", "my", "theirs"}

    # A workflow handed to you may not name a library outside its own folder.
    escaping = text(
        project / "escaping.weft.yaml",
        """\
        weft: 1
        settings:
          libraries: [../elsewhere/theirs, /etc]
        nodes:
          - {id: s, command: [python3, -c, "pass"]}
        """,
    )
    refused = weft("validate", escaping)
    assert refused.code == 2
    assert f"{escaping}:3:15: error: library '../elsewhere/theirs' leaves the workflow's folder" in refused.err
    assert f"{escaping}:3:36: error: library '/etc' is an absolute path" in refused.err


def test_a_resumed_run_sees_the_libraries_it_was_started_with(tmp_path: Path, weft: Any, home: Path) -> None:
    lib = library(tmp_path / "libs" / "extra", tools=TOOLS, ops_shout=SHOUT)
    path = text(tmp_path / "wf.weft.yaml", "weft: 1\nnodes:\n  - {id: s, operator: 'extra:shout'}\n")
    assert weft("run", path, "--library", lib, "--json").code == 0
    assert weft("restart", "last", "s", "--json").json()["state"] == "succeeded"


def test_the_one_door_resolves_every_kind(tmp_path: Path) -> None:
    lib = library(tmp_path / "kinds", tools=TOOLS, ops_shout=SHOUT)
    text(lib / "flow.weft.yaml", "weft: 1\nnodes:\n  - {id: s, operator: 'kinds:shout'}\n")
    text(lib / "images" / "tiny" / "Dockerfile", "FROM weft:base\n")
    known = libraries([lib])
    assert resolve("operator", "kinds:shout", known) == (lib / "tools.weft.yaml").resolve()
    assert resolve("workflow", "kinds:flow", known) == (lib / "flow.weft.yaml").resolve()
    assert resolve("image", "kinds:tiny", known) == (lib / "images" / "tiny").resolve()
    with pytest.raises(LibraryMiss, match=r"library 'kinds' has no workflow 'flaw' \(workflows: flow\)"):
        resolve("workflow", "kinds:flaw", known)
    with pytest.raises(LibraryMiss, match=r"has no image 'huge' \(images: tiny\)"):
        resolve("image", "kinds:huge", known)
    assert [layer.ref for layer in image_plan("kinds:tiny", known).layers] == ["weft:base", "kinds:tiny"]


def test_a_cycle_of_from_lines_is_an_error_naming_the_chain(tmp_path: Path, weft: Any) -> None:
    lib = tmp_path / "loop"
    text(lib / "images" / "a" / "Dockerfile", "FROM loop:b\n")
    text(lib / "images" / "b" / "Dockerfile", "FROM loop:c AS build\nFROM weft:base\n")
    text(lib / "images" / "c" / "Dockerfile", "FROM loop:a\n")
    path = text(
        tmp_path / "wf.weft.yaml",
        """\
        weft: 1
        settings: {executor: docker, libraries: [loop]}
        nodes:
          - {id: s, command: [python3, -c, "pass"], image: "loop:a"}
          - {id: t, command: [python3, -c, "pass"], image: "loop:zzz"}
        """,
    )
    out = weft("validate", path)
    assert out.code == 2
    assert (
        f"{path}:4:53: error: image 'loop:a': images built FROM each other: loop:a -> loop:b -> loop:c -> loop:a"
        in out.err
    )
    assert f"{path}:5:53: error: image 'loop:zzz': library 'loop' has no image 'zzz' (images: a, b, c)" in out.err


# -- every shipped operator, once, for real ------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A local HTTP server on the loopback, serving one folder, stopped at the end."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "hello.txt").write_text("hello from the test server\n")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(root))  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_every_new_shipped_operator_runs(
    write: Callable[..., Path], run_file: Callable[..., Any], server: str, tmp_path: Path
) -> None:
    path = write(
        f"""\
        weft: 1
        nodes:
          - id: items
            operator: weft:python
            params: {{code: "import weft_task as w; w.output('result', ['a', 'b c', 'd'])"}}
          - id: each
            operator: weft:map
            params: {{command: [python3, -c, "import sys; print(sys.argv[1].upper())"], into: joined.lines}}
          - id: joined
            operator: weft:join
            params: {{separator: "|"}}
          - id: written
            operator: weft:write
            params: {{path: out/joined.txt}}
          - id: lines
            operator: weft:lines
          - id: fetched
            operator: weft:fetch
            params: {{url: "{server}/hello.txt"}}
          - id: missing
            operator: weft:fetch
            params: {{url: "{server}/nothing", allow_errors: true}}
          - id: sh
            operator: weft:shell
            params: {{script: "printf '%s' \\"$((6 * 7))\\" | tr 4 X"}}
          - id: argv
            operator: weft:command
            params: {{argv: [python3, -c, "import sys; print(len(sys.argv))", "a b; rm -rf /", "$HOME"]}}
        edges:
          - {{from: items.result, to: each.items}}
          - {{from: each, to: joined}}
          - {{from: joined.text, to: written.text}}
          - {{from: fetched.body, to: lines.text}}
        """
    )
    run = run_file(path)
    assert run.state is RunState.SUCCEEDED, states(run)
    out = run.outputs
    assert out["joined"]["text"] == "A\n|B C\n|D\n"
    assert out["each-join"]["results"] == ["A\n", "B C\n", "D\n"]
    assert (Path(run.workspace) / "out" / "joined.txt").read_text() == "A\n|B C\n|D\n"
    assert out["lines"]["lines"] == ["hello from the test server"]
    assert out["fetched"]["status"] == 200
    assert out["missing"]["status"] == 404
    assert out["sh"]["stdout"] == "X2"
    assert out["argv"]["stdout"] == "3\n"  # the arguments reached no shell: no split, no $HOME
    assert [p["shape"] for p in promises_of(run)] == ["each -> 'each-item-*'* -> 'each-join' -> joined"]


def test_a_failed_fetch_and_a_failing_snippet_fail_their_nodes(
    write: Callable[..., Path], run_file: Callable[..., Any], server: str
) -> None:
    path = write(
        f"""\
        weft: 1
        nodes:
          - {{id: gone, operator: "weft:fetch", params: {{url: "{server}/nothing"}}}}
          - {{id: scheme, operator: "weft:fetch", params: {{url: "file:///etc/passwd"}}}}
          - {{id: snippet, operator: "weft:python", params: {{code: "raise SystemExit(3)"}}}}
        """
    )
    run = run_file(path)
    assert states(run) == {"gone": "failed", "scheme": "failed", "snippet": "failed"}


def test_approve_asks_a_person_and_the_answer_becomes_its_outputs(
    tmp_path: Path, weft: Any, home: Path, started: Any
) -> None:
    path = text(
        tmp_path / "approve.weft.yaml",
        "weft: 1\nnodes:\n  - {id: gate, operator: 'weft:approve', params: {prompt: Ship it?}}\n",
    )
    proc, run_id = started(path)
    wait_until(lambda: view(home, run_id).nodes["gate"].state is NodeState.WAITING)
    assert view(home, run_id).nodes["gate"].question["prompt"] == "Ship it?"
    assert weft("answer", run_id, "gate", "--set", "approve=yes").code == 0
    proc.communicate(timeout=60)
    final = view(home, run_id)
    assert final.state is RunState.SUCCEEDED and final.nodes["gate"].outputs == {"approve": True}


def test_a_task_may_create_a_node_of_a_library_operator_the_text_never_named(
    write: Callable[..., Path], run_file: Callable[..., Any]
) -> None:
    path = write(
        """\
        weft: 1
        nodes:
          - {id: fan, operator: "weft:fan_out", params: {n: 2, operator: "weft:log"}}
          - {id: bad, operator: "weft:fan_out", params: {n: 1, operator: "weft:nope"}}
        """
    )
    run = run_file(path)
    assert states(run)["fan-1"] == "succeeded" and states(run)["fan-join"] == "succeeded"
    assert states(run)["bad"] == "failed"
    assert any("library 'weft' has no operator 'nope'" in line for line in run_logs(run, "bad"))


def run_logs(run: Any, node: str) -> list[str]:
    return [str(r.event) for r in run.store.events(run.id, node=node)]


def promises_of(run: Any) -> list[dict[str, Any]]:
    return [p for r in run.store.events(run.id, [GraphChanged]) for p in r.event.promises]


def test_loading_sees_a_changed_library_at_once(tmp_path: Path) -> None:
    lib = library(tmp_path / "live", tools=TOOLS, ops_shout=SHOUT)
    path = text(tmp_path / "wf.weft.yaml", "weft: 1\nnodes:\n  - {id: s, operator: 'live:shout'}\n")
    assert load_file(path, [lib]).workflow.library["live:shout"].outputs == {"said": "str"}
    text(lib / "tools.weft.yaml", TOOLS.replace("{said: str}", "{said: int}"))
    assert load_file(path, [lib]).workflow.library["live:shout"].outputs == {"said": "int"}


def nested_project(tmp_path: Path) -> tuple[Path, Path]:
    """A library `kit` (an operator and two workflows, `outer` naming `kit:inner` by the library's
    name and declaring no library of its own) and a folder of a workflow that uses it."""
    kit = library(tmp_path / "project" / "libs" / "kit", tools=TOOLS, ops_shout=SHOUT)
    text(kit / "outer.weft.yaml", "weft: 1\nnodes:\n  - {id: deeper, workflow: 'kit:inner'}\n")
    inner = "weft: 1\nnodes:\n  - {id: s, operator: 'kit:shout', params: {word: deep}}\n"
    text(kit / "inner.weft.yaml", inner)
    return tmp_path / "project", kit


def test_an_included_workflow_sees_the_libraries_of_the_workflow_that_includes_it(
    tmp_path: Path, weft: Any, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, kit = nested_project(tmp_path)
    declared = text(
        project / "top.weft.yaml",
        "weft: 1\nsettings: {libraries: [libs/kit]}\nnodes:\n  - {id: a, workflow: 'kit:outer'}\n",
    )
    done = weft("run", declared, "--json")
    assert done.code == 0 and done.json()["state"] == "succeeded", done.err
    show = weft("show", "last", "--json").json()
    by_id = {n["id"]: n for n in show["nodes"]}
    assert by_id["a/deeper/s"]["operator"] == "kit:shout" and by_id["a/deeper/s"]["state"] == "succeeded"
    assert show["outputs"]["a/deeper/s"] == {"said": "DEEP"}
    assert weft("restart", "last", "a/deeper/s", "--json").json()["state"] == "succeeded"  # recorded, found again

    # --library and $WEFT_LIBRARY_PATH reach every level as well
    bare = text(project / "bare.weft.yaml", "weft: 1\nnodes:\n  - {id: a, workflow: 'kit:outer'}\n")
    refused = weft("validate", bare)
    assert refused.code == 2 and f"{bare}:3:24: error: workflow: kit:outer: no library named 'kit'" in refused.err
    assert weft("validate", bare, "--library", kit).code == 0
    monkeypatch.setenv("WEFT_LIBRARY_PATH", str(kit))
    assert weft("validate", bare).code == 0
    monkeypatch.delenv("WEFT_LIBRARY_PATH")

    # without the including workflow, the library workflow alone does not know `kit`
    alone = weft("validate", kit / "outer.weft.yaml")
    assert alone.code == 2 and "workflow: kit:inner: no library named 'kit'" in alone.err


def test_an_included_workflows_own_libraries_add_names_and_stay_in_its_folder(tmp_path: Path, weft: Any) -> None:
    project, kit = nested_project(tmp_path)
    # `part` names a library of its own (`extra`), and one called `kit` too: the including
    # workflow's `kit` keeps its meaning inside (a name is one folder from the top down)
    library(project / "part" / "extra", tools=TOOLS.replace("shout", "whisper"), ops_whisper=SHOUT)
    text(project / "part" / "kit" / "inner.weft.yaml", "weft: 1\nnodes:\n  - {id: other, command: [python3, -c, '']}\n")
    text(
        project / "part" / "part.weft.yaml",
        """\
        weft: 1
        settings: {libraries: [extra, kit]}
        nodes:
          - {id: w, operator: "extra:whisper", params: {word: psst}}
          - {id: k, workflow: "kit:inner"}
        """,
    )
    top = text(
        project / "top.weft.yaml",
        "weft: 1\nsettings: {libraries: [libs/kit]}\nnodes:\n  - {id: p, workflow: part/part.weft.yaml}\n",
    )
    loaded = load_file(top)
    part = loaded.workflow.included["p"].workflow
    assert part.library_folders["kit"] == kit.resolve() and part.library_folders["extra"].name == "extra"
    assert [n.id for n in loaded.workflow.included["p"].workflow.included["k"].workflow.nodes] == ["s"]
    assert "extra" not in loaded.workflow.library_folders  # its names are its own, not the includer's

    # an included workflow's settings.libraries still may not leave its own folder
    text(
        project / "part" / "part.weft.yaml",
        "weft: 1\nsettings: {libraries: [../libs/kit]}\nnodes:\n  - {id: k, workflow: 'kit:inner'}\n",
    )
    refused = weft("validate", top)
    assert refused.code == 2
    assert f"{project / 'part' / 'part.weft.yaml'}:2:24: error: library '../libs/kit' leaves the workflow's folder" in (
        refused.err
    )
