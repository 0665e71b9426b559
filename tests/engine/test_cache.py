"""The cache (SPEC §9): a node with ``cache: true`` reuses an earlier succeeded attempt with an
equal key instead of running its task.

Everything runs through the real `weft` command line, real tasks and a real run database.
Every task appends its node's id to ``ran.txt`` (beside the workflow, named by no argv), so a
test sees exactly which tasks ran.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.history.store import SCHEMA, SCHEMA_VERSION, Store
from engine.workflow.loader import load_text
from engine.workflow.writer import write_text

#: A task: notes that it ran, reads the file named by its argument (if any) and an optional
#: file input, writes a file output and reports outputs that depend on all of it.
TASK = """
    import os, sys, weft_task as w
    here = os.path.dirname(os.path.abspath(__file__))
    open(os.path.join(here, "ran.txt"), "a").write(w.node + "\\n")
    text = open(sys.argv[1]).read() if len(sys.argv) > 1 else ""
    if w.inputs.get("data"):
        text += open(w.inputs["data"]).read()
    text += str(w.params.get("extra", "")) + os.environ.get("EXTRA", "")
    out = os.path.join(w.workspace, "out", w.node + ".txt")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    open(out, "w").write(text.upper())
    w.output("data", os.path.relpath(out, w.workspace))
    w.output("size", len(text))
"""

CHAIN = """
    weft: 1
    name: cached
    settings: {cache: true}
    operators:
      step:
        command: [python3, task.py]
        inputs: {data: file?}
        outputs: {data: file, size: int}
    nodes:
      - {id: a, command: [python3, task.py, input.txt], outputs: {data: file, size: int}}
      - {id: b, operator: step}
      - {id: c, operator: step}
      - {id: d, command: [python3, task.py, other.txt], outputs: {data: file, size: int}}
    edges:
      - {from: a.data, to: b.data}
      - {from: b.data, to: c.data}
"""


@pytest.fixture
def folder(write: Callable[..., Path]) -> Path:
    wf = write(CHAIN, task=TASK)
    (wf.parent / "input.txt").write_text("one")
    (wf.parent / "other.txt").write_text("two")
    return wf.parent


def ran(folder: Path) -> list[str]:
    """The nodes whose task ran since the last call."""
    path = folder / "ran.txt"
    if not path.exists():
        return []
    names = sorted(path.read_text().split())
    path.unlink()
    return names


def run(weft: Callable[..., Any], wf: Path, *extra: str) -> dict[str, Any]:
    result = weft("run", wf, "--json", *extra)
    assert result.code == 0, result.err
    show = weft("show", result.json()["run"], "--json")
    assert show.code == 0, show.err
    return show.json()


def cached(show: dict[str, Any]) -> dict[str, str | None]:
    return {n["id"]: n["cached_from"] for n in show["nodes"]}


def test_a_second_run_of_an_unchanged_workflow_starts_no_task(weft, folder: Path, home: Path) -> None:
    wf = folder / "wf.weft.yaml"
    first = run(weft, wf)
    assert ran(folder) == ["a", "b", "c", "d"]
    assert not any(n["cached"] for n in first["nodes"])

    second = run(weft, wf)
    assert ran(folder) == []
    assert second["state"] == "succeeded"
    assert cached(second) == dict.fromkeys("abcd", first["run"])
    for node in second["nodes"]:
        assert node["state"] == "succeeded" and node["cached"] is True
        assert node["started_at"] is None and node["finished_at"] is not None  # never running
    assert second["outputs"] == first["outputs"]
    # the output files are this run's own copies, where the outputs say
    for node in "abcd":
        copy = home / "workspaces" / second["run"] / "out" / f"{node}.txt"
        original = home / "workspaces" / first["run"] / "out" / f"{node}.txt"
        assert copy.read_text() == original.read_text() != ""
    assert (home / "workspaces" / second["run"] / "out" / "c.txt").read_text() == "ONE"

    text = weft("show", second["run"])
    assert f"ok        (cached from {first['run']})" in text.out
    logs = weft("logs", second["run"], "a").out
    assert f"result reused from run {first['run']} (cache)" in logs


def test_a_changed_file_reruns_exactly_the_nodes_downstream_of_it(weft, folder: Path) -> None:
    wf = folder / "wf.weft.yaml"
    run(weft, wf)
    ran(folder)
    (folder / "input.txt").write_text("changed")  # named by a's argv only
    show = run(weft, wf)
    assert ran(folder) == ["a", "b", "c"]  # b and c: their file input's content changed
    assert [n for n, source in cached(show).items() if source] == ["d"]
    assert show["outputs"]["c"]["size"] == len("CHANGED")

    (folder / "other.txt").write_text("also changed")
    run(weft, wf)
    assert ran(folder) == ["d"]


def test_the_same_file_output_content_is_a_hit_downstream(weft, folder: Path) -> None:
    """Inputs are keyed by content: a node re-run with the same result leaves its successors cached."""
    wf = folder / "wf.weft.yaml"
    run(weft, wf)
    ran(folder)
    (folder / "input.txt").write_text("one")  # rewritten, same bytes: a hit too
    (folder / "task.py").write_text(textwrap.dedent(TASK) + "\n# a comment\n")  # every node names it
    show = run(weft, wf)
    assert ran(folder) == ["a", "b", "c", "d"]
    assert show["outputs"]["c"]["size"] == len("ONE")


def test_params_and_env_are_in_the_key(weft, folder: Path) -> None:
    wf = folder / "wf.weft.yaml"
    run(weft, wf)
    ran(folder)
    text = wf.read_text()
    wf.write_text(text.replace("{id: d, command:", "{id: d, params: {extra: x}, command:"))
    show = run(weft, wf)
    assert ran(folder) == ["d"]
    assert show["outputs"]["d"]["size"] == len("twox")
    wf.write_text(text.replace("{id: b, operator: step}", "{id: b, operator: step, env: {EXTRA: y}}"))
    run(weft, wf)
    assert ran(folder) == ["b", "c"]  # d's params are as in the first run again: that result is reused


def test_no_cache_runs_every_task_and_clear_empties_the_cache(weft, folder: Path) -> None:
    wf = folder / "wf.weft.yaml"
    run(weft, wf)
    ran(folder)
    show = run(weft, wf, "--no-cache")
    assert ran(folder) == ["a", "b", "c", "d"]
    assert not any(cached(show).values())
    assert run(weft, wf)["nodes"][0]["cached_from"] == show["run"]  # --no-cache stored fresh results
    assert ran(folder) == []

    cleared = weft("cache", "clear", "--json")
    assert cleared.code == 0 and cleared.json() == {"removed": 4}
    assert weft("cache", "clear").out == "cache cleared: 0 results removed\n"
    run(weft, wf)
    assert ran(folder) == ["a", "b", "c", "d"]


FAIL = """
    import os
    open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ran.txt"), "a").write("broken\\n")
    raise SystemExit(3)
"""


def test_a_node_without_cache_always_runs_and_a_failed_one_is_never_stored(weft, write: Callable[..., Path]) -> None:
    wf = write(
        """
        weft: 1
        name: mixed
        operators:
          step: {command: [python3, task.py], outputs: {data: file, size: int}}
        nodes:
          - {id: kept, operator: step, cache: true}
          - {id: fresh, operator: step}
          - {id: broken, command: [python3, fail.py], cache: true}
        """,
        task=TASK,
        fail=FAIL,
    )
    for attempt in range(2):
        result = weft("run", wf, "--json")
        assert result.code == 1
        assert ran(wf.parent) == (["broken", "fresh", "kept"] if attempt == 0 else ["broken", "fresh"])


def test_missing_output_files_of_the_earlier_run_are_a_miss(weft, folder: Path, home: Path) -> None:
    wf = folder / "wf.weft.yaml"
    first = run(weft, wf)
    ran(folder)
    (home / "workspaces" / first["run"] / "out" / "b.txt").unlink()
    show = run(weft, wf)
    assert ran(folder) == ["b"]  # c's input has the same content again: a hit
    assert cached(show)["c"] == first["run"]


def test_files_outside_the_workflow_folder_are_not_in_the_key(weft, write: Callable[..., Path], tmp_path: Path) -> None:
    outside = tmp_path.parent / f"outside-{uuid.uuid4().hex}.txt"
    outside.write_text("one")
    try:
        wf = write(
            f"""
            weft: 1
            name: outside
            nodes:
              - {{id: a, command: [python3, task.py, link.txt], cache: true, outputs: {{data: file, size: int}}}}
              - {{id: b, command: [python3, task.py, {outside}], cache: true, outputs: {{data: file, size: int}}}}
            """,
            task=TASK,
        )
        (wf.parent / "link.txt").symlink_to(outside)
        run(weft, wf)
        assert ran(wf.parent) == ["a", "b"]
        outside.write_text("changed")  # neither the link nor the absolute path is followed out
        run(weft, wf)
        assert ran(wf.parent) == []
    finally:
        outside.unlink()


DYNAMIC = """
    weft: 1
    name: dynamic
    settings: {cache: true}
    nodes:
      - {id: plan, command: [python3, plan.py], dynamic: true, params: {n: 2}}
    promises: []
"""

PLAN = """
    import os, weft_task as w
    open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ran.txt"), "a").write("plan\\n")
    n = w.params["n"]
    w.mutate(nodes=[{"id": f"x{i}", "command": ["python3", "task.py"], "outputs": {"data": "file", "size": "int"}}
                    for i in range(n)], edges=[{"from": "plan", "to": f"x{i}"} for i in range(n)])
    w.add_node({"id": "last", "command": ["python3", "task.py"], "outputs": {"data": "file", "size": "int"}})
"""


def test_a_cached_dynamic_node_replays_its_changes_and_the_created_nodes_run(
    weft, write: Callable[..., Path], home: Path
) -> None:
    wf = write(DYNAMIC, plan=PLAN, task=TASK)
    first = run(weft, wf)
    assert ran(wf.parent) == ["last", "plan", "x0", "x1"]
    assert first["state"] == "succeeded"

    second = run(weft, wf)
    assert ran(wf.parent) == []  # the created nodes found their own results too
    assert {n["id"]: (n["created_by"], n["cached_from"]) for n in second["nodes"]} == {
        "plan": (None, first["run"]),
        "x0": ("plan", first["run"]),
        "x1": ("plan", first["run"]),
        "last": ("plan", first["run"]),
    }
    assert {(e["from"], e["to"]) for e in second["edges"]} == {("plan", "x0"), ("plan", "x1")}

    weft("cache", "clear")
    run(weft, wf)
    ran(wf.parent)
    # the created nodes' results dropped: plan's changes replay, then x0, x1 and last run
    store = Store(home)
    try:
        with store._tx():
            store.conn.execute("DELETE FROM cache WHERE node != 'plan'")
    finally:
        store.close()
    third = run(weft, wf)
    assert ran(wf.parent) == ["last", "x0", "x1"]
    assert cached(third)["plan"] is not None and cached(third)["x0"] is None


def test_a_replayed_change_that_breaks_a_promise_of_the_changed_workflow_breaks_the_run(
    weft, write: Callable[..., Path]
) -> None:
    wf = write(DYNAMIC, plan=PLAN, task=TASK)
    first = run(weft, wf)
    ran(wf.parent)
    wf.write_text(wf.read_text().replace("promises: []", "promises:\n      - {id: few, max_nodes: {max: 1}}"))
    result = weft("run", wf, "--json")
    assert result.code == 3, result.err
    show = weft("show", result.json()["run"], "--json").json()
    assert ran(wf.parent) == []
    assert show["state"] == "broken"
    assert show["broken"]["promise"] == "few" and show["broken"]["task"] == "plan"
    plan = next(n for n in show["nodes"] if n["id"] == "plan")
    assert plan["state"] == "failed" and plan["cached_from"] is None
    assert "broke a promise" in plan["reason"]
    assert [n["id"] for n in show["nodes"]] == ["plan"]  # nothing of the refused change was applied
    assert first["state"] == "succeeded"


def test_a_refused_replayed_change_fails_the_node(weft, write: Callable[..., Path]) -> None:
    wf = write(DYNAMIC, plan=PLAN, task=TASK)
    run(weft, wf)
    ran(wf.parent)
    text = wf.read_text().replace("promises: []\n", "")
    wf.write_text(text + "  - {id: x0, command: [python3, task.py], outputs: {data: file, size: int}}\n")  # rule 1
    result = weft("run", wf, "--json")
    assert result.code == 1
    show = weft("show", result.json()["run"], "--json").json()
    plan = next(n for n in show["nodes"] if n["id"] == "plan")
    assert plan["state"] == "failed" and "refused mutation" in plan["reason"]
    assert ran(wf.parent) == []  # the workflow's x0 has the key of the x0 plan created: a hit


def test_cache_is_kept_when_a_workflow_is_written_back() -> None:
    text = textwrap.dedent(
        """
        weft: 1
        name: round
        settings: {cache: true}
        operators:
          op: {command: [python3, x.py], cache: false}
        nodes:
          - {id: a, operator: op}
          - {id: b, operator: op, cache: true}
          - {id: c, command: [python3, y.py]}
        """
    )
    loaded = load_text(text, "round.weft.yaml")
    again = load_text(write_text(loaded.workflow), "again.weft.yaml")
    assert again.workflow == loaded.workflow
    assert {n: r.cache for n, r in again.nodes.items()} == {"a": False, "b": True, "c": True}


def test_an_older_database_of_the_same_format_gains_the_cache_table(home: Path) -> None:
    conn = sqlite3.connect(home / "weft.db")
    for statement in SCHEMA:
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    conn.commit()
    conn.close()
    store = Store(home)
    try:
        assert store.cached("nothing") is None
        assert store.clear_cache() == 0
    finally:
        store.close()


def test_a_docker_node_is_keyed_by_the_id_of_its_image(
    weft, write: Callable[..., Path], docker_client: Any, docker_image: str
) -> None:
    tag = f"weft-cache-test:{uuid.uuid4().hex[:12]}"
    docker_client.images.get(docker_image).tag(tag)
    try:
        wf = write(
            f"""
            weft: 1
            name: in-docker
            nodes:
              - id: a
                executor: docker
                image: {tag}
                cache: true
                command: [python3, -c, "import weft_task as w; w.output('n', 1)"]
                outputs: {{n: int}}
            """
        )
        first = run(weft, wf)
        assert cached(first) == {"a": None}
        assert cached(run(weft, wf)) == {"a": first["run"]}
        # the same tag on another image: another key
        build = wf.parent / "other-image"
        build.mkdir()
        (build / "Dockerfile").write_text(f"FROM {docker_image}\nLABEL weft.test={uuid.uuid4().hex}\n")
        subprocess.run(["docker", "build", "-q", "-t", tag, str(build)], check=True, capture_output=True)
        third = run(weft, wf)
        assert cached(third) == {"a": None}
        assert cached(run(weft, wf)) == {"a": third["run"]}
    finally:
        docker_client.images.remove(tag, force=True)  # the built image goes with its only tag


def test_show_json_has_the_cache_fields_for_every_node(weft, folder: Path) -> None:
    show = run(weft, folder / "wf.weft.yaml")
    assert all(set(n) >= {"cached", "cached_from"} for n in show["nodes"])
    json.dumps(show)


def test_a_restarted_node_runs_for_real_and_an_answered_one_is_never_stored(weft, folder: Path, home: Path) -> None:
    """Restart means run again: a restarted node skips the cache (its downstream too). A node
    that asked a person is not stored: the next run asks again."""
    wf = folder / "wf.weft.yaml"
    first = run(weft, wf)
    ran(folder)
    again = weft("restart", first["run"], "b", "--json")
    assert again.code == 0, again.err
    assert ran(folder) == ["b", "c"]

    (folder / "ask.py").write_text(
        "import weft_task as w\nopen('ran.txt', 'a').write('gate\\n')\nw.ask('Go?', {'go': 'bool'})\n"
    )
    gate = folder / "gate.weft.yaml"
    gate.write_text(
        "weft: 1\nname: gate\nsettings: {cache: true}\n"
        "nodes:\n  - {id: gate, command: [python3, ask.py], outputs: {go: bool}}\n"
    )
    env = dict(os.environ, WEFT_HOME=str(home))
    for _ in range(2):
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", "run", str(gate), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            deadline = time.monotonic() + 30
            while "asks: Go?" not in weft("show", "last").out:
                assert time.monotonic() < deadline, "the node never asked"
                time.sleep(0.05)
            assert weft("answer", "last", "gate", "--set", "go=yes").code == 0
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        assert ran(folder) == ["gate"]  # asked both times
