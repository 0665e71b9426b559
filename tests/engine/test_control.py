"""Controls from another process (`weft pause`, `resume`, `stop`) and interrupted runs, with a
real `weft run` in its own process, real tasks and the real SQLite home."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.events import ControlTaken, NodeState, RunState
from engine.history.fold import snapshot
from engine.history.store import LEASE, Store, state_now, this_process

#: a task: write its pid to FOLDER/NAME, then sleep SECONDS
STEP = (
    "import os, sys, time; open(os.path.join(sys.argv[1], sys.argv[2]), 'w').write(str(os.getpid()));"
    " time.sleep(float(sys.argv[3]))"
)


def chain(folder: Path, nodes: int, seconds: float) -> Path:
    """A chain of ``nodes`` tasks of ``seconds`` each; each writes its pid into ``pids/``."""
    (folder / "pids").mkdir()
    lines = ["weft: 1", "name: chain", "nodes:"]
    for i in range(nodes):
        argv = [sys.executable, "-c", STEP, str(folder / "pids"), f"n{i}", str(seconds)]
        lines.append(f"  - {{id: n{i}, command: {argv!r}}}")
    lines.append("edges:")
    lines += [f"  - {{from: n{i}, to: n{i + 1}}}" for i in range(nodes - 1)]
    path = folder / "chain.weft.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def started(home: Path, tmp_path: Path) -> Iterator[Any]:
    """Start `weft run` of a workflow in its own process; kill whatever is left at the end."""
    procs: list[subprocess.Popen[str]] = []

    def start(path: Path) -> tuple[subprocess.Popen[str], str]:
        known = run_ids(home)
        env = dict(os.environ, WEFT_HOME=str(home))
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", "run", str(path), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        procs.append(proc)
        return proc, wait_for_run(home, known)

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for pid_file in (tmp_path / "pids").glob("*") if (tmp_path / "pids").is_dir() else []:
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (OSError, ValueError):
            pass


def run_ids(home: Path) -> set[str]:
    if not (home / "weft.db").exists():
        return set()
    store = Store(home)
    try:
        return {r["id"] for r in store.runs() if store.last_seq(r["id"]) > 0}
    finally:
        store.close()


def wait_for_run(home: Path, known: set[str], timeout: float = 30) -> str:
    """The id of the run that started after ``known`` ones, once its first events are stored."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = run_ids(home) - known
        if new:
            return new.pop()
        time.sleep(0.05)
    raise AssertionError("the run never started")


def wait_until(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def view(home: Path, run_id: str) -> Any:
    store = Store(home)
    try:
        return snapshot(store, run_id)
    finally:
        store.close()


def test_pause_from_another_process_holds_every_start_until_resume(
    weft: Any, home: Path, tmp_path: Path, started: Any
) -> None:
    proc, run_id = started(chain(tmp_path, 4, 0.6))
    wait_until(lambda: view(home, run_id).nodes["n0"].state is NodeState.RUNNING)
    paused = weft("pause", run_id, "--json")
    assert paused.code == 0, paused.err
    assert paused.json() == {"run": run_id, "state": "paused"}
    assert weft("show", run_id, "--json").json()["state"] == "paused"
    time.sleep(1.5)  # n0 ends meanwhile: n1 must not start
    during = view(home, run_id)
    assert during.nodes["n0"].state is NodeState.SUCCEEDED
    assert during.nodes["n1"].state is NodeState.PENDING, "a task started while the run was paused"
    resumed = weft("resume", run_id)
    assert resumed.code == 0 and f"run {run_id} running" in resumed.out, resumed.err
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    final = view(home, run_id)
    assert final.state is RunState.SUCCEEDED
    assert all(n.state is NodeState.SUCCEEDED and n.attempt == 1 for n in final.nodes.values())
    store = Store(home)
    try:
        taken = [r.event for r in store.events(run_id, (ControlTaken,))]
    finally:
        store.close()
    assert [(c.kind, c.control) for c in taken] == [("pause", 1), ("resume", 2)]  # controls are events too


def test_stop_from_another_process_ends_the_run_cancelled(weft: Any, home: Path, tmp_path: Path, started: Any) -> None:
    proc, run_id = started(chain(tmp_path, 3, 30))
    wait_until(lambda: view(home, run_id).nodes["n0"].state is NodeState.RUNNING)
    stopped = weft("stop", run_id, "--json")
    assert stopped.code == 0 and stopped.json()["state"] == "cancelled", stopped.err
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    final = view(home, run_id)
    assert {n.state for n in final.nodes.values()} == {NodeState.CANCELLED}
    pid = int((tmp_path / "pids" / "n0").read_text())
    wait_until(lambda: not _alive(pid), timeout=10)


def test_controls_in_a_state_that_does_not_allow_them_exit_2_in_one_line(
    weft: Any, home: Path, tmp_path: Path, started: Any
) -> None:
    done = weft("run", chain(tmp_path, 1, 0), "--json")
    assert done.code == 0
    run_id = done.json()["run"]
    for kind in ("pause", "resume", "stop"):
        result = weft(kind, run_id)
        assert result.code == 2 and result.err.count("\n") == 1, (kind, result.err)
        assert f"cannot {kind} run {run_id}: it is succeeded" in result.err
    assert weft("pause", "no-such-run").code == 2
    other = tmp_path / "other"
    other.mkdir()
    proc, live = started(chain(other, 2, 30))
    wait_until(lambda: view(home, live).nodes["n0"].state is NodeState.RUNNING)
    result = weft("resume", live)  # running, not paused
    assert result.code == 2 and "it is running" in result.err
    assert weft("show", live, "--json").json()["state"] == "running"


def test_a_run_whose_process_was_killed_is_interrupted(weft: Any, home: Path, tmp_path: Path, started: Any) -> None:
    proc, run_id = started(chain(tmp_path, 3, 30))
    wait_until(lambda: view(home, run_id).nodes["n0"].state is NodeState.RUNNING)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    shown = weft("show", run_id, "--json").json()
    assert shown["state"] == "interrupted"
    assert weft("runs", "--json").json()[0]["state"] == "interrupted"
    assert "interrupted" in weft("show", run_id).out
    result = weft("pause", run_id)
    assert result.code == 2 and "interrupted" in result.err and result.err.count("\n") == 1


def test_the_lease_decides_for_a_run_of_another_host() -> None:
    now = time.time()
    assert state_now("running", "elsewhere:1", now + LEASE, now) == "running"
    assert state_now("paused", "elsewhere:1", now - 1, now) == "interrupted"
    assert state_now("succeeded", "elsewhere:1", now - 1, now) == "succeeded"  # an ended run is what it was
    assert state_now("running", this_process(), now + LEASE, now) == "running"  # this very process lives


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
