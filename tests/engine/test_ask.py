"""Asking a person: a task ends with `ask`, its node waits while other branches go on, and
`weft answer` (typed, checked) makes it succeed, whether or not the run's process lives."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from engine.events import Asked, NodeState, RunState
from engine.history.store import Store
from tests.engine.conftest import view, wait_until

PY = sys.executable


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def approval(folder: Path, fields: str = "{'approve': 'bool', 'note': 'str?', 'replicas': 'int'}") -> Path:
    """gate asks; side runs beside it for a while; deploy takes gate's answer."""
    write(folder, "gate.py", f"import weft_task as w\nw.output('ticket', 'T-1')\nw.ask('Deploy T-1?', {fields})\n")
    write(folder, "side.py", "import time\ntime.sleep(0.5)\nopen('side.done', 'w').write('yes')\n")
    write(
        folder,
        "deploy.py",
        "import weft_task as w\nw.output('got', [w.inputs['ok'], w.inputs['n'], w.inputs['ticket']])\n",
    )
    return write(
        folder,
        "approval.weft.yaml",
        "weft: 1\nname: approval\nnodes:\n"
        f"  - {{id: gate, command: [{PY!r}, gate.py], outputs: {{approve: bool, replicas: int, ticket: str}}}}\n"
        f"  - {{id: side, command: [{PY!r}, side.py]}}\n"
        f"  - {{id: deploy, command: [{PY!r}, deploy.py], inputs: {{ok: bool, n: int, ticket: str}},"
        " outputs: {got: json}}\n"
        "edges:\n  - {from: gate.approve, to: deploy.ok}\n  - {from: gate.replicas, to: deploy.n}\n"
        "  - {from: gate.ticket, to: deploy.ticket}\n",
    )


def last_seq(home: Path, run_id: str) -> int:
    store = Store(home)
    try:
        return store.last_seq(run_id)
    finally:
        store.close()


def test_a_waiting_node_holds_no_process_and_the_typed_answer_flows_downstream(
    weft: Any, home: Path, tmp_path: Path, started: Any
) -> None:
    proc, run_id = started(approval(tmp_path))
    wait_until(lambda: view(home, run_id).nodes["gate"].state is NodeState.WAITING)
    wait_until(lambda: view(home, run_id).nodes["side"].state is NodeState.SUCCEEDED)  # the branch goes on
    during = view(home, run_id)
    assert during.state is RunState.RUNNING and during.nodes["deploy"].state is NodeState.PENDING
    assert during.nodes["gate"].question == {
        "prompt": "Deploy T-1?",
        "fields": {"approve": "bool", "note": "str?", "replicas": "int"},
    }
    shown = weft("show", run_id)
    assert "asks: Deploy T-1?" in shown.out
    assert f"weft answer {run_id} gate --set approve=true|false [--set note=TEXT] --set replicas=N" in shown.out
    assert weft("show", run_id, "--json").json()["nodes"][0]["question"]["prompt"] == "Deploy T-1?"

    before = last_seq(home, run_id)
    for args, reason in (
        (("--set", "approve=perhaps", "--set", "replicas=2"), "'perhaps' is not true or false"),
        (("--set", "approve=yes"), "field 'replicas' (int) needs an answer"),
        (("--set", "approve=yes", "--set", "replicas=two"), "'two' is not an integer"),
        (("--set", "colour=red"), "no field 'colour'"),
        (("--json", '{"approve": "yes", "replicas": 2}'), "field 'approve' (bool)"),
        (("--json", "[1]"), "--json: must be an object"),
        (("--set", "approve"), "write NAME=VALUE"),
    ):
        refused = weft("answer", run_id, "gate", *args)
        assert refused.code == 2 and refused.err.count("\n") == 1 and reason in refused.err, (args, refused.err)
    other = weft("answer", run_id, "side", "--set", "x=1")
    assert other.code == 2 and "is not waiting (it is succeeded)" in other.err
    missing = weft("answer", run_id, "nope", "--set", "x=1")
    assert missing.code == 2 and "has no node 'nope'" in missing.err
    assert last_seq(home, run_id) == before  # nothing recorded, nothing asked of the run
    assert proc.poll() is None  # the run waits, it has not ended

    answered = weft("answer", run_id, "gate", "--set", "approve=yes", "--json", '{"replicas": 3, "note": "ok"}')
    assert answered.code == 0 and "gate succeeded" in answered.out, answered.err
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "gate asks: Deploy T-1?" in err  # the run's own terminal showed the question
    final = view(home, run_id)
    assert final.state is RunState.SUCCEEDED
    assert final.nodes["gate"].outputs == {"ticket": "T-1", "approve": True, "replicas": 3, "note": "ok"}
    assert final.nodes["deploy"].outputs == {"got": [True, 3, "T-1"]}
    assert final.nodes["gate"].attempt == 1  # answered, not run again
    again = weft("answer", run_id, "gate", "--set", "approve=no", "--set", "replicas=1")
    assert again.code == 2 and "is succeeded" in again.err


def test_an_answer_given_while_the_run_has_no_process_applies_when_it_resumes(
    weft: Any, home: Path, tmp_path: Path, started: Any
) -> None:
    proc, run_id = started(approval(tmp_path))
    wait_until(lambda: view(home, run_id).nodes["gate"].state is NodeState.WAITING)
    wait_until(lambda: view(home, run_id).nodes["side"].state is NodeState.SUCCEEDED)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert weft("show", run_id, "--json").json()["state"] == "interrupted"
    recorded = weft("answer", run_id, "gate", "--set", "approve=false", "--set", "replicas=0")
    assert recorded.code == 0 and f"`weft resume {run_id}` continues" in recorded.out, recorded.err
    assert view(home, run_id).nodes["gate"].state is NodeState.WAITING  # not taken yet
    resumed = weft("resume", run_id, "--json")
    assert resumed.code == 0 and resumed.json()["state"] == "succeeded", resumed.err
    final = view(home, run_id)
    assert final.nodes["gate"].attempt == 1 and final.nodes["side"].attempt == 1  # nothing ran twice
    assert final.nodes["deploy"].outputs == {"got": [False, 0, "T-1"]}


def test_a_waiting_run_resumed_without_an_answer_goes_on_waiting(
    weft: Any, home: Path, tmp_path: Path, started: Any
) -> None:
    proc, run_id = started(approval(tmp_path))
    wait_until(lambda: view(home, run_id).nodes["gate"].state is NodeState.WAITING)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    import subprocess

    resumer = subprocess.Popen(
        [PY, "-m", "engine.cli.main", "resume", run_id, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, WEFT_HOME=str(home)),
    )
    try:
        wait_until(lambda: weft("show", run_id, "--json").json()["state"] == "running")
        time.sleep(0.5)
        assert view(home, run_id).nodes["gate"].state is NodeState.WAITING  # still asking, not re-run
        assert weft("answer", run_id, "gate", "--set", "approve=1", "--set", "replicas=2").code == 0
        out, err = resumer.communicate(timeout=60)
        assert resumer.returncode == 0, err
    finally:
        if resumer.poll() is None:
            resumer.kill()
    assert view(home, run_id).nodes["deploy"].outputs == {"got": [True, 2, "T-1"]}


def test_stopping_a_waiting_run_cancels_the_question(weft: Any, home: Path, tmp_path: Path, started: Any) -> None:
    proc, run_id = started(approval(tmp_path))
    wait_until(lambda: view(home, run_id).nodes["gate"].state is NodeState.WAITING)
    assert weft("stop", run_id).code == 0
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    final = view(home, run_id)
    assert final.nodes["gate"].state is NodeState.CANCELLED and final.nodes["gate"].question is None
    late = weft("answer", run_id, "gate", "--set", "approve=1", "--set", "replicas=1")
    assert late.code == 2 and "is cancelled" in late.err


def test_a_question_that_disagrees_with_a_declared_output_fails_the_task(weft: Any, home: Path, tmp_path: Path) -> None:
    workflow = approval(tmp_path, fields="{'approve': 'str', 'replicas': 'int'}")
    result = weft("run", str(workflow), "--json")
    assert result.code == 1
    final = view(home, result.json()["run"])
    assert final.nodes["gate"].state is NodeState.FAILED
    assert "field 'approve' does not agree with the declared output: str is not assignable to bool" in (
        final.nodes["gate"].reason or ""
    )


def test_bad_questions_fail_their_task_with_a_reason(weft: Any, home: Path, tmp_path: Path) -> None:
    cases = {
        "notype": ("{'weft': 1, 'type': 'ask', 'prompt': 'x', 'fields': {'a': 'lst[int'}}", "field 'a'"),
        "nofields": ("{'weft': 1, 'type': 'ask', 'prompt': 'x', 'fields': {}}", "at least one NAME: TYPE"),
        "file": ("{'weft': 1, 'type': 'ask', 'prompt': 'x', 'fields': {'f': 'file'}}", "cannot be a file"),
        "twice": (
            "{'weft': 1, 'type': 'ask', 'prompt': 'x', 'fields': {'a': 'int'}}));"
            "print(json.dumps({'weft': 1, 'type': 'ask', 'prompt': 'y', 'fields': {'a': 'int'}}",
            "asked twice",
        ),
        "noprompt": ("{'weft': 1, 'type': 'ask', 'fields': {'a': 'int'}}", "without 'prompt'"),
    }
    lines = ["weft: 1", "name: bad", "nodes:"]
    for node, (message, _reason) in cases.items():
        lines.append(f"  - {{id: {node}, command: [{PY!r}, -c, {f'import json; print(json.dumps({message}))'!r}]}}")
    workflow = write(tmp_path, "bad.weft.yaml", "\n".join(lines) + "\n")
    result = weft("run", str(workflow), "--json")
    assert result.code == 1
    final = view(home, result.json()["run"])
    for node, (_message, reason) in cases.items():
        assert final.nodes[node].state is NodeState.FAILED and reason in (final.nodes[node].reason or ""), node


def test_a_failed_exit_after_asking_is_a_failure(weft: Any, home: Path, tmp_path: Path) -> None:
    ask = "{'weft': 1, 'type': 'ask', 'prompt': 'x', 'fields': {'a': 'int'}}"
    script = f"import json, sys; print(json.dumps({ask})); sys.exit(4)"
    workflow = write(
        tmp_path, "f.weft.yaml", f"weft: 1\nname: f\nnodes:\n  - {{id: q, command: [{PY!r}, -c, {script!r}]}}\n"
    )
    result = weft("run", str(workflow), "--json")
    assert result.code == 1
    final = view(home, result.json()["run"])
    assert final.nodes["q"].state is NodeState.FAILED
    store = Store(home)
    try:
        assert list(store.events(final.run_id, (Asked,))) == []  # no question without a success
    finally:
        store.close()
