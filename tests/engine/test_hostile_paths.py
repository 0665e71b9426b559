"""Folders a task uses stay inside the workflow's folder: ``workdir`` and ``build``.

A local task runs in the workflow's folder (SPEC §4); ``workdir`` moves it to a folder inside.
One that leaves it (``..``, an absolute path, a symlink pointing out) is refused where the
workflow is read, and where a task creates a node at run time, since both go through the same
check (``GraphChecker.resolve``). The corpus in tests/engine/broken/ has the plain cases.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.errors import WorkflowInvalid
from engine.history.fold import snapshot
from engine.history.store import Store
from engine.running.run import Run
from engine.workflow.loader import load_file

#: A dynamic task that creates NODE with the raw protocol (the helper would check it first).
PLAN = """
import json, sys
sys.stdin.readline()
print(json.dumps({"weft": 1, "type": "add_node", "node": NODE}), flush=True)
"""
#: What the created node would do: say where it ran.
WHERE = ["python3", "-c", "import os; open(os.environ['WEFT_WORKSPACE'] + '/ran-in', 'w').write(os.getcwd())"]


def problems_of(path: Path) -> list[str]:
    with pytest.raises(WorkflowInvalid) as info:
        load_file(path)
    return [f"{p.location.line}:{p.location.column}: {p.message}" for p in info.value.problems]


def test_a_workdir_through_a_symlink_pointing_out_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "flow"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "up").symlink_to(tmp_path)
    (folder / "inside").symlink_to(folder / "sub")
    wf = folder / "wf.weft.yaml"
    wf.write_text(
        "weft: 1\nnodes:\n"
        "  - {id: a, command: [ls], workdir: sub/up}\n"
        "  - {id: b, command: [ls], workdir: inside}\n"  # a link that stays inside: fine
        "  - {id: c, command: [ls], workdir: sub/../sub}\n"
    )  # '..' that stays inside: fine
    assert problems_of(wf) == [
        "3:37: workdir 'sub/up' leaves the workflow's folder (symlinks followed); it must be a folder inside it"
    ]


def test_a_library_operators_workdir_is_checked_where_the_library_says_it(tmp_path: Path) -> None:
    lib = tmp_path / "lib.weft.yaml"
    lib.write_text("weft: 1\noperators:\n  roam:\n    command: [ls]\n    workdir: ../..\n")
    wf = tmp_path / "wf.weft.yaml"
    wf.write_text(
        "weft: 1\nimports: [lib.weft.yaml]\nnodes:\n  - {id: a, operator: roam}\n  - {id: b, operator: roam}\n"
    )
    with pytest.raises(WorkflowInvalid) as info:
        load_file(wf)
    assert [str(p) for p in info.value.problems] == [
        f"{lib}:3:3: workdir '../..' leaves the workflow's folder (symlinks followed); it must be a folder inside it"
    ]


def test_the_workflows_own_folder_and_folders_inside_are_fine(
    write: Callable[..., Path], run_file: Callable[..., Run]
) -> None:
    wf = write(f"""
        weft: 1
        nodes:
          - {{id: here, command: {json.dumps(WHERE)}, workdir: .}}
    """)
    run = run_file(wf)
    assert run.state.value == "succeeded"
    assert [p.read_text() for p in Path(run.workspace).rglob("ran-in")] == [str(wf.parent.resolve())]


@pytest.mark.parametrize("workdir", ["../../../..", "/", "/tmp"])
def test_a_node_created_by_a_task_with_a_workdir_outside_is_refused(
    workdir: str, write: Callable[..., Path], run_file: Callable[..., Run], store: Store
) -> None:
    node: dict[str, Any] = {"id": "escape", "command": WHERE, "workdir": workdir}
    wf = write(
        """
        weft: 1
        nodes:
          - {id: plan, command: [python3, plan.py], dynamic: true}
    """,
        plan=PLAN.replace("NODE", repr(node)),
    )
    run = run_file(wf)
    assert "escape" not in run.node_state  # never created, so never run
    assert not list(Path(run.workspace).rglob("ran-in"))
    plan = snapshot(store, run.id).nodes["plan"]
    assert plan.state == "failed" and plan.reason is not None
    assert "refused mutation" in plan.reason and f"workdir '{workdir}'" in plan.reason
    assert "internal error" not in plan.reason


def test_a_node_created_by_a_task_with_a_build_outside_is_refused(
    write: Callable[..., Path], run_file: Callable[..., Run], store: Store
) -> None:
    node = {"id": "image", "command": ["ls"], "executor": "docker", "build": "../../.."}
    wf = write(
        """
        weft: 1
        nodes:
          - {id: plan, command: [python3, plan.py], dynamic: true}
    """,
        plan=PLAN.replace("NODE", repr(node)),
    )
    run = run_file(wf)
    assert "image" not in run.node_state
    reason = snapshot(store, run.id).nodes["plan"].reason or ""
    assert "refused mutation" in reason and "build '../../..' leaves the workflow's folder" in reason
