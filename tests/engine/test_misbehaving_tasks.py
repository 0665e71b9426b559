"""Tasks that misbehave, and an engine that must not: the corpus in tests/engine/misbehaving/.

Each ``NN-name.weft.yaml`` there runs as a real ``weft run --json`` subprocess; its header
comments say what must happen (one directive per line, quoted text is a JSON string):

    # expect-exit: N                       exit code of `weft run` (0, 1 or 3)
    # expect-node: ID STATE ["text" ...]   the node's final state; its reason holds each text
    # expect-absent: ID                    no such node in the run (a refused mutation made it)
    # expect-broken: TASK "text"           broken.task is TASK and broken.promise holds text
    # expect-attempt: ID N                 the node's recorded attempt
    # expect-output: ID PORT JSON          the node's output value
    # expect-no-output: ID                 the node has no recorded outputs
    # expect-edges: N                      the run has N edges
    # expect-log: ID "text"                some log line of the node holds text (`weft logs`)
    # expect-log-count: ID STREAM N        the node has exactly N log lines from STREAM
    # expect-log-sequence: ID STREAM "fmt" ...and they are fmt.format(i=0..N-1), in order
    # expect-gone: ID                      every pid the task wrote to WORKSPACE/pids/ID is dead
    # expect-cleanup: NAME                 pids in WORKSPACE/pids/NAME are out of the engine's
    #                                      reach by design (not checked; every recorded pid
    #                                      still running is killed after each case anyway)
    # expect-max-rss-mib: N                the engine's peak resident memory stays under N MiB
    # expect-max-rss-growth-mib: N         ...and exceeds that of a trivial run by at most N MiB
    # expect-max-seconds: N                the run takes at most N seconds

Whatever the case, `weft run` prints exactly one JSON line, no traceback reaches stderr, and
the SQLite record is complete: a terminal run with finished_at, events numbered 1..N without
gaps, every node in a terminal state (matching its last state event), integrity ok.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.events import NodeState, RunStarted, RunState, RunStateChanged
from engine.history.fold import RunSnapshot
from engine.history.store import Store

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "misbehaving"
CASES = sorted(CORPUS.glob("*.weft.yaml"))
RUN_TIMEOUT = 120
EXIT_STATE = {0: "succeeded", 1: "failed", 3: "broken", 130: "cancelled"}
TERMINAL_RUN = {s.value for s in RunState if s.is_terminal}
TERMINAL_NODE = {s.value for s in NodeState if s.is_terminal}

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\S+')


# -- the header directives -----------------------------------------------------------------


@dataclass
class Expect:
    exit: int | None = None
    nodes: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)
    broken: tuple[str, str] | None = None
    attempts: dict[str, int] = field(default_factory=dict)
    outputs: list[tuple[str, str, Any]] = field(default_factory=list)
    no_output: list[str] = field(default_factory=list)
    edges: int | None = None
    logs: list[tuple[str, str]] = field(default_factory=list)
    log_counts: list[tuple[str, str, int]] = field(default_factory=list)
    log_sequences: list[tuple[str, str, str]] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    cleanup: list[str] = field(default_factory=list)
    max_rss_mib: float | None = None
    max_rss_growth_mib: float | None = None
    max_seconds: float | None = None


def _tokens(text: str) -> list[str]:
    return [json.loads(t) if t.startswith('"') else t for t in _TOKEN.findall(text)]


def parse_expectations(path: Path) -> Expect:
    e = Expect()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = re.match(r"#\s*expect-([a-z-]+):\s*(.*)$", line)
        if not m:
            continue
        key, args = m.group(1), _tokens(m.group(2))
        where = f"{path.name}:{number}"
        if key == "exit":
            e.exit = int(args[0])
        elif key == "node":
            assert len(args) >= 2 and args[1] in TERMINAL_NODE, f"{where}: expect-node: ID STATE [texts]"
            e.nodes[args[0]] = (args[1], args[2:])
        elif key == "absent":
            e.absent.append(args[0])
        elif key == "broken":
            e.broken = (args[0], args[1] if len(args) > 1 else "")
        elif key == "attempt":
            e.attempts[args[0]] = int(args[1])
        elif key == "output":
            e.outputs.append((args[0], args[1], json.loads(m.group(2).split(None, 2)[2])))
        elif key == "no-output":
            e.no_output.append(args[0])
        elif key == "edges":
            e.edges = int(args[0])
        elif key == "log":
            e.logs.append((args[0], args[1]))
        elif key == "log-count":
            e.log_counts.append((args[0], args[1], int(args[2])))
        elif key == "log-sequence":
            e.log_sequences.append((args[0], args[1], args[2]))
        elif key == "gone":
            e.gone.append(args[0])
        elif key == "cleanup":
            e.cleanup.append(args[0])
        elif key == "max-rss-mib":
            e.max_rss_mib = float(args[0])
        elif key == "max-rss-growth-mib":
            e.max_rss_growth_mib = float(args[0])
        elif key == "max-seconds":
            e.max_seconds = float(args[0])
        else:
            raise AssertionError(f"{where}: unknown directive expect-{key}")
    assert e.exit is not None, f"{path.name}: no '# expect-exit:' line"
    assert e.nodes, f"{path.name}: no '# expect-node:' line"
    return e


# -- running the CLI -----------------------------------------------------------------------


def weft(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "--home", str(home), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
    )


@dataclass
class RunResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_kib: int


def _peak_rss_kib(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(m.group(1)) if m else None


def run_workflow(home: Path, path: Path) -> RunResult:
    """`weft run PATH --json` as a real subprocess, watching the engine's peak memory."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "--home", str(home), "run", str(path), "--json"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    peak = [0]

    def watch() -> None:  # VmHWM only grows; the last reading before exit is close to final
        while proc.poll() is None:
            value = _peak_rss_kib(proc.pid)
            if value:
                peak[0] = max(peak[0], value)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(
            f"weft run {path.name} did not finish within {RUN_TIMEOUT} s (the engine hangs)\n"
            f"stderr:\n{err.decode('utf-8', 'replace')[-3000:]}"
        )
    watcher.join()
    return RunResult(
        proc.returncode,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
        time.monotonic() - started,
        peak[0],
    )


# -- checks --------------------------------------------------------------------------------


def _is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # pid reused by someone else's process: ours is gone
        return True
    try:  # an unreaped zombie (no init reaping orphans here) runs nothing any more
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def check_processes_gone(workspace: Path, node: str) -> None:
    pid_file = workspace / "pids" / node
    assert pid_file.is_file(), f"task {node} recorded no pids in {pid_file}"
    pids = [int(p) for p in pid_file.read_text().split()]
    assert pids, f"task {node} recorded no pids"
    deadline = time.monotonic() + 3  # an orphaned grandchild may take a moment to be reaped
    alive = [p for p in pids if not _is_gone(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if not _is_gone(p)]
    for pid in alive:  # leave nothing behind, then fail
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    assert not alive, f"processes of task {node} still alive after the run: {alive}"


def check_database(home: Path, run_id: str, state: str, absent: list[str] = ()) -> dict[str, Any]:
    """The SQLite record is complete and readable; returns the run row."""
    db = home / "weft.db"
    assert db.is_file(), f"no database at {db}"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        run = conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        assert run is not None, f"no row for run {run_id}"
        assert run["state"] in TERMINAL_RUN and run["state"] == state, dict(run)
        assert run["finished_at"] is not None and run["finished_at"] >= run["started_at"], dict(run)

        events = conn.execute("SELECT seq, kind, node, data FROM events WHERE run=? ORDER BY seq", (run_id,)).fetchall()
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(1, len(seqs) + 1)), (
            f"event numbers have gaps or do not start at 1: missing {sorted(set(range(1, max(seqs) + 1)) - set(seqs))}"
        )
        assert run["last_seq"] == len(seqs), (run["last_seq"], len(seqs))
    finally:
        conn.close()
    # every event decodes, and the fold of them is a finished run
    store = Store(home)
    try:
        records = list(store.events(run_id))
    finally:
        store.close()
    assert isinstance(records[0].event, RunStarted)
    run_states = [r.event.state.value for r in records if isinstance(r.event, RunStateChanged)]
    assert run_states and run_states[-1] == state, run_states
    view = RunSnapshot(run_id).apply_all(records)
    for node_id, node in view.nodes.items():
        assert node.state is not None and node.state.is_terminal, f"node {node_id} left in state {node.state}"
        if node.started_at is not None:
            assert node.finished_at is not None and node.finished_at >= node.started_at
    for node_id in absent:  # a refused mutation leaves no trace but the refusal itself
        assert node_id not in view.nodes, f"node {node_id} is in the graph"
        named = [r.seq for r in records if getattr(r.event, "node", None) == node_id]
        assert not named, f"events {named} name node {node_id}"
        assert not [e for e in view.edges if node_id in (e.source, e.target)], f"edges name node {node_id}"
    return dict(run)


# -- the test ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline_rss_kib(tmp_path_factory: pytest.TempPathFactory) -> int:
    """The engine's peak memory for a trivial one-node run, to compare heavy cases against."""
    folder = tmp_path_factory.mktemp("baseline")
    workflow = folder / "trivial.weft.yaml"
    workflow.write_text(
        "weft: 1\nname: trivial\nnodes:\n  - id: a\n    command: [python3, -c, 'pass']\n", encoding="utf-8"
    )
    result = run_workflow(folder / "home", workflow)
    assert result.returncode == 0 and result.peak_rss_kib, result.stderr
    return result.peak_rss_kib


@pytest.mark.parametrize("case", CASES, ids=[c.name.removesuffix(".weft.yaml") for c in CASES])
def test_misbehaving_task(case: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    expect = parse_expectations(case)
    home = tmp_path / "home"
    try:
        check_case(case, expect, home, request)
    finally:
        kill_recorded(home)  # whatever the outcome, leave no task process behind


def kill_recorded(home: Path) -> None:
    """SIGKILL every still-running process a task of this test recorded (see ops/_raw.py)."""
    for pid_file in home.glob("workspaces/*/pids/*"):
        for pid in pid_file.read_text().split():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"ops/" in cmdline or b"time.sleep" in cmdline:  # ours, not a reused pid
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass


def check_case(case: Path, expect: Expect, home: Path, request: pytest.FixtureRequest) -> None:
    result = run_workflow(home, case)
    context = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr[-4000:]}"

    assert "Traceback" not in result.stderr, context
    assert result.returncode == expect.exit, context
    lines = result.stdout.splitlines()
    assert len(lines) == 1, f"expected exactly one line on stdout\n{context}"
    summary = json.loads(lines[0])
    assert isinstance(summary, dict) and {"run", "state"} <= summary.keys(), summary
    state = EXIT_STATE[expect.exit]
    assert summary["state"] == state, summary
    run_id = summary["run"]

    if expect.max_seconds is not None:
        assert result.seconds <= expect.max_seconds, f"run took {result.seconds:.1f} s"
    if expect.max_rss_mib is not None:
        assert result.peak_rss_kib, "could not read the engine's memory use"
        assert result.peak_rss_kib / 1024 <= expect.max_rss_mib, (
            f"engine peaked at {result.peak_rss_kib / 1024:.0f} MiB (limit {expect.max_rss_mib:g})"
        )
    if expect.max_rss_growth_mib is not None:
        baseline = request.getfixturevalue("baseline_rss_kib")
        assert result.peak_rss_kib, "could not read the engine's memory use"
        growth = (result.peak_rss_kib - baseline) / 1024
        assert growth <= expect.max_rss_growth_mib, (
            f"engine peaked {growth:.0f} MiB above a trivial run (limit {expect.max_rss_growth_mib:g})"
        )

    shown = weft(home, "show", run_id, "--json")
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    show = json.loads(shown.stdout)
    assert show["run"] == run_id and show["state"] == state
    nodes = {n["id"]: n for n in show["nodes"]}
    for node_id, (node_state, texts) in expect.nodes.items():
        assert node_id in nodes, f"no node {node_id} in the run: {sorted(nodes)}"
        node = nodes[node_id]
        assert node["state"] == node_state, f"{node_id}: {node}"
        for text in texts:
            assert text in (node["reason"] or ""), f"{node_id}: reason {node['reason']!r} lacks {text!r}"
    for node_id in expect.absent:
        assert node_id not in nodes, f"node {node_id} should not exist: {nodes[node_id]}"
        assert all(node_id not in (e["from"], e["to"]) for e in show["edges"]), show["edges"]
    for node_id, attempt in expect.attempts.items():
        assert nodes[node_id]["attempt"] == attempt, nodes[node_id]
    for node_id, port, value in expect.outputs:
        assert show["outputs"].get(node_id, {}).get(port) == value, show["outputs"]
    for node_id in expect.no_output:
        assert not show["outputs"].get(node_id), show["outputs"]
    if expect.edges is not None:
        assert len(show["edges"]) == expect.edges, show["edges"]
    if expect.broken is None:
        assert show["broken"] is None, show["broken"]
    else:
        task, promise = expect.broken
        assert show["broken"] is not None, show
        assert show["broken"]["task"] == task, show["broken"]
        assert promise in show["broken"]["promise"], show["broken"]
        assert show["broken"]["reason"], show["broken"]

    log_nodes = (
        {n for n, _ in expect.logs} | {n for n, _, _ in expect.log_counts} | {n for n, _, _ in expect.log_sequences}
    )
    logs: dict[str, list[dict[str, Any]]] = {}
    for node_id in sorted(log_nodes):
        got = weft(home, "logs", run_id, node_id, "--json")
        assert got.returncode == 0 and "Traceback" not in got.stderr, got.stderr
        logs[node_id] = [json.loads(line) for line in got.stdout.splitlines()]
    for node_id, text in expect.logs:
        assert any(text in entry["message"] for entry in logs[node_id]), (
            f"no log line of {node_id} holds {text!r}: {[e['message'] for e in logs[node_id]][:20]}"
        )
    for node_id, stream, count in expect.log_counts:
        got_count = sum(1 for entry in logs[node_id] if entry["stream"] == stream)
        assert got_count == count, f"{node_id} has {got_count} {stream} lines, expected {count}"
    for node_id, stream, fmt in expect.log_sequences:
        messages = [entry["message"] for entry in logs[node_id] if entry["stream"] == stream]
        assert messages == [fmt.format(i=i) for i in range(len(messages))], f"{node_id}: {stream} out of order"

    row = check_database(home, run_id, state, expect.absent)
    workspace = Path(json.loads(row["settings"])["workspace"])
    for node_id in expect.gone:
        check_processes_gone(workspace, node_id)


def test_corpus_is_complete() -> None:
    """At least 14 cases, and every op script a case names exists."""
    assert len(CASES) >= 14
    for case in CASES:
        assert re.match(r"\d\d-[a-z0-9-]+\.weft\.yaml$", case.name), case.name
        for script in re.findall(r"ops/[\w.-]+\.py", case.read_text(encoding="utf-8")):
            assert (CORPUS / script).is_file(), f"{case.name} names a missing {script}"
