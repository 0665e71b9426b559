"""Deleting runs (`weft delete`, ``Store.delete_run``): the run's row, events, controls, cached
results and workspace go, nothing of another run does, and a run going on is never deleted.

Real `weft` processes, real tasks, the real SQLite home.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.errors import InvalidInput
from engine.history.store import Store
from tests.engine.conftest import wait_until
from tests.engine.test_control import chain

#: A cached task that leaves a file in the run's workspace (an output) and one it closes to
#: everyone (a folder without write or search permission: for any user but root, removing it
#: needs the folder opened first), and notes that it ran.
TASK = """
    import os, weft_task as w
    here = os.path.dirname(os.path.abspath(__file__))
    open(os.path.join(here, "ran.txt"), "a").write(w.node + "\\n")
    out = os.path.join(w.workspace, "out", w.node + ".txt")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    open(out, "w").write("made by " + w.node)
    closed = os.path.join(w.workspace, "closed", w.node)
    os.makedirs(closed, exist_ok=True)
    open(os.path.join(closed, "inside.txt"), "w").write("x")
    os.chmod(closed, 0o000)
    w.output("data", os.path.relpath(out, w.workspace))
"""

WORKFLOW = """
    weft: 1
    name: kept-results
    settings: {cache: true}
    nodes:
      - {id: a, command: [python3, task.py], outputs: {data: file}}
      - {id: b, command: [python3, task.py], outputs: {data: file}, params: {n: 2}}
"""

TABLES = {"runs": "id", "events": "run", "controls": "run", "cache": "run"}


def rows(home: Path, run_id: str) -> dict[str, int]:
    """How many rows of each table belong to ``run_id``, read with sqlite3 itself."""
    conn = sqlite3.connect(home / "weft.db")
    try:
        return {
            t: conn.execute(f"SELECT COUNT(*) FROM {t} WHERE {c}=?", (run_id,)).fetchone()[0] for t, c in TABLES.items()
        }
    finally:
        conn.close()


@pytest.fixture
def wf(write: Callable[..., Path]) -> Path:
    return write(WORKFLOW, task=TASK)


def run_once(weft: Callable[..., Any], wf: Path) -> str:
    result = weft("run", wf, "--json")
    assert result.code == 0, result.err
    return str(result.json()["run"])


def ran(wf: Path) -> list[str]:
    path = wf.parent / "ran.txt"
    names = sorted(path.read_text().split()) if path.exists() else []
    path.unlink(missing_ok=True)
    return names


def test_delete_removes_the_run_its_events_controls_cache_and_workspace(weft: Any, wf: Path, home: Path) -> None:
    first = run_once(weft, wf)
    assert ran(wf) == ["a", "b"]
    store = Store(home)
    try:
        store.add_control(first, "pause")  # a control the ended run never took
    finally:
        store.close()
    before = rows(home, first)
    assert before["runs"] == 1 and before["events"] > 5 and before["controls"] == 1 and before["cache"] == 2
    workspace = home / "workspaces" / first
    assert (workspace / "out" / "a.txt").read_text() == "made by a"

    result = weft("delete", first[:-2], "--json")  # a unique prefix, as every command takes
    assert result.code == 0, result.err
    assert result.json() == [{"run": first, "events": before["events"], "cached": 2, "workspace_removed": True}]
    assert rows(home, first) == dict.fromkeys(TABLES, 0)
    assert not workspace.exists()  # the closed folder too
    assert first not in weft("runs").out
    assert weft("show", first).code == 2
    # its cached results went with it: the next run runs every task again
    third = run_once(weft, wf)
    assert ran(wf) == ["a", "b"]
    assert rows(home, third)["cache"] == 2


def test_delete_keeps_every_other_run(weft: Any, wf: Path, home: Path) -> None:
    first = run_once(weft, wf)
    second = run_once(weft, wf)  # took a and b from the first run's cache
    assert ran(wf) == ["a", "b"]
    kept_before = rows(home, second)
    result = weft("delete", first)
    assert result.code == 0, result.err
    assert result.out.startswith(f"deleted run {first}: ")
    assert rows(home, second) == kept_before
    assert (home / "workspaces" / second / "out" / "b.txt").read_text() == "made by b"
    assert second in weft("runs").out


def test_a_live_run_is_refused_and_an_interrupted_one_deleted(
    weft: Any, home: Path, tmp_path: Path, started: Any, wf: Path
) -> None:
    ended = run_once(weft, wf)
    proc, live = started(chain(tmp_path, 2, 30))
    wait_until(lambda: (home / "workspaces" / live).is_dir() and (tmp_path / "pids" / "n0").exists())
    before = rows(home, live)

    refused = weft("delete", live)
    assert refused.code == 2
    assert refused.err.count("\n") == 1
    assert f"run {live} is running: process {proc.pid} on " in refused.err and f"weft stop {live}" in refused.err
    assert rows(home, live)["runs"] == 1 and rows(home, live)["events"] >= before["events"]
    assert (home / "workspaces" / live).is_dir()
    # several runs: checked first, so a refusal deletes none of them
    mixed = weft("delete", ended, live)
    assert mixed.code == 2 and "nothing was deleted" in mixed.err
    assert rows(home, ended)["runs"] == 1
    # the store refuses too, whoever asks
    store = Store(home)
    try:
        with pytest.raises(InvalidInput, match="is running"):
            store.delete_run(live)
    finally:
        store.close()

    os.kill(proc.pid, signal.SIGKILL)  # the engine dies: the run is interrupted, and may go
    proc.wait()
    assert weft("show", live, "--json").json()["state"] == "interrupted"
    gone = weft("delete", live)
    assert gone.code == 0, gone.err
    assert rows(home, live) == dict.fromkeys(TABLES, 0)
    assert not (home / "workspaces" / live).exists()


def test_an_unknown_run_is_exit_2_and_deletes_nothing(weft: Any, wf: Path, home: Path) -> None:
    ended = run_once(weft, wf)
    result = weft("delete", ended, "no-such-run")
    assert result.code == 2
    assert result.err.strip().startswith("weft: error: no run 'no-such-run'") and result.err.count("\n") == 1
    assert rows(home, ended)["runs"] == 1
    assert weft("delete").code == 2  # a run is needed


def test_a_workspace_is_removed_only_inside_the_home(weft: Any, wf: Path, home: Path, tmp_path: Path) -> None:
    """A workspace that is a link is unlinked, never followed; a workspaces folder that leads
    out of the home is left alone."""
    outside = tmp_path / "outside"
    (outside / "precious").mkdir(parents=True)
    (outside / "precious" / "keep.txt").write_text("mine")
    linked, elsewhere = run_once(weft, wf), run_once(weft, wf)
    workspaces = home / "workspaces"
    _remove_tree(workspaces / linked)
    (workspaces / linked).symlink_to(outside / "precious")
    store = Store(home)
    try:
        deleted = store.delete_run(linked)
        assert deleted.workspace and deleted.workspace_error is None
        assert not (workspaces / linked).is_symlink()
        assert (outside / "precious" / "keep.txt").read_text() == "mine"

        # now the workspaces folder itself leads out of the home
        moved = outside / "workspaces"
        workspaces.rename(moved)
        workspaces.symlink_to(moved)
        deleted = store.delete_run(elsewhere)
        assert not deleted.workspace
        assert (moved / elsewhere / "out" / "a.txt").read_text() == "made by a"
        assert rows(home, elsewhere)["runs"] == 0  # the database part is done all the same
    finally:
        store.close()
        _remove_tree(moved)


def _remove_tree(path: Path) -> None:
    """Tests clean up what the tasks closed (folders without permission)."""
    for folder, dirs, _files in os.walk(path):
        for name in dirs:
            os.chmod(os.path.join(folder, name), stat.S_IRWXU)
    shutil.rmtree(path)
