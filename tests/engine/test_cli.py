"""The command line as a person (or a script) uses it: output shapes, exit codes, errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.conftest import EXAMPLES

WORD_COUNT = EXAMPLES / "word-count.weft.yaml"


def test_validate_reports_ok(weft):
    result = weft("validate", WORD_COUNT)
    assert result.code == 0
    assert "valid (4 nodes, 5 edges" in result.out


def test_run_json_and_show_json_have_the_spec_shape(weft):
    result = weft("run", WORD_COUNT, "--json")
    assert result.code == 0
    assert set(result.json()) == {"run", "state"} and result.json()["state"] == "succeeded"
    show = weft("show", result.json()["run"], "--json").json()
    assert {"run", "state", "nodes", "edges", "promises", "broken"} <= set(show)
    assert show["broken"] is None and show["promises"] == []
    for node in show["nodes"]:
        assert {"id", "state", "operator", "created_by", "started_at", "finished_at"} <= set(node)
    assert {"from": "read", "to": "count"} in show["edges"]
    assert all(set(e) == {"from", "to"} for e in show["edges"])
    skipped = next(n for n in show["nodes"] if n["id"] == "too-short")
    assert skipped["state"] == "skipped" and skipped["started_at"] is None


def test_runs_lists_newest_first_and_accepts_prefixes_and_last(weft):
    first = weft("run", EXAMPLES / "four-nodes.weft.yaml", "--json").json()["run"]
    second = weft("run", WORD_COUNT, "--json").json()["run"]
    runs = weft("runs", "--json").json()
    assert [r["run"] for r in runs] == [second, first]
    assert set(runs[0]) >= {"run", "workflow", "state", "started_at"}
    assert runs[0]["workflow"] == "word-count"
    assert weft("show", "last", "--json").json()["run"] == second
    by_prefix = weft("show", first[:-1], "--json")
    if first[:-1] == second[:-1]:  # same second and same first random digits: ambiguous
        assert by_prefix.code == 2 and "matches several runs" in by_prefix.err
    else:
        assert by_prefix.json()["run"] == first
    assert weft("show", first, "--json").json()["run"] == first
    table = weft("runs")
    assert first in table.out and "succeeded" in table.out


def test_unknown_run_is_invalid_input_in_one_line(weft):
    result = weft("show", "r-nope")
    assert result.code == 2
    assert result.err.count("\n") == 1 and "no run 'r-nope'" in result.err


def test_logs_of_a_node_and_of_a_run(weft):
    run = weft("run", WORD_COUNT, "--json").json()["run"]
    node_logs = weft("logs", run, "report")
    assert node_logs.code == 0 and "most common: the" in node_logs.out
    all_logs = weft("logs", run)
    assert "[read] read" in all_logs.out and "[report] most common" in all_logs.out
    assert weft("logs", run, "nope").code == 2
    as_json = [json.loads(line) for line in weft("logs", run, "--json").out.splitlines()]
    assert all({"seq", "ts", "node", "message"} <= set(x) for x in as_json)


def test_graph_of_a_file_and_of_a_run_at_an_event(weft):
    dot = weft("graph", WORD_COUNT)
    assert dot.code == 0 and dot.out.startswith('digraph "word-count"') and '"read" -> "count"' in dot.out
    run = weft("run", EXAMPLES / "fan-out.weft.yaml", "--json").json()["run"]
    final = weft("graph", run, "--format", "json").json()
    assert len(final["nodes"]) == 7 and len(final["edges"]) == 5
    assert all(n["ghost"] is False for n in final["nodes"])
    early = weft("graph", run, "--at", "2", "--format", "json").json()  # 1: registered, 2: plan runs
    assert [(n["id"], n["ghost"]) for n in early["nodes"]] == [("plan", False), ("ghost:plan", True)]
    assert early["nodes"][0]["state"] == "running"
    assert early["at"] == 2 and {"from": "plan", "to": "ghost:plan", "ghost": True} in early["edges"]
    assert weft("graph", run, "--at", "99999").code == 2


def test_bad_arguments_exit_2_in_one_line(weft):
    result = weft("run", WORD_COUNT, "--max-parallel", "0")
    assert result.code == 2 and result.err.count("\n") == 1
    assert weft("run", "no-such-file.weft.yaml").code == 2
    assert weft("frobnicate").code == 2


def test_no_docker_engine_exits_2_says_what_to_do_and_records_nothing(weft, home, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    result = weft("run", WORD_COUNT, "--executor", "docker")
    assert result.code == 2 and result.err.count("\n") == 1
    assert result.err == (
        "weft: error: cannot reach a Docker engine at unix:///nonexistent.sock (no such socket): "
        "start Docker or run with --executor local\n"
    )
    assert weft("runs", "--json").json() == []
    assert not list(home.glob("workspaces/*"))


def test_a_socket_that_is_no_docker_engine_exits_2(weft, monkeypatch):
    """Something listens, but it is not Docker: it hangs up at once (or a daemon refusing us)."""
    folder = Path(tempfile.mkdtemp(prefix="weft-sock-"))  # short: unix socket paths are limited
    path = folder / "not-docker.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(8)

    def hang_up() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
        result = weft("run", WORD_COUNT, "--executor", "docker")
        assert result.code == 2 and result.err.count("\n") == 1
        assert f"cannot reach a Docker engine at unix://{path} (" in result.err
        assert "not a Docker engine?" in result.err and "--executor local" in result.err
        assert weft("runs", "--json").json() == []
    finally:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)


def test_ctrl_c_cancels_the_run_stops_its_tasks_and_exits_130(home, tmp_path: Path):
    pidfile = tmp_path / "pid"
    wf = tmp_path / "slow.weft.yaml"
    wf.write_text(f"""
weft: 1
name: slow
nodes:
  - id: sleeper
    command: [python3, -c, "import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"]
  - id: after
    command: [python3, -c, "pass"]
edges:
  - {{from: sleeper, to: after}}
""")
    env = dict(os.environ, WEFT_HOME=str(home))
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "run", str(wf), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    task_pid = int(pidfile.read_text())
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert json.loads(out)["state"] == "cancelled"
    try:
        os.kill(task_pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive, "the task outlived the cancelled run"
    show = subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "show", "last", "--json"], capture_output=True, text=True, env=env
    )
    data = json.loads(show.stdout)
    assert data["state"] == "cancelled"
    assert {n["id"]: n["state"] for n in data["nodes"]} == {"sleeper": "cancelled", "after": "cancelled"}


def test_a_breach_found_at_a_start_says_so_instead_of_naming_no_task(weft):
    """A region checked completely before its last anchor starts has no culprit task: the
    summary and `weft show` say how it was found, never "by task: None"."""
    result = weft("run", EXAMPLES / "breaker-shape-incomplete.weft.yaml")
    assert result.code == 3
    assert "None" not in result.out and "no task's mutation broke it" in result.out
    shown = weft("show", "last")
    assert "None" not in shown.out and "no task's mutation broke it" in shown.out
    assert weft("show", "last", "--json").json()["broken"]["task"] is None
