"""An Elyra pipeline (``.pipeline``, pipeline-flow v3 JSON) as Weft workflow text.

Generic nodes become commands over the file they name, relative to the pipeline's folder
(which is the Weft workflow's folder too): ``python3 FILE``, ``Rscript FILE``, and
``jupyter execute FILE`` for a notebook. ``runtime_image`` is the node's image, ``env_vars`` its
environment, ``x_pos``/``y_pos`` its ``style.pos``. Links sit on the downstream node
(``inputs[].links[].node_id_ref``) and carry no data: they become runs-after edges. What has no
Weft equivalent is a located problem (docs/import.md).
"""

from __future__ import annotations

import os
import re
from pathlib import Path as FsPath
from typing import Any

from engine.imports.foreign import Foreign, shown
from engine.workflow.yamlsrc import Path

COMMANDS = {
    "execute-notebook-node": ["jupyter", "execute"],
    "execute-python-node": ["python3"],
    "execute-r-node": ["Rscript"],
}
_K8S = "a Kubernetes setting with no Weft equivalent"
REFUSED_PARAMS = {
    "outputs": "files a node leaves for later nodes are not imported (Weft passes files as `file` outputs)",
    "mounted_volumes": "volumes have no Weft equivalent",
    "kubernetes_secrets": _K8S,
    "kubernetes_tolerations": _K8S,
    "kubernetes_pod_annotations": _K8S,
    "kubernetes_pod_labels": _K8S,
    "kubernetes_shared_mem_size": _K8S,
    "cpu": "resource requests are not imported",
    "cpu_limit": "resource requests are not imported",
    "gpu": "resource requests are not imported",
    "gpu_vendor": "resource requests are not imported",
    "memory": "resource requests are not imported",
    "memory_limit": "resource requests are not imported",
    "disable_node_caching": "Elyra's caching is not imported (Weft's is `cache: true`)",
}
PARAMS = (
    "label",
    "filename",
    "runtime_image",
    "env_vars",
    "dependencies",
    "include_subdirectories",
    "pipeline_parameters",
)
HELPER = ["python3", "-m", "weft_step"]


class ElyraImport:
    def __init__(self, foreign: Foreign, name: str, folder: FsPath, image_map: dict[str, str]) -> None:
        self.f = foreign
        self.name = name
        self.folder = folder.resolve()
        self.image_map = image_map
        self.ids: dict[str, str] = {}  # Elyra node id -> Weft node id
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.defaults: dict[str, Any] = {}
        self.parameters: dict[str, str] = {}  # pipeline parameter -> input type
        self.parameter_defaults: dict[str, Any] = {}

    def build(self) -> dict[str, Any] | None:
        data = self.f.data
        self.f.keys(data, (), ("doc_type", "version", "json_schema", "id", "primary_pipeline", "pipelines", "schemas"))
        if data.get("doc_type") != "pipeline":
            self.f.error(("doc_type",), "not an Elyra pipeline (doc_type is not 'pipeline')")
            return None
        pipelines = data.get("pipelines")
        if not isinstance(pipelines, list) or len(pipelines) != 1:
            self.f.error(("pipelines",), "only a pipeline without supernodes (one pipeline) is imported")
            return None
        path: Path = ("pipelines", 0)
        pipeline = self.f.mapping(pipelines[0], path, "a pipeline")
        self.f.keys(pipeline, path, ("id", "nodes", "app_data", "runtime_ref"))
        doc: dict[str, Any] = {"weft": 1, "name": self.name}
        app = self.f.mapping(pipeline.get("app_data"), path + ("app_data",), "app_data")
        self.f.keys(
            app,
            path + ("app_data",),
            ("ui_data", "version", "properties", "runtime", "runtime_config", "runtime_type", "name", "source"),
        )
        props = self.f.mapping(app.get("properties"), path + ("app_data", "properties"), "properties")
        ppath = path + ("app_data", "properties")
        self.f.keys(props, ppath, ("name", "runtime", "pipeline_defaults", "description", "pipeline_parameters"))
        self._parameters(props.get("pipeline_parameters"), ppath + ("pipeline_parameters",))
        if isinstance(props.get("name"), str) and re.fullmatch(r"[A-Za-z0-9_. -]{1,100}", props["name"]):
            doc["name"] = props["name"]
        if isinstance(props.get("description"), str):
            doc["description"] = props["description"]
        self._defaults(
            self.f.mapping(props.get("pipeline_defaults"), ppath + ("pipeline_defaults",), "pipeline_defaults"),
            ppath + ("pipeline_defaults",),
        )
        doc["settings"] = {"executor": "docker"}
        raw_nodes = self.f.sequence(pipeline.get("nodes"), path + ("nodes",), "nodes")
        for index, node in enumerate(raw_nodes):
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                self.ids[node["id"]] = self._unique_id(node, index)
        for index, node in enumerate(raw_nodes):
            self._node(self.f.mapping(node, path + ("nodes", index), "a node"), path + ("nodes", index))
        self._comments(app, path + ("app_data",))
        self._refuse_cycles(raw_nodes, path)
        if self.f.problems:
            return None
        if self.parameters:
            doc["inputs"] = dict(self.parameters)
            defaults = {name: self.parameter_defaults.get(name) for name in self.parameters}
            arguments = {
                "id": "arguments",
                "command": [*HELPER, "--arguments"],
                "executor": "local",
                "inputs": dict(self.parameters),
                "outputs": {name: "json" for name in self.parameters},
                "params": {"argo": {"defaults": defaults}},
            }
            self.nodes.insert(0, arguments)
            self.edges[:0] = [{"from": f"inputs.{name}", "to": f"arguments.{name}"} for name in self.parameters]
        doc["nodes"] = self.nodes
        if self.edges:
            doc["edges"] = self.edges
        return doc

    def _parameters(self, value: Any, path: Path) -> None:
        """Pipeline parameters: the workflow's inputs, handed on (with their defaults) by a
        local ``arguments`` node; a node that names one reads it from its environment."""
        for index, param in enumerate(self.f.sequence(value, path, "pipeline_parameters")):
            where = path + (index,)
            if not isinstance(param, dict):
                self.f.error(where, "a pipeline parameter must be a mapping with a name")
                continue
            self.f.keys(param, where, ("name", "description", "default_value", "required", "value"))
            name = param.get("name")
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name == "arguments":
                self.f.error(where, "a pipeline parameter needs a name of letters, digits and _")
                continue
            default = param.get("default_value")
            if isinstance(default, dict):
                self.f.keys(default, where + ("default_value",), ("type", "value"))
                default = default.get("value")
            if default in (None, "") and param.get("required") is True:
                self.parameters[name] = "str"
            else:
                self.parameters[name] = "str?"
                self.parameter_defaults[name] = "" if default is None else default

    def _defaults(self, defaults: dict[str, Any], path: Path) -> None:
        self.f.keys(defaults, path, ("runtime_image", "env_vars"), REFUSED_PARAMS)
        self.defaults = defaults

    def _unique_id(self, node: dict[str, Any], index: int) -> str:
        params = (
            node.get("app_data", {}).get("component_parameters", {}) if isinstance(node.get("app_data"), dict) else {}
        )
        filename = params.get("filename") if isinstance(params, dict) else None
        base = FsPath(filename).stem if isinstance(filename, str) else f"node{index + 1}"
        base = re.sub(r"[^A-Za-z0-9_-]", "-", base).strip("-") or f"node{index + 1}"
        taken = set(self.ids.values())
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}-{n}", n + 1
        return candidate

    def _node(self, node: dict[str, Any], path: Path) -> None:
        self.f.keys(node, path, ("id", "type", "op", "app_data", "inputs", "outputs"))
        if node.get("type") != "execution_node":
            self.f.error(
                path + ("type",), f"a node of type {shown(node.get('type'))} is not imported (only execution nodes are)"
            )
            return
        op = node.get("op")
        if op not in COMMANDS:
            self.f.error(
                path + ("op",), "a custom component is not imported (only generic notebook, Python and R nodes are)"
            )
            return
        apath = path + ("app_data",)
        app = self.f.mapping(node.get("app_data"), apath, "app_data")
        self.f.keys(app, apath, ("label", "component_parameters", "ui_data", "component_source"))
        cpath = apath + ("component_parameters",)
        params = self.f.mapping(app.get("component_parameters"), cpath, "component_parameters")
        self.f.keys(
            params,
            cpath,
            PARAMS,
            {k: v for k, v in REFUSED_PARAMS.items() if params.get(k) not in ([], "", None, False)},
            ignored=[k for k in REFUSED_PARAMS if params.get(k) in ([], "", None, False)],
        )
        node_id = self._id_of(node.get("id")) or ""
        out: dict[str, Any] = {"id": node_id}
        filename = params.get("filename")
        if not isinstance(filename, str) or not self._inside(filename, cpath + ("filename",)):
            if not isinstance(filename, str):
                self.f.error(cpath, "a node needs a filename")
            return
        out["command"] = [*COMMANDS[op], filename]
        used = []
        for index, name in enumerate(
            self.f.sequence(params.get("pipeline_parameters"), cpath + ("pipeline_parameters",), "pipeline_parameters")
        ):
            if name not in self.parameters:
                self.f.error(cpath + ("pipeline_parameters", index), "the pipeline declares no such parameter")
            else:
                used.append(name)
        if used:
            out["command"] = [*HELPER, "--", *out["command"]]
            out["inputs"] = {name: "json" for name in used}
            out["params"] = {"argo": {"env": {name: name for name in used}}}
            self.edges += [{"from": f"arguments.{name}", "to": f"{node_id}.{name}"} for name in used]
        image = params.get("runtime_image", self.defaults.get("runtime_image"))
        if isinstance(image, str) and image:
            out["image"] = self.image_map.get(image, self.image_map.get("*", image))
        else:
            self.f.error(cpath, "a node needs a runtime_image")
        env = self._env(self.defaults.get("env_vars"), ("pipeline_defaults",))
        env.update(self._env(params.get("env_vars"), cpath + ("env_vars",)))
        if env:
            out["env"] = env
        for index, dep in enumerate(
            self.f.sequence(params.get("dependencies"), cpath + ("dependencies",), "dependencies")
        ):
            if isinstance(dep, str):
                self._inside(dep, cpath + ("dependencies", index))
        ui = self.f.mapping(app.get("ui_data"), apath + ("ui_data",), "ui_data")
        description = ui.get("description")
        if isinstance(description, str) and description:
            out["description"] = description
        style: dict[str, Any] = {}
        label = app.get("label") or ui.get("label")
        if isinstance(label, str) and label and label != node_id:
            style["label"] = label
        x, y = ui.get("x_pos"), ui.get("y_pos")
        if (
            isinstance(x, (int, float))
            and isinstance(y, (int, float))
            and not isinstance(x, bool)
            and not isinstance(y, bool)
        ):
            style["pos"] = [round(float(x), 1), round(float(y), 1)]
        if style:
            out["style"] = style
        for pi, port in enumerate(self.f.sequence(node.get("inputs"), path + ("inputs",), "inputs")):
            port = self.f.mapping(port, path + ("inputs", pi), "a port")
            for li, link in enumerate(self.f.sequence(port.get("links"), path + ("inputs", pi, "links"), "links")):
                lpath = path + ("inputs", pi, "links", li)
                link = self.f.mapping(link, lpath, "a link")
                self.f.keys(link, lpath, ("id", "node_id_ref", "port_id_ref", "app_data"))
                source = self._id_of(link.get("node_id_ref"))
                if source is None:
                    self.f.error(lpath + ("node_id_ref",), "a link from a node that is not in the pipeline")
                elif {"from": source, "to": node_id} not in self.edges:
                    self.edges.append({"from": source, "to": node_id})
        self.nodes.append(out)

    def _id_of(self, elyra_id: Any, default: str | None = None) -> str | None:
        return self.ids.get(elyra_id, default) if isinstance(elyra_id, str) else default

    def _env(self, value: Any, path: Path) -> dict[str, str]:
        env: dict[str, str] = {}
        for index, var in enumerate(self.f.sequence(value, path, "env_vars")):
            var = self.f.mapping(var, path + (index,), "an environment variable")
            name, text = var.get("env_var"), var.get("value", "")
            if isinstance(name, str) and name:
                env[name] = "" if text is None else str(text)
        return env

    def _inside(self, relative: str, path: Path) -> bool:
        """A file the pipeline names lies inside its folder (the Weft workflow's folder)."""
        target = (self.folder / relative).resolve() if not os.path.isabs(relative) else None
        if target is None or not (target == self.folder or self.folder in target.parents):
            self.f.error(path, "a file outside the pipeline's folder (Weft reads only inside a workflow's folder)")
            return False
        return True

    def _comments(self, app: dict[str, Any], path: Path) -> None:
        ui = self.f.mapping(app.get("ui_data"), path + ("ui_data",), "ui_data")
        by_id = {node["id"]: node for node in self.nodes}
        for index, comment in enumerate(
            self.f.sequence(ui.get("comments"), path + ("ui_data", "comments"), "comments")
        ):
            if not isinstance(comment, dict) or not isinstance(comment.get("content"), str):
                continue
            for ref in comment.get("associated_id_refs") or []:
                target = by_id.get(self._id_of(ref.get("node_ref") if isinstance(ref, dict) else None, ""))
                if target is not None:
                    text = comment["content"].strip()
                    target["description"] = f"{target['description']}\n{text}" if target.get("description") else text
            if not comment.get("associated_id_refs"):
                self.f.error(
                    path + ("ui_data", "comments", index),
                    "a comment on no node is not imported (Weft has no free-standing notes)",
                )

    def _refuse_cycles(self, raw_nodes: list[Any], path: Path) -> None:
        after: dict[str, list[str]] = {}
        for edge in self.edges:
            after.setdefault(edge["to"], []).append(edge["from"])
        state: dict[str, int] = {}

        def visit(node: str, trail: list[str]) -> list[str] | None:
            state[node] = 1
            for source in after.get(node, []):
                if state.get(source) == 1:
                    return [*trail, node, source]
                if not state.get(source):
                    found = visit(source, [*trail, node])
                    if found:
                        return found
            state[node] = 2
            return None

        for node_id in list(after):
            if not state.get(node_id):
                cycle = visit(node_id, [])
                if cycle:
                    index = next(
                        i
                        for i, n in enumerate(raw_nodes)
                        if isinstance(n, dict) and self._id_of(n.get("id")) == cycle[-2]
                    )
                    self.f.error(
                        path + ("nodes", index, "inputs"),
                        "the links make a cycle; a Weft loop needs a condition to stop it, which an Elyra link has not",
                    )
                    return


def import_elyra(foreign: Foreign, name: str, folder: FsPath, image_map: dict[str, str]) -> dict[str, Any] | None:
    if not isinstance(foreign.data, dict):
        foreign.error((), "not an Elyra pipeline")
        return None
    return ElyraImport(foreign, name, folder, image_map).build()
