"""`weft restart`: re-run nodes and their downstream in the same run, retiring what earlier
attempts of a restarted node created, through the CLI with real tasks and the real SQLite home."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from engine.events import NodeState, Restarted, RunState
from engine.history.store import Store
from tests.engine.conftest import view, wait_until

PY = sys.executable


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def diamond(folder: Path) -> Path:
    """a -> b -> c, a -> d; b runs b.py (which fails until it is fixed); b passes a value to c."""
    write(folder, "b.py", "import sys\nsys.exit(3)\n")
    write(folder, "c.py", "import weft_task as w\nw.output('seen', w.inputs['x'])\n")
    return write(
        folder,
        "diamond.weft.yaml",
        "weft: 1\nname: diamond\nnodes:\n"
        f"  - {{id: a, command: [{PY!r}, -c, pass]}}\n"
        f"  - {{id: b, command: [{PY!r}, b.py], outputs: {{v: int}}}}\n"
        f"  - {{id: c, command: [{PY!r}, c.py], inputs: {{x: int}}, outputs: {{seen: int}}}}\n"
        f"  - {{id: d, command: [{PY!r}, -c, pass]}}\n"
        "edges:\n  - {from: a, to: b}\n  - {from: b.v, to: c.x}\n  - {from: a, to: d}\n",
    )


def test_restart_after_fixing_a_script_reruns_only_it_and_its_downstream(weft: Any, home: Path, tmp_path: Path) -> None:
    workflow = diamond(tmp_path)
    first = weft("run", str(workflow), "--json")
    assert first.code == 1
    run_id = first.json()["run"]
    before = view(home, run_id)
    assert before.nodes["b"].state is NodeState.FAILED and before.nodes["c"].state is NodeState.SKIPPED

    write(tmp_path, "b.py", "import weft_task as w\nw.output('v', 41 + w.attempt - 1)\n")
    again = weft("restart", run_id, "b", "--json")
    assert again.code == 0, again.err
    assert again.json() == {"run": run_id, "state": "succeeded"}
    after = view(home, run_id)
    for untouched in ("a", "d"):  # upstream and beside: never started again
        assert after.nodes[untouched].attempt == 1
        assert after.nodes[untouched].started_at == before.nodes[untouched].started_at
    assert after.nodes["b"].attempt == 2 and after.nodes["b"].state is NodeState.SUCCEEDED
    assert after.nodes["c"].attempt == 1 and after.nodes["c"].outputs == {"seen": 42}
    assert after.state is RunState.SUCCEEDED and after.finished_at is not None
    shown = weft("show", run_id, "--json").json()
    assert shown["state"] == "succeeded" and shown["outputs"]["c"] == {"seen": 42}
    assert weft("runs", "--json").json()[0]["state"] == "succeeded"

    # the log keeps the failed attempt: replay before the restart shows it
    store = Store(home)
    try:
        (restarted,) = store.events(run_id, (Restarted,))
    finally:
        store.close()
    assert restarted.event.nodes == ("b",) and set(restarted.event.reset) == {"b", "c"}
    past = weft("graph", run_id, "--at", str(restarted.seq - 1), "--format", "json").json()
    assert {n["id"]: n["state"] for n in past["nodes"]}["b"] == "failed"


def test_restarting_again_replaces_outputs(weft: Any, home: Path, tmp_path: Path) -> None:
    workflow = diamond(tmp_path)
    write(tmp_path, "b.py", "import weft_task as w\nw.output('v', w.attempt)\n")
    run_id = weft("run", str(workflow), "--json").json()["run"]
    assert view(home, run_id).nodes["c"].outputs == {"seen": 1}
    assert weft("restart", run_id, "b").code == 0
    assert weft("restart", run_id, "a").code == 0  # everything downstream of a: b, c and d
    after = view(home, run_id)
    assert {n: after.nodes[n].attempt for n in "abcd"} == {"a": 2, "b": 3, "c": 3, "d": 2}
    assert after.nodes["c"].outputs == {"seen": 3}


def creator_workflow(folder: Path, promise: str) -> Path:
    """A creates one M per line of count.txt (read at each attempt), each feeding B."""
    write(folder, "count.txt", "3\n")
    write(
        folder,
        "creator.py",
        "import weft_task as w\n"
        "n = int(open('count.txt').read())\n"
        "ids = ['m-%d-%d' % (w.attempt, i) if w.attempt > 1 else 'm-%d' % i for i in range(n)]\n"
        "w.mutate(nodes=[{'id': i, 'operator': 'M'} for i in ids],\n"
        "         edges=[e for i in ids for e in ({'from': 'A', 'to': i}, {'from': i, 'to': 'B'})])\n",
    )
    return write(
        folder,
        "creator.weft.yaml",
        "weft: 1\nname: creator\n"
        f"operators:\n  M: {{command: [{PY!r}, -c, pass]}}\n"
        f"nodes:\n  - {{id: A, command: [{PY!r}, creator.py], dynamic: true}}\n"
        f"  - {{id: B, command: [{PY!r}, -c, pass]}}\n"
        "edges:\n  - {from: A, to: B}\n"
        f"promises:\n{promise}",
    )


def test_restart_of_a_dynamic_creator_retires_its_earlier_children(weft: Any, home: Path, tmp_path: Path) -> None:
    """max_nodes 3 counts only the live graph: the second attempt's three nodes keep it, because
    the first attempt's three are retired."""
    workflow = creator_workflow(tmp_path, "  - shape: 'A -> M* -> B'\n  - max_nodes: {max: 3}\n")
    run_id = weft("run", str(workflow), "--json").json()["run"]
    first = view(home, run_id)
    assert first.state is RunState.SUCCEEDED and sorted(first.nodes) == ["A", "B", "m-0", "m-1", "m-2"]

    write(tmp_path, "count.txt", "2\n")
    again = weft("restart", run_id, "A", "--json")
    assert again.code == 0, again.err
    after = view(home, run_id)
    assert after.state is RunState.SUCCEEDED and after.broken is None
    states = {n: r.state for n, r in after.nodes.items()}
    assert states == {
        "A": NodeState.SUCCEEDED,
        "B": NodeState.SUCCEEDED,
        "m-0": NodeState.RETIRED,
        "m-1": NodeState.RETIRED,
        "m-2": NodeState.RETIRED,
        "m-2-0": NodeState.SUCCEEDED,
        "m-2-1": NodeState.SUCCEEDED,
    }
    nodes, edges = after.graph_now()
    assert sorted(n.id for n in nodes) == ["A", "B", "m-2-0", "m-2-1"]
    assert sorted((e.source, e.target) for e in edges) == [
        ("A", "B"),
        ("A", "m-2-0"),
        ("A", "m-2-1"),
        ("m-2-0", "B"),
        ("m-2-1", "B"),
    ]
    assert after.nodes["B"].attempt == 2
    now = weft("graph", run_id, "--format", "json").json()
    assert sorted(n["id"] for n in now["nodes"]) == ["A", "B", "m-2-0", "m-2-1"]
    shown = {n["id"]: n["state"] for n in weft("show", run_id, "--json").json()["nodes"]}
    assert shown["m-0"] == "retired"


def test_a_restarted_creator_that_now_breaks_a_promise_breaks_the_run(weft: Any, home: Path, tmp_path: Path) -> None:
    """Retired nodes do not count, but the new attempt's do: four nodes break max_nodes 3."""
    workflow = creator_workflow(tmp_path, "  - max_nodes: {max: 3}\n")
    run_id = weft("run", str(workflow), "--json").json()["run"]
    write(tmp_path, "count.txt", "4\n")
    again = weft("restart", run_id, "A", "--json")
    assert again.code == 3, again.err
    after = view(home, run_id)
    assert after.state is RunState.BROKEN and after.broken is not None
    assert sum(1 for n in after.graph_now()[0] if n.created_by == "A") == 0  # the four were refused


def test_restart_refusals_exit_2_in_one_line_and_change_nothing(weft: Any, home: Path, tmp_path: Path) -> None:
    workflow = creator_workflow(tmp_path, "  - max_nodes: {max: 3}\n")
    run_id = weft("run", str(workflow), "--json").json()["run"]
    write(tmp_path, "count.txt", "2\n")
    assert weft("restart", run_id, "A").code == 0
    store = Store(home)
    try:
        last = store.last_seq(run_id)
    finally:
        store.close()
    for args, expected in (
        (("nope",), "has no node 'nope'"),
        (("m-1",), "node 'm-1' was retired by an earlier restart"),
    ):
        refused = weft("restart", run_id, *args)
        assert refused.code == 2 and refused.err.count("\n") == 1 and expected in refused.err, refused.err
    unknown_run = weft("restart", "r-none", "A")
    assert unknown_run.code == 2 and unknown_run.err.count("\n") == 1

    write(tmp_path, "count.txt", "5\n")
    broken = weft("restart", run_id, "A")
    assert broken.code == 3
    final = weft("restart", run_id, "A")
    assert final.code == 2 and "it is broken (a broken run is final)" in final.err and final.err.count("\n") == 1
    store = Store(home)
    try:
        assert store.last_seq(run_id) > last
        after_broken = store.last_seq(run_id)
    finally:
        store.close()
    weft("restart", run_id, "B")
    store = Store(home)
    try:
        assert store.last_seq(run_id) == after_broken  # refused: nothing recorded
    finally:
        store.close()


def test_restart_of_a_running_run_is_refused_and_of_a_paused_one_is_taken_live(
    weft: Any, home: Path, tmp_path: Path, started: Any
) -> None:
    """Paused, the live run stops the restarted node's task, restarts it and goes on running."""
    write(
        tmp_path,
        "slow.py",
        "import sys, time, weft_task as w\n"
        "open('attempts.txt', 'a').write('%s %d\\n' % (w.node, w.attempt))\n"
        "time.sleep(float(sys.argv[1]) if w.attempt == 1 else 0)\n",
    )
    workflow = write(
        tmp_path,
        "pair.weft.yaml",
        "weft: 1\nname: pair\nsettings: {max_parallel: 2}\nnodes:\n"
        f"  - {{id: quick, command: [{PY!r}, slow.py, '0.1']}}\n"
        f"  - {{id: slow, command: [{PY!r}, slow.py, '60']}}\n"
        f"  - {{id: after, command: [{PY!r}, slow.py, '0']}}\n"
        "edges:\n  - {from: slow, to: after}\n",
    )
    proc, run_id = started(workflow)
    wait_until(lambda: view(home, run_id).nodes["slow"].state is NodeState.RUNNING)
    running = weft("restart", run_id, "slow")
    assert running.code == 2 and "it is running; pause it first" in running.err and running.err.count("\n") == 1
    assert weft("pause", run_id).code == 0
    taken = weft("restart", run_id, "slow", "--json")
    assert taken.code == 0, taken.err
    assert taken.json() == {"run": run_id, "state": "running"}  # a restart resumes a paused run
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    after = view(home, run_id)
    assert after.state is RunState.SUCCEEDED
    assert after.nodes["slow"].attempt == 2 and after.nodes["quick"].attempt == 1
    lines = (tmp_path / "attempts.txt").read_text().split("\n")
    assert "slow 2" in lines and lines.count("after 1") == 1


def test_restart_of_an_interrupted_run_resumes_it_too(weft: Any, home: Path, tmp_path: Path, started: Any) -> None:
    import os
    import signal

    workflow = diamond(tmp_path)
    write(tmp_path, "b.py", "import time\ntime.sleep(30)\n")
    proc, run_id = started(workflow)
    wait_until(lambda: view(home, run_id).nodes["b"].state is NodeState.RUNNING)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    write(tmp_path, "b.py", "import weft_task as w\nw.output('v', 5)\n")
    t0 = time.time()
    again = weft("restart", run_id, "a", "--json")
    assert again.code == 0, again.err
    after = view(home, run_id)
    assert after.state is RunState.SUCCEEDED and after.nodes["c"].outputs == {"seen": 5}
    assert after.nodes["a"].attempt == 2 and (after.nodes["a"].started_at or 0) >= t0
