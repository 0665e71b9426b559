"""The run model and the run host, without a window: bounded logs, the fold, the host's protocol."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from engine.events import (
    AddedNode,
    LogLine,
    NodeState,
    NodeStateChanged,
    Recorded,
    RunStarted,
    RunState,
    RunStateChanged,
)
from engine.promises.projection import Ghost
from studio.model.runmodel import LOG_LINES, GhostUpdate, RunEnded, RunModel
from studio.runhost import read_frames
from tests.conftest import EXAMPLES


def rec(seq: int, event: Any) -> Recorded:
    return Recorded("r-test", seq, time.time(), event)


def test_logs_are_bounded_and_counted() -> None:
    model = RunModel("r-test")
    model.apply([rec(1, RunStarted((AddedNode("a", {"id": "a"}),), workflow="w"))])
    lines = [rec(i + 2, LogLine("a", "stdout", f"line {i}")) for i in range(LOG_LINES * 3)]
    changes = model.apply(lines)
    run = model.nodes["a"]
    assert changes.logs == {"a": LOG_LINES * 3}
    log = model.log_of(run.id)
    assert model.log_counts["a"] == LOG_LINES * 3 and len(log) == LOG_LINES
    assert log[-1] == f"line {LOG_LINES * 3 - 1}" and log[0] == f"line {LOG_LINES * 2}"
    assert len(model.engine_log) == LOG_LINES


def test_ghosts_of_finished_nodes_are_dropped_at_once() -> None:
    model = RunModel("r-test")
    model.apply(
        [
            rec(1, RunStarted((AddedNode("plan", {"id": "plan"}, dynamic=True),), workflow="w")),
            GhostUpdate([Ghost("plan", "anything may follow")]),
        ]
    )
    assert [g.owner for g in model.ghosts] == ["plan"]
    changes = model.apply([rec(2, NodeStateChanged("plan", NodeState.SUCCEEDED, 1))])
    assert changes.ghosts and model.ghosts == []
    # a projection computed a moment before the node ended does not bring it back
    model.apply([GhostUpdate([Ghost("plan", "anything may follow")])])
    assert model.ghosts == []
    model.apply([rec(3, RunStateChanged(RunState.SUCCEEDED)), RunEnded("succeeded")])
    assert model.finished and model.ended is not None


def run_host(header: dict[str, Any], stdin_extra: bytes = b"", timeout: float = 60) -> list[Any]:
    """Talk to a run host as the studio does: the header, maybe a Stop, and stdin kept open (its
    end would mean the studio went away, which stops the run)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio.runhost"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(json.dumps(header).encode() + b"\n" + stdin_extra)
    proc.stdin.flush()
    items: list[Any] = []
    for frame in read_frames(proc.stdout):
        items.extend(frame)
        if any(isinstance(i, RunEnded) for i in frame):
            break
    proc.stdin.close()
    proc.wait(timeout)
    errors = proc.stderr.read()
    assert b"Traceback" not in errors, errors.decode()
    return items


def test_the_run_host_runs_and_reports_in_frames(home: Path) -> None:
    path = EXAMPLES / "four-nodes.weft.yaml"
    items = run_host(
        {"text": path.read_text(), "path": str(path), "home": str(home), "run_id": "r-host-1", "max_parallel": None}
    )
    assert isinstance(items[-1], RunEnded) and items[-1].state == "succeeded" and items[-1].error is None
    model = RunModel("r-host-1")
    model.apply(items)
    assert model.state == "succeeded" and len(model.nodes) == 4
    assert all(r.state == "succeeded" for r in model.nodes.values())
    from engine.history.store import Store

    store = Store(home)
    try:
        assert store.run("r-host-1")["state"] == "succeeded"  # the same database the CLI uses
    finally:
        store.close()


def test_the_run_host_says_why_a_run_cannot_start(home: Path) -> None:
    items = run_host({"text": "weft: 1\nnodes: [}", "path": None, "home": str(home), "run_id": "r-host-2"})
    assert isinstance(items[-1], RunEnded) and items[-1].state == "failed"
    assert items[-1].error.startswith("the run could not start:")


def test_stop_before_anything_runs(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "slow.weft.yaml"
    path.write_text("weft: 1\nname: slow\nnodes:\n  - {id: a, command: [python3, -c, 'import time; time.sleep(30)']}\n")
    started = time.monotonic()
    items = run_host(
        {"text": path.read_text(), "path": str(path), "home": str(home), "run_id": "r-host-3"}, stdin_extra=b"stop\n"
    )
    assert time.monotonic() - started < 20
    model = RunModel("r-host-3")
    model.apply(items)
    assert model.state == "cancelled" and model.nodes["a"].state == "cancelled"
