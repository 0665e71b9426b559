"""Controls from another process (`weft pause`, `resume`, `stop`) and interrupted runs, with a
real `weft run` in its own process, real tasks and the real SQLite home."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from engine.events import ControlTaken, NodeState, RunState
from engine.history.store import LEASE, Store, state_now, this_process
from tests.conftest import alive, containers_of
from tests.engine.conftest import view, wait_until

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


def gated_chain(folder: Path, nodes: int) -> Path:
    """A chain whose first task runs until the file ``go`` appears (the test decides when),
    then ``nodes - 1`` short ones."""
    wait = "import os, time\nwhile not os.path.exists('go'):\n    time.sleep(0.02)\n"
    (folder / "gate.py").write_text(wait)
    lines = ["weft: 1", "name: gated", "nodes:", f"  - {{id: n0, command: [{sys.executable!r}, gate.py]}}"]
    lines += [f"  - {{id: n{i}, command: [{sys.executable!r}, -c, pass]}}" for i in range(1, nodes)]
    lines.append("edges:")
    lines += [f"  - {{from: n{i}, to: n{i + 1}}}" for i in range(nodes - 1)]
    path = folder / "gated.weft.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_pause_from_another_process_holds_every_start_until_resume(
    weft: Any, home: Path, tmp_path: Path, started: Any
) -> None:
    proc, run_id = started(gated_chain(tmp_path, 4))
    wait_until(lambda: view(home, run_id).nodes["n0"].state is NodeState.RUNNING)
    paused = weft("pause", run_id, "--json")
    assert paused.code == 0, paused.err
    assert paused.json() == {"run": run_id, "state": "paused"}
    assert weft("show", run_id, "--json").json()["state"] == "paused"
    (tmp_path / "go").write_text("")  # n0 ends now, while the run is paused: n1 must not start
    wait_until(lambda: view(home, run_id).nodes["n0"].state is NodeState.SUCCEEDED)
    time.sleep(1.0)
    during = view(home, run_id)
    assert during.nodes["n1"].state is NodeState.PENDING, "a task started while the run was paused"
    asked = time.time()
    resumed = weft("resume", run_id)
    assert resumed.code == 0 and f"run {run_id} running" in resumed.out, resumed.err
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    final = view(home, run_id)
    assert final.state is RunState.SUCCEEDED
    assert all(n.state is NodeState.SUCCEEDED and n.attempt == 1 for n in final.nodes.values())
    assert (final.nodes["n1"].started_at or 0) >= asked  # started only once resumed
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
    wait_until(lambda: not alive(pid), timeout=10)


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


def test_a_control_given_while_the_process_is_gone_applies_when_it_resumes(
    weft: Any, home: Path, tmp_path: Path, started: Any
) -> None:
    proc, run_id = started(chain(tmp_path, 3, 30))
    wait_until(lambda: view(home, run_id).nodes["n0"].state is NodeState.RUNNING)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stopped = weft("stop", run_id)
    assert stopped.code == 0 and "applies when" in stopped.out, stopped.err
    assert weft("show", run_id, "--json").json()["state"] == "interrupted"  # nothing changed yet
    resumed = weft("resume", run_id, "--json")
    assert resumed.code == 130 and resumed.json()["state"] == "cancelled", resumed.err
    final = view(home, run_id)
    assert {n.state for n in final.nodes.values()} == {NodeState.CANCELLED}
    assert final.nodes["n0"].attempt == 1, "a stopped run started nothing again"


def test_the_lease_decides_for_a_run_of_another_host() -> None:
    now = time.time()
    assert state_now("running", "elsewhere:1", now + LEASE, now) == "running"
    assert state_now("paused", "elsewhere:1", now - 1, now) == "interrupted"
    assert state_now("succeeded", "elsewhere:1", now - 1, now) == "succeeded"  # an ended run is what it was
    assert state_now("running", this_process(), now + LEASE, now) == "running"  # this very process lives


def test_a_process_id_given_again_to_another_process_is_not_the_runs() -> None:
    """The owner names the process's start time too: the same pid, started at another time
    (the id was reused after the run's process died), is not the run's process."""
    now = time.time()
    me = this_process()
    assert "@" in me
    other_start = me.rpartition("@")[0] + "@1"
    assert state_now("running", other_start, now + LEASE, now) == "interrupted"
    assert state_now("running", me.rpartition("@")[0], now + LEASE, now) == "running"  # written without it


FIRST = "import weft_task as w; w.output('v', 7)"
LAST = (
    "import os, sys, weft_task as w; open(os.path.join(sys.argv[1], 'last'), 'w').write(str(os.getpid()));"
    " w.output('got', w.inputs['x'] * 6)"
)


def chain_with_data(folder: Path, middle: int, seconds: float) -> Path:
    """first (outputs v) -> n0 .. n{middle-1} (sleepers writing their pids) -> last (x = first.v)."""
    (folder / "pids").mkdir()
    pids = str(folder / "pids")
    lines = ["weft: 1", "name: resumable", "nodes:"]
    lines.append(f"  - {{id: first, command: {[sys.executable, '-c', FIRST]!r}, outputs: {{v: int}}}}")
    for i in range(middle):
        argv = [sys.executable, "-c", STEP, pids, f"n{i}", str(seconds)]
        lines.append(f"  - {{id: n{i}, command: {argv!r}}}")
    argv = [sys.executable, "-c", LAST, pids]
    lines.append(f"  - {{id: last, command: {argv!r}, inputs: {{x: int}}, outputs: {{got: int}}}}")
    lines.append("edges:")
    chain_ids = ["first", *(f"n{i}" for i in range(middle)), "last"]
    lines += [f"  - {{from: {a}, to: {b}}}" for a, b in zip(chain_ids, chain_ids[1:])]
    lines.append("  - {from: first.v, to: last.x}")
    path = folder / "resumable.weft.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_resume_goes_on_where_the_killed_process_stopped(weft: Any, home: Path, tmp_path: Path, started: Any) -> None:
    proc, run_id = started(chain_with_data(tmp_path, 4, 0.5))
    pid_of_n2 = tmp_path / "pids" / "n2"
    wait_until(lambda: pid_of_n2.exists() and pid_of_n2.read_text().strip().isdigit())  # n2's task lives
    before = view(home, run_id)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    orphan = int((tmp_path / "pids" / "n2").read_text())
    assert alive(orphan), "the task should outlive its killed engine (that is what resume cleans up)"
    assert weft("show", run_id, "--json").json()["state"] == "interrupted"

    resumed = weft("resume", run_id, "--json", timeout=120)
    assert resumed.code == 0, resumed.err
    assert resumed.json() == {"run": run_id, "state": "succeeded"}
    wait_until(lambda: not alive(orphan), timeout=10)
    after = view(home, run_id)
    assert after.state is RunState.SUCCEEDED
    for done in ("first", "n0", "n1"):  # succeeded before the kill: never started again
        assert after.nodes[done].attempt == 1 and after.nodes[done].started_at == before.nodes[done].started_at
    assert after.nodes["n2"].attempt == 2 and after.nodes["n2"].state is NodeState.SUCCEEDED
    assert after.nodes["last"].outputs == {"got": 42}  # first's output, kept across the crash
    shown = weft("show", run_id, "--json").json()
    assert shown["state"] == "succeeded" and shown["outputs"]["first"] == {"v": 7}
    again = weft("resume", run_id)
    assert again.code == 2 and again.err.count("\n") == 1 and "it is succeeded" in again.err


def test_a_dynamic_task_interrupted_after_it_changed_the_graph_runs_again_on_a_retired_past(
    weft: Any, home: Path, tmp_path: Path, started: Any
) -> None:
    """Under `A -> M* -> B`, A's first attempt creates m-0 and m-1, then its engine is killed.
    Resumed, what that attempt created is retired and A runs again; its second attempt creates
    m-0 and m-2: the run ends with one graph that keeps the promise, m-1 retired."""
    script = tmp_path / "creator.py"
    script.write_text(
        "import time, weft_task as w\n"
        "ids = ['m-0', 'm-1'] if w.attempt == 1 else ['m-0', 'm-2']\n"
        "w.mutate(nodes=[{'id': i, 'operator': 'M'} for i in ids],\n"
        "         edges=[e for i in ids for e in ({'from': 'A', 'to': i}, {'from': i, 'to': 'B'})])\n"
        "if w.attempt == 1:\n"
        "    time.sleep(30)\n"
    )
    workflow = tmp_path / "map.weft.yaml"
    workflow.write_text(
        "weft: 1\nname: map\n"
        f"operators:\n  M: {{command: [{sys.executable!r}, -c, pass]}}\n"
        f"nodes:\n  - {{id: A, command: [{sys.executable!r}, {str(script)!r}], dynamic: true}}\n"
        f"  - {{id: B, command: [{sys.executable!r}, -c, pass]}}\n"
        "edges:\n  - {from: A, to: B}\n"
        "promises:\n  - shape: 'A -> M* -> B'\n"
    )
    proc, run_id = started(workflow)
    wait_until(lambda: "m-1" in view(home, run_id).nodes)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    resumed = weft("resume", run_id, "--json", timeout=120)
    assert resumed.code == 0, resumed.err
    after = view(home, run_id)
    assert after.state is RunState.SUCCEEDED and after.broken is None
    assert after.nodes["A"].attempt == 2
    assert {n: after.nodes[n].state for n in ("m-0", "m-1", "m-2", "B")} == {
        "m-0": NodeState.SUCCEEDED,
        "m-1": NodeState.RETIRED,
        "m-2": NodeState.SUCCEEDED,
        "B": NodeState.SUCCEEDED,
    }
    nodes, edges = after.graph_now()
    assert sorted(n.id for n in nodes) == ["A", "B", "m-0", "m-2"]
    assert sorted((e.source, e.target) for e in edges) == [
        ("A", "B"),
        ("A", "m-0"),
        ("A", "m-2"),
        ("m-0", "B"),
        ("m-2", "B"),
    ]
    shown = weft("show", run_id, "--json").json()
    assert {"from": "m-1", "to": "B"} not in shown["edges"]
    assert {n["id"]: n["state"] for n in shown["nodes"]}["m-1"] == "retired"


@pytest.mark.docker
def test_resume_on_docker_removes_the_dead_runs_containers(
    weft: Any, home: Path, tmp_path: Path, started: Any, docker_client: Any, docker_image: str
) -> None:
    sleeper = "import time; time.sleep(float(__import__('sys').argv[1]))"
    lines = ["weft: 1", "name: boxed", "settings: {executor: docker}", "nodes:"]
    lines += [f"  - {{id: n{i}, command: [python3, -c, {sleeper!r}, '{0.3 if i != 1 else 30}']}}" for i in range(3)]
    lines += ["edges:", "  - {from: n0, to: n1}", "  - {from: n1, to: n2}"]
    workflow = tmp_path / "boxed.weft.yaml"
    workflow.write_text("\n".join(lines) + "\n")
    proc, run_id = started(workflow)
    wait_until(lambda: view(home, run_id).nodes["n1"].state is NodeState.RUNNING, timeout=60)
    wait_until(lambda: bool(containers_of(docker_client, run_id)), timeout=30)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert containers_of(docker_client, run_id), "the killed engine's container is left (resume removes it)"
    # n1 sleeps 30 s: stop it from the resumed run once its container is the new attempt's
    resumer = subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "resume", run_id, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, WEFT_HOME=str(home)),
    )
    wait_until(lambda: view(home, run_id).nodes["n1"].attempt == 2, timeout=60)
    assert weft("stop", run_id).code == 0
    out, err = resumer.communicate(timeout=60)
    assert resumer.returncode == 130, err
    after = view(home, run_id)
    assert after.nodes["n0"].attempt == 1 and after.nodes["n0"].state is NodeState.SUCCEEDED
    assert containers_of(docker_client, run_id) == [], "containers outlived the resumed run"


def test_a_run_that_died_before_its_first_event_starts_afresh_on_resume(weft: Any, home: Path, tmp_path: Path) -> None:
    """Its row exists (with the workflow's text), no event does: resume registers it and runs it."""
    workflow = chain(tmp_path, 2, 0)
    store = Store(home)
    try:
        store.create_run("r-early", "chain", str(workflow), workflow.read_text(), {"max_parallel": 1}, time.time())
        store.conn.execute("UPDATE runs SET owner='gone-host:1', lease_until=0 WHERE id='r-early'")
    finally:
        store.close()
    assert weft("show", "r-early", "--json").json()["state"] == "interrupted"
    resumed = weft("resume", "r-early", "--json")
    assert resumed.code == 0 and resumed.json()["state"] == "succeeded", resumed.err
    final = view(home, "r-early")
    assert [n.state for n in final.nodes.values()] == [NodeState.SUCCEEDED, NodeState.SUCCEEDED]
