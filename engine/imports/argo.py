"""An Argo Workflow (or WorkflowTemplate) as Weft workflow text.

The entry template is expanded into nodes: a container or script template is one node (its
image, its command and args as an argv); a steps or DAG template it calls is expanded in place
with prefixed ids (``outer_inner``; ``_`` never occurs in Argo's names, so ids cannot clash);
``withItems``/``withSequence`` are expanded into one node per item (``step_0``, ``step_1``);
``withParam`` is one dynamic node that creates a node per item under the shape promise
``fan -> 'fan-item-*'* -> fan_join``. Every ``{{...}}`` is resolved while expanding: a literal
is written in place (as Argo would), a value known only at run time becomes a Weft input fed
by a data edge, and reaches the step through ``weft_step`` (``engine/taskhelper``), never a
shell. What has no Weft equivalent is a located problem; docs/import.md has the table.

This module holds the document, the calls and the references; ``argo_templates`` reads the
templates that run something, ``argo_flow`` expands ``steps`` and ``dag`` templates, and
``argo_write`` writes the result.
"""

from __future__ import annotations

import re
from typing import Any

from engine.imports.argo_expr import Ref
from engine.imports.argo_flow import StepsAndDags
from engine.imports.argo_model import (
    FAN_ITEM,
    ITEM_MARK,
    K8S,
    KINDS,
    NO_ITEM,
    PLACEHOLDER,
    Fragment,
    Leaf,
    Scope,
    as_dict,
    as_list,
    as_text,
    port_name,
)
from engine.imports.argo_templates import TemplateBodies
from engine.imports.argo_write import document
from engine.imports.foreign import Foreign, shown
from engine.workflow.yamlsrc import Path


class ArgoImport:
    def __init__(self, foreign: Foreign, name: str, image_map: dict[str, str]) -> None:
        self.f = foreign
        self.name = name
        self.image_map = image_map
        self.templates: dict[str, tuple[int, dict[str, Any]]] = {}
        self.leaves: dict[str, Leaf] = {}
        self.edges: list[dict[str, Any]] = []
        self.edge_keys: set[tuple[str, str, str | None]] = set()
        self.settled: dict[str, str] = {}
        self.arguments: dict[str, str] = {}  # Argo workflow parameter -> port of the arguments node
        self.inputs: dict[str, str] = {}
        self.promises: list[dict[str, Any]] = []
        self.settings: dict[str, Any] = {"executor": "docker"}
        self.description: str | None = None
        self.workflow_name = name
        self.bodies = TemplateBodies(self)
        self.flow = StepsAndDags(self)

    # -- the document --------------------------------------------------------------------------

    def build(self) -> dict[str, Any] | None:
        data = self.f.data
        if not isinstance(data, dict) or "apiVersion" not in data and "kind" not in data:
            self.f.error((), "not an Argo Workflow (no apiVersion and kind at its top level)")
            return None
        self.f.keys(data, (), ("apiVersion", "kind", "metadata", "spec"), ignored=("status",))
        api = data.get("apiVersion")
        if not isinstance(api, str) or not api.startswith("argoproj.io/"):
            self.f.error(("apiVersion",), "not an Argo Workflow (apiVersion is not argoproj.io/...)")
            return None
        kind = data.get("kind")
        if kind not in KINDS:
            reason = "a schedule has no Weft equivalent" if kind == "CronWorkflow" else "not supported"
            self.f.error(("kind",), f"kind {shown(kind)}: {reason} (Workflow and WorkflowTemplate are)")
            return None
        self._metadata(self.f.mapping(data.get("metadata"), ("metadata",), "metadata"))
        spec = self.f.mapping(data.get("spec"), ("spec",), "spec")
        self._spec(spec)
        if self.f.problems:
            return None
        return document(self)

    def _metadata(self, meta: dict[str, Any]) -> None:
        self.f.keys(meta, ("metadata",), ("name", "generateName", "annotations"), ignored=("labels", "namespace"))
        name = meta.get("name") or meta.get("generateName")
        if isinstance(name, str) and name.strip("-"):
            self.workflow_name = name.rstrip("-")
        notes = meta.get("annotations")
        if isinstance(notes, dict):
            text = notes.get("workflows.argoproj.io/description")
            if isinstance(text, str):
                self.description = text.strip()

    def _spec(self, spec: dict[str, Any]) -> None:
        path: Path = ("spec",)
        refused = {
            "activeDeadlineSeconds": "a deadline for the whole workflow has no Weft equivalent (timeouts are per node)",
            "volumeClaimTemplates": "volumes have no Weft equivalent (steps share files through artifacts)",
            "volumes": "volumes have no Weft equivalent (steps share files through artifacts)",
            "retryStrategy": "a retry strategy for the whole workflow has no Weft equivalent (set it per template)",
            "workflowTemplateRef": "templates from a cluster cannot be read here",
            "hooks": "lifecycle hooks have no Weft equivalent",
            "synchronization": "semaphores and mutexes have no Weft equivalent",
            "templateDefaults": "template defaults are not imported",
            "suspend": "a suspended workflow has no Weft equivalent",
            "shutdown": "a shutdown strategy has no Weft equivalent",
        }
        k8s = (
            "affinity archiveLogs artifactGC artifactRepositoryRef automountServiceAccountToken dnsConfig dnsPolicy "
            "executor executorPlugins hostAliases hostNetwork imagePullSecrets metrics nodeSelector "
            "podDisruptionBudget podGC podMetadata podPriorityClassName podResources podSpecPatch priority "
            "resourceClaims schedulerName securityContext serviceAccountName tolerations ttlStrategy "
            "volumeClaimGC workflowMetadata"
        ).split()
        refused.update({key: K8S for key in k8s})
        self.f.keys(spec, path, ("entrypoint", "templates", "arguments", "onExit", "parallelism"), refused)
        for index, tmpl in enumerate(self.f.sequence(spec.get("templates"), path + ("templates",), "templates")):
            where = path + ("templates", index)
            if not isinstance(tmpl, dict) or not isinstance(tmpl.get("name"), str):
                self.f.error(where, "a template needs a name")
                continue
            if tmpl["name"] in self.templates:
                self.f.error(where + ("name",), f"a second template named {shown(tmpl['name'])}")
                continue
            self.templates[tmpl["name"]] = (index, tmpl)
        parallelism = spec.get("parallelism")
        if parallelism is not None:
            if isinstance(parallelism, int) and not isinstance(parallelism, bool) and parallelism >= 1:
                self.settings["max_parallel"] = parallelism
            else:
                self.f.error(path + ("parallelism",), "parallelism must be a whole number of at least 1")
        self._workflow_arguments(self.f.mapping(spec.get("arguments"), path + ("arguments",), "arguments"))
        entry = spec.get("entrypoint")
        if not isinstance(entry, str):
            self.f.error(path, "no entrypoint: nothing says which template runs", key=False)
            return
        top = Scope(prefix="", kind="top")
        if entry not in self.templates:
            self.f.error(path + ("entrypoint",), f"no template named {shown(entry)}")
            return
        given: dict[str, list[str | Ref]] = {name: [Ref("arguments", port)] for name, port in self.arguments.items()}
        index, tmpl = self.templates[entry]
        declared = {
            name
            for p in as_list(as_dict(tmpl.get("inputs")).get("parameters"))
            if isinstance(p, dict) and isinstance(name := p.get("name"), str)  # others: refused with the template
        }
        given = {name: value for name, value in given.items() if name in declared}  # Argo hands them to the entry
        main = self._call(entry, given, {}, path + ("entrypoint",), top, entry, (), top=True)
        exit_name = spec.get("onExit")
        if exit_name is not None and main is not None:
            if not isinstance(exit_name, str) or exit_name not in self.templates:
                self.f.error(path + ("onExit",), f"no template named {shown(exit_name)}")
                return
            done = self._settled("_onexit", main.exits)
            handler = self._call(exit_name, {}, {}, path + ("onExit",), top, f"{exit_name}_onexit", ())
            if handler is not None:
                self._wire([done], handler, None, [])

    def _parameter(self, value: Any, where: Path) -> tuple[dict[str, Any], str | None]:
        """An input parameter (of the workflow's arguments or of a template): its mapping, its
        keys checked, and its name (None, reported, when it has none)."""
        param = self.f.mapping(value, where, "a parameter")
        self.f.keys(
            param,
            where,
            ("name", "value", "default", "description", "enum"),
            {
                "valueFrom": "a value from Kubernetes has no Weft equivalent",
                "globalName": "global outputs are not imported",
            },
        )
        name = param.get("name")
        if not isinstance(name, str):
            self.f.error(where, "a parameter needs a name")
            return param, None
        return param, name

    def _workflow_arguments(self, args: dict[str, Any]) -> None:
        path: Path = ("spec", "arguments")
        self.f.keys(args, path, ("parameters",), {"artifacts": "workflow artifacts from a repository cannot be read"})
        defaults: dict[str, str] = {}
        for index, param in enumerate(self.f.sequence(args.get("parameters"), path + ("parameters",), "parameters")):
            where = path + ("parameters", index)
            param, name = self._parameter(param, where)
            if name is None:
                continue
            port = port_name(name)
            self.arguments[name] = port
            value = param.get("value", param.get("default"))
            if value is None:
                self.inputs[port] = "str"
            else:
                self.inputs[port] = "str?"
                defaults[port] = value if isinstance(value, str) else as_text(value)
        if self.arguments:
            leaf = self._leaf("arguments", "arguments", ("spec", "arguments"))
            leaf.extra["defaults"] = defaults

    # -- ids, nodes and edges --------------------------------------------------------------------

    def _leaf(self, node_id: str, kind: str, where: Path) -> Leaf:
        if node_id in self.leaves:
            self.f.error(where, f"two nodes would be called {shown(node_id)}")
        leaf = Leaf(node_id, kind)
        self.leaves[node_id] = leaf
        return leaf

    def _edge(self, source: str, target: str, when: str | None = None) -> None:
        key = (source, target, when)
        if key not in self.edge_keys and source != target:
            self.edge_keys.add(key)
            edge: dict[str, Any] = {"from": source, "to": target}
            if when:
                edge["when"] = when
            self.edges.append(edge)

    def _settled(self, join_id: str, exits: list[str]) -> str:
        """A node that succeeds once every one of ``exits`` has ended, whatever happened."""
        key = join_id
        if key not in self.settled:
            leaf = self._leaf(join_id, "join", ())
            leaf.trigger = "always"
            for source in exits:
                self._edge(source, join_id)
            self.settled[key] = join_id
        return self.settled[key]

    def _wire(
        self, sources: list[str], target: Fragment, when: str | None, when_nodes: list[str], where: Path = ()
    ) -> None:
        if "\x00refused" in when_nodes:
            return
        if when and not sources and not when_nodes:
            self.f.error(
                where + ("when",),
                "a condition on a first step that reads no step's output is not imported (it has no edge to sit on)",
            )
            return
        for source in dict.fromkeys(sources + (when_nodes if when else [])):
            for entry in target.entries:
                self._edge(source, entry, when)

    def _sources_of(self, frag: Fragment, frag_id: str) -> list[str]:
        """Argo lets a step follow a skipped one; a Weft node whose source was skipped is
        skipped too. So a step that may be skipped is followed through a join that waits for
        it to end (``trigger: always``)."""
        return [self._settled(f"{frag_id}_done", frag.exits)] if frag.may_skip else frag.exits

    # -- calls -----------------------------------------------------------------------------------

    def _call(
        self,
        name: str,
        params: dict[str, list[str | Ref]],
        artifacts: dict[str, Ref],
        where: Path,
        outer: Scope,
        node_id: str,
        stack: tuple[str, ...],
        item: Any = NO_ITEM,
        top: bool = False,
    ) -> Fragment | None:
        if name not in self.templates:
            self.f.error(where, f"no template named {shown(name)}")
            return None
        if name in stack:
            chain = " -> ".join(shown(n) for n in (*stack, name))
            self.f.error(where, f"recursion ({chain}): a template that calls itself has no Weft equivalent")
            return None
        index, tmpl = self.templates[name]
        tpath: Path = ("spec", "templates", index)
        scope = Scope(prefix="" if top else f"{node_id}_", kind="leaf", item=item)
        self._bind_inputs(tmpl, tpath, params, artifacts, where, scope)
        refused = {
            "resource": "a Kubernetes resource has no Weft equivalent",
            "containerSet": "a set of containers in one pod has no Weft equivalent",
            "http": "an HTTP template is not imported (use the weft:fetch operator)",
            "plugin": "plugins have no Weft equivalent",
            "data": "data templates have no Weft equivalent",
            "daemon": "daemon steps have no Weft equivalent",
            "sidecars": "sidecars have no Weft equivalent",
            "initContainers": "init containers have no Weft equivalent",
            "volumes": "volumes have no Weft equivalent (steps share files through artifacts)",
            "memoize": "memoization is not imported (Weft's `cache: true` keys on different things)",
            "synchronization": "semaphores and mutexes have no Weft equivalent",
            "parallelism": "a per-template limit of parallel steps has no Weft equivalent",
            "failFast": "failFast has no Weft equivalent",
            "archiveLocation": "artifact repositories have no Weft equivalent",
            "metrics": "metrics have no Weft equivalent",
            "executor": K8S,
            "pendingTimeout": "a scheduling timeout has no Weft equivalent",
        }
        k8s = (
            "affinity automountServiceAccountToken hostAliases nodeSelector podSpecPatch priorityClassName "
            "podResources resourceClaims schedulerName securityContext serviceAccountName tolerations"
        ).split()
        refused.update({key: K8S for key in k8s})
        supported = ["name", "container", "script", "steps", "dag", "suspend", "inputs", "outputs", "retryStrategy"]
        supported += ["activeDeadlineSeconds", "timeout"]
        self.f.keys(tmpl, tpath, supported, refused, ignored=("metadata", "annotations"))
        bodies = [key for key in ("container", "script", "steps", "dag", "suspend") if key in tmpl]
        if len(bodies) != 1:
            if not any(key in tmpl for key in refused):
                self.f.error(tpath, "a template needs exactly one of container, script, steps, dag, suspend")
            return None
        body = bodies[0]
        if body in ("steps", "dag"):
            for key in ("retryStrategy", "activeDeadlineSeconds", "timeout", "outputs"):
                if key in tmpl:
                    self.f.error(tpath + (key,), f"{key} on a {body} template has no Weft equivalent", key=True)
            scope.kind = body
            if body == "steps":
                return self.flow.steps(tmpl, tpath, scope, (*stack, name))
            return self.flow.dag(tmpl, tpath, scope, (*stack, name))
        leaf = self._leaf(node_id, "step", where)
        if body == "suspend":
            self.bodies.suspend(leaf, tmpl, tpath)
        else:
            self.bodies.runnable(leaf, tmpl, tpath, body, scope)
        self.bodies.limits(leaf, tmpl, tpath, scope)
        return Fragment([node_id], [node_id], leaf=leaf)

    def _bind_inputs(
        self,
        tmpl: dict[str, Any],
        tpath: Path,
        params: dict[str, list[str | Ref]],
        artifacts: dict[str, Ref],
        where: Path,
        scope: Scope,
    ) -> None:
        ipath = tpath + ("inputs",)
        inputs = self.f.mapping(tmpl.get("inputs"), ipath, "inputs")
        self.f.keys(inputs, ipath, ("parameters", "artifacts"))
        declared = set()
        for index, param in enumerate(self.f.sequence(inputs.get("parameters"), ipath + ("parameters",), "parameters")):
            ppath = ipath + ("parameters", index)
            param, pname = self._parameter(param, ppath)
            if pname is None:
                continue
            declared.add(pname)
            if pname in params:
                scope.params[pname] = params[pname]
                continue
            value = param.get("value", param.get("default"))
            if value is None:
                self.f.error(where, f"parameter {shown(pname)} of the template is given no value")
                continue
            key = "value" if "value" in param else "default"
            scope.params[pname] = self._resolve(as_text(value), ppath + (key,), Scope(prefix="", kind="top"))
        for pname in params:
            if pname not in declared:
                self.f.error(where, f"the template has no input parameter {shown(pname)}")
        for index, art in enumerate(self.f.sequence(inputs.get("artifacts"), ipath + ("artifacts",), "artifacts")):
            apath = ipath + ("artifacts", index)
            art = self.f.mapping(art, apath, "an artifact")
            repos = "artifactory azure gcs git hdfs http oss s3 plugin".split()
            refused = {key: "artifacts from a repository cannot be read here" for key in repos}
            refused["optional"] = "optional artifacts are not imported"
            refused.update({"fromExpression": "expressions have no Weft equivalent", "mode": "file modes are not kept"})
            self.f.keys(art, apath, ("name", "path", "raw", "from"), refused, ignored=("archive",))
            aname, apath_text = art.get("name"), art.get("path")
            if not isinstance(aname, str) or not isinstance(apath_text, str):
                self.f.error(apath, "an input artifact needs a name and a path")
                continue
            scope.artifact_paths[aname] = apath_text
            if aname in artifacts:
                scope.artifacts[aname] = artifacts[aname]
            elif isinstance(art.get("raw"), dict) and isinstance(art["raw"].get("data"), str):
                scope.params[f"\x00raw:{aname}"] = [art["raw"]["data"]]
            elif not any(key in art for key in refused):
                self.f.error(where, f"input artifact {shown(aname)} of the template is given nothing")

    # -- references --------------------------------------------------------------------------------

    def _resolve(self, text: str, where: Path, scope: Scope) -> list[str | Ref]:
        """Text with ``{{...}}`` as literal texts and Refs (values known at run time)."""
        parts: list[str | Ref] = []
        pos = 0
        for match in PLACEHOLDER.finditer(text):
            parts.append(text[pos : match.start()])
            pos = match.end()
            parts.extend(self._reference(match.group(1).strip(), where, scope))
        parts.append(text[pos:])
        merged: list[str | Ref] = []
        for part in parts:
            if isinstance(part, str) and merged and isinstance(merged[-1], str):
                merged[-1] += part
            elif part != "":
                merged.append(part)
        return merged

    def _reference(self, ref: str, where: Path, scope: Scope) -> list[str | Ref]:
        fields = ref.split(".")
        bad = f"{{{{{ref}}}}}" if re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", ref) else "this {{...}}"
        if ref.startswith("="):
            self.f.error(where, "an {{=expression}} has no Weft equivalent")
            return []
        if fields[:2] == ["inputs", "parameters"] and len(fields) == 3:
            if fields[2] in scope.params:
                value = scope.params[fields[2]]
                if len(value) == 1 and isinstance(value[0], Ref):
                    return [Ref(value[0].node, value[0].port, fields[2])]
                return list(value)
        elif fields[:2] == ["inputs", "artifacts"] and len(fields) == 4 and fields[3] == "path":
            if fields[2] in scope.artifact_paths:
                return [scope.artifact_paths[fields[2]]]
        elif fields[:2] == ["workflow", "parameters"] and len(fields) == 3:
            if fields[2] in self.arguments:
                return [Ref("arguments", self.arguments[fields[2]])]
            self.f.error(where, f"{bad}: the workflow has no such argument")
            return []
        elif fields == ["workflow", "name"]:
            return [self.workflow_name]
        elif fields[0] == "item" and scope.item is FAN_ITEM and len(fields) <= 2:
            return [f"{ITEM_MARK}{ref}{ITEM_MARK}"]
        elif fields[0] == "item" and scope.item is not NO_ITEM:
            if len(fields) == 1:
                return [as_text(scope.item)]
            if len(fields) == 2 and isinstance(scope.item, dict) and fields[1] in scope.item:
                return [as_text(scope.item[fields[1]])]
        elif fields[0] in ("steps", "tasks") and len(fields) >= 4 and fields[2] == "outputs":
            return self._output_ref(fields, where, scope, bad)
        self.f.error(where, f"{bad} has no Weft equivalent here")
        return []

    def _output_ref(self, fields: list[str], where: Path, scope: Scope, bad: str) -> list[str | Ref]:
        kind = {"steps": "steps", "tasks": "dag"}[fields[0]]
        sibling = scope.siblings.get(fields[1])
        if scope.kind != kind or sibling is None:
            self.f.error(where, f"{bad}: no earlier {'step' if kind == 'steps' else 'task'} of that name here")
            return []
        leaf = sibling.leaf
        if sibling.looped or leaf is None or leaf.kind not in ("step", "ask"):
            self.f.error(where, f"{bad}: outputs of a loop or of a nested steps/dag template are not imported")
            return []
        if fields[3:] == ["result"]:
            if leaf.kind != "step":
                self.f.error(where, f"{bad}: a suspend step has no result")
                return []
            leaf.result = True
            return [Ref(leaf.id, "result")]
        if len(fields) == 5 and fields[3] in ("parameters", "artifacts"):
            port = port_name(fields[4])
            table = leaf.outputs if fields[3] == "parameters" else leaf.artifacts_out
            if port in table:
                return [Ref(leaf.id, port)]
        self.f.error(where, f"{bad}: no such output")
        return []

    # -- writing ---------------------------------------------------------------------------------


def import_argo(foreign: Foreign, name: str, image_map: dict[str, str]) -> dict[str, Any] | None:
    doc = ArgoImport(foreign, name, image_map).build()
    unique = dict.fromkeys(foreign.problems.problems)  # an error in a template called twice is said once
    foreign.problems.problems[:] = list(unique)
    return doc
