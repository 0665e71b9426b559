"""A Weft workflow as an Argo Workflow (``weft export FILE --to argo``).

What maps to what (docs/argo.md says it for a person):

- every node (``workflow:`` nodes expanded first, as a run does: ``engine.workflow.nesting``)
  is one DAG task; tasks whose templates would be equal share one template, named after the
  operator (else the node). A template is a container running ``python3 /opt/weft/weft_argo.py``
  (``engine/taskhelper/weft_argo.py``) with the node's argv after ``--``: the launcher gives
  the task its start line, since an Argo container has no stdin, and writes its outputs where
  Argo collects them. The launcher, ``weft_task.py`` and every file of the workflow's folder
  the argv names travel inside the workflow as raw artifacts, so any image with ``python3``
  runs it; the working directory is ``/workflow`` and the workspace ``/workspace``, as in
  Weft's own containers.
- edges become ``depends`` (``A.Succeeded``; ``trigger: any`` an ``||`` of them; ``trigger:
  always`` every end of each source), ``when`` conditions Argo ``when`` expressions
  (``engine.argo.conditions``), data edges parameters (``file`` values artifacts), ``retries``
  a ``retryStrategy``, ``timeout`` ``activeDeadlineSeconds``.

What cannot be said faithfully is refused, one located line (``ExportRefused``): dynamic
nodes, loops, conditions beyond numbers and booleans, images Weft builds itself, ``file``
values inside other values, and the rest listed in docs/argo.md.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import yaml

from engine.argo import conditions, fanout
from engine.argo.fanout import FAN_OUT, FanOut
from engine.argo.names import Names, mangled
from engine.errors import InvalidInput, Location
from engine.workflow import nesting
from engine.workflow.argv import argv_of, named_words
from engine.workflow.loader import Loaded
from engine.workflow.model import (
    INPUTS,
    EdgeSpec,
    NodeSpec,
    ResolvedNode,
    Trigger,
    declaration_of,
    declared_defaults,
    memory_bytes,
    resolve_node,
)

API_VERSION = "argoproj.io/v1alpha1"
#: the image of a node that names none, when the workflow's settings name none either (as the
#: docker executor's default)
DEFAULT_IMAGE = "python:3.12-slim"
OUTPUTS = "/tmp/weft/outputs"
WORKSPACE = "/workspace"
WORKFLOW = "/workflow"
HELPER = "/opt/weft"
LAUNCHER = f"{HELPER}/weft_argo.py"
INPUT_FILES = f"{WORKSPACE}/in"
#: the longest wait between two attempts, as the engine's (``engine.running.attempts``)
MAX_BACKOFF = 300
#: a file the argv names larger than this is not carried inside the workflow (put it in the image)
MAX_SHIPPED = 256 * 1024
HELPER_DIR = Path(__file__).resolve().parents[1] / "taskhelper"
ENTRY = "main"
#: a template's own parameters; ports are identifiers, so no port can be called this
NODE_PARAM, PARAMS_PARAM = "weft-node", "weft-params"
#: annotation keys the exported workflow carries for an importer (and a person)
NAME_KEY, IDS_KEY, INPUTS_KEY, OUTPUTS_KEY = "weft/name", "weft/node-ids", "weft/inputs", "weft/outputs"
#: what the Argo form does not say but ``weft import`` needs to give back the same workflow: the
#: workflow's named types and its executor and image settings; per template, the node's own
#: executor, image (the container's may be the default), ``shell`` and ``network``
TYPES_KEY, SETTINGS_KEY, RUNS_KEY = "weft/types", "weft/settings", "weft/runs"
_ENDS = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted")


class ExportRefused(InvalidInput):
    """What has no faithful Argo form, at its place in the workflow text: one line, exit 2."""

    def __init__(self, location: Location, reason: str) -> None:
        super().__init__(f"{location}: error: {reason}")
        self.location = location
        self.reason = reason


def export(loaded: Loaded, *, image: str | None = None) -> dict[str, Any]:
    """The Argo Workflow of ``loaded`` as plain data; ``image`` is for nodes that name none."""
    return _Exporter(loaded, image).build()


def to_yaml(document: dict[str, Any]) -> str:
    """YAML text of an exported workflow; multi-line text (the shipped scripts) as blocks."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


class _Exporter:
    def __init__(self, loaded: Loaded, image: str | None) -> None:
        self.loaded = loaded
        self.workflow = loaded.workflow
        self.default_image = image or self.workflow.settings.image or DEFAULT_IMAGE
        self.tasks = Names()
        self.template_names = Names(reserved=(ENTRY,))
        self.templates: list[dict[str, Any]] = []
        self.by_body: dict[str, str] = {}
        self.top = Location(str(self.workflow.path or self.workflow.name), 1, 1)

    def build(self) -> dict[str, Any]:
        workflow = self.workflow
        for loop in workflow.loops:
            edge = workflow.edges[loop.back[0]]
            raise ExportRefused(
                edge.loc or self.top,
                f"the loop {edge.source} -> {edge.target} has no faithful Argo form "
                "(an Argo DAG is acyclic, and Weft unrolls a loop only while it runs)",
            )
        self.expanded = nesting.expand(self.loaded)
        self.given = workflow.inputs is not None and INPUTS in self.expanded.resolved
        nodes = [n for n in self.expanded.nodes if not (self.given and n.id == INPUTS)]
        for node in nodes:
            self.tasks(node.id)
        incoming: dict[str, list[EdgeSpec]] = {n.id: [] for n in nodes}
        for edge in self.expanded.edges:
            incoming[edge.target].append(edge)
        self.fan_outs: dict[str, FanOut] = {}
        for node in nodes:
            if self.expanded.resolved[node.id].dynamic:
                self.fan_outs[node.id] = self._pinned(node)
        self.joins = {fan.join: fan for fan in self.fan_outs.values()}
        dag_tasks = []
        for node in nodes:
            dag_tasks.append(self._task(node, incoming[node.id]))
            if node.id in self.fan_outs:
                dag_tasks.append(self._fan_out_task(self.fan_outs[node.id]))
        dag: dict[str, Any] = {"tasks": dag_tasks, "failFast": bool(workflow.settings.fail_fast)}
        spec: dict[str, Any] = {"entrypoint": ENTRY}
        if self.given:
            spec["arguments"] = {
                "parameters": [
                    {"name": name, "description": f"{kind} (JSON text)"}
                    for name, kind in (workflow.inputs or {}).items()
                ]
            }
        if workflow.settings.max_parallel:
            spec["parallelism"] = workflow.settings.max_parallel
        spec["templates"] = [{"name": ENTRY, "dag": dag}, *self.templates]
        annotations = {NAME_KEY: workflow.name, IDS_KEY: json.dumps(self.tasks.given(), ensure_ascii=False)}
        if workflow.description:
            annotations["weft/description"] = workflow.description
        if workflow.types:
            annotations[TYPES_KEY] = json.dumps(workflow.types, ensure_ascii=False)
        settings = {"executor": workflow.settings.executor, "image": workflow.settings.image}
        if any(settings.values()):
            annotations[SETTINGS_KEY] = json.dumps({k: v for k, v in settings.items() if v}, ensure_ascii=False)
        return {
            "apiVersion": API_VERSION,
            "kind": "Workflow",
            "metadata": {"generateName": f"{mangled(workflow.name).lower()[:50]}-", "annotations": annotations},
            "spec": spec,
        }

    # ------------------------------------------------------------------ tasks

    def _loc(self, node: NodeSpec) -> Location:
        return node.loc or self.top

    def _pinned(self, node: NodeSpec) -> FanOut:
        """The fan-out a dynamic node is exported as, or its refusal."""
        found = fanout.pinned(self.workflow, node.id) if "/" not in node.id else "it is inside a workflow: node"
        if isinstance(found, str):
            raise ExportRefused(
                self._loc(node),
                f"node '{node.id}' is dynamic: its task may change the graph while it runs, which an "
                f"exported Argo workflow cannot (its DAG is fixed when it is submitted), and {found}",
            )
        where = found.promise.loc or self._loc(node)
        operator = self.workflow.operator(found.operator)
        if operator is None or operator.inputs:
            raise ExportRefused(
                where, f"the copies of '{found.operator}' would need inputs, which withParam cannot feed"
            )
        join = next((n for n in self.expanded.nodes if n.id == found.join), None)
        if join is None or self.expanded.resolved[join.id].trigger is not Trigger.ALL:
            raise ExportRefused(where, f"'{found.join}' must be a node with trigger all to join the fan-out")
        return found

    def _fan_out_task(self, fan: FanOut) -> dict[str, Any]:
        """The task that runs one copy of the operator per item the creator listed."""
        spec = NodeSpec(id=fan.operator, operator=fan.operator, loc=fan.promise.loc)
        resolved = resolve_node(spec, self.workflow.operator(fan.operator), self.workflow.settings)
        return {
            "name": self.tasks(f"{fan.operator}*"),
            "template": self._template(spec, resolved, spec.loc or self.top),
            "depends": f"{self.tasks(fan.creator)}.Succeeded",
            "withParam": f"{{{{tasks.{self.tasks(fan.creator)}.outputs.parameters.{FAN_OUT}}}}}",
            "arguments": {
                "parameters": [
                    {"name": NODE_PARAM, "value": "{{item.node}}"},
                    {"name": PARAMS_PARAM, "value": "{{item.params}}"},
                ]
            },
        }

    def _task(self, node: NodeSpec, edges: list[EdgeSpec]) -> dict[str, Any]:
        resolved = self.expanded.resolved[node.id]
        loc = self._loc(node)
        task: dict[str, Any] = {"name": self.tasks(node.id), "template": self._template(node, resolved, loc)}
        _plain(json.dumps(resolved.params, ensure_ascii=False), loc, f"node '{node.id}': its params")
        parameters = [
            {"name": NODE_PARAM, "value": node.id},
            {"name": PARAMS_PARAM, "value": json.dumps(resolved.params, ensure_ascii=False)},
        ]
        artifacts: list[dict[str, Any]] = []
        sources: list[str] = []
        fed: set[str] = set()
        trigger = resolved.trigger
        for edge in edges:
            if not (self.given and edge.source == INPUTS) and edge.source not in sources:
                sources.append(edge.source)
            if edge.target_port is None or edge.source_port is None:
                continue
            where = edge.loc or loc
            if edge.target_port in fed:
                raise ExportRefused(where, f"input {node.id}.{edge.target_port} is fed by more than one edge")
            fed.add(edge.target_port)
            if trigger is not Trigger.ALL:
                raise ExportRefused(
                    where,
                    f"data edge into '{node.id}', whose trigger is {trigger.value}: Argo cannot hand on "
                    "a value from a task that may not have succeeded",
                )
            port_type = resolved.inputs.get(edge.target_port, "json")
            if self.given and edge.source == INPUTS:
                if port_type.rstrip("?") == "file":
                    raise ExportRefused(where, f"workflow input '{edge.source_port}' is a file: give it in the image")
                parameters.append(
                    {"name": edge.target_port, "value": f"{{{{workflow.parameters.{edge.source_port}}}}}"}
                )
            elif port_type.rstrip("?") == "file":
                source = self.tasks(edge.source)
                artifacts.append(
                    {"name": edge.target_port, "from": f"{{{{tasks.{source}.outputs.artifacts.{edge.source_port}}}}}"}
                )
            else:
                source = self.tasks(edge.source)
                value = f"{{{{tasks.{source}.outputs.parameters.{edge.source_port}}}}}"
                parameters.append({"name": edge.target_port, "value": value})
        for port, kind in resolved.inputs.items():  # an optional input nothing feeds is null
            if port not in fed and kind.endswith("?"):
                if kind.rstrip("?") == "file":
                    continue
                parameters.append({"name": port, "value": "null"})
        if sources:
            task["depends"] = self._depends(node, resolved, edges, [self.tasks(s) for s in sources])
            when = self._when(node, resolved, edges, set(sources))
            if when:
                task["when"] = when
        if node.id in self.joins:  # every copy has ended well; none at all is fine for M*
            fan = self.joins[node.id]
            copies = self.tasks(f"{fan.operator}*")
            waits = f"{copies}.Succeeded" if fan.least else f"({copies}.Succeeded || {copies}.Skipped)"
            task["depends"] = f"{task['depends']} && {waits}" if sources else waits
        task["arguments"] = {"parameters": parameters, **({"artifacts": artifacts} if artifacts else {})}
        return task

    def _depends(self, node: NodeSpec, resolved: ResolvedNode, edges: list[EdgeSpec], sources: list[str]) -> str:
        if resolved.trigger is Trigger.ALL:
            return " && ".join(f"{s}.Succeeded" for s in sources)
        if resolved.trigger is Trigger.ANY:
            for edge in edges:
                if edge.when:
                    raise ExportRefused(
                        edge.loc or self._loc(node),
                        f"condition on an edge into '{node.id}', whose trigger is any: Argo evaluates a "
                        "task's when only once, so one edge's condition cannot stand apart from the others",
                    )
            return " || ".join(f"{s}.Succeeded" for s in sources)
        return " && ".join("(" + " || ".join(f"{s}.{end}" for end in _ENDS) + ")" for s in sources)

    def _when(self, node: NodeSpec, resolved: ResolvedNode, edges: list[EdgeSpec], sources: set[str]) -> str | None:
        """The conjunction of the edges' conditions (trigger all: every edge must hold);
        ``always`` runs whatever the conditions say, so it has none."""
        if resolved.trigger is Trigger.ALWAYS:
            return None
        parts = []
        for edge in edges:
            if not edge.when:
                continue
            where = edge.loc or self._loc(node)

            def port_of(name: str, port: str, offset: int, edge: EdgeSpec = edge) -> conditions.Port:
                if self.given and name == INPUTS:
                    kind = (self.workflow.inputs or {}).get(port)
                    if kind is None:
                        raise conditions.Untranslatable(f"the workflow has no input '{port}'", offset)
                    return conditions.Port(f"{{{{workflow.parameters.{port}}}}}", kind)
                if name not in sources:
                    raise conditions.Untranslatable(
                        f"reads '{name}', which is no source of an edge into '{node.id}' "
                        "(Argo reads outputs only of tasks the task depends on)",
                        offset,
                    )
                kind = self.expanded.resolved[name].outputs.get(port)
                if kind is None:
                    raise conditions.Untranslatable(f"'{name}' has no output '{port}'", offset)
                return conditions.Port(f"{{{{tasks.{self.tasks(name)}.outputs.parameters.{port}}}}}", kind)

            try:
                parts.append(conditions.translate(edge.when, port_of))
            except conditions.Untranslatable as exc:
                raise ExportRefused(where, f"condition '{edge.when}' of {edge}: {exc.reason}") from None
        return " && ".join(parts) if parts else None

    # ------------------------------------------------------------------ templates

    def _template(self, node: NodeSpec, resolved: ResolvedNode, loc: Location) -> str:
        if resolved.build:
            raise ExportRefused(
                loc, f"node '{node.id}' builds its image from a folder (build:): build and push it, then name it"
            )
        image = resolved.image or self.default_image
        if any(image in scope.workflow.images for scope in self.expanded.scopes.values()):
            raise ExportRefused(
                loc, f"node '{node.id}' runs in library image '{image}', which Weft builds: push it and name that"
            )
        argv = argv_of(resolved)
        for text in [*argv, *resolved.env.values(), resolved.workdir or ""]:
            _plain(text, loc, f"node '{node.id}': its command, env or workdir")
        if not argv:
            raise ExportRefused(loc, f"node '{node.id}' has no command")
        unsupported = set(resolved.resources) - {"cpus", "memory"}
        if unsupported:
            raise ExportRefused(
                loc, f"node '{node.id}': resources.{sorted(unsupported)[0]} has no per-container form in Kubernetes"
            )
        registry = self.expanded.scopes.get(node.id.rpartition("/")[0], self.loaded).registry
        for port, kind in {**resolved.inputs, **resolved.outputs}.items():
            if kind.rstrip("?") != "file" and registry.has_file(registry.parse(kind)):
                raise ExportRefused(
                    loc, f"port {node.id}.{port} is {kind}: only a whole file value travels as an Argo artifact"
                )
        retrying = resolved.retries > 0
        args = ["--node", _param(NODE_PARAM), "--run", "{{workflow.name}}"]
        args += ["--attempt", "{{retries}}" if retrying else "0", "--params", _param(PARAMS_PARAM)]
        in_params = [{"name": NODE_PARAM}, {"name": PARAMS_PARAM}]
        in_artifacts = [
            _raw("weft-launcher", LAUNCHER, (HELPER_DIR / "weft_argo.py").read_text("utf-8")),
            _raw("weft-task", f"{HELPER}/weft_task.py", (HELPER_DIR / "weft_task.py").read_text("utf-8")),
            *self._shipped(node, resolved, argv, loc),
        ]
        for port, kind in resolved.inputs.items():
            if kind.rstrip("?") == "file":
                path = f"{INPUT_FILES}/{port}"
                in_artifacts.append({"name": port, "path": path, **({"optional": True} if kind.endswith("?") else {})})
                args += ["--input-file", f"{port}={path}"]
            else:
                in_params.append({"name": port})
                args += ["--input", f"{port}={_param(port)}"]
        out_params, out_artifacts = [], []
        fan = self.fan_outs.get(node.id) if resolved.dynamic else None
        if fan is not None:
            operator = self.workflow.operator(fan.operator)
            defaults = declared_defaults(operator.params_schema if operator else None) or {}
            args += ["--fan-out", fan.operator, "--fan-out-into", fan.join, "--fan-out-least", str(fan.least)]
            args += ["--fan-out-defaults", json.dumps(defaults, ensure_ascii=False)]
            out_params.append({"name": FAN_OUT, "valueFrom": {"path": f"{OUTPUTS}/{FAN_OUT}"}})
        for port, kind in resolved.outputs.items():
            path = f"{OUTPUTS}/{port}"
            if kind.rstrip("?") == "file":
                artifact: dict[str, Any] = {"name": port, "path": path, "archive": {"none": {}}}
                if kind.endswith("?"):
                    artifact["optional"] = True
                out_artifacts.append(artifact)
                args += ["--output-file", port]
            else:
                out_params.append({"name": port, "valueFrom": {"path": path}})
                args += ["--output", port]
            if kind.endswith("?"):
                args += ["--optional", port]
        container: dict[str, Any] = {
            "image": image,
            "command": ["python3", LAUNCHER],
            "args": [*args, "--", *argv],
            "workingDir": f"{WORKFLOW}/{resolved.workdir}".rstrip("/") if resolved.workdir else WORKFLOW,
        }
        if resolved.env:
            container["env"] = [{"name": k, "value": v} for k, v in resolved.env.items()]
        limits = {}
        if "cpus" in resolved.resources:
            limits["cpu"] = str(resolved.resources["cpus"])
        if "memory" in resolved.resources:
            limits["memory"] = str(memory_bytes(resolved.resources["memory"]))
        if limits:
            container["resources"] = {"limits": limits}
        body: dict[str, Any] = {
            "metadata": {
                "annotations": {
                    INPUTS_KEY: json.dumps(resolved.inputs, ensure_ascii=False),
                    OUTPUTS_KEY: json.dumps(resolved.outputs, ensure_ascii=False),
                    RUNS_KEY: json.dumps(_runs(resolved), ensure_ascii=False),
                }
            },
            "inputs": {"parameters": in_params, "artifacts": in_artifacts},
        }
        outputs: dict[str, Any] = {}
        if out_params:
            outputs["parameters"] = out_params
        if out_artifacts:
            outputs["artifacts"] = out_artifacts
        if outputs:
            body["outputs"] = outputs
        body["container"] = container
        if retrying:
            body["retryStrategy"] = {
                "limit": str(resolved.retries),
                "backoff": {"duration": _seconds(resolved.retry_delay), "factor": "2", "cap": f"{MAX_BACKOFF}s"},
            }
        if resolved.timeout is not None:
            body["activeDeadlineSeconds"] = str(max(1, math.ceil(resolved.timeout)))
        key = json.dumps(body, sort_keys=True)
        if key not in self.by_body:
            name = self.template_names.fresh(node.operator or node.id)
            self.by_body[key] = name
            self.templates.append({"name": name, **body})
        return self.by_body[key]

    def _shipped(self, node: NodeSpec, resolved: ResolvedNode, argv: list[str], loc: Location) -> list[dict[str, Any]]:
        """Raw artifacts of the files in the workflow's folder that the argv names, placed under
        ``/workflow`` as the docker executor mounts the folder."""
        folder = os.path.realpath(self.workflow.folder)
        out, seen = [], set()
        for word in [*named_words(argv, resolved.shell)[1:], *self._file_params(node, resolved)]:
            if not word or os.path.isabs(word) or "\0" in word or len(word) > 4096:
                continue
            base = os.path.join(folder, resolved.workdir) if resolved.workdir else folder
            path = os.path.join(base, word)
            if not os.path.isfile(path):
                continue
            real = os.path.realpath(path)
            if not real.startswith(folder + os.sep):
                raise ExportRefused(
                    loc, f"node '{node.id}' runs '{word}', outside the workflow's folder: put it in the image"
                )
            rel = Path(os.path.relpath(real, folder)).as_posix()
            if rel in seen:
                continue
            seen.add(rel)
            if os.path.getsize(real) > MAX_SHIPPED:
                raise ExportRefused(
                    loc, f"node '{node.id}' runs '{word}', larger than {MAX_SHIPPED // 1024} KiB: put it in the image"
                )
            try:
                text = Path(real).read_text("utf-8")
            except (OSError, UnicodeDecodeError):
                raise ExportRefused(
                    loc, f"node '{node.id}' runs '{word}', which is not UTF-8 text: put it in the image"
                ) from None
            _plain(text, loc, f"node '{node.id}' runs '{word}', which")
            out.append(_raw(f"weft-file-{len(seen)}", f"{WORKFLOW}/{rel}", text))
        return out

    def _file_params(self, node: NodeSpec, resolved: ResolvedNode) -> list[str]:
        """The values of the params the node declares as ``file``: files of the workflow's folder
        its task reads, which travel with it as its script does."""
        scope = self.expanded.scopes.get(node.id.rpartition("/")[0], self.loaded).workflow
        operator = scope.operator(node.operator) if node.operator else None
        declared = declaration_of(node, operator) or {}
        return [
            value
            for name, spec in declared.items()
            if spec.type == "file" and isinstance(value := resolved.params.get(name), str)
        ]


def _runs(resolved: ResolvedNode) -> dict[str, Any]:
    """The node's own settings the container does not show (``RUNS_KEY``)."""
    runs: dict[str, Any] = {}
    if resolved.executor:
        runs["executor"] = resolved.executor
    if resolved.image:
        runs["image"] = resolved.image
    if resolved.shell:
        runs["shell"] = True
    if resolved.network:
        runs["network"] = True
    return runs


def _plain(text: str, loc: Location, what: str) -> None:
    """Refuse text Argo would rewrite: it substitutes every ``{{...}}`` in a workflow it runs
    (the scripts carried as raw artifacts too), so the task would not get what Weft gives it."""
    if "{{" in text:
        raise ExportRefused(loc, f"{what} holds '{{{{', which Argo would read as one of its variables")


def _param(name: str) -> str:
    return f"{{{{inputs.parameters.{name}}}}}"


def _raw(name: str, path: str, text: str) -> dict[str, Any]:
    return {"name": name, "path": path, "raw": {"data": text}}


def _seconds(value: float) -> str:
    return f"{value:g}s"
