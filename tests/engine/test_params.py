"""Declared params (`params_schema`): read, checked with locations, defaults handed to tasks."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from engine.errors import WorkflowInvalid
from engine.workflow.loader import SHIPPED_LIBRARY, load_file, load_library, load_text
from engine.workflow.model import ParamSpec
from engine.workflow.roundtrip import merge_text
from engine.workflow.writer import write_text
from tests.conftest import EXAMPLES, ROOT
from tests.engine.conftest import states

SCHEMA = json.loads((ROOT / "resources" / "schema" / "weft.schema.json").read_text(encoding="utf-8"))

DECLARED = """\
weft: 1
name: declared
operators:
  echo:
    command: [python3, echo.py]
    outputs: {params: json}
    params_schema:
      seconds: {type: float, default: 0.5, min: 0, max: 60, help: How long}
      mode: {type: choice, choices: [fast, slow], default: fast}
      data: file
      verbose: {type: bool, default: false}
      count: {type: int, required: true}
      extra: {type: json, default: {a: [1, 2]}}
    params: {seconds: 2}
nodes:
  - id: a
    operator: echo
    params: {count: 3, data: data/in.txt, other: kept}
"""

ECHO = "import weft_task as w\nw.output('params', w.params)\n"


def problems_of(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "wf.weft.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as caught:
        load_file(path)
    return [str(p).replace(str(path), "wf") for p in caught.value.problems]


def test_declarations_are_read_in_both_forms(tmp_path: Path) -> None:
    op = load_text(DECLARED, path=tmp_path / "wf.weft.yaml").workflow.operators["echo"]
    schema = op.params_schema
    assert schema is not None and list(schema) == ["seconds", "mode", "data", "verbose", "count", "extra"]
    assert schema["seconds"] == ParamSpec("float", default=0.5, min=0, max=60, help="How long")
    assert schema["mode"].choices == ["fast", "slow"] and schema["mode"].default == "fast"
    assert schema["data"] == ParamSpec("file") and schema["data"].short
    assert schema["count"].is_required and schema["count"].default is None


def test_defaults_fill_what_the_node_leaves_unset_in_a_real_run(write, run_file) -> None:
    path = write(DECLARED, echo=ECHO)
    (path.parent / "data").mkdir()
    run = run_file(path)
    assert states(run) == {"a": "succeeded"}
    # declared defaults < the operator's params < the node's params; undeclared ones pass through
    assert run.outputs["a"]["params"] == {
        "seconds": 2,
        "mode": "fast",
        "verbose": False,
        "extra": {"a": [1, 2]},
        "count": 3,
        "data": "data/in.txt",
        "other": "kept",
    }


def test_wrong_values_are_located_errors(tmp_path: Path) -> None:
    text = DECLARED.replace(
        "params: {count: 3, data: data/in.txt, other: kept}",
        "params: {count: 2.5, mode: quick, seconds: 99, verbose: 'yes'}\n  - {id: b, operator: echo}",
    )
    assert problems_of(text, tmp_path) == [
        "wf:18:21: param 'count' must be a whole number, not a number (2.5)",
        "wf:18:32: param 'mode' must be one of fast, slow, not 'quick'",
        "wf:18:48: param 'seconds' must be at most 60, not 99",
        "wf:18:62: param 'verbose' must be true or false, not text ('yes')",
        "wf:19:5: node 'b' must set param 'count' (int, required by operator 'echo')",
    ]


def test_a_close_choice_gets_a_hint_and_the_operators_own_params_are_checked(tmp_path: Path) -> None:
    text = DECLARED.replace("params: {seconds: 2}", "params: {seconds: -1}").replace("other: kept", "mode: slwo")
    assert problems_of(text, tmp_path) == [
        "wf:14:23: param 'seconds' must be at least 0, not -1",
        "wf:18:49: param 'mode' must be one of fast, slow, not 'slwo' (did you mean 'slow'?)",
    ]


def test_bad_declarations_are_located_errors(tmp_path: Path) -> None:
    text = """\
        weft: 1
        nodes:
          - id: a
            command: [x]
            params_schema:
              n: {type: integr}
              k: {type: str, choices: [a]}
              z: {type: float, min: 3, max: 1}
              d: {type: int, default: 1.5}
              r: {type: int, required: true, default: 1}
              c: choice
              h: {type: str, hepl: text}
              b: {type: bool, min: 0}
              "bad name": str
              t: {default: 1}
          - id: b
            operator: op
            params_schema: {x: str}
        operators:
          op: {command: [x]}
    """
    assert problems_of(text, tmp_path) == [
        "wf:6:17: param 'n': the type must be one of str, int, float, bool, file, json, choice, not 'integr' "
        "(did you mean 'int'?)",
        "wf:7:31: param 'k': choices are for 'type: choice', not str",
        "wf:8:37: param 'z': max (1) is less than min (3)",
        "wf:9:31: param 'd': the default must be a whole number, not a number (1.5)",
        "wf:10:47: param 'r' is required (every node sets it), so it cannot have a default",
        "wf:11:10: param 'c': a choice needs its choices ({type: choice, choices: [a, b]})",
        "wf:12:22: unknown key 'hepl' in param 'h' (did you mean 'help'?)",
        "wf:13:28: param 'b': min is for int and float params, not bool",
        "wf:14:7: 'bad name' is not a valid param name",
        "wf:15:10: param 't' needs a type (str, int, float, bool, file, json, choice)",
        "wf:18:5: node 'b' uses operator 'op', so its params_schema comes from there",
    ]


@pytest.mark.parametrize("value", ["../secret.txt", "/etc/passwd", "link/passwd", "data/../../secret.txt"])
def test_a_file_param_never_leaves_the_workflow_folder(tmp_path: Path, value: str) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    os.symlink("/etc", folder / "link")
    path = folder / "wf.weft.yaml"
    path.write_text(
        "weft: 1\nnodes:\n  - id: a\n    command: [x]\n    params_schema: {data: file}\n"
        f"    params: {{data: '{value}'}}\n",
        encoding="utf-8",
    )
    with pytest.raises(WorkflowInvalid) as caught:
        load_file(path)
    (problem,) = caught.value.problems
    assert problem.location.line == 6 and problem.message.startswith(f"param 'data' '{value}' ")
    assert "absolute path" in problem.message or "leaves the workflow's folder" in problem.message


def test_a_file_default_leaving_the_folder_is_refused_where_it_is_declared(tmp_path: Path) -> None:
    text = """\
        weft: 1
        operators:
          op:
            command: [x]
            params_schema:
              data: {type: file, default: ../../etc/passwd}
        nodes:
          - {id: a, operator: op, params: {data: inside.txt}}
    """
    assert problems_of(text, tmp_path) == [
        "wf:6:35: param 'data' '../../etc/passwd' leaves the workflow's folder (symlinks followed); it must be a "
        "path inside it"
    ]


def test_a_node_a_task_creates_with_a_wrong_param_is_refused(write, run_file) -> None:
    path = write(
        """\
        weft: 1
        operators:
          sq:
            command: [python3, echo.py]
            outputs: {params: json}
            params_schema: {x: {type: int, required: true, max: 10}, data: file}
        nodes:
          - {id: plan, command: [python3, plan.py], dynamic: true}
        """,
        echo=ECHO,
        plan="""\
        import weft_task as w
        w.add_node({"id": "ok", "operator": "sq", "params": {"x": 3}})
        w.add_node({"id": "big", "operator": "sq", "params": {"x": 11}})
        """,
    )
    run = run_file(path)
    assert states(run)["plan"] == "failed" and "big" not in states(run)
    assert "ok" in run.outputs and run.outputs["ok"]["params"] == {"x": 3}
    log = "\n".join(str(e) for e in run.store.events(run.id))
    assert "param 'x' must be at most 10, not 11" in log


def test_declarations_round_trip_in_the_canonical_writer_and_over_the_old_text(tmp_path: Path) -> None:
    loaded = load_text(DECLARED, path=tmp_path / "wf.weft.yaml").workflow
    written = write_text(loaded)
    assert "data: file" in written  # the short form stays short
    again = load_text(written, path=tmp_path / "wf.weft.yaml").workflow
    assert again == loaded
    assert merge_text(DECLARED, yaml.safe_load(written)) == DECLARED  # nothing changed: not a byte


def test_every_shipped_operator_declares_its_params() -> None:
    operators = {}
    for path in sorted(SHIPPED_LIBRARY.glob("*.weft.yaml")):
        found, _types, problems = load_library(path)
        assert problems == []
        operators.update(found)
    for path in sorted(EXAMPLES.glob("*.weft.yaml")):
        operators.update({f"{path.name}:{k}": v for k, v in load_file(path).workflow.operators.items()})
    assert len(operators) > 15
    undeclared = [name for name, op in operators.items() if op.params_schema is None]
    assert undeclared == []
    for name, op in operators.items():
        assert op.params is None, f"{name}: its defaults belong in params_schema"
        assert all(p.help for p in (op.params_schema or {}).values()), name


def test_the_schema_accepts_declarations_and_refuses_bad_ones() -> None:
    validator = Draft202012Validator(SCHEMA)

    def errors(declaration: str) -> list[str]:
        doc = yaml.safe_load(f"weft: 1\noperators:\n  op:\n    command: [x]\n    params_schema: {declaration}\n")
        return [e.message for e in validator.iter_errors(doc)]

    assert (
        errors(
            "{a: file, b: {type: choice, choices: [x, y], default: x, help: h}, c: {type: int, min: 0, max: 3},"
            " d: {type: str, required: true}, e: {type: json, default: {k: 1}}}"
        )
        == []
    )
    for bad in (
        "{a: text}",
        "{a: {type: choice}}",
        "{a: {type: str, choices: [x]}}",
        "{a: {type: bool, min: 1}}",
        "{a: {type: int, required: true, default: 1}}",
        "{a: {type: int, hlp: x}}",
        "{a: {default: 1}}",
        "{'a b': str}",
    ):
        assert errors(bad), bad


def test_the_shipped_count_operator_follows_its_declared_params(write, run_file) -> None:
    text = f"""\
        weft: 1
        imports: [{SHIPPED_LIBRARY / "text.weft.yaml"}]
        nodes:
          - {{id: text, command: [python3, -c, "import weft_task as w; w.output('text', 'The cat, the CAT. a b')"],
              outputs: {{text: str}}}}
          - {{id: plain, operator: count}}
          - {{id: strict, operator: count, params: {{case: keep, min_length: 3, strip_punctuation: true}}}}
        edges:
          - {{from: text.text, to: plain.text}}
          - {{from: text.text, to: strict.text}}
        """
    run = run_file(write(text))
    assert set(states(run).values()) == {"succeeded"}
    assert run.outputs["plain"]["counts"] == {"the": 2, "cat,": 1, "cat.": 1, "a": 1, "b": 1}  # the defaults
    assert run.outputs["strict"]["counts"] == {"The": 1, "cat": 1, "the": 1, "CAT": 1}
