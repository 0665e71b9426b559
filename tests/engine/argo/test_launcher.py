"""The launcher an exported workflow runs in each Argo pod (engine/taskhelper/weft_argo.py),
run for real: the container argv an Argo controller would give (the exported template's, its
``{{...}}`` substituted), no stdin, its raw artifacts laid out as Argo's init container does.
Locally in a subprocess, and in a real Docker container."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from engine.argo.export import LAUNCHER, OUTPUTS, WORKFLOW, export
from engine.workflow.loader import load_file
from tests.conftest import EXAMPLES
from tests.engine.argo.pods import container_argv, lay_out, substitute, task, template


def run_local(
    document: dict[str, Any], name: str, root: Path, outputs: dict[str, dict[str, str]]
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run task ``name`` as its pod would, under ``root`` instead of ``/``; returns the process
    and the folder its outputs were written to."""
    pod = root / name
    lay_out(template(document, task(document, name)["template"]), pod)
    argv = container_argv(document, name, outputs)
    argv[1] = str(pod / LAUNCHER.lstrip("/"))
    out_dir = pod / OUTPUTS.lstrip("/")
    cut = argv.index("--")
    argv[cut:cut] = ["--outputs-dir", str(out_dir), "--workspace", str(pod / "workspace")]
    proc = subprocess.run(
        argv, cwd=pod / WORKFLOW.lstrip("/"), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
    )
    return proc, out_dir


def collected(out_dir: Path) -> dict[str, str]:
    return {p.name: p.read_text("utf-8") for p in out_dir.iterdir()} if out_dir.is_dir() else {}


def test_word_count_runs_task_by_task_as_argo_would(tmp_path: Path) -> None:
    document = export(load_file(EXAMPLES / "word-count.weft.yaml"))
    words = (EXAMPLES / "data" / "words.txt").read_text("utf-8")
    outputs: dict[str, dict[str, str]] = {}

    proc, out_dir = run_local(document, "read", tmp_path, outputs)
    assert proc.returncode == 0, proc.stderr
    assert "read " in proc.stdout and "characters" in proc.stdout  # the task's log reaches the pod's log
    files = collected(out_dir)
    assert json.loads(files["text"]) == words and files["copy"] == words  # copy: the file itself, an artifact
    outputs["read"] = {"text": files["text"]}

    proc, out_dir = run_local(document, "count", tmp_path, outputs)
    assert proc.returncode == 0, proc.stderr
    files = collected(out_dir)
    total = json.loads(files["total"])
    assert total == len(words.split()) and json.loads(files["counts"])["the"] >= 2
    outputs["count"] = {name: files[name] for name in ("counts", "total")}

    when = substitute(task(document, "report")["when"], {"tasks.count.outputs.parameters.total": files["total"]})
    assert when == f"({total} > 10)"
    proc, out_dir = run_local(document, "report", tmp_path, outputs)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(collected(out_dir)["summary"])["total"] == total


def write_flow(tmp_path: Path, script: str, outputs: str = "{y: int}") -> Path:
    (tmp_path / "task.py").write_text(script, encoding="utf-8")
    path = tmp_path / "wf.weft.yaml"
    path.write_text(
        f"weft: 1\nname: one\nnodes:\n  - id: t\n    command: [python3, task.py]\n    outputs: {outputs}\n"
        "    retries: 2\n    params: {x: 4}\n",
        encoding="utf-8",
    )
    return path


def test_the_task_gets_params_attempt_and_workspace_and_its_exit_status_is_the_pods(tmp_path: Path) -> None:
    script = (
        "import sys, weft_task as w\n"
        "w.output('y', w.params['x'] * w.attempt)\n"
        "print('workspace', w.workspace, flush=True)\n"
        "sys.exit(0 if w.attempt == 3 else 5)\n"
    )
    document = export(load_file(write_flow(tmp_path, script)))
    proc, out_dir = run_local(document, "t", tmp_path / "first", {})
    assert proc.returncode == 5 and collected(out_dir) == {}  # failed: no outputs for Argo to take
    argv_retry = container_argv(document, "t", {}, retries=2)
    assert argv_retry[argv_retry.index("--attempt") + 1] == "2"  # Argo's {{retries}}: the third attempt
    pod = tmp_path / "third"
    lay_out(template(document, "t"), pod)
    argv_retry[1] = str(pod / LAUNCHER.lstrip("/"))
    cut = argv_retry.index("--")
    argv_retry[cut:cut] = ["--outputs-dir", str(pod / "out"), "--workspace", str(pod / "ws")]
    proc = subprocess.run(
        argv_retry, cwd=pod / "workflow", stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert collected(pod / "out") == {"y": "12"}
    assert f"workspace {pod / 'ws'}" in proc.stdout


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("import weft_task as w\nw.add_node({'id': 'x', 'command': ['true']})\n", "changes the graph"),
        ("import weft_task as w\nw.ask('Deploy?', {'ok': 'bool'})\n", "asks a person"),
        ("print('no output')\n", "exited 0 without reporting output y"),
    ],
)
def test_what_an_exported_task_may_not_do_fails_its_pod(tmp_path: Path, script: str, reason: str) -> None:
    document = export(load_file(write_flow(tmp_path, script)))
    proc, out_dir = run_local(document, "t", tmp_path, {})
    assert proc.returncode == 1
    assert reason in proc.stderr
    assert collected(out_dir) == {}


def test_a_task_that_mutates_without_being_dynamic_fails_as_the_engine_would_break_it(tmp_path: Path) -> None:
    document = export(load_file(EXAMPLES / "breaker-implicit.weft.yaml"))
    proc, _ = run_local(document, "plan", tmp_path, {})
    assert proc.returncode == 1 and "changes the graph" in proc.stderr


@pytest.mark.docker
def test_a_task_runs_in_a_real_container_without_stdin(
    tmp_path: Path, docker_client: Any, docker_test_image: str
) -> None:
    document = export(load_file(EXAMPLES / "word-count.weft.yaml"), image=docker_test_image)
    count = template(document, "count")
    assert count["container"]["image"] == docker_test_image
    pod = tmp_path / "pod"
    lay_out(count, pod)
    out_dir = tmp_path / "outputs"
    out_dir.mkdir()
    argv = container_argv(document, "count", {"read": {"text": json.dumps("b a b c b")}})
    container = docker_client.containers.create(
        docker_test_image,
        argv,
        working_dir=WORKFLOW,
        network_disabled=True,
        stdin_open=False,
        volumes={
            str(pod / "opt" / "weft"): {"bind": "/opt/weft", "mode": "ro"},
            str(pod / "workflow"): {"bind": WORKFLOW, "mode": "ro"},
            str(out_dir): {"bind": OUTPUTS, "mode": "rw"},
        },
    )
    try:
        container.start()
        status = container.wait(timeout=60)["StatusCode"]
        logs = container.logs().decode()
    finally:
        container.remove(force=True)
    assert status == 0, logs
    assert json.loads((out_dir / "total").read_text()) == 5
    assert json.loads((out_dir / "counts").read_text()) == {"b": 3, "a": 1, "c": 1}


def test_a_map_pinned_by_its_shape_runs_as_a_with_param_fan_out(tmp_path: Path) -> None:
    document = export(load_file(EXAMPLES / "random-map.weft.yaml"))
    for attempt in range(12):  # A maps over 0 to 4 items, at random: until it makes some
        proc, out_dir = run_local(document, "A", tmp_path / f"try-{attempt}", {})
        assert proc.returncode == 0, proc.stderr
        listed = collected(out_dir)["weft-fan-out"]
        items = json.loads(listed)
        if items:
            break
    assert items
    assert [item["node"] for item in items] == [f"m-{i}" for i in range(1, len(items) + 1)]
    assert [json.loads(item["params"]) for item in items] == [{"x": i} for i in range(1, len(items) + 1)]
    assert task(document, "M")["withParam"] == "{{tasks.A.outputs.parameters.weft-fan-out}}"
    for item in items:  # what Argo runs once per item, {{item.node}} and {{item.params}} substituted
        pod = tmp_path / item["node"]
        lay_out(template(document, "M"), pod)
        argv = container_argv(document, "M", {"A": {"weft-fan-out": listed}}, item=item)
        argv[1] = str(pod / LAUNCHER.lstrip("/"))
        cut = argv.index("--")
        argv[cut:cut] = ["--outputs-dir", str(pod / "out"), "--workspace", str(pod / "ws")]
        proc = subprocess.run(argv, cwd=pod / "workflow", stdin=subprocess.DEVNULL, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        x = json.loads(item["params"])["x"]
        assert collected(pod / "out") == {"y": str(x * x)}


def map_flow(tmp_path: Path, messages: list[Any], shape: str = "A -> M* -> B") -> Path:
    (tmp_path / "send.py").write_text(
        "import json, weft_task as w\nfor m in w.params['messages']:\n    print(json.dumps({'weft': 1, **m}))\n",
        encoding="utf-8",
    )
    path = tmp_path / "wf.weft.yaml"
    path.write_text(
        "weft: 1\nname: map\noperators:\n"
        "  M: {command: [python3, -c, pass], params_schema: {k: {type: int, default: 7}}}\n"
        "nodes:\n  - id: A\n    command: [python3, send.py]\n    dynamic: true\n"
        f"    params: {{messages: {json.dumps(messages)}}}\n"
        "  - {id: B, command: [python3, -c, pass]}\n"
        f"edges:\n  - {{from: A, to: B}}\npromises:\n  - shape: '{shape}'\n",
        encoding="utf-8",
    )
    return path


def copy(node: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "mutate",
        "nodes": [{"id": node, "operator": "M", **extra}],
        "edges": [{"from": "A", "to": node}, {"from": node, "to": "B"}],
    }


@pytest.mark.parametrize(
    ("messages", "shape", "reason"),
    [
        ([copy("m1", command=["true"])], "A -> M* -> B", "created node 'm1' is not a plain copy of M"),
        (
            [{"type": "add_node", "node": {"id": "m1", "operator": "M"}}],
            "A -> M* -> B",
            "created node 'm1' is not between A and B",
        ),
        (
            [copy("m1"), {"type": "add_edge", "edge": {"from": "m1", "to": "A"}}],
            "A -> M* -> B",
            "created edge m1 -> A is not between A and B",
        ),
        ([], "A -> M+ -> B", "the task created no M, and the shape promises at least one"),
    ],
)
def test_a_fan_out_refuses_in_its_pod_what_its_shape_promise_refuses(
    tmp_path: Path, messages: list[Any], shape: str, reason: str
) -> None:
    document = export(load_file(map_flow(tmp_path, messages, shape)))
    proc, out_dir = run_local(document, "A", tmp_path, {})
    assert proc.returncode == 1 and reason in proc.stderr, proc.stderr
    assert collected(out_dir) == {}


def test_a_fan_out_lists_each_copy_with_the_operators_defaults(tmp_path: Path) -> None:
    document = export(load_file(map_flow(tmp_path, [copy("m1"), copy("m2", params={"k": 1})])))
    proc, out_dir = run_local(document, "A", tmp_path, {})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(collected(out_dir)["weft-fan-out"]) == [
        {"node": "m1", "params": '{"k": 7}'},
        {"node": "m2", "params": '{"k": 1}'},
    ]
