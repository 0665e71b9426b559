"""Export to Argo, import back: the same graph. Every shipped example that exports comes back from
``weft import`` with the same nodes (ids, commands, ports, params, images, retries, timeouts,
env), the same edges (ports, runs-after, conditions, triggers) and, for the fan-out, the same
shape promise; ``workflow:`` nodes come back expanded, as the export wrote them (docs/argo.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from engine.argo import conditions
from engine.argo.export import export, to_yaml
from engine.imports import import_path
from engine.workflow import nesting
from engine.workflow.loader import Loaded, load_file
from engine.workflow.model import NodeSpec, memory_bytes, resolve_node
from tests.conftest import EXAMPLES
from tests.engine.argo.test_examples import EXPORTED


def condition(text: str | None, port_type: Any) -> str | None:
    """A condition as the exporter writes it for Argo: ``not 1.ok`` and ``not (1.ok == true)``
    are one condition on a bool port, and come back as the second."""
    if text is None:
        return None

    def port_of(name: str, port: str, offset: int) -> conditions.Port:
        return conditions.Port(f"{name}.{port}", port_type(name, port))

    return conditions.translate(text, port_of)


def node_facts(resolved: Any) -> dict[str, Any]:
    return {
        "command": resolved.command,
        "shell": resolved.shell,
        "inputs": resolved.inputs,
        "outputs": resolved.outputs,
        "params": resolved.params,
        "image": resolved.image,
        "executor": resolved.executor,
        "network": resolved.network,
        "env": dict(resolved.env),
        "workdir": resolved.workdir,
        "retries": resolved.retries,
        "retry_delay": resolved.retry_delay if resolved.retries else None,
        "timeout": None if resolved.timeout is None else math.ceil(resolved.timeout),
        "dynamic": resolved.dynamic,
        "trigger": resolved.trigger.value,
        "resources": {k: memory_bytes(v) if k == "memory" else float(v) for k, v in sorted(resolved.resources.items())},
    }


def graph(loaded: Loaded) -> dict[str, Any]:
    """What must survive the round trip, ids of expanded ``workflow:`` nodes as the import
    writes them (``left/square`` -> ``left_square``)."""
    workflow = loaded.workflow
    expanded = nesting.expand(loaded)

    def weft_id(end: str) -> str:
        return end.replace("/", "_")

    nodes = {weft_id(n.id): node_facts(expanded.resolved[n.id]) for n in expanded.nodes}

    def port_type(name: str, port: str) -> str:
        if name == "inputs":
            return (workflow.inputs or {})[port]
        return str(nodes[weft_id(name)]["outputs"][port])

    edges = sorted(
        (
            weft_id(e.source) + (f".{e.source_port}" if e.source_port else ""),
            weft_id(e.target) + (f".{e.target_port}" if e.target_port else ""),
            condition(e.when, port_type),
        )
        for e in expanded.edges
    )
    shapes = [p.args for p in workflow.promises if p.kind == "shape"]
    operators = {
        name: node_facts(resolve_node(NodeSpec(id=name, operator=name), op, workflow.settings))
        for name, op in workflow.operators.items()
        if any(name in shape for shape in shapes)
    }
    return {
        "name": workflow.name,
        "description": workflow.description,
        "types": workflow.types,
        "inputs": workflow.inputs,
        "settings": (
            workflow.settings.executor,
            workflow.settings.image,
            workflow.settings.max_parallel,
            bool(workflow.settings.fail_fast),
        ),
        "nodes": nodes,
        "edges": edges,
        "shapes": shapes,
        "operators": operators,
    }


def round_trip(source: Path, tmp_path: Path) -> tuple[Loaded, Loaded, dict[str, str]]:
    original = load_file(source)
    exported = tmp_path / "exported.yaml"
    exported.write_text(to_yaml(export(original)), encoding="utf-8")
    back = import_path(exported, tmp_path / "back" / "back.weft.yaml")
    return original, back.loaded, back.files


@pytest.mark.parametrize("name", EXPORTED)
def test_an_exported_example_imports_back_as_the_same_graph(name: str, tmp_path: Path) -> None:
    original, back, files = round_trip(EXAMPLES / f"{name}.weft.yaml", tmp_path)
    assert graph(back) == graph(original)
    for rel, text in files.items():  # the scripts the commands name, as they are beside the example
        assert (EXAMPLES / rel).read_text("utf-8") == text


def test_nested_comes_back_expanded(tmp_path: Path) -> None:
    _, back, _ = round_trip(EXAMPLES / "nested.weft.yaml", tmp_path)
    ids = [n.id for n in back.workflow.nodes]
    assert ids == ["seed", "left_square", "left_plus-one", "right_square", "right_plus-one", "total"]
    assert all(n.workflow is None for n in back.workflow.nodes)


def test_the_fan_out_comes_back_as_a_dynamic_node_under_its_shape(tmp_path: Path) -> None:
    _, back, _ = round_trip(EXAMPLES / "random-map.weft.yaml", tmp_path)
    wf = back.workflow
    assert [(p.kind, p.args) for p in wf.promises] == [("shape", "A -> M* -> B")]
    assert [n.id for n in wf.nodes] == ["A", "B"] and wf.nodes[0].dynamic
    assert wf.operators["M"].command == ["python3", "ops/square.py"]


SETTINGS_WORKFLOW = """\
weft: 1
name: every-setting
description: what the exporter says, each kind once
settings: {executor: docker, image: "python:3.11-slim", max_parallel: 3, fail_fast: true}
types:
  Point: {x: float, y: float}
inputs: {n: int, label: str}
nodes:
  - id: 1
    command: [python3, ops/one.py]
    inputs: {n: int}
    outputs: {k: int, ok: bool, p: Point, f: file}
    env: {LANG: C.UTF-8, MODE: fast}
    retries: 2
    retry_delay: 0.5
    timeout: 2.5
    executor: local
    params: {a: [1, 2], b: {c: "d e"}}
  - id: my_node
    command: "echo one && echo two"
    shell: true
    image: "alpine:3"
    network: true
    workdir: ops
    resources: {cpus: 1.5, memory: 64m}
    inputs: {f: file, p: Point, opt: "int?"}
  - id: gate
    command: [python3, -c, pass]
    trigger: any
  - id: last
    command: [python3, -c, pass]
    trigger: always
  - id: cond
    command: [python3, -c, pass]
    inputs: {label: str}
edges:
  - {from: inputs.n, to: 1.n}
  - {from: 1.f, to: my_node.f}
  - {from: 1.p, to: my_node.p}
  - {from: 1, to: my_node, when: "`1`.k > 2 and not `1`.ok"}
  - {from: 1, to: gate}
  - {from: my_node, to: gate}
  - {from: gate, to: last}
  - {from: my_node, to: last}
  - {from: 1, to: cond, when: "`1`.ok == true or `1`.k <= -1.5"}
  - {from: inputs.label, to: cond.label, when: "inputs.n != 0"}
  - {from: my_node, to: cond}
"""


def test_every_setting_the_export_carries_comes_back(tmp_path: Path) -> None:
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "one.py").write_text("print('one')\n", encoding="utf-8")
    source = tmp_path / "every.weft.yaml"
    source.write_text(SETTINGS_WORKFLOW, encoding="utf-8")
    original, back, files = round_trip(source, tmp_path)
    assert graph(back) == graph(original)
    assert files == {"ops/one.py": "print('one')\n"}
    ids = [n.id for n in back.workflow.nodes]
    assert ids == ["1", "my_node", "gate", "last", "cond"]


def test_a_hand_edited_export_is_refused_at_its_place(tmp_path: Path) -> None:
    from engine.errors import WorkflowInvalid

    original = load_file(EXAMPLES / "word-count.weft.yaml")
    text = to_yaml(export(original)).replace("depends: count.Succeeded", "depends: count.Failed", 1)
    text = text.replace("path: /workflow/ops/read.py", "path: /workflow/../../etc/x.py", 1)
    source = tmp_path / "edited.yaml"
    source.write_text(text, encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as refused:
        import_path(source, tmp_path / "out.weft.yaml")
    lines = str(refused.value).splitlines()
    assert any(":" in line and "not a depends weft export writes" in line for line in lines)
    assert any("a file weft export carries lies inside /workflow" in line for line in lines)
    assert all(line.startswith(f"{source}:") for line in lines if "error" in line)


def test_the_command_line_round_trip_validates_and_runs_as_the_original(weft, home: Path, tmp_path: Path) -> None:
    exported, back = tmp_path / "wc.argo.yaml", tmp_path / "back" / "wc.weft.yaml"
    assert weft("export", EXAMPLES / "word-count.weft.yaml", "--to", "argo", "-o", exported).code == 0
    done = weft("import", exported, "-o", back)
    assert done.code == 0, done.err
    assert "4 file(s) beside it" in done.err
    assert sorted(p.relative_to(back.parent).as_posix() for p in back.parent.rglob("*") if p.is_file()) == [
        "data/words.txt",
        "ops/count.py",
        "ops/read.py",
        "ops/report.py",
        "wc.weft.yaml",
    ]
    assert weft("validate", back).code == 0
    outputs = []
    for workflow in (EXAMPLES / "word-count.weft.yaml", back):
        ran = weft("run", workflow, "--json", "--executor", "local", timeout=300)
        assert ran.code == 0, ran.err
        run_id = json.loads(ran.out)["run"]
        shown = json.loads(weft("show", run_id, "--json").out)
        assert shown["state"] == "succeeded"
        got = shown["outputs"]
        copy = home / "workspaces" / run_id / got["read"].pop("copy")
        outputs.append((got, copy.name, copy.read_text("utf-8")))
        assert {n["id"]: n["state"] for n in shown["nodes"]} == {
            "read": "succeeded",
            "count": "succeeded",
            "report": "succeeded",
            "too-short": "skipped",
        }
    assert outputs[0] == outputs[1]
    assert outputs[0][0]["report"]["summary"]["total"] > 10


def test_carried_files_never_overwrite_other_content_unless_forced(weft, tmp_path: Path) -> None:
    exported, back = tmp_path / "wc.argo.yaml", tmp_path / "back" / "wc.weft.yaml"
    assert weft("export", EXAMPLES / "word-count.weft.yaml", "--to", "argo", "-o", exported).code == 0
    (back.parent / "ops").mkdir(parents=True)
    (back.parent / "ops" / "read.py").write_text("mine\n", encoding="utf-8")
    refused = weft("import", exported, "-o", back)
    assert refused.code == 2 and "ops/read.py: exists already with other content" in refused.err
    assert not back.exists() and (back.parent / "ops" / "read.py").read_text() == "mine\n"
    assert not (back.parent / "ops" / "count.py").exists()  # nothing written
    printed = weft("import", exported)
    assert printed.code == 0 and printed.out.startswith("# Imported from") and "-o FILE writes them" in printed.err
    forced = weft("import", exported, "-o", back, "--force")
    assert forced.code == 0
    assert (back.parent / "ops" / "read.py").read_text() == (EXAMPLES / "ops" / "read.py").read_text()


def test_a_carried_file_that_would_leave_the_folder_through_a_link_is_refused(weft, tmp_path: Path) -> None:
    exported, back = tmp_path / "wc.argo.yaml", tmp_path / "back" / "wc.weft.yaml"
    assert weft("export", EXAMPLES / "word-count.weft.yaml", "--to", "argo", "-o", exported).code == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    back.parent.mkdir()
    (back.parent / "ops").symlink_to(outside)
    refused = weft("import", exported, "-o", back)
    assert refused.code == 2 and "would leave the folder" in refused.err
    assert list(outside.iterdir()) == [] and not back.exists()


def test_an_expanded_id_never_takes_an_id_the_workflow_has(tmp_path: Path) -> None:
    (tmp_path / "sub.weft.yaml").write_text(
        "weft: 1\nname: sub\nnodes:\n  - {id: square, command: [python3, -c, pass]}\n", encoding="utf-8"
    )
    source = tmp_path / "top.weft.yaml"
    source.write_text(
        "weft: 1\nname: top\nnodes:\n"
        "  - {id: left, workflow: sub.weft.yaml}\n"
        "  - {id: left_square, command: [python3, -c, pass]}\n"
        "edges:\n  - {from: left, to: left_square}\n",
        encoding="utf-8",
    )
    _, back, _ = round_trip(source, tmp_path)
    assert [n.id for n in back.workflow.nodes] == ["left_square_2", "left_square"]
    assert [(e.source, e.target) for e in back.workflow.edges] == [("left_square_2", "left_square")]
