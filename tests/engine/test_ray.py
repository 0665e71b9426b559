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

from engine.events import LogLine
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


def test_a_node_with_an_image_is_refused_before_the_run_or_when_created(weft, home, tmp_path, ray_address):
    static = {"weft": 1, "name": "img", "nodes": [{"id": "boxed", "command": ["true"], "image": "python:3.12-slim"}]}
    refused = weft("run", write(tmp_path / "static", static), "--executor", "ray")
    assert refused.code == 2 and refused.err.strip().count("\n") == 0
    assert "node 'boxed' names an image: the ray executor runs processes, not containers" in refused.err
    grow = Path(__file__).parent / "workflows" / "grow.py"
    created = {"id": "late", "command": ["true"], "image": "python:3.12-slim"}
    dynamic = {
        "weft": 1,
        "name": "img-later",
        "nodes": [
            {
                "id": "plan",
                "command": ["python3", str(grow)],
                "dynamic": True,
                "params": {"messages": [{"type": "mutate", "nodes": [created]}]},
            }
        ],
    }
    result = weft("run", write(tmp_path / "dynamic", dynamic), "--executor", "ray", "--json")
    assert result.code == 1, result.err
    show = weft("show", result.json()["run"], "--json").json()
    nodes = {n["id"]: (n["state"], n["reason"]) for n in show["nodes"]}
    assert nodes["plan"] == ("succeeded", None)
    assert nodes["late"] == (
        "failed",
        "node 'late' names an image: the ray executor runs processes, not containers, yet",
    )
