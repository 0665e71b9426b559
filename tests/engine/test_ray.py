"""The ray executor beyond what every executor does (tests/engine/test_executors.py): without
Ray, a task pinned to the worker node, stop reaching a task on its node, a node dying mid-task,
and the whole cluster vanishing mid-run. Real `weft` processes on a real two-node cluster on
loopback (tests/raycluster.py): head 127.0.0.2, worker 127.0.0.3.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.events import LogLine, OutputSet
from engine.executors.local import tasks_of
from engine.history.store import Store
from tests.conftest import alive
from tests.engine.conftest import run_ids, wait_for_run, wait_until
from tests.raycluster import ENV, HEAD_IP, WORKER_IP

pytestmark = pytest.mark.ray

BLOCK_RAY = """
import sys

class _NoRay:
    def find_spec(self, name, path=None, target=None):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return None

sys.meta_path.insert(0, _NoRay())
"""


def write(folder: Path, data: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "wf.weft.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def start(home: Path, path: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    known = run_ids(home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "run", str(path), "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, WEFT_HOME=str(home)),
        start_new_session=True,
    )
    return proc, wait_for_run(home, known, timeout=60)


def logs(home: Path, run_id: str) -> list[tuple[str, str, float]]:
    store = Store(home)
    try:
        return [
            (r.event.node, r.event.message, r.ts)
            for r in store.events(run_id, (LogLine,))
            if isinstance(r.event, LogLine) and r.event.node
        ]
    finally:
        store.close()


def marker(home: Path, run_id: str, name: str) -> Path:
    return home / "workspaces" / run_id / name


# A task that writes "<name>" (its node's address) and "<name>.pid" into the workspace, then
# sleeps; with the argument "again", an attempt after the first does not sleep.
def sleeper(name: str, seconds: float = 60) -> list[str]:
    return [
        "python3",
        "-c",
        "import os, sys, time; ws = os.environ['WEFT_WORKSPACE']; "
        f"again = os.path.exists(os.path.join(ws, '{name}.pid')) and sys.argv[1:] == ['again']; "
        f"open(os.path.join(ws, '{name}.pid'), 'w').write(str(os.getpid())); "
        f"open(os.path.join(ws, '{name}'), 'w').write(os.environ.get('WEFT_RAY_NODE', '?')); "
        f"time.sleep(0 if again else {seconds})",
    ]


def test_without_ray_the_executor_exits_2_saying_how_to_get_it(tmp_path, home):
    """A Python that cannot import Ray (a finder refuses it, as a missing package would)."""
    (tmp_path / "noray").mkdir()
    (tmp_path / "noray" / "sitecustomize.py").write_text(BLOCK_RAY)
    env = dict(os.environ, WEFT_HOME=str(home), PYTHONPATH=str(tmp_path / "noray"))
    assert subprocess.run([sys.executable, "-c", "import ray"], env=env, capture_output=True).returncode == 1
    flagged = write(tmp_path / "flag", {"weft": 1, "name": "x", "nodes": [{"id": "a", "command": ["true"]}]})
    in_file = write(
        tmp_path / "file",
        {"weft": 1, "name": "x", "settings": {"executor": "ray"}, "nodes": [{"id": "a", "command": ["true"]}]},
    )
    for args in ([str(flagged), "--executor", "ray"], [str(in_file)]):
        proc = subprocess.run(
            [sys.executable, "-m", "engine.cli.main", "run", *args], env=env, capture_output=True, text=True
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
        assert "pip install 'weft[ray]'" in proc.stderr
    assert not (home / "weft.db").exists() or run_ids(home) == set()


def test_a_task_pinned_to_the_worker_reaches_the_engine_live(weft, home, tmp_path, ray_address):
    talk = (
        "import os, time, weft_task as w; print('first on', os.environ['WEFT_RAY_NODE'], flush=True); "
        "w.progress(0.5); time.sleep(1.5); print('second')"
    )
    data = {
        "weft": 1,
        "name": "pinned",
        "nodes": [{"id": "far", "command": ["python3", "-c", talk], "resources": {"custom": {"worker": 1}}}],
    }
    result = weft("run", write(tmp_path, data), "--executor", "ray", "--json")
    assert result.code == 0, result.err
    run_id = result.json()["run"]
    lines = {message: ts for _, message, ts in logs(home, run_id)}
    assert f"first on {WORKER_IP}" in lines
    assert lines["second"] - lines[f"first on {WORKER_IP}"] > 1.0  # it came while the task ran
    assert tasks_of(run_id) == []


def test_stop_reaches_a_task_sleeping_on_the_worker(weft, home, tmp_path, ray_address):
    data = {
        "weft": 1,
        "name": "stop-far",
        "settings": {"executor": "ray"},
        "nodes": [{"id": "far", "command": sleeper("far"), "resources": {"custom": {"worker": 1}}}],
    }
    proc, run_id = start(home, write(tmp_path, data))
    try:
        wait_until(lambda: marker(home, run_id, "far.pid").exists() and marker(home, run_id, "far").exists(), 60)
        assert marker(home, run_id, "far").read_text() == WORKER_IP
        pid = int(marker(home, run_id, "far.pid").read_text())
        assert alive(pid)
        asked = time.monotonic()
        assert weft("stop", run_id).code == 0
        wait_until(lambda: not alive(pid), 5)
        assert time.monotonic() - asked < 3.0
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert json.loads(out)["state"] == "cancelled", err
    assert tasks_of(run_id) == []


def test_a_dying_worker_fails_the_attempt_and_the_retry_runs_on_the_head(
    weft, home, tmp_path, ray_cluster, ray_address
):
    """`hog` holds most of the head's CPUs while `victim` (2 CPUs) starts, so the victim lands
    on the worker; the worker's raylet is killed; the retry waits for the head and runs there."""
    victim = (
        "import os, time; ws = os.environ['WEFT_WORKSPACE']; node = os.environ['WEFT_RAY_NODE']; "
        "first = not os.path.exists(os.path.join(ws, 'victim-1')); "
        "open(os.path.join(ws, 'victim-1' if first else 'victim-2'), 'w').write(node); "
        "print('victim on', node, flush=True); time.sleep(60 if first else 0)"
    )
    data = {
        "weft": 1,
        "name": "node-dies",
        "settings": {"executor": "ray", "max_parallel": 3},
        "nodes": [
            {"id": "hog", "command": sleeper("hog", 6), "resources": {"cpus": 1.9, "custom": {"head": 0.5}}},
            {"id": "gate", "command": ["true"], "resources": {"cpus": 0.1, "custom": {"head": 0.5}}},
            {"id": "victim", "command": ["python3", "-c", victim], "resources": {"cpus": 2}, "retries": 1},
        ],
        "edges": [{"from": "gate", "to": "victim"}],
    }
    proc, run_id = start(home, write(tmp_path, data))
    try:
        wait_until(lambda: marker(home, run_id, "victim-1").exists(), 60)
        assert marker(home, run_id, "victim-1").read_text() == WORKER_IP
        ray_cluster.kill_worker_raylet()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert json.loads(out)["state"] == "succeeded", err
    assert marker(home, run_id, "victim-2").read_text() == HEAD_IP
    show = weft("show", run_id, "--json").json()
    assert {n["id"]: (n["state"], n["attempt"]) for n in show["nodes"]}["victim"] == ("succeeded", 2)
    warnings = [m for node, m, _ in logs(home, run_id) if node == "victim" and m.startswith("attempt 1 failed")]
    assert warnings == [f"attempt 1 failed (the Ray node {WORKER_IP} running it died); retrying in 1 s"]
    assert tasks_of(run_id) == []


def test_a_vanished_cluster_interrupts_the_run_and_resume_finishes_it(weft, home, tmp_path, ray_cluster, monkeypatch):
    ray_cluster.ensure()
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.address)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    data = {
        "weft": 1,
        "name": "cluster-gone",
        "settings": {"executor": "ray"},
        "nodes": [
            {"id": "first", "command": ["true"]},
            {"id": "long", "command": sleeper("long", 30) + ["again"]},  # the second attempt ends at once
            {"id": "last", "command": ["true"]},
        ],
        "edges": [{"from": "first", "to": "long"}, {"from": "long", "to": "last"}],
    }
    proc, run_id = start(home, write(tmp_path, data))
    try:
        wait_until(lambda: marker(home, run_id, "long.pid").exists(), 60)
        pid = int(marker(home, run_id, "long.pid").read_text())
        ray_cluster.stop(signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert json.loads(out)["state"] == "interrupted"
    assert "Traceback" not in err
    wait_until(lambda: not alive(pid), 10)
    show = weft("show", run_id, "--json").json()
    assert show["state"] == "interrupted"
    assert {n["id"]: n["state"] for n in show["nodes"]} == {"first": "succeeded", "long": "running", "last": "pending"}

    ray_cluster.ensure()
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.address)
    resumed = weft("resume", run_id, "--json")
    assert resumed.code == 0, resumed.err
    show = weft("show", run_id, "--json").json()
    assert show["state"] == "succeeded"
    assert {n["id"]: (n["state"], n["attempt"]) for n in show["nodes"]} == {
        "first": ("succeeded", 1),
        "long": ("succeeded", 2),
        "last": ("succeeded", 1),
    }
    assert tasks_of(run_id) == []


def raylets() -> set[int]:
    found = set()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if b"raylet/raylet" in (entry / "cmdline").read_bytes():
                found.add(int(entry.name))
        except OSError:
            continue
    return found


def test_without_an_address_a_local_ray_is_started_for_the_run_and_stopped(
    weft, home, tmp_path, monkeypatch, ray_cluster
):
    """(``ray_cluster`` only for its "Ray is installed" check: this run starts a Ray of its own,
    without token authentication, so that it writes no token into the home folder.)"""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    # the task names the raylet above it (other Rays may start and stop on the machine meanwhile)
    talk = (
        "import os\nprint('on', os.environ['WEFT_RAY_NODE'])\npid = os.getppid()\n"
        "while pid > 1 and b'raylet/raylet' not in open(f'/proc/{pid}/cmdline', 'rb').read():\n"
        "    pid = int(open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[1])\n"
        "print('raylet', pid)\n"
    )
    data = {"weft": 1, "name": "local-ray", "nodes": [{"id": "a", "command": ["python3", "-c", talk]}]}
    result = weft("run", write(tmp_path, data), "--executor", "ray", "--json")
    assert result.code == 0, result.err
    said = [m for _, m, _ in logs(home, result.json()["run"])]
    assert said[0].startswith("on ") and said[1].startswith("raylet "), said
    raylet = int(said[1].split()[1])
    assert raylet > 1  # found: the task ran under a raylet
    wait_until(lambda: raylet not in raylets(), 20)  # the run's own Ray is gone with it


# -- containers on Ray nodes -------------------------------------------------------------------


def run_containers(run_id: str) -> list[str]:
    """Ids of every container (running or not) labelled with the run, on the one Docker engine
    both test nodes share."""
    found = subprocess.run(
        ["docker", "ps", "--all", "--quiet", "--filter", f"label=weft.run={run_id}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.split()


def test_a_container_on_the_worker_streams_live_and_hands_its_file_on(weft, home, tmp_path, ray_address, docker_image):
    """`boxed` runs in a container on the worker node: its lines arrive while it runs, it sees
    the workspace at /workspace, and the `file` it writes is read by a local and a ray node."""
    boxed = (
        "import os, time, weft_task as w; "
        "print('first on', os.environ['WEFT_RAY_NODE'], 'in', os.environ['WEFT_WORKSPACE'], w.workspace, flush=True); "
        "time.sleep(1.5); open('/workspace/out.txt', 'w').write('made in a box'); "
        "w.output('report', '/workspace/out.txt'); print('second')"
    )
    read = "import weft_task as w; w.output('text', open(w.inputs['report']).read() + ' @ ' + w.inputs['report'])"
    data = {
        "weft": 1,
        "name": "boxed",
        "settings": {"executor": "ray"},
        "nodes": [
            {
                "id": "boxed",
                "command": ["python3", "-c", boxed],
                "image": docker_image,
                "outputs": {"report": "file"},
                "resources": {"custom": {"worker": 1}},
            },
            {
                "id": "here",
                "executor": "local",
                "command": ["python3", "-c", read],
                "inputs": {"report": "file"},
                "outputs": {"text": "str"},
            },
            {
                "id": "there",
                "command": ["python3", "-c", read],
                "inputs": {"report": "file"},
                "outputs": {"text": "str"},
            },
        ],
        "edges": [{"from": "boxed.report", "to": "here.report"}, {"from": "boxed.report", "to": "there.report"}],
    }
    result = weft("run", write(tmp_path, data), "--json")
    assert result.code == 0, result.err
    run_id = result.json()["run"]
    lines = {message: ts for _, message, ts in logs(home, run_id)}
    first = f"first on {WORKER_IP} in /workspace /workspace"
    assert first in lines, lines
    assert lines["second"] - lines[first] > 1.0  # it came while the container ran
    workspace = home / "workspaces" / run_id
    assert (workspace / "out.txt").read_text() == "made in a box"
    store = Store(home)
    try:
        outputs = {r.event.node: r.event.value for r in store.events(run_id, (OutputSet,)) if r.event.name == "text"}
    finally:
        store.close()
    assert outputs == {
        "here": f"made in a box @ {workspace / 'out.txt'}",
        "there": f"made in a box @ {workspace / 'out.txt'}",
    }
    assert run_containers(run_id) == []


def test_stop_and_a_timeout_remove_a_container_sleeping_on_the_worker(weft, home, tmp_path, ray_address, docker_image):
    data = {
        "weft": 1,
        "name": "stop-boxed",
        "settings": {"executor": "ray", "max_parallel": 2},
        "nodes": [
            {
                "id": "far",
                "command": sleeper("far"),
                "image": docker_image,
                "resources": {"cpus": 0.5, "custom": {"worker": 0.5}},
            },
            {
                "id": "slow",
                "command": sleeper("slow"),
                "image": docker_image,
                "timeout": 4,
                "resources": {"cpus": 0.5, "custom": {"worker": 0.5}},
            },
        ],
    }
    proc, run_id = start(home, write(tmp_path, data))
    try:
        wait_until(lambda: marker(home, run_id, "slow").exists(), 60)
        assert marker(home, run_id, "slow").read_text() == WORKER_IP
        wait_until(lambda: len(run_containers(run_id)) == 1, 15)  # the timeout removed `slow`'s
        wait_until(lambda: marker(home, run_id, "far").exists(), 60)
        assert marker(home, run_id, "far").read_text() == WORKER_IP
        assert len(run_containers(run_id)) == 1
        asked = time.monotonic()
        assert weft("stop", run_id).code == 0
        wait_until(lambda: run_containers(run_id) == [], 8)
        assert time.monotonic() - asked < 6.0
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert json.loads(out)["state"] == "cancelled", err
    show = weft("show", run_id, "--json").json()
    states = {n["id"]: (n["state"], n["reason"]) for n in show["nodes"]}
    assert states["slow"][0] == "failed" and "timed out" in states["slow"][1], states
    assert states["far"][0] == "cancelled", states
    assert run_containers(run_id) == []


def test_a_created_node_and_a_build_run_in_containers_and_a_bad_build_is_refused(
    weft, home, tmp_path, ray_address, docker_image
):
    grow = Path(__file__).parent / "workflows" / "grow.py"
    refused = {
        "weft": 1,
        "name": "img",
        "nodes": [{"id": "boxed", "command": ["true"], "build": "nowhere"}],
    }
    result = weft("run", write(tmp_path / "static", refused), "--executor", "ray")
    assert result.code == 2 and result.err.strip().count("\n") == 0, result.err
    assert "node 'boxed': build: nowhere is not a directory" in result.err
    talk = "import os; print('boxed as', os.environ['WEFT_WORKSPACE'], os.path.exists('/.dockerenv'))"
    created = {"id": "late", "command": ["python3", "-c", talk], "image": docker_image}
    dynamic = {
        "weft": 1,
        "name": "img-later",
        "nodes": [
            {
                "id": "plan",
                "command": ["python3", str(grow)],
                "dynamic": True,
                "params": {"messages": [{"type": "mutate", "nodes": [created]}]},
            },
            {"id": "built", "build": "img", "command": ["cat", "/hello.txt"], "resources": {"custom": {"worker": 1}}},
            {"id": "missing", "image": docker_image, "command": ["no-such-command", "x"]},
        ],
    }
    path = write(tmp_path / "dynamic", dynamic)
    (path.parent / "img").mkdir()
    (path.parent / "img" / "hello.txt").write_text("built on the Ray node\n")
    (path.parent / "img" / "Dockerfile").write_text("ARG WEFT_BASE_IMAGE\nFROM ${WEFT_BASE_IMAGE}\nCOPY hello.txt /\n")
    result = weft("run", path, "--executor", "ray", "--json")
    assert result.code == 1, result.err
    run_id = result.json()["run"]
    show = weft("show", run_id, "--json").json()
    assert {n["id"]: (n["state"], n["reason"]) for n in show["nodes"]} == {
        "plan": ("succeeded", None),
        "late": ("succeeded", None),
        "built": ("succeeded", None),
        "missing": ("failed", "command not found: no-such-command"),
    }
    lines = [(node, m) for node, m, _ in logs(home, run_id)]
    assert ("late", "boxed as /workspace True") in lines
    assert ("built", "built on the Ray node") in lines
    assert run_containers(run_id) == []


def test_a_node_without_docker_says_why(monkeypatch):
    """The probe the engine runs on every Ray node before a run with containers (here, in this
    process: a Docker engine that is not there)."""
    from engine.executors.ray_remote_docker import probe

    assert probe() is None
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert "Cannot connect to the Docker daemon" in (probe() or "")
    monkeypatch.setenv("PATH", "/nonexistent")
    assert probe() == "no docker command"


def test_a_task_in_a_container_on_ray_creates_only_nodes_in_containers(
    weft, tmp_path, ray_address, docker_image, monkeypatch
):
    """Rule 6 with a creator in a container on Ray: a created node naming nothing runs in a
    container like its creator (its image, no network, no engine secret); one asking for the
    local executor is refused."""
    from tests.engine.test_reach import _run

    monkeypatch.setenv("WEFT_TEST_SECRET", "engine-secret")
    creator = {"executor": "ray", "image": docker_image}
    code, shown = _run(weft, tmp_path / "inherit", {}, creator)
    assert code == 0, weft("logs", shown["run"]).out
    report = shown["outputs"]["child"]["report"]
    assert (report["in_container"], report["secret"], report["interfaces"]) == (True, None, ["lo"])
    assert report["workspace"] == "/workspace"
    code, shown = _run(weft, tmp_path / "escape", {"executor": "local"}, creator)
    assert code == 1
    plan = {n["id"]: n for n in shown["nodes"]}["plan"]
    assert "would run with executor 'local', outside any container" in plan["reason"], plan["reason"]
    for run_id in {shown["run"]}:
        assert run_containers(run_id) == []


def test_a_dying_worker_node_takes_its_container_with_it(weft, home, tmp_path, ray_cluster, ray_address, docker_image):
    """The worker node dies (its raylet and Ray workers killed) while a container task sleeps
    there: the guard beside the container removes it, while the run still goes on (`keeper`
    sleeps on the head), not only the run's end."""
    data = {
        "weft": 1,
        "name": "node-dies-boxed",
        "settings": {"executor": "ray", "max_parallel": 2},
        "nodes": [
            {
                "id": "victim",
                "command": sleeper("victim"),
                "image": docker_image,
                "resources": {"custom": {"worker": 1}},
            },
            {"id": "keeper", "command": sleeper("keeper", 60), "resources": {"cpus": 0.5, "custom": {"head": 1}}},
        ],
    }
    proc, run_id = start(home, write(tmp_path, data))
    try:
        wait_until(lambda: marker(home, run_id, "victim").exists() and marker(home, run_id, "keeper").exists(), 60)
        assert len(run_containers(run_id)) == 1
        ray_cluster.kill_worker_raylet()
        wait_until(lambda: run_containers(run_id) == [], 15)
        assert proc.poll() is None  # removed by its guard, not by the run's end
        assert weft("stop", run_id).code == 0
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert json.loads(out)["state"] == "cancelled", err
    show = weft("show", run_id, "--json").json()
    assert {n["id"]: n["state"] for n in show["nodes"]}["victim"] == "failed"
