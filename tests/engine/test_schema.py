"""The JSON Schema shipped for editors (resources/schema/weft.schema.json).

The schema is what VS Code and other editors use to flag mistakes while a workflow is typed,
so it must accept every well-formed workflow (no false alarms in the examples we ship) and
reject the common slips: unknown keys, wrong value types, malformed promises.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "resources" / "schema" / "weft.schema.json"
EXAMPLES_DIR = ROOT / "resources" / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("**/*.weft.yaml"))

#: The keys an operator has; a node has the same plus these (the format's contract).
OPERATOR_KEYS = {
    "description",
    "inputs",
    "outputs",
    "command",
    "shell",
    "image",
    "build",
    "executor",
    "env",
    "workdir",
    "retries",
    "retry_delay",
    "timeout",
    "dynamic",
    "resources",
    "network",
    "warm",
    "cache",
    "params",
    "params_schema",
    "style",
}
NODE_ONLY_KEYS = {"id", "operator", "trigger", "workflow"}
TOP_KEYS = {
    "weft",
    "name",
    "description",
    "settings",
    "inputs",
    "outputs",
    "types",
    "imports",
    "operators",
    "nodes",
    "edges",
    "promises",
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema)


def load(text: str) -> Any:
    return yaml.safe_load(textwrap.dedent(text))


def errors_of(validator: Draft202012Validator, text: str) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(load(text))
    ]


# --------------------------------------------------------------------------- the schema itself


def test_schema_is_a_valid_draft_2020_12_schema(schema: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://weft.dev/schema/weft-1.json"
    assert schema["title"]


def test_top_level_and_shared_keys_match_the_contract(schema: dict[str, Any]) -> None:
    defs = schema["$defs"]
    assert set(schema["properties"]) == TOP_KEYS
    assert set(defs["operator"]["properties"]) == OPERATOR_KEYS
    assert set(defs["node"]["properties"]) == OPERATOR_KEYS | NODE_ONLY_KEYS
    assert set(defs["settings"]["properties"]) == {
        "max_parallel",
        "executor",
        "image",
        "fail_fast",
        "cache",
        "libraries",
        "max_iterations",
        "ray",
    }
    assert set(defs["style"]["properties"]) == {"color", "label", "icon", "pos"}
    assert set(defs["edge"]["properties"]) == {"from", "to", "when", "style"}


def _resolve(schema: dict[str, Any], sub: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "description" not in sub and "$ref" in sub:
        ref = sub["$ref"]
        assert ref.startswith("#/$defs/"), ref
        sub = schema["$defs"][ref.removeprefix("#/$defs/")]
        seen += 1
        assert seen < 10, "reference loop"
    return sub


def _property_schemas(node: Any, where: str = ""):
    """Yield (location, schema) for every entry of every `properties` map in the schema."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    yield f"{where}/properties/{name}", sub
                    yield from _property_schemas(sub, f"{where}/properties/{name}")
            else:
                yield from _property_schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _property_schemas(item, f"{where}/{i}")


def test_every_property_has_a_description_for_editor_help(schema: dict[str, Any]) -> None:
    # Properties inside `if`/`then` are constraints, not documentation.
    missing = [
        where
        for where, sub in _property_schemas(schema)
        if "/if/" not in where and "/then/" not in where and not _resolve(schema, sub).get("description")
    ]
    assert not missing, missing


def test_every_object_schema_closes_its_keys(schema: dict[str, Any]) -> None:
    """`additionalProperties: false` everywhere a `properties` map lists the allowed keys."""
    open_objects = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict) and "/if" not in where and "/then" not in where:
                if node.get("additionalProperties") is not False:
                    open_objects.append(where or "<root>")
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}/{i}")

    walk(schema, "")
    assert not open_objects, open_objects


# --------------------------------------------------------------------------- valid documents

SPEC_EXAMPLE = """
weft: 1                          # format version, required
name: word-count
description: optional text
settings:
  max_parallel: 4
  executor: local
  image: python:3.12-slim
types:
  Sample: {name: str, score: float}
operators:
  count:
    inputs:  {text: str}
    outputs: {counts: "dict[str, int]"}
    command: [python3, ops/count.py]
    image: python:3.12-slim
    env: {LANG: C.UTF-8}
    retries: 2
    timeout: 60
nodes:
  - id: read
    command: [python3, ops/read.py]
    outputs: {text: str}
    params: {path: data.txt}
  - id: count
    operator: count
    style: {color: "#3b7", label: "Count words"}
  - id: plan
    command: [python3, ops/plan.py]
    dynamic: true
edges:
  - from: read.text
    to: count.text
  - from: count
    to: report
    when: "count.counts.total > 10"
promises:
  - no_new_nodes: {}
"""

VALID = {
    "minimal": "weft: 1",
    "spec-example": SPEC_EXAMPLE,
    "empty-collections": """
        weft: 1
        name: empty
        types: {}
        imports: []
        operators: {}
        nodes: []
        edges: []
        promises: []
    """,
    "all-settings": """
        weft: 1
        settings: {max_parallel: 1, executor: docker, image: weft-base, fail_fast: true}
    """,
    "imports": """
        weft: 1
        imports: [lib/text.ops.yaml, ../shared/ops.yaml]
        nodes: [{id: a, operator: text.upper}]
    """,
    "operator-with-every-field": """
        weft: 1
        operators:
          big-op.v2:
            description: does everything
            inputs: {a: "list[Sample]", b: "int?"}
            outputs: {out: json}
            command: [python3, run.py, --fast]
            shell: false
            image: python:3.12-slim
            build: docker/big
            executor: docker
            env: {LANG: C.UTF-8, "X": ""}
            workdir: /work
            retries: 3
            retry_delay: 0.5
            timeout: 0.25
            dynamic: true
            resources: {cpus: 0.5, memory: 512m}
            network: true
            warm: true
            params: {threshold: 3, nested: {a: [1, 2]}}
            style: {color: "#33bb77", label: Big, icon: gear, pos: [10, -20.5]}
    """,
    "shell-string-command": """
        weft: 1
        nodes:
          - {id: sh, command: "echo hi | tr a-z A-Z", shell: true}
    """,
    "string-command-inherits-shell-from-operator": """
        weft: 1
        operators:
          sh: {command: "true", shell: true}
        nodes:
          - {id: a, operator: sh, command: "echo other"}
    """,
    "integer-node-ids-and-edges": """
        weft: 1
        nodes:
          - {id: 1, command: [a]}
          - {id: 2, command: [b], trigger: any}
          - {id: step-3_x, command: [c], trigger: always}
        edges:
          - {from: 1, to: 2}
          - {from: 2, to: step-3_x}
    """,
    "memory-in-bytes-and-units": """
        weft: 1
        nodes:
          - {id: a, command: [x], resources: {memory: 1073741824}}
          - {id: b, command: [x], resources: {memory: 2GiB, cpus: 4}}
          - {id: c, command: [x], resources: {memory: "1.5g"}}
    """,
    "edge-with-style-and-when": """
        weft: 1
        edges:
          - from: a.out
            to: b.in_1
            when: "len(a.out) > 0 and not a.out[0].skip"
            style: {color: red, label: "only if non-empty"}
    """,
    "every-promise-kind": """
        weft: 1
        promises:
          - static: {}
          - no_new_nodes: {by: plan}
          - no_new_edges: {by: [plan, "map-*"], from: a, to: [b, c]}
          - only_nodes: {match: [mapper, "map-*"]}
          - only_edges: {by: split, pairs: [[split, "map-*"], ["map-*", join]]}
          - max_nodes: {max: 0}
          - shape: "A -> M* -> B"
    """,
    "promises-with-ids": """
        weft: 1
        promises:
          - {id: frozen, static: {}}
          - {id: cap, max_nodes: {by: [plan], max: 100}}
          - id: loop
            shape: "start -> Loop -> end"
            where: {Loop: "M -> Loop | M"}
            by: start
    """,
    "empty-promise-bodies": """
        weft: 1
        promises:
          - no_new_nodes: {}
          - no_new_edges: {}
          - only_nodes: {match: []}
          - only_edges: {pairs: []}
    """,
    "record-types": """
        weft: 1
        types:
          Sample: {name: str, score: float, tags: "list[str]", extra: "dict[str, json]?"}
          _Empty: {}
        operators:
          score:
            inputs: {s: Sample}
            outputs: {best: "Sample?", files: "list[file]"}
            command: [score]
    """,
    "node-overrides-operator": """
        weft: 1
        operators:
          count: {command: [python3, count.py], retries: 1}
        nodes:
          - id: c
            operator: count
            retries: 0
            retry_delay: 0
            timeout: 3600
            executor: local
            params: {}
            env: {}
            description: a counted thing
    """,
    "float-version-equal-to-one": "weft: 1.0",
}


@pytest.mark.parametrize("text", VALID.values(), ids=VALID.keys())
def test_valid_documents_pass(validator: Draft202012Validator, text: str) -> None:
    assert errors_of(validator, text) == []


# --------------------------------------------------------------------------- invalid documents

INVALID = {
    "missing-version": "name: x",
    "version-2": "weft: 2",
    "version-as-string": "weft: '1'",
    "unknown-top-key": "weft: 1\nnodez: []",
    "unknown-settings-key": "weft: 1\nsettings: {parallel: 4}",
    "max-parallel-zero": "weft: 1\nsettings: {max_parallel: 0}",
    "bad-settings-executor": "weft: 1\nsettings: {executor: kubernetes}",
    "fail-fast-not-bool": "weft: 1\nsettings: {fail_fast: sometimes}",
    "imports-not-a-list": "weft: 1\nimports: lib.yaml",
    "bad-record-name": "weft: 1\ntypes: {1Sample: {a: int}}",
    "record-named-like-builtin": "weft: 1\ntypes: {str: {a: int}}",
    "record-field-type-not-text": "weft: 1\ntypes: {Sample: {a: 3}}",
    "bad-operator-name": "weft: 1\noperators: {'-op': {command: [x]}}",
    "unknown-operator-key": "weft: 1\noperators: {op: {command: [x], retry: 2}}",
    "bad-port-name": "weft: 1\noperators: {op: {command: [x], inputs: {my-port: str}}}",
    "port-type-not-text": "weft: 1\noperators: {op: {command: [x], outputs: {n: [int]}}}",
    "operator-string-command-without-shell": "weft: 1\noperators: {op: {command: 'ls -l'}}",
    "nodes-not-a-list": "weft: 1\nnodes: {a: {command: [x]}}",
    "node-without-id": "weft: 1\nnodes: [{command: [x]}]",
    "node-without-command-or-operator": "weft: 1\nnodes: [{id: a, params: {x: 1}}]",
    "unknown-node-key": "weft: 1\nnodes: [{id: a, command: [x], tirgger: any}]",
    "bad-node-id": "weft: 1\nnodes: [{id: 'a b', command: [x]}]",
    "bad-trigger": "weft: 1\nnodes: [{id: a, command: [x], trigger: first}]",
    "empty-command": "weft: 1\nnodes: [{id: a, command: []}]",
    "command-with-number": "weft: 1\nnodes: [{id: a, command: [sleep, 3]}]",
    "node-string-command-without-shell": "weft: 1\nnodes: [{id: a, command: 'ls -l'}]",
    "negative-retries": "weft: 1\nnodes: [{id: a, command: [x], retries: -1}]",
    "fractional-retries": "weft: 1\nnodes: [{id: a, command: [x], retries: 1.5}]",
    "negative-retry-delay": "weft: 1\nnodes: [{id: a, command: [x], retry_delay: -1}]",
    "zero-timeout": "weft: 1\nnodes: [{id: a, command: [x], timeout: 0}]",
    "timeout-as-text": "weft: 1\nnodes: [{id: a, command: [x], timeout: 10s}]",
    "dynamic-not-bool": "weft: 1\nnodes: [{id: a, command: [x], dynamic: maybe}]",
    "env-value-not-string": "weft: 1\nnodes: [{id: a, command: [x], env: {PORT: 8080}}]",
    "params-not-object": "weft: 1\nnodes: [{id: a, command: [x], params: [1, 2]}]",
    "unknown-resources-key": "weft: 1\nnodes: [{id: a, command: [x], resources: {tpus: 1}}]",
    "zero-cpus": "weft: 1\nnodes: [{id: a, command: [x], resources: {cpus: 0}}]",
    "bad-memory": "weft: 1\nnodes: [{id: a, command: [x], resources: {memory: lots}}]",
    "bad-style-pos-length": "weft: 1\nnodes: [{id: a, command: [x], style: {pos: [1, 2, 3]}}]",
    "bad-style-pos-type": "weft: 1\nnodes: [{id: a, command: [x], style: {pos: [left, 2]}}]",
    "bad-style-color": "weft: 1\nnodes: [{id: a, command: [x], style: {color: '#12345'}}]",
    "unknown-style-key": "weft: 1\nnodes: [{id: a, command: [x], style: {colour: red}}]",
    "bad-node-executor": "weft: 1\nnodes: [{id: a, command: [x], executor: ssh}]",
    "edge-without-to": "weft: 1\nedges: [{from: a}]",
    "unknown-edge-key": "weft: 1\nedges: [{from: a, to: b, if: 'x > 1'}]",
    "bad-edge-endpoint": "weft: 1\nedges: [{from: a.b.c, to: b}]",
    "edge-when-not-text": "weft: 1\nedges: [{from: a, to: b, when: true}]",
    "promise-with-two-kinds": "weft: 1\npromises: [{static: {}, no_new_nodes: {}}]",
    "promise-with-no-kind": "weft: 1\npromises: [{id: p}]",
    "unknown-promise-kind": "weft: 1\npromises: [{no_new_promises: {}}]",
    "static-with-arguments": "weft: 1\npromises: [{static: {by: a}}]",
    "only-nodes-without-match": "weft: 1\npromises: [{only_nodes: {by: plan}}]",
    "only-edges-without-pairs": "weft: 1\npromises: [{only_edges: {}}]",
    "only-edges-pair-of-three": "weft: 1\npromises: [{only_edges: {pairs: [[a, b, c]]}}]",
    "max-nodes-without-max": "weft: 1\npromises: [{max_nodes: {by: plan}}]",
    "max-nodes-negative": "weft: 1\npromises: [{max_nodes: {max: -1}}]",
    "unknown-key-in-promise-body": "weft: 1\npromises: [{no_new_nodes: {by: a, match: [b]}}]",
    "where-on-a-non-shape-promise": "weft: 1\npromises: [{max_nodes: {max: 3}, where: {X: a}}]",
    "by-beside-a-non-shape-promise": "weft: 1\npromises: [{no_new_nodes: {}, by: plan}]",
    "shape-not-text": "weft: 1\npromises: [{shape: {from: a, to: b}}]",
    "empty-by-list": "weft: 1\npromises: [{no_new_nodes: {by: []}}]",
}


@pytest.mark.parametrize("text", INVALID.values(), ids=INVALID.keys())
def test_invalid_documents_fail(validator: Draft202012Validator, text: str) -> None:
    assert errors_of(validator, text), "expected at least one schema error"


def test_errors_point_at_the_offending_key(validator: Draft202012Validator) -> None:
    text = """
        weft: 1
        nodes:
          - {id: a, command: [x]}
          - {id: b, command: [x], retries: -1}
    """
    errors = list(validator.iter_errors(load(text)))
    assert [list(e.absolute_path) for e in errors] == [["nodes", 1, "retries"]]


# --------------------------------------------------------------------------- shipped examples


@pytest.mark.parametrize(
    "path",
    EXAMPLES or [None],
    ids=[str(p.relative_to(EXAMPLES_DIR)) for p in EXAMPLES] or ["no-examples"],
)
def test_shipped_examples_match_the_schema(validator: Draft202012Validator, path: Path | None) -> None:
    assert EXAMPLES_DIR.is_dir(), f"{EXAMPLES_DIR} does not exist"
    assert path is not None and EXAMPLES, f"no examples found (no *.weft.yaml under {EXAMPLES_DIR})"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    problems = [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(document)
    ]
    assert not problems, "\n".join(problems)
