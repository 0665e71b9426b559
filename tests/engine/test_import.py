"""`weft import`: every shared Argo example and Elyra pipeline imports to a workflow that
validates, or is refused with a located reason; a representative handful runs on Docker."""

from __future__ import annotations

import json
import textwrap

import pytest

from engine.errors import WorkflowInvalid
from engine.imports import import_path
from engine.workflow.loader import load_file
from tests.conftest import ROOT

#: third-party test data, checked out beside the repository (never edited)
SHARED = ROOT.parent / "shared"
ARGO = SHARED / "argo" / "examples"
ELYRA = SHARED / "elyra" / "pipelines"

#: None: imports and validates. (line, reason): refused, its first problem at that line.
EXPECTED: dict[str, tuple[int, str] | None] = {
    "arguments-parameters.yaml": None,
    "artifact-passing.yaml": None,
    "ci-workflowtemplate.yaml": (22, "volumes have no Weft equivalent"),
    "coinflip-recursive.yaml": (21, "recursion ('coinflip' -> 'coinflip')"),
    "coinflip.yaml": None,
    "conditional-artifacts.yaml": (27, "outputs on a steps template has no Weft equivalent"),
    "conditional-parameters.yaml": (27, "outputs on a steps template has no Weft equivalent"),
    "conditionals-complex.yaml": (37, "when: a regular-expression match (=~) has no Weft equivalent"),
    "conditionals.yaml": (32, "an {{=expression}} has no Weft equivalent"),
    "dag-coinflip.yaml": (36, "recursion ('diamond' -> 'coinflip' -> 'coinflip')"),
    "dag-conditional-artifacts.yaml": (30, "outputs on a dag template has no Weft equivalent"),
    "dag-conditional-parameters.yaml": (30, "outputs on a dag template has no Weft equivalent"),
    "dag-continue-on-fail.yaml": (22, "depends: depends on .Failed"),
    "dag-diamond-steps.yaml": None,
    "dag-diamond.yaml": None,
    "dag-enhanced-depends.yaml": None,
    "dag-multiroot.yaml": None,
    "dag-nested.yaml": None,
    "dag-task-level-timeout.yaml": None,
    "exit-handler-dag-level.yaml": None,
    "exit-handlers.yaml": (36, "{{workflow.status}} has no Weft equivalent here"),
    "hello-world.yaml": None,
    "loops-dag.yaml": None,
    "loops-maps.yaml": None,
    "loops-param-argument.yaml": None,
    "loops-param-result.yaml": None,
    "loops-sequence.yaml": (46, "a setting known only at run time is not imported"),
    "loops.yaml": None,
    "map-reduce.yaml": (28, "withParam over a template with inputs known at run time"),
    "output-parameter.yaml": None,
    "parameter-aggregation-dag.yaml": (27, "outputs of a loop or of a nested steps/dag template are not imported"),
    "retry-backoff.yaml": (17, "a limit on all retries has no Weft equivalent"),
    "retry-conditional.yaml": (41, "a retry condition has no Weft equivalent"),
    "retry-with-steps.yaml": (26, "{{retries}} has no Weft equivalent here"),
    "scripts-python.yaml": None,
    "steps.yaml": None,
    "suspend-template-outputs.yaml": None,
    "suspend-template.yaml": None,
    "timeouts-step.yaml": None,
    "timeouts-workflow.yaml": (18, "a deadline for the whole workflow has no Weft equivalent"),
    "generic_basic_pipeline_with_scripts.pipeline": None,
    "generic_single_cycle.pipeline": (209, "the links make a cycle"),
    "kf_with_parameters.pipeline": (25, "the pipeline declares no such parameter"),
    "producer-consumer.pipeline": (27, "files a node leaves for later nodes are not imported"),
}


def test_the_shared_examples_are_all_listed():
    assert SHARED.is_dir(), f"the shared test data is checked out beside the repository: {SHARED}"
    found = {p.name for p in ARGO.glob("*.yaml")} | {p.name for p in ELYRA.glob("*.pipeline")}
    assert found == set(EXPECTED)
    imported = sum(1 for name in EXPECTED if EXPECTED[name] is None)
    # the counts docs/import.md reports
    assert (len([n for n in EXPECTED if n.endswith(".yaml")]), imported) == (40, 23)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_an_example_imports_or_is_refused_at_its_place(name, tmp_path):
    source = (ARGO if name.endswith(".yaml") else ELYRA) / name
    target = tmp_path / "out.weft.yaml"
    expected = EXPECTED[name]
    if expected is None:
        imported = import_path(source, target)
        target.write_text(imported.text)
        loaded = load_file(target)  # what `weft validate` does
        assert loaded.workflow.nodes
        return
    with pytest.raises(WorkflowInvalid) as caught:
        import_path(source, target)
    first = caught.value.problems[0]
    assert (first.location.file, first.location.line) == (str(source), expected[0])
    assert first.location.column >= 1
    assert expected[1] in first.message


def test_the_command_line_writes_text_that_weft_validate_accepts(weft, tmp_path):
    out = tmp_path / "dag.weft.yaml"
    done = weft("import", ARGO / "dag-diamond.yaml", "-o", out)
    assert done.code == 0, done.err
    assert "4 nodes" in done.err
    checked = weft("validate", out)
    assert checked.code == 0, checked.err
    again = weft("import", ARGO / "dag-diamond.yaml", "-o", out)
    assert again.code == 2 and "exists already" in again.err
    printed = weft("import", ARGO / "hello-world.yaml")
    assert printed.code == 0 and printed.out.startswith("# Imported from hello-world.yaml")
    assert "command:\n  - echo\n  - hello world" in printed.out


def test_a_refusal_is_one_located_line_per_problem_and_quotes_nothing(weft, tmp_path):
    source = tmp_path / "wf.yaml"
    source.write_text(
        textwrap.dedent(
            """\
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            spec:
              entrypoint: main
              nodeSelector: {disk: TOPSECRET-VALUE}
              templates:
              - name: main
                steps:
                - - name: a
                    template: echo
                    withParamm: "{{workflow.parameters.x}}"
              - name: echo
                container: {image: busybox, command: [echo, "{{pod.TOPSECRET}}"]}
            """
        )
    )
    done = weft("import", source)
    assert done.code == 2 and done.out == ""
    lines = done.err.splitlines()
    assert lines[-1] == "3 errors"
    assert lines[:-1] == [
        f"{source}:5:3: error: 'nodeSelector': a Kubernetes setting with no Weft equivalent",
        f"{source}:11:9: error: unknown key 'withParamm' (did you mean 'withParam'?)",
        f"{source}:13:50: error: {{{{pod.TOPSECRET}}}} has no Weft equivalent here",
    ]
    assert "TOPSECRET-VALUE" not in done.err


def test_a_value_known_at_run_time_never_becomes_shell_text(tmp_path):
    imported = import_path(ARGO / "scripts-python.yaml", tmp_path / "x.weft.yaml")
    [node] = [n for n in imported.loaded.workflow.nodes if n.id == "print"]
    assert node.command[-3:] == ["sh", "-c", "echo result was: ${WEFT_ARGO_MESSAGE}"]
    assert "{{" not in node.command[-1]
    assert "fill" not in ((node.params or {}).get("argo") or {})  # weft_step fills in no argument of it
    imported = import_path(ARGO / "output-parameter.yaml", tmp_path / "y.weft.yaml")
    [node] = [n for n in imported.loaded.workflow.nodes if n.id == "consume-parameter"]
    assert node.command[4:] == ["echo", "{{inputs.parameters.message}}"]
    assert node.params["argo"]["fill"] == [1]  # that one argument, as one argv item


def test_elyra_positions_become_style_and_links_edges(tmp_path):
    imported = import_path(ELYRA / "generic_basic_pipeline_with_scripts.pipeline", tmp_path / "p.weft.yaml")
    wf = imported.loaded.workflow
    nodes = {n.id: n for n in wf.nodes}
    assert nodes["notebookA"].style["pos"] == [182.0, 141.0]
    assert nodes["notebookA"].command == ["jupyter", "execute", "notebookA.ipynb"]
    assert nodes["untitled1"].command == ["Rscript", "untitled1.r"]
    assert nodes["untitled1"].image == "jupyter/r-notebook"
    pairs = {(e.source, e.target) for e in wf.edges}
    assert pairs == {
        ("notebookA", "notebookB"),
        ("notebookA", "notebookC"),
        ("notebookB", "untitled1"),
        ("notebookC", "untitled1"),
    }


# -- running imported workflows on Docker ---------------------------------------------------------
# Argo's images (busybox, alpine, python:alpine) cannot be pulled here: every image is mapped to
# the test image (`--image-map '*=IMAGE'`), which has sh, echo and python3.

RUNS = {
    "hello-world.yaml": ({"hello-world": "succeeded"}, {"hello-world": "hello world"}),
    "steps.yaml": ({"hello1": "succeeded", "hello2a": "succeeded", "hello2b": "succeeded"}, {"hello2b": "hello2b"}),
    "dag-diamond.yaml": ({n: "succeeded" for n in "ABCD"}, {"D": "D"}),
    "loops.yaml": (
        {"print-message-loop_0": "succeeded", "print-message-loop_1": "succeeded"},
        {"print-message-loop_1": "goodbye world"},
    ),
    "output-parameter.yaml": ({"consume-parameter": "succeeded"}, {"consume-parameter": "hello world"}),
    "scripts-python.yaml": ({"generate": "succeeded", "print": "succeeded"}, {"print": "result was: "}),
    "arguments-parameters.yaml": ({"print-message": "succeeded"}, {"print-message": "hello world"}),
    "loops-param-argument.yaml": (
        {"test-linux": "succeeded", "test-linux-item-3": "succeeded"},
        {"test-linux-item-3": "Debian"},
    ),
    "artifact-passing.yaml": ({"consume-artifact": "succeeded"}, {"consume-artifact": "hello world"}),
}


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUNS))
def test_an_imported_workflow_runs_on_docker(name, weft, tmp_path, docker_image):
    out = tmp_path / "wf.weft.yaml"
    done = weft("import", ARGO / name, "-o", out, "--image-map", f"*={docker_image}")
    assert done.code == 0, done.err
    ran = weft("run", out, "--json", timeout=300)
    run_id = ran.json()["run"]
    shown = weft("show", run_id, "--json").json()
    node_states = {n["id"]: n["state"] for n in shown["nodes"]}
    want_states, want_logs = RUNS[name]
    assert {k: node_states.get(k) for k in want_states} == want_states, node_states
    assert ran.json()["state"] == "succeeded"
    for node, text in want_logs.items():
        assert text in weft("logs", run_id, node).out


@pytest.mark.docker
@pytest.mark.slow
def test_enhanced_depends_run_as_argo_decides(weft, tmp_path, docker_image):
    """C fails: `A && (C.Succeeded || C.Failed)` and `B || C` still run, `B && C` does not, and
    `should-execute-2.Succeeded || should-not-execute` runs after a skipped term."""
    out = tmp_path / "depends.weft.yaml"
    assert weft("import", ARGO / "dag-enhanced-depends.yaml", "-o", out, "--image-map", f"*={docker_image}").code == 0
    ran = weft("run", out, "--json", timeout=300).json()
    node_states = {n["id"]: n["state"] for n in weft("show", ran["run"], "--json").json()["nodes"]}
    assert {n: node_states[n] for n in ("A", "B", "C", "should-execute-1", "should-execute-2", "should-execute-3")} == {
        "A": "succeeded",
        "B": "succeeded",
        "C": "failed",
        "should-execute-1": "succeeded",
        "should-execute-2": "succeeded",
        "should-execute-3": "succeeded",
    }
    assert node_states["should-not-execute"] == "skipped"
    assert ran["state"] == "failed"  # a failed node fails a Weft run (docs/import.md)


@pytest.mark.docker
@pytest.mark.slow
def test_an_imported_coin_flip_takes_exactly_one_branch(weft, tmp_path, docker_image):
    out = tmp_path / "coinflip.weft.yaml"
    assert weft("import", ARGO / "coinflip.yaml", "-o", out, "--image-map", f"*={docker_image}").code == 0
    run_id = weft("run", out, "--json", timeout=300).json()["run"]
    node_states = {n["id"]: n["state"] for n in weft("show", run_id, "--json").json()["nodes"]}
    assert sorted([node_states["heads"], node_states["tails"]]) == ["skipped", "succeeded"]
    flipped = "heads" if "heads" in weft("logs", run_id, "flip-coin").out else "tails"
    assert node_states[flipped] == "succeeded"


def _elyra_node(node_id: str, filename: str, x: float, links: list[str], params: list[str]) -> dict:
    return {
        "id": node_id,
        "type": "execution_node",
        "op": "execute-python-node",
        "app_data": {
            "label": filename,
            "component_parameters": {
                "filename": filename,
                "runtime_image": "elyra/some-image:1",
                "env_vars": [{"env_var": "MOOD", "value": "sunny"}],
                "dependencies": [],
                "include_subdirectories": False,
                "outputs": [],
                "pipeline_parameters": params,
            },
            "ui_data": {"label": filename, "x_pos": x, "y_pos": 10, "description": "Run Python script"},
        },
        "inputs": [
            {"id": "inPort", "links": [{"id": f"l-{n}", "node_id_ref": n, "port_id_ref": "outPort"} for n in links]}
        ],
        "outputs": [{"id": "outPort"}],
    }


@pytest.mark.docker
@pytest.mark.slow
def test_an_imported_elyra_pipeline_runs_with_its_parameters_on_docker(weft, tmp_path, docker_image):
    folder = tmp_path / "pipe"
    folder.mkdir()
    (folder / "first.py").write_text("import os\nprint('first ran, mood', os.environ['MOOD'])\n")
    (folder / "second.py").write_text("import os\nprint('second says', os.environ['greeting'])\n")
    pipeline = {
        "doc_type": "pipeline",
        "version": "3.0",
        "id": "p",
        "primary_pipeline": "primary",
        "pipelines": [
            {
                "id": "primary",
                "nodes": [
                    _elyra_node("n1", "first.py", 10, [], []),
                    _elyra_node("n2", "second.py", 300, ["n1"], ["greeting"]),
                ],
                "app_data": {
                    "ui_data": {"comments": []},
                    "version": 8,
                    "properties": {
                        "name": "pipe",
                        "runtime": "Generic",
                        "pipeline_parameters": [
                            {"name": "greeting", "default_value": {"type": "String", "value": "hello"}}
                        ],
                    },
                },
            }
        ],
        "schemas": [],
    }
    source = folder / "pipe.pipeline"
    source.write_text(json.dumps(pipeline, indent=2))
    out = folder / "pipe.weft.yaml"
    assert weft("import", source, "-o", out, "--image-map", f"*={docker_image}").code == 0
    assert weft("validate", out).code == 0
    ran = weft("run", out, "--json", timeout=300).json()
    assert ran["state"] == "succeeded"
    assert "first ran, mood sunny" in weft("logs", ran["run"], "first").out
    assert "second says hello" in weft("logs", ran["run"], "second").out
    again = weft("run", out, "--input", "greeting=bonjour", "--json", timeout=300).json()
    assert "second says bonjour" in weft("logs", again["run"], "second").out


def test_retries_timeouts_sequences_conditions_and_exit_handlers_map_to_their_weft_form(tmp_path):
    source = tmp_path / "wf.yaml"
    source.write_text(
        textwrap.dedent(
            """\
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: mapped-}
            spec:
              entrypoint: main
              onExit: bye
              parallelism: 3
              templates:
              - name: main
                steps:
                - - {name: count, template: count}
                - - name: big
                    template: echo
                    arguments: {parameters: [{name: msg, value: "{{item}}"}]}
                    withSequence: {start: "1", end: "2"}
                    when: "{{steps.count.outputs.result}} > 5 && !false"
                - - {name: wait, template: pause}
              - name: count
                retryStrategy: {limit: "3", backoff: {duration: "2s", factor: 2}}
                activeDeadlineSeconds: "90"
                script: {image: python:3, command: [python], source: "print(7)"}
              - name: echo
                inputs: {parameters: [{name: msg}]}
                timeout: 1m
                container: {image: busybox, command: [echo, "{{inputs.parameters.msg}}"]}
              - name: pause
                suspend: {duration: "2"}
              - name: bye
                container: {image: busybox, command: [echo, bye]}
            """
        )
    )
    wf = import_path(source, tmp_path / "wf.weft.yaml").loaded.workflow
    nodes = {n.id: n for n in wf.nodes}
    assert wf.name == "mapped" and wf.settings.max_parallel == 3
    count = nodes["count"]
    assert (count.retries, count.retry_delay, count.timeout) == (3, 2.0, 90.0)
    assert count.command[-3:] == ["python3", "-c", "print(7)"]
    assert [nodes[f"big_{i}"].command for i in (0, 1)] == [["echo", "1"], ["echo", "2"]]
    assert nodes["big_0"].timeout == 60.0
    whens = {(e.source, e.target): e.when for e in wf.edges if e.when}
    assert whens == {("count", f"big_{i}"): "count.result > 5 and not false" for i in (0, 1)}
    # the conditional steps may be skipped: what follows waits for them to end, not to succeed
    assert nodes["big_done"].trigger.value == "always"
    assert {(e.source, e.target) for e in wf.edges if e.target == "wait"} == {("big_done", "wait")}
    assert nodes["wait"].command[-2:] == ["--sleep", "2.0"]
    assert nodes["bye_onexit"].image == "busybox" and nodes["_onexit"].trigger.value == "always"
    assert {(e.source, e.target) for e in wf.edges if "onexit" in e.target} == {
        ("wait", "_onexit"),
        ("_onexit", "bye_onexit"),
    }


def test_a_script_outside_the_pipelines_folder_is_refused_at_its_place(tmp_path):
    with pytest.raises(WorkflowInvalid) as caught:
        import_path(ELYRA / "producer-consumer.pipeline", tmp_path / "p.weft.yaml")
    outside = [p for p in caught.value.problems if "outside the pipeline's folder" in p.message]
    assert [(p.location.line, p.location.column) for p in outside] == [(147, 28)]
