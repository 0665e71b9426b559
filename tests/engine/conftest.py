"""Engine test fixtures: run a workflow in-process against a real store."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.history.fold import snapshot
from engine.history.store import Store
from engine.running.run import Run
from engine.workflow.loader import load_file

# -- Ray ------------------------------------------------------------------------------------------
# The ray executor's tests run on a real two-node cluster on loopback that the session starts
# (tests/raycluster.py) and stops at its end: the fault tests kill and restart its nodes, which
# no cluster from outside would allow. Without Ray they are skipped, with the reason, unless
# WEFT_REQUIRE_RAY=1 (as in CI), where they fail instead.


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    try:
        import ray  # noqa: F401
    except ImportError:
        reason = "Ray is not installed (pip install 'weft[ray]')"
        if os.environ.get("WEFT_REQUIRE_RAY") == "1":
            pytest.fail(f"{reason} (WEFT_REQUIRE_RAY=1)", pytrace=False)
        pytest.skip(reason)
    from tests.raycluster import RayCluster

    cluster = RayCluster()
    try:  # (a session fixture cannot use monkeypatch: the nodes get ENV from RayCluster)
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def ray_address(ray_cluster: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test cluster's address, both its nodes running, as $RAY_ADDRESS of `weft` subprocesses."""
    from tests.raycluster import ENV

    ray_cluster.ensure()
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.address)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return str(ray_cluster.address)


@pytest.fixture
def store(home: Path):
    s = Store(home)
    yield s
    s.close()


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write a workflow (dedented YAML) and optional task scripts into a fresh folder."""

    def make(text: str, name: str = "wf.weft.yaml", **scripts: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        for script, body in scripts.items():
            (tmp_path / f"{script}.py").write_text(textwrap.dedent(body), encoding="utf-8")
        return path

    return make


@pytest.fixture
def run_file(store: Store) -> Callable[..., Run]:
    """Run a workflow file to its end in this process; returns the finished Run."""

    def go(path: Path, **kwargs: Any) -> Run:
        loaded = load_file(path)
        run = Run(loaded, store, text=path.read_text(), **kwargs)
        asyncio.run(run.execute())
        return run

    return go


def states(run: Run) -> dict[str, str]:
    return {node: state.value for node, state in run.node_state.items()}


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
