"""Random and mutated Argo Workflows never make `weft import` fail with a traceback: each ends
as Weft text that validates, or as located problems (a WeftError), nothing else."""

from __future__ import annotations

import copy
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.argo.export import export
from engine.errors import InvalidInput, WorkflowInvalid
from engine.imports import import_path
from engine.workflow.loader import load_file
from tests.conftest import EXAMPLES as WEFT_EXAMPLES
from tests.engine.test_import import ARGO

EXAMPLES = sorted(ARGO.glob("*.yaml"))
_KEYS = [
    "name", "template", "steps", "dag", "tasks", "when", "depends", "dependencies", "withItems", "withParam",
    "withSequence", "arguments", "parameters", "artifacts", "value", "valueFrom", "path", "inputs", "outputs",
    "container", "script", "source", "image", "command", "args", "suspend", "retryStrategy", "limit", "onExit",
    "activeDeadlineSeconds", "timeout", "from", "entrypoint", "templates", "withParamm",
]  # fmt: skip
_TEXTS = st.sampled_from(
    [
        "{{inputs.parameters.message}}",
        "{{steps.a.outputs.result}}",
        "{{tasks.A.outputs.parameters.x}}",
        "{{workflow.parameters.p}}",
        "{{item}}",
        "{{item.x}}",
        "{{=1+1}}",
        "{{",
        "}}",
        "A && (B.Succeeded || B.Failed)",
        "A.Failed",
        "a == 'b' && !c",
        "x =~ y",
        "(((",
        "10s",
        "-1",
        "echo",
        "",
    ]
)
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10**12), st.floats(allow_nan=True), st.text(max_size=12), _TEXTS
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4)),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, prefix + (index,))
    return found


def _mutate(doc: Any, path: tuple[Any, ...], action: str, new: Any, key: str) -> Any:
    if not path:
        return new
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "rename" and isinstance(parent, dict):
        parent[key] = parent.pop(last)
    else:
        parent[last] = new
    return doc


def _imports_or_refuses(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "wf.yaml"
        source.write_text(text, encoding="utf-8")
        try:
            imported = import_path(source, Path(folder) / "wf.weft.yaml")
        except WorkflowInvalid as exc:
            assert exc.problems and all(p.location.line >= 1 for p in exc.problems)
        except InvalidInput:
            pass
        else:
            assert imported.text.startswith("# Imported from wf.yaml")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_mutated_example_imports_or_is_refused(data):
    example = data.draw(st.sampled_from(EXAMPLES))
    doc = yaml.safe_load(example.read_text())
    for _ in range(data.draw(st.integers(1, 4))):
        paths = _paths(doc)
        path = data.draw(st.sampled_from(paths))
        action = data.draw(st.sampled_from(["replace", "delete", "rename"]))
        doc = _mutate(doc, path, action, data.draw(_VALUES), data.draw(st.sampled_from(_KEYS)))
    _imports_or_refuses(yaml.safe_dump(doc))


@cache
def _exported(name: str) -> dict[str, Any]:
    """A shipped example as weft export writes it, the scripts it carries cut short (the
    mutations are meant for the form around them)."""
    doc = export(load_file(WEFT_EXAMPLES / f"{name}.weft.yaml"))
    for template in doc["spec"]["templates"]:
        for artifact in template.get("inputs", {}).get("artifacts", []):
            if "raw" in artifact:
                artifact["raw"]["data"] = artifact["raw"]["data"][:20]
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_mutated_weft_export_imports_or_is_refused(data):
    """Weft's own export is read by its own reader (engine/imports/weft_argo.py): it too ends
    as text that validates or as located problems, whatever was changed in it."""
    name = data.draw(st.sampled_from(["word-count", "random-map", "nested"]))
    doc = copy.deepcopy(_exported(name))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if "raw" not in p]
        path = data.draw(st.sampled_from(paths))
        action = data.draw(st.sampled_from(["replace", "delete", "rename"]))
        doc = _mutate(doc, path, action, data.draw(_VALUES), data.draw(st.sampled_from(_KEYS)))
    _imports_or_refuses(yaml.safe_dump(doc))


@settings(max_examples=150, deadline=None)
@given(_VALUES)
def test_random_documents_are_refused_without_a_traceback(value):
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": value}
    _imports_or_refuses(yaml.safe_dump(doc))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_random_text_is_refused_without_a_traceback(text):
    _imports_or_refuses(text)
