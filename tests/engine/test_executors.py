"""Every executor runs the same workflows to the same end: graphs, states, reasons, outputs.

Each case runs through the real `weft` command line with the local executor, with the docker
executor (a fresh container per task), with the docker executor in warm containers
(`warm: true` added to every operator and inline node), and with the ray executor on a real
two-node cluster (tests/raycluster.py). A docker or ray case also runs the local executor and
compares what both recorded, and checks that no container or process of the run is left,
whatever the run's outcome. Every example in resources/examples runs this way, the random
ones too: their tasks' random generators are seeded by node id, so both executors make the
same choices.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.events import LogLine, NodeStateChanged, Progress
from engine.executors.local import tasks_of
from tests.conftest import EXAMPLES, CliResult, containers_of

GROW = Path(__file__).parent / "workflows" / "grow.py"

EXECUTORS = [
    "local",
    pytest.param("docker", marks=pytest.mark.docker),
    pytest.param("docker-warm", marks=pytest.mark.docker),
    pytest.param("ray", marks=pytest.mark.ray),
]


@pytest.fixture(params=EXECUTORS)
def executor(request: pytest.FixtureRequest) -> str:
    if request.param == "ray":
        request.getfixturevalue("ray_address")
    elif request.param != "local":
        request.getfixturevalue("docker_image")
    return request.param


def executor_option(executor: str) -> str:
    return "docker" if executor.startswith("docker") else executor


def make_warm(path: Path) -> None:
    """Mark every operator and every inline node of the workflow at ``path`` warm."""
    data = yaml.safe_load(path.read_text())
    for operator in (data.get("operators") or {}).values():
        operator["warm"] = True
    for node in data.get("nodes") or []:
        if "operator" not in node and "workflow" not in node:  # a workflow: node says only its ports
            node["warm"] = True
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def prepare(folder: Path, name: str, executor: str) -> Path:
    path = folder / name
    if executor == "docker-warm":
        make_warm(path)
    return path


def copy_examples(tmp_path: Path, executor: str) -> Path:
    target = tmp_path / f"examples-{executor}"
    shutil.copytree(EXAMPLES, target)
    return target


SEED = """
import os, random
if os.environ.get("WEFT_NODE"):
    random.seed("weft-test:" + os.environ["WEFT_NODE"])
"""


def seeded(path: Path) -> Path:
    """Make the tasks of the workflow at ``path`` choose the same at random on every executor.

    A ``sitecustomize`` module seeds Python's generator with the node id; ``PYTHONPATH=seed``
    (relative: the working folder is the workflow's, locally and in a container) loads it.
    """
    (path.parent / "seed").mkdir(exist_ok=True)
    (path.parent / "seed" / "sitecustomize.py").write_text(SEED)
    data = yaml.safe_load(path.read_text())
    nodes = [n for n in data.get("nodes") or [] if "workflow" not in n]  # a workflow: node runs no task itself
    for spec in [*(data.get("operators") or {}).values(), *nodes]:
        spec["env"] = {**(spec.get("env") or {}), "PYTHONPATH": "seed"}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run(weft, path: Path, executor: str, *extra: str) -> tuple[CliResult, dict[str, Any]]:
    result = weft("run", path, "--executor", executor_option(executor), "--json", *extra)
    assert result.out, result.err
    show = weft("show", result.json()["run"], "--json").json()
    return result, show


def fingerprint(show: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on the executor: states, reasons, graph, outputs, the break."""
    broken = show["broken"]
    return {
        "state": show["state"],
        "nodes": {n["id"]: (n["state"], n["operator"], n["created_by"], n["reason"]) for n in show["nodes"]},
        "edges": sorted((e["from"], e["to"]) for e in show["edges"]),
        "outputs": show["outputs"],
        "broken": None if broken is None else (broken["task"], broken["promise"], broken["reason"]),
    }


def check_same_as_local(
    weft, folder_of_local: Path, name: str, executor: str, show: dict[str, Any], docker_client: Any | None, *extra: str
) -> None:
    if executor == "local":
        return
    assert left_of(docker_client, show["run"]) == []
    _, local = run(weft, folder_of_local / name, "local", *extra)
    assert fingerprint(show) == fingerprint(local)


def left_of(docker_client: Any | None, run_id: str) -> list[Any]:
    """What a run left behind: its containers (docker), or its tasks' processes (ray's nodes
    are on this machine)."""
    return tasks_of(run_id) if docker_client is None else containers_of(docker_client, run_id)


@pytest.fixture
def client(executor: str, request: pytest.FixtureRequest) -> Any | None:
    return request.getfixturevalue("docker_client") if executor.startswith("docker") else None


# -- the examples ---------------------------------------------------------------------------


def test_four_nodes(weft, tmp_path, executor, client):
    folder = copy_examples(tmp_path, executor)
    result, show = run(weft, prepare(folder, "four-nodes.weft.yaml", executor), executor)
    assert result.code == 0 and show["state"] == "succeeded"
    assert {n["id"]: n["state"] for n in show["nodes"]} == dict.fromkeys(["start", "1", "2", "end"], "succeeded")
    assert sorted((e["from"], e["to"]) for e in show["edges"]) == [("2", "end"), ("start", "1"), ("start", "2")]
    check_same_as_local(weft, EXAMPLES, "four-nodes.weft.yaml", executor, show, client)


def test_word_count_with_a_file_output(weft, home, tmp_path, executor, client):
    folder = copy_examples(tmp_path, executor)
    result, show = run(weft, prepare(folder, "word-count.weft.yaml", executor), executor)
    assert result.code == 0 and show["state"] == "succeeded"
    states = {n["id"]: n["state"] for n in show["nodes"]}
    assert states == {"read": "succeeded", "count": "succeeded", "report": "succeeded", "too-short": "skipped"}
    assert show["outputs"]["read"]["copy"] == "input.txt"  # stored relative to the workspace
    text = (EXAMPLES / "data" / "words.txt").read_text()
    assert (home / "workspaces" / show["run"] / "input.txt").read_text() == text
    assert show["outputs"]["report"]["summary"]["top"][0] == "the"
    logs = weft("logs", show["run"], "report").out
    assert "most common: the" in logs
    check_same_as_local(weft, EXAMPLES, "word-count.weft.yaml", executor, show, client)


def test_fan_out_creates_its_nodes_at_run_time(weft, tmp_path, executor, client):
    folder = copy_examples(tmp_path, executor)
    result, show = run(weft, prepare(folder, "fan-out.weft.yaml", executor), executor)
    assert result.code == 0 and show["state"] == "succeeded"
    assert len(show["nodes"]) == 7 and len(show["edges"]) == 5
    assert all(n["created_by"] == "plan" for n in show["nodes"] if n["id"] != "plan")
    assert show["outputs"]["sum"]["total"] == 1 + 4 + 9 + 16 + 25
    check_same_as_local(weft, EXAMPLES, "fan-out.weft.yaml", executor, show, client)


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.weft.yaml")))
@pytest.mark.parametrize(
    "variant", [pytest.param("docker", marks=pytest.mark.docker), pytest.param("docker-warm", marks=pytest.mark.docker)]
)
def test_every_example_ends_alike_on_docker(weft, tmp_path, example, variant, docker_image, docker_client):
    local_folder, docker_folder = copy_examples(tmp_path, "local"), copy_examples(tmp_path, variant)
    _, local = run(weft, seeded(local_folder / example), "local")
    _, show = run(weft, seeded(prepare(docker_folder, example, variant)), variant)
    assert show["state"] in ("succeeded", "broken"), show["nodes"]
    assert fingerprint(show) == fingerprint(local)
    assert containers_of(docker_client, show["run"]) == []


RAY_EXAMPLES = sorted(
    ["random-map.weft.yaml", "subgraph.weft.yaml", *(p.name for p in EXAMPLES.glob("breaker-*.weft.yaml"))]
)


@pytest.mark.ray
@pytest.mark.parametrize("example", RAY_EXAMPLES)
def test_examples_end_alike_on_ray(weft, tmp_path, example, ray_address):
    local_folder, ray_folder = copy_examples(tmp_path, "local"), copy_examples(tmp_path, "ray")
    _, local = run(weft, seeded(local_folder / example), "local")
    _, show = run(weft, seeded(ray_folder / example), "ray")
    assert show["state"] in ("succeeded", "broken"), show["nodes"]
    assert fingerprint(show) == fingerprint(local)
    assert tasks_of(show["run"]) == []


# -- runs that end badly ----------------------------------------------------------------------


def write_case(folder: Path, data: dict[str, Any], executor: str, name: str = "case.weft.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(GROW, folder / "grow.py")
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    if executor == "docker-warm":
        make_warm(path)
    return path


SLEEP = ["python3", "-c", "import time; time.sleep(60)"]

BREAKER = {
    "weft": 1,
    "name": "breaker",
    "operators": {"planner": {"command": ["python3", "grow.py"], "dynamic": True}},
    "nodes": [
        {"id": "slow", "command": SLEEP},  # listed first: it is running when the promise breaks
        {
            "id": "plan",
            "operator": "planner",
            "params": {"messages": [{"sleep": 1}, {"type": "mutate", "nodes": [{"id": "n1", "command": ["true"]}]}]},
        },
        {"id": "B", "command": ["true"]},
    ],
    "edges": [{"from": "plan", "to": "B"}],
    "promises": [{"no_new_nodes": {}}],
}

TIMEOUT = {
    "weft": 1,
    "name": "timeout",
    "nodes": [
        {"id": "sleepy", "command": SLEEP, "timeout": 1},
        {
            "id": "stubborn",
            "timeout": 1,
            "command": [
                "python3",
                "-c",
                "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
            ],
        },
        {"id": "after", "command": ["true"]},
    ],
    "edges": [{"from": "sleepy", "to": "after"}],
}

FAIL_FAST = {
    "weft": 1,
    "name": "fail-fast",
    "settings": {"fail_fast": True, "max_parallel": 2},
    "nodes": [
        {"id": "slow", "command": SLEEP},
        {"id": "bad", "command": ["python3", "-c", "import sys, time; time.sleep(1); sys.exit(3)"]},
        {"id": "after", "command": ["true"]},
    ],
    "edges": [{"from": "slow", "to": "after"}],
}

MISBEHAVING = {
    "weft": 1,
    "name": "misbehaving",
    "settings": {"max_parallel": 2},
    "nodes": [
        {"id": "huge", "command": ["python3", "-c", "import sys; sys.stdout.write('x' * (20 << 20) + '\\n')"]},
        {"id": "missing", "command": ["weft-no-such-program-4711", "--help"]},
        {"id": "killed", "command": ["python3", "-c", "import os; os.kill(os.getpid(), 9)"]},
        {"id": "exit3", "command": ["python3", "-c", "import sys; print('bye'); sys.exit(3)"]},
        {
            "id": "big",
            "command": ["python3", "-c", "import weft_task as w; w.output('text', 'y' * (4 << 20))"],
            "outputs": {"text": "str"},
        },
        {"id": "deaf", "command": ["python3", "-c", "print('I never read stdin')"], "inputs": {"text": "str"}},
        {"id": "malformed", "command": ["python3", "-c", 'print(\'{"weft": 1, "type": "explode"}\')']},
        {"id": "after", "command": ["true"], "trigger": "always"},
    ],
    "edges": [
        {"from": "big.text", "to": "deaf.text"},
        {"from": "huge", "to": "after"},
        {"from": "missing", "to": "after"},
        {"from": "killed", "to": "after"},
    ],
}


def test_a_broken_promise_stops_every_task(weft, tmp_path, executor, client):
    path = write_case(tmp_path / executor, BREAKER, executor)
    result, show = run(weft, path, executor)
    assert result.code == 3 and show["state"] == "broken"
    nodes = {n["id"]: n for n in show["nodes"]}
    assert show["broken"]["task"] == "plan" and "n1" not in nodes
    assert nodes["plan"]["state"] == "failed" and nodes["plan"]["reason"].startswith("broke a promise")
    assert nodes["slow"]["state"] == "cancelled" and nodes["B"]["state"] == "cancelled"
    check_same_as_local(
        weft, write_case(tmp_path / "local", BREAKER, "local").parent, "case.weft.yaml", executor, show, client
    )


def test_timeouts_stop_the_task_even_if_it_ignores_sigterm(weft, tmp_path, executor, client):
    path = write_case(tmp_path / executor, TIMEOUT, executor)
    started = time.monotonic()
    result, show = run(weft, path, executor)
    assert time.monotonic() - started < 30
    assert result.code == 1
    nodes = {n["id"]: (n["state"], n["reason"]) for n in show["nodes"]}
    assert nodes["sleepy"] == ("failed", "timed out after 1 s")
    assert nodes["stubborn"] == ("failed", "timed out after 1 s")
    assert nodes["after"][0] == "skipped"
    check_same_as_local(
        weft, write_case(tmp_path / "local", TIMEOUT, "local").parent, "case.weft.yaml", executor, show, client
    )


def test_fail_fast_cancels_what_still_runs(weft, tmp_path, executor, client):
    path = write_case(tmp_path / executor, FAIL_FAST, executor)
    result, show = run(weft, path, executor)
    assert result.code == 1 and show["state"] == "failed"
    nodes = {n["id"]: (n["state"], n["reason"]) for n in show["nodes"]}
    assert nodes["bad"] == ("failed", "exited with code 3")
    assert nodes["slow"] == ("cancelled", "fail_fast: bad failed")
    check_same_as_local(
        weft, write_case(tmp_path / "local", FAIL_FAST, "local").parent, "case.weft.yaml", executor, show, client
    )


def test_misbehaving_tasks_fail_alike(weft, tmp_path, executor, client):
    path = write_case(tmp_path / executor, MISBEHAVING, executor)
    result, show = run(weft, path, executor)
    assert result.code == 1
    nodes = {n["id"]: (n["state"], n["reason"]) for n in show["nodes"]}
    assert nodes["huge"] == ("failed", "a line on stdout is longer than 16 MiB")
    assert nodes["missing"] == ("failed", "command not found: weft-no-such-program-4711")
    assert nodes["killed"] == ("failed", "killed by SIGKILL")
    assert nodes["exit3"] == ("failed", "exited with code 3")
    assert nodes["deaf"] == ("succeeded", None)
    assert nodes["malformed"][0] == "failed" and "unknown message type 'explode'" in nodes["malformed"][1]
    assert nodes["after"] == ("succeeded", None)
    assert "bye" in weft("logs", show["run"], "exit3").out
    check_same_as_local(
        weft, write_case(tmp_path / "local", MISBEHAVING, "local").parent, "case.weft.yaml", executor, show, client
    )


def test_ctrl_c_cancels_the_run_and_leaves_nothing_running(home, tmp_path, executor, client):
    marker = "started"
    data = {
        "weft": 1,
        "name": "cancel",
        "nodes": [
            {
                "id": "sleeper",
                "command": [
                    "python3",
                    "-c",
                    f"import os, time; open(os.path.join(os.environ['WEFT_WORKSPACE'], "
                    f"'{marker}'), 'w').close(); time.sleep(60)",
                ],
            },
            {"id": "after", "command": ["true"]},
        ],
        "edges": [{"from": "sleeper", "to": "after"}],
    }
    path = write_case(tmp_path / executor, data, executor)
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "run", str(path), "--executor", executor_option(executor), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, WEFT_HOME=str(home)),
    )
    deadline = time.monotonic() + 60
    while not list(home.glob(f"workspaces/*/{marker}")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(home.glob(f"workspaces/*/{marker}")), "the task never started"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    run_id = json.loads(out)["run"]
    assert json.loads(out)["state"] == "cancelled"
    show = subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "show", run_id, "--json"],
        capture_output=True,
        text=True,
        env=dict(os.environ, WEFT_HOME=str(home)),
        check=True,
    )
    nodes = {n["id"]: n["state"] for n in json.loads(show.stdout)["nodes"]}
    assert nodes == {"sleeper": "cancelled", "after": "cancelled"}
    assert left_of(client, run_id) == []


def test_lines_and_progress_arrive_while_the_task_runs(weft, home, tmp_path, executor, client):
    from engine.history.store import Store

    talk = (
        "import sys, time, weft_task as w; print('first', flush=True); w.progress(0.5); "
        "sys.stderr.write('on stderr\\n'); sys.stderr.flush(); time.sleep(1.5); print('second')"
    )
    data = {"weft": 1, "name": "live", "nodes": [{"id": "talker", "command": ["python3", "-c", talk]}]}
    result, show = run(weft, write_case(tmp_path / executor, data, executor), executor)
    assert result.code == 0
    store = Store(home)
    try:
        events = {
            ("log" if isinstance(r.event, LogLine) else "progress", r.event.message): r.ts
            for r in store.events(show["run"], (LogLine, Progress))
        }
        finished = [
            r.ts
            for r in store.events(show["run"], (NodeStateChanged,))
            if isinstance(r.event, NodeStateChanged) and r.event.state == "succeeded"
        ][0]
    finally:
        store.close()
    assert finished - events[("log", "first")] > 1.0
    assert finished - events[("log", "on stderr")] > 1.0
    assert finished - events[("progress", None)] > 1.0
    assert finished - events[("log", "second")] < 1.0
    assert left_of(client, show["run"]) == []
