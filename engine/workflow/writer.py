"""A ``Workflow`` back to workflow text, in canonical key order.

What was unset stays unset, so load -> write -> load gives an equal model, and a file written
by the studio reads like one written by hand: small mappings and lists of plain values in
flow style (``inputs: {text: str}``), everything else in block style.
"""

from __future__ import annotations

from typing import Any

import yaml

from engine.workflow.model import (
    EdgeSpec,
    NodeSpec,
    OperatorSpec,
    ParamSpec,
    PromiseSpec,
    TaskFields,
    Workflow,
    task_fields_of,
)


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key, as people write YAML."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def workflow_data(workflow: Workflow) -> dict[str, Any]:
    out: dict[str, Any] = {"weft": workflow.version, "name": workflow.name}
    if workflow.description is not None:
        out["description"] = workflow.description
    settings = {k: v for k, v in vars(workflow.settings).items() if v is not None}
    if settings:
        out["settings"] = settings
    if workflow.inputs is not None:
        out["inputs"] = dict(workflow.inputs)
    if workflow.outputs is not None:
        out["outputs"] = dict(workflow.outputs)
    if workflow.types:
        out["types"] = {name: dict(fields) for name, fields in workflow.types.items()}
    if workflow.imports:
        out["imports"] = list(workflow.imports)
    if workflow.operators:
        out["operators"] = {name: operator_data(op) for name, op in workflow.operators.items()}
    out["nodes"] = [node_data(n) for n in workflow.nodes]
    if workflow.edges:
        out["edges"] = [edge_data(e) for e in workflow.edges]
    if workflow.promises:
        out["promises"] = [promise_data(p) for p in workflow.promises]
    return out


def operator_data(op: OperatorSpec) -> dict[str, Any]:
    return _task_data(op)


def _task_data(spec: TaskFields) -> dict[str, Any]:
    out = task_fields_of(spec)
    if spec.params_schema is not None:
        out["params_schema"] = {name: param_data(p) for name, p in spec.params_schema.items()}
    return out


def param_data(param: ParamSpec) -> str | dict[str, Any]:
    """A declared param as written: ``file`` when only its type was said, else a mapping."""
    out: dict[str, Any] = {"type": param.type}
    for key in ("choices", "default", "min", "max", "required", "help"):
        value = getattr(param, key)
        if value is not None:
            out[key] = value
    return param.type if param.short and len(out) == 1 else out


def node_data(node: NodeSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"id": node.id}
    if node.operator is not None:
        out["operator"] = node.operator
    if node.workflow is not None:
        out["workflow"] = node.workflow
    out.update(_task_data(node))
    if node.trigger is not None:
        out["trigger"] = node.trigger.value
    return out


def edge_data(edge: EdgeSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"from": edge.source_text, "to": edge.target_text}
    if edge.when is not None:
        out["when"] = edge.when
    if edge.style is not None:
        out["style"] = edge.style
    return out


def promise_data(promise: PromiseSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if promise.id is not None:
        out["id"] = promise.id
    out[promise.kind] = promise.args
    if promise.by is not None:
        out["by"] = promise.by
    if promise.where is not None:
        out["where"] = promise.where
    return out


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=None, allow_unicode=True, width=100)


def write_text(workflow: Workflow) -> str:
    return dump_yaml(workflow_data(workflow))
