"""kill -9 of the engine in the middle of a 200-node run — `weft run`, the studio's run host,
local tasks and containers — then `weft resume`: nothing that succeeded starts again, every
output is there, and nothing of the dead process is left (tasks, containers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.events import NodeState, RunState
from tests.conftest import containers_of
from tests.engine.conftest import run_ids, view, wait_for_run, wait_until

NODES = 200
CHAINS = 4
#: a task: a file in the workspace and an output, both named after its node and attempt-free
TASK = (
    "import os, time, weft_task as w\n"
    "time.sleep(0.05)\n"
    "os.makedirs(w.path('out'), exist_ok=True)\n"
    "open(w.path('out/' + w.node + '.txt'), 'w').write(w.node)\n"
    "w.output('v', w.node)\n"
)


def workflow(folder: Path, executor: str = "local", image: str | None = None) -> Path:
    """``CHAINS`` chains of ``NODES / CHAINS`` nodes; each node writes a file and an output."""
    (folder / "task.py").write_text(TASK)
    python = "python3" if executor == "docker" else sys.executable
    settings = f"settings: {{max_parallel: 4, executor: {executor}" + (f", image: {image!r}" if image else "") + "}"
    lines = ["weft: 1", "name: crash", settings, "operators:"]
    lines.append(f"  T: {{command: [{python}, task.py], outputs: {{v: str}}}}")
    lines.append("nodes:")
    ids = [f"c{c}-{i}" for c in range(CHAINS) for i in range(NODES // CHAINS)]
    lines += [f"  - {{id: {node}, operator: T}}" for node in ids]
    lines.append("edges:")
    for c in range(CHAINS):
        lines += [f"  - {{from: c{c}-{i}, to: c{c}-{i + 1}}}" for i in range(NODES // CHAINS - 1)]
    path = folder / "crash.weft.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def processes_of(run_id: str) -> list[int]:
    """Processes whose environment names ``run_id`` (every task of the run has WEFT_RUN)."""
    found = []
    needle = f"WEFT_RUN={run_id}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def succeeded(home: Path, run_id: str) -> int:
    return sum(1 for n in view(home, run_id).nodes.values() if n.state is NodeState.SUCCEEDED)


def kill_and_resume(weft: Any, home: Path, proc: subprocess.Popen[Any], run_id: str, timeout: float) -> Any:
    def half_way() -> bool:
        assert proc.poll() is None, f"the run ended before it could be killed: {weft('show', run_id).out}"
        return succeeded(home, run_id) >= NODES // 4

    wait_until(half_way, timeout=timeout)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = view(home, run_id)
    assert weft("show", run_id, "--json").json()["state"] == "interrupted"
    assert "interrupted" in weft("runs").out
    resumed = weft("resume", run_id, "--json", timeout=timeout * 4)
    assert resumed.code == 0 and resumed.json() == {"run": run_id, "state": "succeeded"}, resumed.err
    after = view(home, run_id)
    assert after.state is RunState.SUCCEEDED
    done_before = [n for n, r in before.nodes.items() if r.state is NodeState.SUCCEEDED]
    assert len(done_before) >= NODES // 4
    for node in done_before:  # never started again: same attempt, same start
        assert after.nodes[node].attempt == 1, node
        assert after.nodes[node].started_at == before.nodes[node].started_at, node
    workspace = home / "workspaces" / run_id
    for node, record in after.nodes.items():
        assert record.state is NodeState.SUCCEEDED, node
        assert record.outputs == {"v": node}, node
        assert (workspace / "out" / f"{node}.txt").read_text() == node
    wait_until(lambda: processes_of(run_id) == [], timeout=10)
    return before


def test_kill_9_of_weft_run_in_a_200_node_run_then_resume(weft: Any, home: Path, tmp_path: Path, started: Any) -> None:
    proc, run_id = started(workflow(tmp_path))
    kill_and_resume(weft, home, proc, run_id, timeout=60)


def test_kill_9_of_the_studios_run_host_then_resume(weft: Any, home: Path, tmp_path: Path) -> None:
    path = workflow(tmp_path)
    known = run_ids(home)
    host = subprocess.Popen(
        [sys.executable, "-m", "studio.runhost"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert host.stdin is not None
        header = {"text": path.read_text(), "path": str(path), "home": str(home), "run_id": None, "max_parallel": 4}
        host.stdin.write((json.dumps(header) + "\n").encode())
        host.stdin.flush()
        run_id = wait_for_run(home, known)
        kill_and_resume(weft, home, host, run_id, timeout=60)
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()


@pytest.mark.docker
def test_kill_9_in_a_200_node_run_on_docker_then_resume(
    weft: Any, home: Path, tmp_path: Path, started: Any, docker_client: Any, docker_image: str
) -> None:
    proc, run_id = started(workflow(tmp_path, "docker", docker_image))
    kill_and_resume(weft, home, proc, run_id, timeout=300)
    assert containers_of(docker_client, run_id) == []
