"""What a Weft workflow becomes in Argo's words, and what is refused, at its place."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.argo.export import ExportRefused, export, to_yaml
from engine.workflow.loader import load_file
from tests.conftest import EXAMPLES
from tests.engine.argo.pods import schema_errors, task, template


def exported(tmp_path: Path, text: str, **files: str) -> dict[str, Any]:
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    path = tmp_path / "wf.weft.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    document = yaml.safe_load(to_yaml(export(load_file(path))))
    assert schema_errors(document) == []
    return document


def refused(tmp_path: Path, text: str) -> str:
    path = tmp_path / "wf.weft.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(ExportRefused) as caught:
        export(load_file(path))
    message = str(caught.value)
    assert message.startswith(f"{path}:") and "\n" not in message
    return message.removeprefix(f"{path}:")


HEAD = "    weft: 1\n    name: t\n"


def test_retries_and_timeouts_are_strings_where_argo_wants_them(tmp_path: Path) -> None:
    document = exported(
        tmp_path,
        HEAD
        + """\
    nodes:
      - {id: a, command: [python3, -c, pass], retries: 3, retry_delay: 0.5, timeout: 2.5}
      - {id: b, command: [python3, -c, pass]}
    """,
    )
    a = template(document, "a")
    assert a["retryStrategy"] == {"limit": "3", "backoff": {"duration": "0.5s", "factor": "2", "cap": "300s"}}
    assert a["activeDeadlineSeconds"] == "3"
    assert "{{retries}}" in a["container"]["args"]
    b = template(document, "b")
    assert "retryStrategy" not in b and "activeDeadlineSeconds" not in b


def test_ids_argo_cannot_name_are_mangled_and_kept_in_an_annotation(tmp_path: Path) -> None:
    document = exported(
        tmp_path,
        HEAD
        + """\
    nodes:
      - {id: 1, command: [python3, -c, pass]}
      - {id: my_node, command: [python3, -c, pass]}
      - {id: my-node, command: [python3, -c, pass]}
    edges:
      - {from: 1, to: my_node}
    """,
    )
    ids = json.loads(document["metadata"]["annotations"]["weft/node-ids"])
    assert ids == {"n-1": "1", "my-node": "my_node", "my-node-2": "my-node"}
    assert task(document, "my-node")["depends"] == "n-1.Succeeded"
    assert task(document, "my-node-2")["arguments"]["parameters"][0] == {"name": "weft-node", "value": "my-node"}


def test_nodes_of_one_operator_share_a_template(tmp_path: Path) -> None:
    document = exported(tmp_path, (EXAMPLES / "pre-determined.weft.yaml").read_text())
    names = [t["name"] for t in document["spec"]["templates"]]
    assert names == ["main", "step"]
    assert {t["template"] for t in template(document, "main")["dag"]["tasks"]} == {"step"}
    assert task(document, "report")["depends"] == "clean.Succeeded && check.Succeeded"


def test_triggers_become_the_depends_that_match(tmp_path: Path) -> None:
    document = exported(
        tmp_path,
        HEAD
        + """\
    nodes:
      - {id: a, command: [python3, -c, pass]}
      - {id: b, command: [python3, -c, pass]}
      - {id: any, command: [python3, -c, pass], trigger: any}
      - {id: always, command: [python3, -c, pass], trigger: always}
    edges:
      - {from: a, to: any}
      - {from: b, to: any}
      - {from: a, to: always}
    """,
    )
    assert task(document, "any")["depends"] == "a.Succeeded || b.Succeeded"
    assert task(document, "always")["depends"] == "(a.Succeeded || a.Failed || a.Errored || a.Skipped || a.Omitted)"


def test_conditions_over_numbers_and_booleans_translate(tmp_path: Path) -> None:
    document = exported(
        tmp_path,
        HEAD
        + """\
    nodes:
      - {id: a, command: [python3, -c, pass], outputs: {n: int, ok: bool, f: float}}
      - {id: b, command: [python3, -c, pass]}
    edges:
      - {from: a, to: b, when: "not (a.n >= 3 and a.ok) or a.f < -1.5 or a.ok == false or a.n"}
    """,
    )
    n, ok, f = ("{{tasks.a.outputs.parameters.%s}}" % p for p in ("n", "ok", "f"))
    assert task(document, "b")["when"] == (
        f"(!((({n} >= 3) && ({ok} == true))) || ({f} < -1.5) || ({ok} == false) || ({n} != 0))"
    )


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        ("a.n == 'x'", "text values are not exported"),
        ("a.s", "a.s is str: only int, float and bool ports"),
        ("len(a.l) > 2", "len() has no faithful form"),
        ("3 in a.l", "'in' has no faithful form"),
        ("a.n > true", "compares a number with a bool"),
        ("a.o > 1", "a.o is int?"),
    ],
)
def test_conditions_without_a_faithful_form_are_refused_at_their_edge(tmp_path: Path, when: str, reason: str) -> None:
    message = refused(
        tmp_path,
        HEAD
        + f"""\
    nodes:
      - {{id: a, command: [python3, -c, pass], outputs: {{n: int, s: str, l: "list[int]", o: "int?"}}}}
      - {{id: b, command: [python3, -c, pass]}}
    edges:
      - {{from: a, to: b, when: "{when}"}}
    """,
    )
    assert message.startswith(f"7:5: error: condition '{when}' of a -> b: ") and reason in message, message


def test_file_values_travel_as_artifacts_and_workflow_inputs_as_parameters(tmp_path: Path) -> None:
    document = exported(
        tmp_path,
        HEAD
        + """\
    inputs: {n: int}
    nodes:
      - {id: make, command: [python3, make.py], inputs: {n: int}, outputs: {report: file}}
      - {id: use, command: [python3, -c, pass], inputs: {report: file}}
    edges:
      - {from: inputs.n, to: make.n}
      - {from: make.report, to: use.report}
    """,
        **{"make.py": "print('hi')\n"},
    )
    assert document["spec"]["arguments"]["parameters"] == [{"name": "n", "description": "int (JSON text)"}]
    assert task(document, "make")["arguments"]["parameters"][-1] == {"name": "n", "value": "{{workflow.parameters.n}}"}
    assert "depends" not in task(document, "make")
    assert task(document, "use")["arguments"]["artifacts"] == [
        {"name": "report", "from": "{{tasks.make.outputs.artifacts.report}}"}
    ]
    make = template(document, "make")
    assert make["outputs"]["artifacts"] == [
        {"name": "report", "path": "/tmp/weft/outputs/report", "archive": {"none": {}}}
    ]
    assert {"name": "weft-file-1", "path": "/workflow/make.py", "raw": {"data": "print('hi')\n"}} in make["inputs"][
        "artifacts"
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "  - {id: a, command: [python3, -c, pass], outputs: {y: int}}\n"
            "  - {id: b, command: [python3, -c, pass], inputs: {y: int}, trigger: always}\n"
            "edges:\n  - {from: a.y, to: b.y}\n",
            "7:5: error: data edge into 'b', whose trigger is always",
        ),
        (
            "  - {id: a, command: [python3, -c, pass], build: img}\n",
            "4:5: error: node 'a' builds its image from a folder",
        ),
        (
            "  - {id: a, command: [python3, -c, pass], resources: {pids: 10}}\n",
            "4:5: error: node 'a': resources.pids has no per-container form",
        ),
    ],
)
def test_what_argo_cannot_say_is_refused_at_its_place(tmp_path: Path, body: str, reason: str) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "Dockerfile").write_text("FROM scratch\n")
    message = refused(tmp_path, "weft: 1\nname: t\nnodes:\n" + body)
    assert message.startswith(reason), message


def test_export_writes_yaml_to_stdout_or_a_file(weft: Any, tmp_path: Path) -> None:
    result = weft("export", EXAMPLES / "nested.weft.yaml", "--to", "argo")
    assert result.code == 0, result.err
    document = yaml.safe_load(result.out)
    assert schema_errors(document) == []
    ids = json.loads(document["metadata"]["annotations"]["weft/node-ids"])
    assert ids["left-square"] == "left/square"
    out = tmp_path / "wc.yaml"
    result = weft("export", EXAMPLES / "word-count.weft.yaml", "--to", "argo", "-o", out, "--image", "repo/py:1")
    assert (result.code, result.out, result.err) == (0, "", "")
    document = yaml.safe_load(out.read_text())
    assert schema_errors(document) == []
    assert {t["container"]["image"] for t in document["spec"]["templates"][1:]} == {"repo/py:1"}


def test_a_refused_export_exits_2_with_one_located_line_and_writes_nothing(weft: Any, tmp_path: Path) -> None:
    out = tmp_path / "fan-out.yaml"
    result = weft("export", EXAMPLES / "fan-out.weft.yaml", "--to", "argo", "-o", out)
    assert result.code == 2 and result.out == ""
    assert result.err.count("\n") == 1
    assert result.err.startswith(f"{EXAMPLES / 'fan-out.weft.yaml'}:15:5: error: node 'plan' is dynamic")
    assert not out.exists()
    result = weft("export", EXAMPLES / "word-count.weft.yaml", "--to", "airflow")
    assert result.code == 2 and "invalid choice" in result.err


def test_a_shape_pinned_map_is_a_with_param_fan_out_that_its_join_waits_for(tmp_path: Path) -> None:
    text = (EXAMPLES / "random-map.weft.yaml").read_text()
    document = exported(tmp_path, text)
    a, m, b = (task(document, name) for name in ("A", "M", "B"))
    assert m["depends"] == "A.Succeeded" and m["template"] == "M"
    assert b["depends"] == "A.Succeeded && (M.Succeeded || M.Skipped)"
    assert "--fan-out" in template(document, "A")["container"]["args"]
    assert {"name": "weft-fan-out", "valueFrom": {"path": "/tmp/weft/outputs/weft-fan-out"}} in template(document, "A")[
        "outputs"
    ]["parameters"]
    plus = exported(tmp_path, text.replace('"A -> M* -> B"', '"A -> M+ -> B"'))
    assert task(plus, "B")["depends"] == "A.Succeeded && M.Succeeded"
    assert a["arguments"]["parameters"][1]["value"] == '{"most": 4, "operator": "M"}'


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (('"A -> M* -> B"', '"A -> (M | step) -> B"'), "is not 'A -> M* -> B'"),
        (('"A -> M* -> B"', '"A -> N* -> B"'), "'N' in its shape 'A -> N* -> B' is no operator"),
        (("promises:\n", "promises:\n  - max_nodes: {max: 3}\n"), "promise max_nodes is not kept"),
    ],
)
def test_a_dynamic_node_without_an_exportable_shape_is_refused(
    tmp_path: Path, change: tuple[str, str], reason: str
) -> None:
    text = (EXAMPLES / "random-map.weft.yaml").read_text().replace(*change)
    message = refused(tmp_path, text)
    assert message.startswith("21:5: error: node 'A' is dynamic") and reason in message, message


@pytest.mark.parametrize(
    ("node", "script", "reason"),
    [
        ("{id: a, command: [python3, -c, pass], params: {p: '{{workflow.name}}'}}", "", "node 'a': its params holds"),
        ("{id: a, command: [echo, '{{x}}']}", "", "node 'a': its command, env or workdir holds"),
        ("{id: a, command: [python3, a.py]}", "print(f'{{x}}')\n", "node 'a' runs 'a.py', which holds"),
    ],
)
def test_text_argo_would_substitute_is_refused(tmp_path: Path, node: str, script: str, reason: str) -> None:
    (tmp_path / "a.py").write_text(script, encoding="utf-8")
    message = refused(tmp_path, f"weft: 1\nname: t\nnodes:\n  - {node}\n")
    assert message.startswith(f"4:5: error: {reason} '{{{{'"), message


def test_the_helpers_a_pod_gets_hold_nothing_argo_would_substitute() -> None:
    document = export(load_file(EXAMPLES / "word-count.weft.yaml"))
    texts = [
        a["raw"]["data"] for t in document["spec"]["templates"][1:] for a in t["inputs"]["artifacts"] if "raw" in a
    ]
    assert len(texts) == 12 and not any("{{" in text for text in texts)
