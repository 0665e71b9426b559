"""A closed terminal (SIGHUP) stops a run as Ctrl+C does: tasks and containers gone, the run
recorded as cancelled, nothing left claiming to run.

`weft run` runs as the controlling process of a real pseudo-terminal; closing the terminal's
master side is what closing a terminal window or losing an ssh session does: the kernel sends
SIGHUP, and every later write to the terminal fails.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import sqlite3
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.conftest import alive, containers_of
from tests.engine.test_store_faults import check_record

ROOT = Path(__file__).resolve().parents[2]

TASK = """
import os, sys, time
pids = sys.argv[1]
open(os.path.join(pids, str(os.getpid())), "w").close()
while True:
    print("still here", flush=True)
    time.sleep(0.1)
"""


def _in_terminal(argv: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    master, slave = pty.openpty()

    def take_terminal() -> None:  # after setsid: the pty becomes this session's terminal
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        preexec_fn=take_terminal,
        cwd=ROOT,
        env=env,
    )
    os.close(slave)
    return proc, master


def _read_until(master: int, text: bytes, timeout: float = 60) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while text not in seen:
        assert time.monotonic() < deadline, seen[-2000:]
        try:
            seen += os.read(master, 65536)
        except OSError:
            break
    return seen


def _hang_up(tmp_path: Path, executor: str, extra_env: dict[str, str]) -> tuple[str, Path]:
    home, pids = tmp_path / "home", tmp_path / "pids"
    pids.mkdir(mode=0o777)
    os.chmod(pids, 0o777)  # a container task may run as another user
    (tmp_path / "task.py").write_text(TASK)
    nodes = [
        {"id": f"t{i}", "command": ["python3", "task.py", str(pids) if executor == "local" else "/workspace"]}
        for i in range(3)
    ]
    (tmp_path / "wf.weft.yaml").write_text(
        json.dumps({"weft": 1, "name": "hangup", "settings": {"max_parallel": 3}, "nodes": nodes})
    )
    env = {**os.environ, **extra_env}
    proc, master = _in_terminal(
        [
            sys.executable,
            "-m",
            "engine.cli.main",
            "--home",
            str(home),
            "run",
            str(tmp_path / "wf.weft.yaml"),
            "--logs",
            "--executor",
            executor,
        ],
        env,
    )
    try:
        _read_until(master, b"still here")
        deadline = time.monotonic() + 60
        while True:  # every task has started and said so
            with sqlite3.connect(home / "weft.db") as conn:
                said = conn.execute("SELECT count(DISTINCT node) FROM events WHERE kind='log'").fetchone()[0]
            if said == 3:
                break
            assert time.monotonic() < deadline, f"only {said} of 3 tasks started"
            time.sleep(0.05)
    finally:
        os.close(master)  # the terminal goes away: SIGHUP
    assert proc.wait(timeout=60) == 130
    with sqlite3.connect(home / "weft.db") as conn:
        run_id = conn.execute("SELECT id FROM runs").fetchone()[0]
    return run_id, home


def test_a_closed_terminal_stops_the_run_and_its_tasks(tmp_path: Path) -> None:
    run_id, home = _hang_up(tmp_path, "local", {})
    record = check_record(home, run_id)
    assert record["state"] == "cancelled"
    assert set(record["nodes"].values()) == {"cancelled"}
    reason = next(iter(record["view"].nodes.values())).reason
    assert "SIGHUP" in reason
    pids = [int(p.name) for p in (tmp_path / "pids").iterdir()]
    assert len(pids) == 3
    assert not [pid for pid in pids if alive(pid)], "tasks outlived their closed terminal"


@pytest.mark.docker
def test_a_closed_terminal_removes_the_runs_containers(tmp_path: Path, docker_image: str, docker_client) -> None:
    run_id, home = _hang_up(tmp_path, "docker", {"WEFT_DOCKER_IMAGE": docker_image})
    assert check_record(home, run_id)["state"] == "cancelled"
    assert containers_of(docker_client, run_id) == []
