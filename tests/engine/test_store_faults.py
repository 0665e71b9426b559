"""Nothing lost when the run database misbehaves (SPEC §9: the engine never loses a recorded
event; if it cannot write to its database it stops the run rather than run on unrecorded).

Real SQLite files, real `weft` processes and a second process that holds the database's write
lock, as another `weft` or a backup tool would.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from engine.errors import RecordingFailed
from engine.history.fold import snapshot
from engine.history.store import DB_NAME, Store
from engine.running.run import Run
from engine.workflow.loader import load_file

ROOT = Path(__file__).resolve().parents[2]

#: Holds the write lock of the database in argv[1] for argv[2] seconds, says when it has it.
LOCKER = textwrap.dedent("""
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.execute("COMMIT")
""")


#: A task that records its pid in argv[1], then writes a line of argv[2] characters (none if 0)
#: every argv[3] seconds, for ever.
CHATTER = textwrap.dedent("""
    import os, sys, time
    pids, width, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    open(os.path.join(pids, str(os.getpid())), "w").close()
    while True:
        if width:
            print("x" * width, flush=True)
        time.sleep(pause)
""")


def _chatter(tmp_path: Path) -> Path:
    """Write the chatter task beside the workflows of ``tmp_path``; the folder its pids go to."""
    (tmp_path / "chatter.py").write_text(CHATTER)
    pids = tmp_path / "pids"
    pids.mkdir()
    return pids


def _assert_tasks_gone(pids: Path) -> None:
    for pid in pids.iterdir():
        assert not Path(f"/proc/{pid.name}").exists() or _zombie(pid.name), f"task {pid.name} still runs"


def _weft(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "--home", str(home), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def _hold_lock(home: Path, seconds: float) -> subprocess.Popen[str]:
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(home / DB_NAME), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
    return locker


def _wait_for_run(home: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (home / DB_NAME).exists():
            try:
                with sqlite3.connect(home / DB_NAME, timeout=1) as conn:
                    row = conn.execute("SELECT id FROM runs WHERE last_seq > 0").fetchone()
                if row:
                    return row[0]
            except sqlite3.OperationalError:
                pass
        time.sleep(0.02)
    raise AssertionError("the run never started")


def check_record(home: Path, run_id: str) -> dict[str, Any]:
    """The record is whole: integrity ok, events 1..last_seq with no gap, every one decodes, and
    the run's row agrees with its events. Returns the run's state and each node's last state."""
    with sqlite3.connect(home / DB_NAME) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        state, last = conn.execute("SELECT state, last_seq FROM runs WHERE id=?", (run_id,)).fetchone()
        seqs = [r[0] for r in conn.execute("SELECT seq FROM events WHERE run=? ORDER BY seq", (run_id,))]
        assert seqs == list(range(1, last + 1)), "events are not numbered 1..N without gaps"
    store = Store(home)
    try:
        view = snapshot(store, run_id, logs=True)
    finally:
        store.close()
    assert view.at == last and (view.state is None or view.state.value == state), (view.state, state)
    last_state = {n.id: n.state.value for n in view.nodes.values() if n.state is not None}
    return {"state": state, "last_seq": last, "nodes": last_state, "view": view}


def _workflow(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wf.weft.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_busy_database_never_stalls_the_run_nor_loses_an_event(tmp_path: Path) -> None:
    """Another process holds the write lock for 4 s while tasks run: timeouts still fire on
    time (the engine never waits for the database), and every event is stored afterwards."""
    home = tmp_path / "home"
    wf = _workflow(
        tmp_path,
        """
        weft: 1
        name: busy
        nodes:
          - {id: slow, command: [sleep, "20"], timeout: 1}
          - {id: quick, command: [sleep, "0.5"]}
          - {id: after, command: ["true"]}
        edges:
          - {from: quick, to: after}
    """,
    )
    proc = _weft(home, "run", str(wf), "--json")
    run_id = _wait_for_run(home)
    locker = _hold_lock(home, 4)
    out, err = proc.communicate(timeout=60)
    locker.wait(timeout=30)
    assert "Traceback" not in err, err
    assert proc.returncode == 1, err
    assert json.loads(out) == {"run": run_id, "state": "failed"}
    record = check_record(home, run_id)
    assert record["state"] == "failed"
    assert record["nodes"] == {"slow": "failed", "quick": "succeeded", "after": "succeeded"}
    slow = record["view"].nodes["slow"]
    started, finished, reason = slow.started_at, slow.finished_at, slow.reason
    assert reason == "timed out after 1 s"
    assert finished - started < 2.5, f"the timeout fired {finished - started:.1f} s after the start"


def test_a_database_locked_for_too_long_stops_the_run_cleanly(tmp_path: Path) -> None:
    """Locked past the patience ($WEFT_DB_BUSY_TIMEOUT): tasks are stopped, one line says why,
    the exit code is not 0, and once the lock is gone the record is whole and says failed."""
    home = tmp_path / "home"
    pids = _chatter(tmp_path)
    wf = _workflow(
        tmp_path,
        f"""
        weft: 1
        name: locked-out
        nodes:
          - {{id: long, command: [python3, chatter.py, "{pids}", "4", "0.05"]}}
    """,
    )
    proc = _weft(home, "run", str(wf), env={"WEFT_DB_BUSY_TIMEOUT": "1.5"})
    run_id = _wait_for_run(home)
    deadline = time.monotonic() + 30
    while not list(pids.iterdir()):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    locker = _hold_lock(home, 3)
    out, err = proc.communicate(timeout=60)
    locker.wait(timeout=30)
    assert "Traceback" not in err, err
    assert proc.returncode == 1
    lines = [line for line in err.splitlines() if line.startswith("weft: error:")]
    assert len(lines) == 1 and "stayed locked by another process" in lines[0], err
    _assert_tasks_gone(pids)
    record = check_record(home, run_id)
    assert record["state"] == "failed" and record["nodes"] == {"long": "cancelled"}


def _zombie(pid: str) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_full_database_stops_the_run_and_keeps_a_gap_free_record(tmp_path: Path) -> None:
    """The file cannot grow (as on a full disk): the run stops with RecordingFailed, its tasks
    are gone, and what was stored is a whole prefix of the run's events."""
    home = tmp_path / "home"
    pids = _chatter(tmp_path)
    wf = _workflow(
        tmp_path,
        f"""
        weft: 1
        name: disk-full
        nodes:
          - {{id: chatty, command: [python3, chatter.py, "{pids}", "2000", "0.001"]}}
          - {{id: sleeper, command: [python3, chatter.py, "{pids}", "0", "1"]}}
    """,
    )
    store = Store(home)
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    run = Run(load_file(wf), store)
    store.conn.execute(f"PRAGMA max_page_count={pages + 60}")  # about 240 KiB more, then "full"
    with pytest.raises(RecordingFailed) as raised:
        asyncio.run(run.execute())
    message = str(raised.value)
    assert "\n" not in message and "database or disk is full" in message, message
    assert "the run was stopped" in message
    store.close()
    _assert_tasks_gone(pids)
    with sqlite3.connect(home / DB_NAME) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        last = conn.execute("SELECT last_seq FROM runs WHERE id=?", (run.id,)).fetchone()[0]
        seqs = [r[0] for r in conn.execute("SELECT seq FROM events WHERE run=? ORDER BY seq", (run.id,))]
    assert seqs == list(range(1, last + 1)) and 0 < last < run._seq


def test_many_runs_started_at_once_on_a_fresh_home_all_run(tmp_path: Path) -> None:
    """Eight `weft run` at the same moment, the database not there yet: every one runs and is
    recorded (none dies with "database is locked" while the store is being created)."""
    home = tmp_path / "fresh-home"
    wf = _workflow(
        tmp_path,
        """
        weft: 1
        name: crowd
        nodes:
          - {id: a, command: ["true"]}
          - {id: b, command: ["true"]}
        edges:
          - {from: a, to: b}
    """,
    )
    procs = [_weft(home, "run", str(wf), "--json") for _ in range(8)]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (_out, err) in zip(procs, results):
        assert "Traceback" not in err and proc.returncode == 0, err
    ids = {json.loads(out)["run"] for out, _err in results}
    assert len(ids) == 8
    for run_id in ids:
        assert check_record(home, run_id)["state"] == "succeeded"


def _chatty_run(tmp_path: Path) -> tuple[Path, subprocess.Popen[str], str]:
    home = tmp_path / "home"
    pids = _chatter(tmp_path)
    wf = _workflow(
        tmp_path,
        f"""
        weft: 1
        name: interrupted
        nodes:
          - {{id: talk, command: [python3, chatter.py, "{pids}", "4", "0.05"]}}
    """,
    )
    proc = _weft(home, "run", str(wf))
    run_id = _wait_for_run(home)
    while not list(pids.iterdir()):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    return home, proc, run_id


def test_ctrl_c_while_the_database_is_locked_records_the_end_once_it_is_free(tmp_path: Path) -> None:
    """Ctrl+C stops the tasks at once; the run's last events wait for the lock, then are stored."""
    home, proc, run_id = _chatty_run(tmp_path)
    locker = _hold_lock(home, 3)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    locker.wait(timeout=30)
    assert "Traceback" not in err, err
    assert proc.returncode == 130, err
    _assert_tasks_gone(tmp_path / "pids")
    assert check_record(home, run_id)["state"] == "cancelled"


def test_ctrl_c_twice_stops_waiting_for_a_locked_database(tmp_path: Path) -> None:
    """A second Ctrl+C gives up on the lock: one line says where the record ends; what was
    stored is a gap-free prefix."""
    home, proc, run_id = _chatty_run(tmp_path)
    locker = _hold_lock(home, 60)
    try:
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        time.sleep(1.0)
        assert proc.poll() is None, "gave up waiting for the database after one Ctrl+C"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=10)
    finally:
        locker.kill()
        locker.wait()
    assert "Traceback" not in err, err
    assert proc.returncode == 1
    lines = [line for line in err.splitlines() if line.startswith("weft: error:")]
    assert len(lines) == 1 and "its record ends at event" in lines[0], err
    _assert_tasks_gone(tmp_path / "pids")
    check_record(home, run_id)


@pytest.mark.parametrize("version, says", [(0, "older format"), (1, "older format"), (99, "newer Weft")])
def test_a_database_of_another_format_is_refused_in_one_line(tmp_path: Path, version: int, says: str) -> None:
    """A home written by another version of Weft is never read as if it were this one's."""
    home = tmp_path / "home"
    Store(home).close()
    with sqlite3.connect(home / DB_NAME) as conn:
        conn.execute(f"PRAGMA user_version={version}")
    proc = _weft(home, "runs")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "--home" in lines[0], err
