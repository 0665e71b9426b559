"""Three levels of workflows, for real (resources/examples/library-nesting.weft.yaml): the top
workflow uses the library workflow `numbers:summary` twice, which includes `square-sum`, a map
under a shape promise. Through the `weft` command line, locally and on Docker: values flow in
and out, ids are prefixed, promises hold; an inner node that fails, then `weft restart` of it.
Then run control inside the nesting: kill -9 and `weft resume`, and the cache (also when a data
file changes)."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.events import NodeState, RunState
from tests.conftest import EXAMPLES, containers_of
from tests.engine.conftest import view, wait_until
from tests.engine.test_crash_resume import processes_of

EXAMPLE = "library-nesting.weft.yaml"
EXECUTORS = ["local", pytest.param("docker", marks=pytest.mark.docker)]

LEFT = ["left/squares/plan", "left/squares/m-1", "left/squares/m-2", "left/squares/m-3", "left/squares/sum"]
LEFT += ["left/squares/join", "left/describe"]
RIGHT = ["right/squares/plan", "right/squares/m-1", "right/squares/m-2", "right/squares/sum"]
RIGHT += ["right/squares/join", "right/describe"]


@pytest.fixture(params=EXECUTORS)
def executor(request: pytest.FixtureRequest) -> str:
    if request.param == "docker":
        request.getfixturevalue("docker_image")
    return str(request.param)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the examples folder (the tests change its files), and the example in it."""
    folder = tmp_path / "examples"
    shutil.copytree(EXAMPLES, folder)
    return folder / EXAMPLE


def run(weft: Any, path: Path, executor: str, *extra: str) -> tuple[int, dict[str, Any]]:
    result = weft("run", path, "--executor", executor, "--json", *extra, timeout=300)
    assert result.out, result.err
    return result.code, weft("show", result.json()["run"], "--json").json()


def states(show: dict[str, Any]) -> dict[str, str]:
    return {n["id"]: n["state"] for n in show["nodes"]}


def test_three_levels_run_with_prefixed_ids_values_and_promises(
    weft: Any, home: Path, example: Path, executor: str, request: pytest.FixtureRequest
) -> None:
    code, show = run(weft, example, executor)
    assert code == 0 and show["state"] == "succeeded", states(show)
    assert show["broken"] is None
    by_id = {n["id"]: n for n in show["nodes"]}
    groups = ["left", "left/squares", "right", "right/squares"]
    assert set(by_id) == {"files", "report", *groups, *LEFT, *RIGHT}
    assert all(n["state"] == "succeeded" for n in show["nodes"]), states(show)
    # ids prefixed by where they sit; nodes created inside know their creator and their group
    assert by_id["left/squares/m-3"]["created_by"] == "left/squares/plan"
    assert by_id["left/squares/m-3"]["group"] == "left/squares" and by_id["left/squares"]["group"] == "left"
    assert set(by_id["left"]["members"]) == set(LEFT)
    assert set(by_id["right/squares"]["members"]) == set(RIGHT) - {"right/describe"}
    # values flow in (the two paths) and out (sums and lines), through every level
    outputs = show["outputs"]
    assert outputs["left/squares/join"] == {"total": 1 + 4 + 9, "count": 3}
    assert outputs["right/squares/join"] == {"total": 16 + 25, "count": 2}
    assert outputs["left/describe"]["line"] == "data/left-numbers.txt: 3 numbers, sum of squares 14"
    assert outputs["report"] == {"total": 55}
    assert "data/right-numbers.txt: 2 numbers, sum of squares 41" in weft("logs", show["run"], "report").out
    # the included workflows' promises, registered and made at run time, hold over their own nodes
    promises = {(p["id"], yaml.safe_dump(p, sort_keys=True)) for p in show["promises"]}
    for side in ("left", "right"):
        only = {"id": "only-squares-and-a-sum", "only_nodes": {"match": [f"{side}/squares/m-*", f"{side}/squares/sum"]}}
        only["only_nodes"]["by"] = f"{side}/squares/*"  # type: ignore[index]
        assert ("only-squares-and-a-sum", yaml.safe_dump(only, sort_keys=True)) in promises, show["promises"]
        shape = {"id": "map", "shape": f"{side}/squares/plan -> square* -> {side}/squares/sum -> {side}/squares/join"}
        shape["by"] = f"{side}/squares/*"
        assert ("map", yaml.safe_dump(shape, sort_keys=True)) in promises, show["promises"]
    if executor == "docker":
        assert containers_of(request.getfixturevalue("docker_client"), show["run"]) == []


FAILING_SQUARE = """\
import sys

import weft_task as weft

x = weft.params["x"]
if x == 2:
    sys.exit(f"cannot square {x}")
weft.output("y", x * x)
"""


def test_an_inner_node_fails_and_restarting_it_reruns_only_it_and_downstream(
    weft: Any, home: Path, example: Path, executor: str
) -> None:
    """A created node two levels down fails (only the left file has a 2); fixing its script and
    restarting it runs it and what depends on it again, across the group boundaries."""
    square = example.parent / "numbers" / "ops" / "square.py"
    good = square.read_text()
    square.write_text(FAILING_SQUARE)
    code, show = run(weft, example, executor)
    assert code == 1 and show["state"] == "failed"
    st = states(show)
    assert st["left/squares/m-2"] == "failed"
    assert "exited with code 1" in {n["id"]: n for n in show["nodes"]}["left/squares/m-2"]["reason"]
    for node in ("left/squares/sum", "left/squares/join", "left/describe", "report"):  # out of the group too
        assert st[node] == "skipped", (node, st)
    assert all(st[n] == "succeeded" for n in RIGHT), st
    assert st["left"] == "failed" and st["left/squares"] == "failed" and st["right"] == "succeeded"
    assert "cannot square 2" in weft("logs", show["run"], "left/squares/m-2").out
    run_id = show["run"]
    before = view(home, run_id)

    square.write_text(good)
    again = weft("restart", run_id, "left/squares/m-2", "--json", timeout=300)
    assert again.code == 0, again.err
    after = view(home, run_id)
    assert after.state is RunState.SUCCEEDED
    assert after.nodes["left/squares/m-2"].attempt == 2
    for node in ("left/squares/sum", "left/squares/join", "left/describe", "report"):  # downstream, across groups
        assert after.nodes[node].state is NodeState.SUCCEEDED and after.nodes[node].attempt == 1, node
        assert after.nodes[node].started_at is not None
    for node in ["files", "left/squares/plan", "left/squares/m-1", "left/squares/m-3", *RIGHT]:  # never again
        assert after.nodes[node].attempt == 1, node
        assert after.nodes[node].started_at == before.nodes[node].started_at, node
    assert after.nodes["left/squares/m-2"].created_by == "left/squares/plan"
    assert after.nodes["report"].outputs == {"total": 55}
    assert after.group_state("left") is NodeState.SUCCEEDED
    shown = weft("show", run_id, "--json").json()
    assert shown["state"] == "succeeded" and states(shown)["left/squares"] == "succeeded"


# -- run control inside the nesting ------------------------------------------------------------

SLOW_SQUARE = "import time, weft_task as weft\ntime.sleep(0.2)\nweft.output('y', weft.params['x'] ** 2)\n"


def test_kill_9_in_the_middle_of_a_nested_run_then_resume(weft: Any, home: Path, example: Path, started: Any) -> None:
    """Many slow squares inside both uses; the engine is killed once some have succeeded."""
    folder = example.parent
    (folder / "numbers" / "ops" / "square.py").write_text(SLOW_SQUARE)
    (folder / "data" / "left-numbers.txt").write_text("".join(f"{i}\n" for i in range(1, 21)))
    (folder / "data" / "right-numbers.txt").write_text("".join(f"{i}\n" for i in range(21, 41)))
    data = yaml.safe_load(example.read_text())
    data["settings"]["max_parallel"] = 2
    example.write_text(yaml.safe_dump(data, sort_keys=False))
    proc, run_id = started(example)

    def some_squares_done() -> bool:
        assert proc.poll() is None, weft("show", run_id).out
        done = [n for n, r in view(home, run_id).nodes.items() if "/m-" in n and r.state is NodeState.SUCCEEDED]
        return len(done) >= 6

    wait_until(some_squares_done, timeout=60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = view(home, run_id)
    assert weft("show", run_id, "--json").json()["state"] == "interrupted"
    resumed = weft("resume", run_id, "--json", timeout=120)
    assert resumed.code == 0 and resumed.json() == {"run": run_id, "state": "succeeded"}, resumed.err
    after = view(home, run_id)
    done_before = [n for n, r in before.nodes.items() if r.state is NodeState.SUCCEEDED]
    assert any("/m-" in n for n in done_before) and "left/squares/plan" in done_before
    for node in done_before:  # no succeeded inner node starts again
        assert after.nodes[node].attempt == 1, node
        assert after.nodes[node].started_at == before.nodes[node].started_at, node
    assert all(r.state is NodeState.SUCCEEDED for r in after.nodes.values())
    assert after.nodes["report"].outputs == {"total": sum(i * i for i in range(1, 41))}
    assert sum(1 for n in after.nodes if n.startswith("left/squares/m-")) == 20  # created once, not twice
    wait_until(lambda: processes_of(run_id) == [], timeout=10)


def started_tasks(weft: Any, run_id: str) -> set[str]:
    """The nodes of a run whose task started (a cache hit starts none)."""
    show = weft("show", run_id, "--json").json()
    return {n["id"] for n in show["nodes"] if n.get("started_at") and not n.get("cached") and "members" not in n}


def test_the_cache_reuses_a_whole_nested_workflow_and_reruns_exactly_what_changed(
    weft: Any, home: Path, example: Path
) -> None:
    data = yaml.safe_load(example.read_text())
    data["settings"]["cache"] = True  # for every node, those of the included workflows too
    example.write_text(yaml.safe_dump(data, sort_keys=False))
    code, first = run(weft, example, "local")
    assert code == 0
    assert started_tasks(weft, first["run"]) == {"files", "report", *LEFT, *RIGHT}

    code, second = run(weft, example, "local")
    assert code == 0 and second["outputs"]["report"] == {"total": 55}
    assert started_tasks(weft, second["run"]) == set()  # an unchanged nested workflow starts no task
    assert all(n.get("cached") for n in second["nodes"] if "members" not in n), states(second)

    describe = example.parent / "numbers" / "ops" / "describe.py"
    describe.write_text(describe.read_text().replace("sum of squares", "squares add up to"))
    code, third = run(weft, example, "local")
    assert code == 0
    # the script is named by both uses' `describe`; what follows them (report) sees new lines
    assert started_tasks(weft, third["run"]) == {"left/describe", "right/describe", "report"}
    assert third["outputs"]["left/describe"]["line"] == "data/left-numbers.txt: 3 numbers, squares add up to 14"


def test_under_the_cache_an_edited_data_file_reruns_exactly_the_nodes_that_read_it(
    weft: Any, home: Path, example: Path
) -> None:
    """`files` names the data files in its argv (its key covers their content) and hands them on
    as `file` values (keyed by content too): a stale `plan` is never reused."""
    data = yaml.safe_load(example.read_text())
    data["settings"]["cache"] = True
    example.write_text(yaml.safe_dump(data, sort_keys=False))
    code, first = run(weft, example, "local")
    assert code == 0 and first["outputs"]["report"] == {"total": 55}

    (example.parent / "data" / "left-numbers.txt").write_text("1\n2\n4\n")  # 3 -> 4: only m-3 changes
    code, second = run(weft, example, "local")
    assert code == 0 and second["outputs"]["report"] == {"total": 1 + 4 + 16 + 41}
    changed = {"left/squares/plan", "left/squares/m-3", "left/squares/sum", "left/squares/join", "left/describe"}
    assert started_tasks(weft, second["run"]) == {"files", *changed, "report"}
    assert second["outputs"]["left/describe"]["line"] == "data/left-numbers.txt: 3 numbers, sum of squares 21"

    (example.parent / "data" / "right-numbers.txt").write_text("4\n5\n6\n")  # one number more
    code, third = run(weft, example, "local")
    assert code == 0 and third["outputs"]["report"] == {"total": 21 + 16 + 25 + 36}
    assert {n for n in started_tasks(weft, third["run"]) if n.startswith("left")} == set()
    assert "right/squares/m-3" in started_tasks(weft, third["run"])


def test_restart_and_resume_load_the_included_files_the_run_started_with(weft: Any, home: Path, example: Path) -> None:
    """The top file's text is kept with the run; so are the texts of the files it includes, at
    every depth: editing (or breaking) them afterwards changes nothing for that run."""
    data = example.parent / "data" / "left-numbers.txt"
    data.write_text("1\ntwo\n3\n")
    code, show = run(weft, example, "local")
    assert code == 1
    run_id = show["run"]
    summary = example.parent / "numbers" / "summary.weft.yaml"
    square_sum = example.parent / "numbers" / "square-sum.weft.yaml"
    summary.write_text("weft: 1\nnodes: [\n")  # not even YAML any more
    square_sum.write_text(square_sum.read_text().replace("id: join", "id: gather").replace("join.", "gather."))
    assert weft("validate", example).code == 2
    # the planner reads the copy `files` made in the workspace: fix the file, restart `files`
    assert "line 2 of data/left-numbers.txt is not a whole number" in weft("logs", run_id, "left/squares/plan").out
    data.write_text("1\n2\n3\n")
    again = weft("restart", run_id, "files", "--json", timeout=120)
    assert again.code == 0, again.err
    after = view(home, run_id)
    assert after.nodes["left/squares/join"].state is NodeState.SUCCEEDED  # the ids it started with
    assert "left/squares/gather" not in after.nodes
    assert after.nodes["report"].outputs == {"total": 55}
