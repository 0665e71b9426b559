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
"""

from __future__ import annotations

import re
from typing import Any

from engine.imports.argo_expr import Conjunct, Ref, Untranslatable, translate_depends, translate_when
from engine.imports.argo_model import (
    FAN_ITEM,
    INTERPRETERS,
    ITEM_MARK,
    K8S,
    KINDS,
    NO_ITEM,
    PLACEHOLDER,
    SHELLS,
    Fragment,
    Leaf,
    Scope,
    as_dict,
    as_list,
    as_text,
    env_name,
    flat_text,
    in_seconds,
    port_name,
    topological,
    whole,
)
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
            p.get("name") for p in as_list(as_dict(tmpl.get("inputs")).get("parameters")) if isinstance(p, dict)
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

    def _workflow_arguments(self, args: dict[str, Any]) -> None:
        path: Path = ("spec", "arguments")
        self.f.keys(args, path, ("parameters",), {"artifacts": "workflow artifacts from a repository cannot be read"})
        defaults: dict[str, str] = {}
        for index, param in enumerate(self.f.sequence(args.get("parameters"), path + ("parameters",), "parameters")):
            where = path + ("parameters", index)
            param = self.f.mapping(param, where, "a parameter")
            self.f.keys(
                param,
                where,
                ("name", "value", "description", "enum", "default"),
                {
                    "valueFrom": "a value from Kubernetes has no Weft equivalent",
                    "globalName": "global outputs are not imported",
                },
            )
            name = param.get("name")
            if not isinstance(name, str):
                self.f.error(where, "a parameter needs a name")
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
                return self._steps(tmpl, tpath, scope, (*stack, name))
            return self._dag(tmpl, tpath, scope, (*stack, name))
        leaf = self._leaf(node_id, "step", where)
        if body == "suspend":
            self._suspend(leaf, tmpl, tpath)
        else:
            self._runnable(leaf, tmpl, tpath, body, scope)
        self._limits(leaf, tmpl, tpath, scope)
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
            param = self.f.mapping(param, ppath, "a parameter")
            self.f.keys(
                param,
                ppath,
                ("name", "value", "default", "description", "enum"),
                {
                    "valueFrom": "a value from Kubernetes has no Weft equivalent",
                    "globalName": "global outputs are not imported",
                },
            )
            pname = param.get("name")
            if not isinstance(pname, str):
                self.f.error(ppath, "a parameter needs a name")
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

    # -- runnable templates ----------------------------------------------------------------------

    def _runnable(self, leaf: Leaf, tmpl: dict[str, Any], tpath: Path, body: str, scope: Scope) -> None:
        cpath = tpath + (body,)
        spec = self.f.mapping(tmpl.get(body), cpath, body)
        refused = {
            "volumeMounts": "volumes have no Weft equivalent (steps share files through artifacts)",
            "volumeDevices": "volumes have no Weft equivalent",
            "envFrom": "environment from Kubernetes objects has no Weft equivalent",
            "workingDir": "a working folder inside the image is not imported (Weft starts in /workflow)",
            "ports": "container ports have no Weft equivalent",
            "stdin": "a step reading stdin has no Weft equivalent (stdin carries Weft's start line)",
            "stdinOnce": "a step reading stdin has no Weft equivalent",
            "tty": "a terminal has no Weft equivalent",
            "resources": "resource requests are not imported (Weft's `resources` limits differ)",
        }
        k8s = (
            "lifecycle livenessProbe readinessProbe startupProbe resizePolicy restartPolicy restartPolicyRules "
            "securityContext terminationMessagePath terminationMessagePolicy"
        ).split()
        refused.update({key: K8S for key in k8s})
        supported = ["image", "command", "args", "env"] + (["source"] if body == "script" else [])
        self.f.keys(spec, cpath, supported, refused, ignored=("name", "imagePullPolicy"))
        image = spec.get("image")
        if not isinstance(image, str):
            self.f.error(cpath, "a container needs an image")
        else:
            leaf.image = self.image_map.get(image, self.image_map.get("*", image))
        argv: list[tuple[str, Path]] = []
        for key in ("command", "args"):
            for index, arg in enumerate(self.f.sequence(spec.get(key), cpath + (key,), key)):
                text = self.f.text(arg, cpath + (key, index), "an argument")
                if text is not None:
                    argv.append((text, cpath + (key, index)))
        if body == "script":
            source = self.f.text(spec.get("source"), cpath + ("source",), "source")
            if not argv:
                self.f.error(cpath, "a script needs a command (the interpreter)")
                return
            program = argv[0][0].rsplit("/", 1)[-1]
            if program == "python":  # Debian's python images have only python3; python's have both
                argv[0] = ("python3", argv[0][1])
                program = "python3"
            flag = "-c" if program in SHELLS else INTERPRETERS.get(program)
            if flag is None:
                self.f.error(
                    cpath + ("command",),
                    f"a script for {shown(program)} is not imported (shells, Python, node, perl, ruby, Rscript are)",
                )
                return
            if source is not None:
                argv[1:1] = [(flag, cpath + ("command",)), (source, cpath + ("source",))]
        if not argv:
            self.f.error(
                cpath,
                "a container with no command is not imported (the argv is needed; the image's entrypoint is unknown)",
            )
            return
        program = argv[0][0].rsplit("/", 1)[-1]
        for index, (text, where) in enumerate(argv):
            after = argv[index - 1][0] if index else None
            if program in SHELLS and after is not None and after.startswith("-") and after.endswith("c"):
                context = "shell"
            elif program in INTERPRETERS and after == INTERPRETERS[program]:
                context = "code"
            else:
                context = "plain"
            filled = self._fill(leaf, self._resolve(text, where, scope), where, context)
            if context == "plain" and "{{" in filled:
                leaf.fill.append(len(leaf.argv))  # weft_step fills in this argument, and no other
            leaf.argv.append(filled)
        env_path = cpath + ("env",)
        for index, var in enumerate(self.f.sequence(spec.get("env"), env_path, "env")):
            vpath = env_path + (index,)
            var = self.f.mapping(var, vpath, "an environment variable")
            self.f.keys(var, vpath, ("name", "value"), {"valueFrom": "a value from Kubernetes has no Weft equivalent"})
            vname = var.get("name")
            if isinstance(vname, str):
                parts = self._resolve(as_text(var.get("value", "")), vpath + ("value",), scope)
                if any(isinstance(part, Ref) or ITEM_MARK in part for part in parts):
                    self.f.error(
                        vpath, "an environment variable set from a value known only at run time is not imported"
                    )
                leaf.env[vname] = "".join(part for part in parts if isinstance(part, str))
        for aname, ref in scope.artifacts.items():
            port = leaf.port_for(ref, aname, file=True)
            leaf.artifacts_in[port] = scope.artifact_paths[aname]
        for key, parts in scope.params.items():
            if key.startswith("\x00raw:"):
                aname = key[len("\x00raw:") :]
                leaf.raw_in[port_name(aname)] = [scope.artifact_paths[aname], str(parts[0])]
        self._outputs(leaf, tmpl, tpath)

    def _fill(self, leaf: Leaf, parts: list[str | Ref], where: Path, context: str) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
                continue
            if context == "code":
                self.f.error(
                    where,
                    "a value known only at run time inside a script's code is not imported (it would run as code)",
                )
                continue
            port = leaf.port_for(part, part.hint or part.port)
            out.append("${" + env_name(port) + "}" if context == "shell" else "{{inputs.parameters." + port + "}}")
        text = "".join(out)
        if ITEM_MARK not in text:
            return text
        pieces = re.split(r"\x00(item(?:\.[^\x00]*)?)\x00", text)
        for index in range(1, len(pieces), 2):
            if context == "code" or (context == "shell" and pieces[index] != "item"):
                self.f.error(
                    where,
                    "an item known only at run time inside a script's code is not imported (it would run as code)",
                )
            pieces[index] = "${WEFT_ARGO_ITEM}" if context == "shell" else "{{" + pieces[index] + "}}"
        return "".join(pieces)

    def _outputs(self, leaf: Leaf, tmpl: dict[str, Any], tpath: Path) -> None:
        opath = tpath + ("outputs",)
        outputs = self.f.mapping(tmpl.get("outputs"), opath, "outputs")
        self.f.keys(
            outputs,
            opath,
            ("parameters", "artifacts"),
            {"result": "set by Argo, not written", "exitCode": "set by Argo, not written"},
        )
        for index, param in enumerate(
            self.f.sequence(outputs.get("parameters"), opath + ("parameters",), "parameters")
        ):
            ppath = opath + ("parameters", index)
            param = self.f.mapping(param, ppath, "a parameter")
            self.f.keys(
                param,
                ppath,
                ("name", "valueFrom", "description"),
                {"globalName": "global outputs are not imported", "value": "a constant output is not imported"},
            )
            source = self.f.mapping(param.get("valueFrom"), ppath + ("valueFrom",), "valueFrom")
            other = "a value from Kubernetes or an expression has no Weft equivalent"
            refused = {
                key: other for key in ("configMapKeyRef", "event", "expression", "jqFilter", "jsonPath", "parameter")
            }
            refused["supplied"] = "only a suspend step's outputs are supplied by a person"
            self.f.keys(source, ppath + ("valueFrom",), ("path", "default"), refused)
            name, path = param.get("name"), source.get("path")
            if isinstance(name, str) and isinstance(path, str):
                spec: dict[str, Any] = {"path": path}
                if "default" in source:
                    spec["default"] = as_text(source["default"])
                leaf.outputs[port_name(name)] = spec
            elif not any(key in source for key in refused):
                self.f.error(ppath, "an output parameter needs a name and valueFrom.path")
        for index, art in enumerate(self.f.sequence(outputs.get("artifacts"), opath + ("artifacts",), "artifacts")):
            apath = opath + ("artifacts", index)
            art = self.f.mapping(art, apath, "an artifact")
            repos = "artifactory azure gcs git hdfs http oss s3 plugin".split()
            refused = {key: "artifact repositories have no Weft equivalent" for key in repos}
            refused.update(
                {"globalName": "global outputs are not imported", "optional": "optional artifacts are not imported"}
            )
            self.f.keys(art, apath, ("name", "path"), refused, ignored=("archive", "archiveLogs"))
            name, path = art.get("name"), art.get("path")
            if isinstance(name, str) and isinstance(path, str):
                leaf.artifacts_out[port_name(name)] = path
            elif not any(key in art for key in refused):
                self.f.error(apath, "an output artifact needs a name and a path")

    def _suspend(self, leaf: Leaf, tmpl: dict[str, Any], tpath: Path) -> None:
        spath = tpath + ("suspend",)
        spec = self.f.mapping(tmpl.get("suspend"), spath, "suspend")
        self.f.keys(spec, spath, ("duration",))
        fields = []
        opath = tpath + ("outputs",)
        outputs = self.f.mapping(tmpl.get("outputs"), opath, "outputs")
        self.f.keys(outputs, opath, ("parameters",))
        for index, param in enumerate(
            self.f.sequence(outputs.get("parameters"), opath + ("parameters",), "parameters")
        ):
            ppath = opath + ("parameters", index)
            param = self.f.mapping(param, ppath, "a parameter")
            self.f.keys(param, ppath, ("name", "valueFrom", "description"))
            source = self.f.mapping(param.get("valueFrom"), ppath + ("valueFrom",), "valueFrom")
            self.f.keys(source, ppath + ("valueFrom",), ("supplied",))
            if isinstance(param.get("name"), str):
                fields.append(port_name(param["name"]))
                leaf.outputs[port_name(param["name"])] = {}
        duration = spec.get("duration")
        if duration is not None:
            if fields:
                self.f.error(
                    spath + ("duration",), "a suspend step with both a duration and supplied outputs is not imported"
                )
            seconds = in_seconds(duration)
            if seconds is None:
                self.f.error(spath + ("duration",), "a duration is a number of seconds or a text like 20s, 5m, 1h")
            leaf.kind, leaf.extra["seconds"] = "sleep", seconds
        elif fields:
            leaf.kind, leaf.extra["fields"] = "ask", fields
            leaf.extra["prompt"] = f"Resume {leaf.id}? (Argo suspend: supply {', '.join(fields)})"
        else:
            leaf.kind, leaf.extra["prompt"] = "approve", f"Resume {leaf.id}? (Argo suspend)"

    def _literal(self, value: Any, where: Path, scope: Scope) -> Any:
        """A setting that may be written with ``{{...}}``: known when importing, or refused."""
        if not isinstance(value, str) or "{{" not in value:
            return value
        parts = self._resolve(value, where, scope)
        if any(isinstance(part, Ref) for part in parts):
            self.f.error(where, "a setting known only at run time is not imported")
            return None
        return "".join(part for part in parts if isinstance(part, str))

    def _limits(self, leaf: Leaf, tmpl: dict[str, Any], tpath: Path, scope: Scope) -> None:
        for key in ("activeDeadlineSeconds", "timeout"):
            if key in tmpl:
                before = len(self.f.problems.problems)
                value = self._literal(tmpl[key], tpath + (key,), scope)
                if len(self.f.problems.problems) > before:
                    continue
                seconds = in_seconds(value)
                if seconds is None or seconds <= 0:
                    self.f.error(tpath + (key,), f"{key} must be a positive number of seconds (or a text like 30s, 5m)")
                else:
                    leaf.timeout = seconds if leaf.timeout is None else min(leaf.timeout, seconds)
        if "retryStrategy" not in tmpl:
            return
        rpath = tpath + ("retryStrategy",)
        retry = self.f.mapping(tmpl["retryStrategy"], rpath, "retryStrategy")
        self.f.keys(
            retry,
            rpath,
            ("limit", "retryPolicy", "backoff"),
            {"expression": "a retry condition has no Weft equivalent (Weft retries every failure)", "affinity": K8S},
        )
        limit = self._literal(retry.get("limit"), rpath + ("limit",), scope)
        count = whole(limit)
        if count is None or count < 0:
            self.f.error(rpath + ("limit",), "limit must be a whole number (or such a text)")
        else:
            leaf.retries = count
        policy = retry.get("retryPolicy", "OnFailure")
        if policy not in ("OnFailure", "Always"):
            self.f.error(
                rpath + ("retryPolicy",),
                "only retryPolicy OnFailure and Always have a Weft equivalent (Weft retries failed tasks)",
            )
        backoff = self.f.mapping(retry.get("backoff"), rpath + ("backoff",), "backoff")
        self.f.keys(
            backoff,
            rpath + ("backoff",),
            ("duration", "factor"),
            {
                "cap": "Weft's backoff stops growing at 5 minutes",
                "maxDuration": "a limit on all retries has no Weft equivalent",
            },
        )
        if "duration" in backoff:
            delay = in_seconds(backoff["duration"])
            if delay is None:
                self.f.error(rpath + ("backoff", "duration"), "duration must be seconds or a text like 10s, 2m")
            leaf.retry_delay = delay
        factor = backoff.get("factor")
        if factor is not None and whole(factor) != 2:
            self.f.error(
                rpath + ("backoff", "factor"), "Weft's backoff doubles each time: only factor 2 has an equivalent"
            )

    # -- steps and DAGs --------------------------------------------------------------------------

    def _call_args(
        self, call: dict[str, Any], cpath: Path, scope: Scope
    ) -> tuple[dict[str, list[str | Ref]], dict[str, Ref]]:
        apath = cpath + ("arguments",)
        args = self.f.mapping(call.get("arguments"), apath, "arguments")
        self.f.keys(args, apath, ("parameters", "artifacts"))
        params: dict[str, list[str | Ref]] = {}
        for index, param in enumerate(self.f.sequence(args.get("parameters"), apath + ("parameters",), "parameters")):
            ppath = apath + ("parameters", index)
            param = self.f.mapping(param, ppath, "a parameter")
            self.f.keys(
                param,
                ppath,
                ("name", "value"),
                {"valueFrom": "a value from Kubernetes or an expression has no Weft equivalent"},
            )
            if isinstance(param.get("name"), str) and "value" in param:
                params[param["name"]] = self._resolve(as_text(param["value"]), ppath + ("value",), scope)
        artifacts: dict[str, Ref] = {}
        for index, art in enumerate(self.f.sequence(args.get("artifacts"), apath + ("artifacts",), "artifacts")):
            ppath = apath + ("artifacts", index)
            art = self.f.mapping(art, ppath, "an artifact")
            self.f.keys(art, ppath, ("name", "from"), {"fromExpression": "expressions have no Weft equivalent"})
            parts = self._resolve(as_text(art.get("from", "")), ppath + ("from",), scope)
            if isinstance(art.get("name"), str) and len(parts) == 1 and isinstance(parts[0], Ref):
                artifacts[art["name"]] = parts[0]
            elif "fromExpression" not in art:
                self.f.error(ppath, "an artifact argument needs from: {{steps|tasks.NAME.outputs.artifacts.NAME}}")
        return params, artifacts

    def _invocations(
        self, call: dict[str, Any], cpath: Path, scope: Scope, stack: tuple[str, ...], kind: str
    ) -> tuple[Fragment | None, list[tuple[Fragment, str | None, list[str]]]]:
        """A step or task: one call, or one per item. Each with its condition (Weft text) and
        the nodes that condition reads."""
        step_keys = ["name", "template", "arguments", "when", "withItems", "withSequence", "withParam", "onExit"]
        if kind == "dag":
            step_keys += ["dependencies", "depends"]
        refused = {
            "continueOn": "a failed node fails a Weft run: continueOn has no equivalent",
            "templateRef": "templates from a cluster cannot be read here",
            "inline": "inline templates are not imported",
            "hooks": "lifecycle hooks have no Weft equivalent",
        }
        self.f.keys(call, cpath, step_keys, refused)
        name, template = call.get("name"), call.get("template")
        if not isinstance(name, str) or not isinstance(template, str):
            if "templateRef" not in call and "inline" not in call:
                self.f.error(cpath, "a step needs a name and a template")
            return None, []
        node_id = scope.prefix + name
        loops = [key for key in ("withItems", "withSequence", "withParam") if key in call]
        if len(loops) > 1:
            self.f.error(cpath + (loops[1],), "only one of withItems, withSequence, withParam")
            return None, []
        copies: list[tuple[Fragment, str | None, list[str]]] = []
        if loops == ["withParam"]:
            frag = self._fan_out(call, cpath, scope, stack, node_id)
            if frag is None:
                return None, []
            when, reads = self._when(call, cpath, scope)
            return frag, [(frag, when, reads)]
        items: list[Any] = [NO_ITEM]
        if loops == ["withItems"]:
            items = self.f.sequence(call["withItems"], cpath + ("withItems",), "withItems")
        elif loops == ["withSequence"]:
            items = self._sequence(call["withSequence"], cpath + ("withSequence",), scope)
        for index, item in enumerate(items):
            inner = Scope(
                scope.prefix, scope.kind, scope.params, scope.artifacts, scope.artifact_paths, scope.siblings, item
            )
            params, artifacts = self._call_args(call, cpath, inner)
            copy_id = node_id if item is NO_ITEM else f"{node_id}_{index}"
            frag = self._call(template, params, artifacts, cpath + ("template",), inner, copy_id, stack, item)
            if frag is None:
                continue
            when, reads = self._when(call, cpath, inner)
            frag.may_skip = frag.may_skip or when is not None
            copies.append((frag, when, reads))
            self._exit_handler(call, cpath, frag, copy_id, scope, stack)
        if not copies:
            return None, []
        if loops:
            union = Fragment(
                [e for f, _, _ in copies for e in f.entries],
                [e for f, _, _ in copies for e in f.exits],
                may_skip=any(f.may_skip for f, _, _ in copies),
                looped=True,
            )
            return union, copies
        return copies[0][0], copies

    def _exit_handler(
        self, call: dict[str, Any], cpath: Path, frag: Fragment, node_id: str, scope: Scope, stack: tuple[str, ...]
    ) -> None:
        handler = call.get("onExit")
        if handler is None:
            return
        if not isinstance(handler, str):
            self.f.error(cpath + ("onExit",), "onExit names a template")
            return
        done = self._settled(f"{node_id}_done", frag.exits)
        after = self._call(handler, {}, {}, cpath + ("onExit",), scope, f"{node_id}_onexit", stack)
        if after is not None:
            self._wire([done], after, None, [])

    def _when(self, call: dict[str, Any], cpath: Path, scope: Scope) -> tuple[str | None, list[str]]:
        if "when" not in call:
            return None, []
        text = self.f.text(call["when"], cpath + ("when",), "when")
        if text is None:
            return None, []
        before = len(self.f.problems.problems)
        parts = self._resolve(text, cpath + ("when",), scope)
        if len(self.f.problems.problems) > before:
            return None, ["\x00refused"]
        reads = [part.node for part in parts if isinstance(part, Ref)]
        try:
            return translate_when(parts), list(dict.fromkeys(reads))
        except Untranslatable as exc:
            self.f.error(cpath + ("when",), f"when: {exc}")
            return None, []

    def _sequence(self, seq: Any, path: Path, scope: Scope) -> list[Any]:
        seq = dict(self.f.mapping(seq, path, "withSequence"))
        self.f.keys(seq, path, ("count", "start", "end"), {"format": "a printf format for items is not imported"})
        before = len(self.f.problems.problems)
        for key in ("count", "start", "end"):
            if key in seq:
                seq[key] = self._literal(seq[key], path + (key,), scope)
        if len(self.f.problems.problems) > before:
            return []
        start = whole(seq.get("start", 0))
        if "count" in seq:
            count = whole(seq["count"])
            if count is None or start is None or count < 0:
                self.f.error(path, "count and start must be whole numbers")
                return []
            return [str(start + i) for i in range(min(count, 10000))]
        end = whole(seq.get("end"))
        if end is None or start is None:
            self.f.error(path, "withSequence needs count, or end (whole numbers)")
            return []
        step = 1 if end >= start else -1
        return [str(i) for i in range(start, end + step, step)][:10000]

    def _fan_out(
        self, call: dict[str, Any], cpath: Path, scope: Scope, stack: tuple[str, ...], node_id: str
    ) -> Fragment | None:
        """withParam: a list known only at run time, one node per item (docs/import.md)."""
        ppath = cpath + ("withParam",)
        text = self.f.text(call["withParam"], ppath, "withParam")
        if text is None:
            return None
        parts = self._resolve(text, ppath, scope)
        if len(parts) != 1 or not isinstance(parts[0], Ref):
            self.f.error(ppath, "withParam must be one {{...}} reference to a list")
            return None
        template = call["template"]
        if template not in self.templates:
            self.f.error(cpath + ("template",), f"no template named {shown(template)}")
            return None
        index, tmpl = self.templates[template]
        if "container" not in tmpl and "script" not in tmpl:
            self.f.error(cpath + ("template",), "withParam over a steps, dag or suspend template is not imported")
            return None
        inner = Scope(
            scope.prefix, scope.kind, scope.params, scope.artifacts, scope.artifact_paths, scope.siblings, FAN_ITEM
        )
        params, artifacts = self._call_args(call, cpath, inner)
        probe = self._call(template, params, artifacts, cpath + ("template",), inner, node_id, stack, FAN_ITEM)
        if probe is None or probe.leaf is None:
            return None
        item = probe.leaf
        if item.ports or item.outputs or item.artifacts_out or item.artifacts_in or item.raw_in:
            self.f.error(
                cpath, "withParam over a template with inputs known at run time, or with outputs, is not imported"
            )
            return None
        fan = Leaf(node_id, "fanout")
        self.leaves[node_id] = fan  # replaces the probe: the items are made from it at run time
        port = fan.port_for(parts[0], "items")
        fan.extra["item"] = self._item_node(item)
        fan.extra["fill"] = item.fill
        join = self._leaf(f"{node_id}_join", "join", cpath)
        fan.extra["join"] = join.id
        fan.extra["port"] = port
        self._edge(node_id, join.id)
        return Fragment([node_id], [join.id], looped=True)

    def _item_node(self, leaf: Leaf) -> dict[str, Any]:
        node: dict[str, Any] = {"command": list(leaf.argv)}
        if leaf.image:
            node["image"] = leaf.image
        if leaf.env:
            node["env"] = dict(leaf.env)
        for key in ("retries", "retry_delay", "timeout"):
            if getattr(leaf, key) is not None:
                node[key] = getattr(leaf, key)
        return node

    def _steps(self, tmpl: dict[str, Any], tpath: Path, scope: Scope, stack: tuple[str, ...]) -> Fragment | None:
        spath = tpath + ("steps",)
        previous: list[str] | None = []
        last_named: list[tuple[str, Fragment]] = []
        first: list[str] = []
        last: list[Fragment] = []
        for gi, group in enumerate(self.f.sequence(tmpl.get("steps"), spath, "steps")):
            gpath = spath + (gi,)
            if isinstance(group, dict):
                group = [group]
            group_frags: list[tuple[str, Fragment]] = []
            for si, call in enumerate(self.f.sequence(group, gpath, "a group of steps")):
                cpath = gpath + (si,)
                call = self.f.mapping(call, cpath, "a step")
                frag, copies = self._invocations(call, cpath, scope, stack, "steps")
                if frag is None:
                    continue
                if previous is None:
                    previous = [s for name, f in last_named for s in self._sources_of(f, name)]
                for copy, when, reads in copies:
                    self._wire(previous, copy, when, reads, cpath)
                group_frags.append((scope.prefix + str(call["name"]), frag))
            for name, frag in group_frags:
                scope.siblings[name[len(scope.prefix) :]] = frag
            if not group_frags:
                continue
            if not first:
                first = [e for _, f in group_frags for e in f.entries]
            previous = None  # the next group's sources, made when it has a step
            last_named = group_frags
            last = [f for _, f in group_frags]
        if not last:
            self.f.error(spath, "a steps template with no steps")
            return None
        return Fragment(first, [e for f in last for e in f.exits], may_skip=any(f.may_skip for f in last))

    def _dag(self, tmpl: dict[str, Any], tpath: Path, scope: Scope, stack: tuple[str, ...]) -> Fragment | None:
        dpath = tpath + ("dag",)
        dag = self.f.mapping(tmpl.get("dag"), dpath, "dag")
        self.f.keys(
            dag,
            dpath,
            ("tasks",),
            {"target": "running part of a DAG has no Weft equivalent", "failFast": "failFast has no Weft equivalent"},
        )
        tasks: dict[str, tuple[int, dict[str, Any]]] = {}
        for index, task in enumerate(self.f.sequence(dag.get("tasks"), dpath + ("tasks",), "tasks")):
            task = self.f.mapping(task, dpath + ("tasks", index), "a task")
            if isinstance(task.get("name"), str):
                if task["name"] in tasks:
                    self.f.error(dpath + ("tasks", index, "name"), f"a second task named {shown(task['name'])}")
                tasks[task["name"]] = (index, task)
        needs: dict[str, list[Conjunct]] = {}
        order_after: dict[str, set[str]] = {}
        for name, (index, task) in tasks.items():
            tp = dpath + ("tasks", index)
            conjuncts: list[Conjunct] = []
            if "dependencies" in task:
                for dep in self.f.sequence(task["dependencies"], tp + ("dependencies",), "dependencies"):
                    conjuncts.append(Conjunct("ok", (str(dep),), bare=True))
            if "depends" in task:
                if "dependencies" in task:
                    self.f.error(tp + ("depends",), "both depends and dependencies", key=True)
                text = self.f.text(task["depends"], tp + ("depends",), "depends")
                try:
                    conjuncts += translate_depends(text or "")
                except Untranslatable as exc:
                    self.f.error(tp + ("depends",), f"depends: {exc}")
            for conj in conjuncts:
                for dep in conj.tasks:
                    if dep not in tasks:
                        self.f.error(tp, f"depends on {shown(dep)}, which is no task of this dag")
            needs[name] = [c for c in conjuncts if all(dep in tasks for dep in c.tasks)]
            refs = set(re.findall(r"tasks\.([A-Za-z0-9-]+)\.", flat_text(task)))
            order_after[name] = {d for c in needs[name] for d in c.tasks} | (refs & set(tasks))
        order = topological(order_after)
        if order is None:
            self.f.error(dpath, "the tasks depend on each other in a cycle")
            return None
        frags: dict[str, Fragment] = {}
        has_dependents: set[str] = set()
        entries: list[str] = []
        for name in order:
            index, task = tasks[name]
            tp = dpath + ("tasks", index)
            frag, copies = self._invocations(task, tp, scope, stack, "dag")
            if frag is None:
                continue
            sources: list[str] = []
            alone = needs[name][0] if len(needs[name]) == 1 else None
            if alone and alone.kind == "any" and frag.leaf is not None and not frag.looped and "when" not in task:
                frag.leaf.trigger = "any"  # one "A || B": the node's own trigger, no join needed
                has_dependents.update(alone.tasks)
                sources = [s for dep in alone.tasks if dep in frags for s in frags[dep].exits]
                needs[name] = []
            for conj in needs[name]:
                if any(dep not in frags for dep in conj.tasks):
                    continue
                has_dependents.update(conj.tasks)
                sources += self._conjunct_sources(conj, frags, scope.prefix, name)
            for copy, when, reads in copies:
                self._wire(sources, copy, when, reads, tp)
            if not sources:
                entries += frag.entries
            frags[name] = frag
            scope.siblings[name] = frag
        sinks = [f for n, f in frags.items() if n not in has_dependents]
        if not frags:
            self.f.error(dpath, "a dag with no tasks")
            return None
        return Fragment(entries, [e for f in sinks for e in f.exits], may_skip=any(f.may_skip for f in sinks))

    def _conjunct_sources(self, conj: Conjunct, frags: dict[str, Fragment], prefix: str, target: str) -> list[str]:
        if conj.kind == "ok":
            (dep,) = conj.tasks
            frag = frags[dep]
            if conj.bare:
                return self._sources_of(frag, prefix + dep)
            return frag.exits
        if conj.kind == "settled":
            (dep,) = conj.tasks
            return [self._settled(f"{prefix}{dep}_done", frags[dep].exits)]
        join_id = f"{prefix}{target}_any_{'_'.join(conj.tasks)}"
        if join_id not in self.leaves:
            join = self._leaf(join_id, "join", ())
            join.trigger = "any"
            for dep in conj.tasks:
                for source in frags[dep].exits:
                    self._edge(source, join_id)
        return [join_id]

    # -- writing ---------------------------------------------------------------------------------


def import_argo(foreign: Foreign, name: str, image_map: dict[str, str]) -> dict[str, Any] | None:
    doc = ArgoImport(foreign, name, image_map).build()
    unique = dict.fromkeys(foreign.problems.problems)  # an error in a template called twice is said once
    foreign.problems.problems[:] = list(unique)
    return doc
