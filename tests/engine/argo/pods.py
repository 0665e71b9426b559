"""What an Argo cluster does with an exported workflow, as far as these tests need it: validate
it against Argo's own schema, lay a template's raw artifacts out as Argo's init container does,
and substitute the ``{{...}}`` variables of its arguments as the controller does."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = Path(__file__).with_name("argo-schema.json")
WORKFLOW_DEF = "#/definitions/io.argoproj.workflow.v1alpha1.Workflow"
_VARIABLE = re.compile(r"\{\{([^{}]+)\}\}")


@cache
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text("utf-8"))
    return jsonschema.Draft202012Validator({"$ref": WORKFLOW_DEF, "definitions": schema["definitions"]})


def schema_errors(document: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(document)]


def template(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in document["spec"]["templates"] if t["name"] == name)


def task(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in template(document, "main")["dag"]["tasks"] if t["name"] == name)


def lay_out(tmpl: dict[str, Any], root: Path) -> None:
    """Write the template's raw artifacts under ``root`` (``/opt/weft/x`` -> ``root/opt/weft/x``)."""
    for artifact in tmpl["inputs"].get("artifacts", []):
        if "raw" in artifact:
            path = root / artifact["path"].lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(artifact["raw"]["data"], encoding="utf-8")


def substitute(text: str, values: dict[str, str]) -> str:
    """``text`` with every ``{{name}}`` replaced, as Argo does; an unknown one is an error."""

    def one(found: re.Match[str]) -> str:
        return values[found.group(1).strip()]

    return _VARIABLE.sub(one, text)


def container_argv(
    document: dict[str, Any],
    task_name: str,
    outputs: dict[str, dict[str, str]],
    retries: int = 0,
    item: dict[str, str] | None = None,
) -> list[str]:
    """The argv Argo starts a task's container with: command + args, variables substituted
    from the task's arguments and the outputs (text of their files) of earlier tasks."""
    dag_task = task(document, task_name)
    tmpl = template(document, dag_task["template"])
    values = {"workflow.name": "exported-abc12", "retries": str(retries)}
    values.update({f"item.{key}": value for key, value in (item or {}).items()})
    for name, producer in outputs.items():
        for port, text in producer.items():
            values[f"tasks.{name}.outputs.parameters.{port}"] = text
    for parameter in dag_task.get("arguments", {}).get("parameters", []):
        values[f"inputs.parameters.{parameter['name']}"] = substitute(parameter["value"], values)
    container = tmpl["container"]
    return [substitute(word, values) for word in [*container["command"], *container["args"]]]
