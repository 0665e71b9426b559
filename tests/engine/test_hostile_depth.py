"""Text nested far deeper than any person writes: refused with its place, never a RecursionError.

Shape patterns, port types and ``when`` conditions are read by recursive descent; each parser
counts its levels and stops past 64 (YAML stops past 200 levels, libyaml at 1,000). The same
parsers read what a task sends in a ``mutate`` message, where a RecursionError used to fail the
task as "internal error in the engine".
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.history.fold import snapshot
from engine.history.store import Store
from engine.running.run import Run

REPO = Path(__file__).resolve().parents[2]
NESTED = "nested too deeply (more than 64 levels)"

SHAPE = "A -> " + "(" * 150 + "M" + ")" * 150 + " -> B"
REPEATS = "A -> M" + "+" * 1000 + " -> B"
MIXED = "A -> " + "(" * 40 + "M" + ")*" * 40 + " -> B"
LIST = "list[" * 1000 + "int" + "]" * 1000
DICT = "dict[str, " * 5000 + "int" + "]" * 5000
WHEN = "(" * 3000 + "a.n" + ")" * 3000

TWO_NODES = "weft: 1\nnodes:\n  - {id: A, command: [ls], outputs: {n: int}}\n  - {id: B, command: [ls]}\n"
DEEP_FILES = {
    "shape-parentheses": (
        TWO_NODES + f'edges: [{{from: A, to: B}}]\npromises:\n  - shape: "{SHAPE}"\n',
        f"7:82: error: bad shape pattern: {NESTED}",
    ),
    "shape-repeats": (
        TWO_NODES + f'edges: [{{from: A, to: B}}]\npromises:\n  - shape: "{REPEATS}"\n',
        f"7:83: error: bad shape pattern: {NESTED}",
    ),
    "shape-parentheses-and-repeats": (
        TWO_NODES + f'edges: [{{from: A, to: B}}]\npromises:\n  - shape: "{MIXED}"\n',
        f"7:25: error: bad shape pattern: {NESTED}",
    ),
    "shape-in-where": (
        TWO_NODES + f'edges: [{{from: A, to: B}}]\npromises:\n  - shape: "A -> X -> B"\n'
        f'    where: {{X: "{SHAPE[5:-5]}"}}\n',
        f"8:81: error: bad shape pattern: {NESTED}",
    ),
    "list-type": (
        f'weft: 1\nnodes:\n  - {{id: a, command: [ls], outputs: {{o: "{LIST}"}}}}\n',
        f"3:42: error: output 'o': {NESTED}",
    ),
    "dict-type": (
        f'weft: 1\nnodes:\n  - {{id: a, command: [ls], inputs: {{i: "{DICT}?"}}}}\n',
        f"3:41: error: input 'i': {NESTED}",
    ),
    "record-field-type": (
        f'weft: 1\ntypes:\n  Deep: {{f: "{LIST}"}}\nnodes:\n  - {{id: a, command: [ls]}}\n',
        f"3:14: error: {NESTED}",
    ),
    "when": (
        TWO_NODES.replace("id: A", "id: a") + f'edges: [{{from: a, to: B, when: "{WHEN}"}}]\n',
        "5:97: error: bad condition: expression is nested more than 64 levels deep",
    ),
    "yaml": (
        "weft: 1\nname: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "2:1006: error: YAML syntax: exceeded maximum nesting depth",
    ),
}


@pytest.mark.parametrize("name", DEEP_FILES)
def test_validate_refuses_deep_text_in_one_located_line(name: str, tmp_path: Path) -> None:
    text, expected = DEEP_FILES[name]
    wf = tmp_path / f"{name}.weft.yaml"
    wf.write_text(text, encoding="utf-8")
    env = dict(os.environ, WEFT_HOME=str(tmp_path / "home"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "validate", str(wf)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.splitlines() == [f"{wf}:{expected}", "1 error"]


#: A dynamic task that sends one raw ``mutate`` message (the helper would check it first).
PLAN = """
import json, sys
sys.stdin.readline()
print(json.dumps(dict({"weft": 1, "type": "mutate"}, **MUTATION)), flush=True)
"""

DEEP_MUTATIONS = {
    "shape promise": (
        {"promises": [{"shape": "plan -> " + "(" * 500 + "M" + ")" * 500 + " -> end"}]},
        f"promises[0].shape: bad shape pattern: {NESTED}",
    ),
    "port type": (
        {"nodes": [{"id": "deep", "command": ["ls"], "outputs": {"o": LIST}}]},
        f"nodes[0].outputs.o: output 'o': {NESTED}",
    ),
    "condition": (
        {
            "nodes": [{"id": "x", "command": ["ls"]}],
            "edges": [{"from": "plan", "to": "x", "when": "(" * 3000 + "plan" + ")" * 3000}],
        },
        "bad condition: expression is nested more than 64 levels deep",
    ),
}


@pytest.mark.parametrize("name", DEEP_MUTATIONS)
def test_a_deep_mutation_fails_its_task_with_the_reason(
    name: str, write: Callable[..., Path], run_file: Callable[..., Run], store: Store
) -> None:
    mutation, reason = DEEP_MUTATIONS[name]
    wf = write(
        """
        weft: 1
        nodes:
          - {id: plan, command: [python3, plan.py], dynamic: true}
          - {id: end, command: [ls]}
        edges:
          - {from: plan, to: end}
    """,
        plan=PLAN.replace("MUTATION", repr(mutation)),
    )
    run = run_file(wf)
    plan = snapshot(store, run.id).nodes["plan"]
    assert plan.state == "failed" and plan.reason is not None
    assert "internal error" not in plan.reason
    assert "refused mutation" in plan.reason and reason in plan.reason, plan.reason


@pytest.mark.parametrize(
    "line",
    [
        b'{"weft": 1, "type": "log", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"weft": 1, "x": NaN, "y": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # the lenient second parse too
    ],
    ids=["deep", "deep-after-nan"],
)
def test_a_deeply_nested_message_line_is_a_protocol_error(line: bytes) -> None:
    from engine.errors import ProtocolError
    from engine.running.protocol import parse_line

    with pytest.raises(ProtocolError, match="nested more than 200 levels"):
        parse_line(line)
