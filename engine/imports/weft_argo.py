"""Weft's own Argo export read back: ``weft import`` of what ``weft export --to argo`` wrote.

An exported workflow says it is one with the annotation ``weft/node-ids`` (Argo task name ->
Weft node id). Its templates run Weft's launcher (``python3 /opt/weft/weft_argo.py ... -- ARGV``,
``engine/taskhelper/weft_argo.py``), which the generic Argo importer would import as a command
of its own; here the launcher's arguments are read back instead: the node's argv after ``--``,
its ports from the template's ``weft/inputs`` and ``weft/outputs``, its params from the task's
``weft-params``, edges from ``depends``, the arguments and ``when``, and a ``withParam`` fan-out
as the dynamic node and the ``A -> M* -> B`` shape promise it came from. The files of the
workflow's folder the export carries as raw artifacts (``/workflow/REL``) are handed back as
files to write beside the imported workflow (``Imported.files``).

Anything that is not in the form the exporter writes is a located problem: the annotation says
what the document is, and a faithful reading of something else is not possible. docs/import.md
says what comes back, and what does not (promises other than the fan-out's, operators, styles).

The names of the form are in ``weft_argo_form``; the entry DAG is read by ``weft_argo_dag``.
"""

from __future__ import annotations

import json
import math
from pathlib import PurePosixPath
from typing import Any

from engine.imports.foreign import Foreign, shown
from engine.imports.weft_argo_dag import DagReader
from engine.imports.weft_argo_form import (
    DESCRIPTION_KEY,
    ENTRY,
    HELPERS,
    IDS_KEY,
    INPUT_TYPE,
    INPUTS_KEY,
    LAUNCHER,
    NAME_KEY,
    OPTIONS,
    OUTPUTS_KEY,
    RUNS_KEY,
    SETTINGS_KEY,
    TYPES_KEY,
    WORKFLOW,
    number,
)
from engine.workflow.yamlsrc import Path


def is_weft_export(data: Any) -> bool:
    """Whether ``data`` says it is a workflow ``weft export --to argo`` wrote."""
    meta = data.get("metadata") if isinstance(data, dict) else None
    notes = meta.get("annotations") if isinstance(meta, dict) else None
    return isinstance(notes, dict) and IDS_KEY in notes


class WeftArgoImport:
    """Reads one exported workflow into a Weft document and the files it carries."""

    def __init__(self, foreign: Foreign, name: str, image_map: dict[str, str]) -> None:
        self.f = foreign
        self.name = name
        self.image_map = image_map
        self.files: dict[str, str] = {}
        self.ids: dict[str, str] = {}  # Argo task name -> Weft node id
        self.templates: dict[str, tuple[Path, dict[str, Any]]] = {}

    # -- the document ------------------------------------------------------------------------

    def build(self) -> dict[str, Any] | None:
        data = self.f.data
        self.f.keys(data, (), ("apiVersion", "kind", "metadata", "spec"), ignored=("status",))
        if data.get("kind") != "Workflow":
            self.f.error(("kind",), "a workflow weft export wrote is a Workflow")
            return None
        doc: dict[str, Any] = {"weft": 1, "name": self.name}
        notes = data["metadata"]["annotations"]
        self._names(notes, doc)
        spec = self.f.mapping(data.get("spec"), ("spec",), "spec")
        self.f.keys(spec, ("spec",), ("entrypoint", "templates", "arguments", "parallelism"))
        if spec.get("entrypoint") != ENTRY:
            self.f.error(("spec", "entrypoint"), f"weft export names its entry template {ENTRY!r}")
            return None
        for index, tmpl in enumerate(self.f.sequence(spec.get("templates"), ("spec", "templates"), "templates")):
            if isinstance(tmpl, dict) and isinstance(tmpl.get("name"), str):
                self.templates[tmpl["name"]] = (("spec", "templates", index), tmpl)
        if ENTRY not in self.templates:
            self.f.error(("spec", "templates"), f"no template named {ENTRY!r}")
            return None
        settings = self._settings(notes, spec)
        if settings:
            doc["settings"] = settings
        inputs = self._inputs(spec)
        if inputs:
            doc["inputs"] = inputs
        if notes.get(TYPES_KEY) is not None:
            doc["types"] = self._json(notes[TYPES_KEY], ("metadata", "annotations", TYPES_KEY), dict)
        path, entry = self.templates[ENTRY]
        dag = self.f.mapping(entry.get("dag"), path + ("dag",), "dag")
        self.f.keys(entry, path, ("name", "dag"))
        self.f.keys(dag, path + ("dag",), ("tasks", "failFast"))
        if dag.get("failFast") is True:
            doc.setdefault("settings", {})["fail_fast"] = True
        tasks = self.f.sequence(dag.get("tasks"), path + ("dag", "tasks"), "tasks")
        nodes, edges, operators, promises = DagReader(self, path + ("dag", "tasks")).read(tasks)
        if operators:
            doc["operators"] = operators
        doc["nodes"] = nodes
        if edges:
            doc["edges"] = edges
        if promises:
            doc["promises"] = promises
        return None if self.f.problems else doc

    def _names(self, notes: dict[str, Any], doc: dict[str, Any]) -> None:
        where: Path = ("metadata", "annotations")
        ids = self._json(notes[IDS_KEY], where + (IDS_KEY,), dict) or {}
        plain_ids = {node for node in ids.values() if isinstance(node, str) and "/" not in node}
        taken: set[str] = set(plain_ids)
        for task, node in ids.items():
            if not isinstance(node, str) or not node:
                self.f.error(where + (IDS_KEY,), f"task {shown(task)}: its node id is not a text")
                continue
            if node.endswith("*") or "/" not in node:  # a node, or the fan-out's copies (no node)
                self.ids[task] = node
                continue
            # a node of a `workflow:` node, expanded by the export (``left/square``): Weft's text
            # has no `/` in an id, so its parts are joined by `_` (``left_square``)
            joined = node.replace("/", "_")
            weft_id, n = joined, 2
            while weft_id in taken:
                weft_id, n = f"{joined}_{n}", n + 1
            taken.add(weft_id)
            self.ids[task] = weft_id
        if isinstance(notes.get(NAME_KEY), str) and notes[NAME_KEY]:
            doc["name"] = notes[NAME_KEY]
        if isinstance(notes.get(DESCRIPTION_KEY), str):
            doc["description"] = notes[DESCRIPTION_KEY]

    def _settings(self, notes: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        settings: dict[str, Any] = {}
        if notes.get(SETTINGS_KEY) is not None:
            given = self._json(notes[SETTINGS_KEY], ("metadata", "annotations", SETTINGS_KEY), dict) or {}
            for key in ("executor", "image"):
                if isinstance(given.get(key), str):
                    settings[key] = self.image(given[key]) if key == "image" else given[key]
        if spec.get("parallelism") is not None:
            settings["max_parallel"] = spec["parallelism"]
        return settings

    def _inputs(self, spec: dict[str, Any]) -> dict[str, str]:
        path: Path = ("spec", "arguments")
        args = self.f.mapping(spec.get("arguments"), path, "arguments")
        self.f.keys(args, path, ("parameters",))
        inputs: dict[str, str] = {}
        for index, param in enumerate(self.f.sequence(args.get("parameters"), path + ("parameters",), "parameters")):
            param = self.f.mapping(param, path + ("parameters", index), "a parameter")
            self.f.keys(param, path + ("parameters", index), ("name", "description"))
            described = INPUT_TYPE.match(str(param.get("description", "")))
            if isinstance(param.get("name"), str):
                inputs[param["name"]] = described.group(1) if described else "json"
        return inputs

    # -- small readers -----------------------------------------------------------------------

    def _json(self, text: Any, where: Path, kind: type) -> Any:
        try:
            value = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            value = None
        if not isinstance(value, kind):
            self.f.error(where, f"not the JSON {kind.__name__} weft export writes here")
            return None
        return value

    def image(self, name: str) -> str:
        return self.image_map.get(name, self.image_map.get("*", name))

    def template(self, name: Any, where: Path) -> dict[str, Any] | None:
        """The node (or operator) one exported template runs, its launcher options, and the
        files it carries (into ``self.files``)."""
        if not isinstance(name, str) or name not in self.templates or name == ENTRY:
            self.f.error(where, f"no template named {shown(name)}")
            return None
        path, tmpl = self.templates[name]
        return _Template(self, path, tmpl).read()


class _Template:
    def __init__(self, imp: WeftArgoImport, path: Path, tmpl: dict[str, Any]) -> None:
        self.imp, self.f, self.path, self.tmpl = imp, imp.f, path, tmpl

    def read(self) -> dict[str, Any] | None:
        f, path, tmpl = self.f, self.path, self.tmpl
        supported = ("name", "metadata", "inputs", "outputs", "container", "retryStrategy", "activeDeadlineSeconds")
        f.keys(tmpl, path, supported)
        notes = f.mapping(
            f.mapping(tmpl.get("metadata"), path + ("metadata",), "metadata").get("annotations"),
            path + ("metadata", "annotations"),
            "annotations",
        )
        where = path + ("metadata", "annotations")
        node: dict[str, Any] = {}
        for key, port_key in (("inputs", INPUTS_KEY), ("outputs", OUTPUTS_KEY)):
            ports = self.imp._json(notes.get(port_key, "{}"), where + (port_key,), dict) or {}
            if ports:
                node[key] = ports
        runs = self.imp._json(notes.get(RUNS_KEY, "{}"), where + (RUNS_KEY,), dict) or {}
        container = f.mapping(tmpl.get("container"), path + ("container",), "container")
        cpath = path + ("container",)
        f.keys(container, cpath, ("image", "command", "args", "workingDir", "env", "resources"))
        if container.get("command") != LAUNCHER:
            f.error(cpath + ("command",), "not Weft's launcher (python3 /opt/weft/weft_argo.py), as weft export writes")
            return None
        options, argv = self._launcher(container.get("args"), cpath + ("args",))
        if argv is None:
            return None
        for text in [
            *argv,
            *(v.get("value") for v in f.sequence(container.get("env"), cpath, "env") if isinstance(v, dict)),
        ]:
            if isinstance(text, str) and "{{" in text:
                f.error(cpath, "a command or env with '{{', which Argo substitutes: weft export never writes one")
                return None
        if runs.get("shell") is True and len(argv) >= 3 and argv[:2] == ["/bin/sh", "-c"]:
            node["command"] = argv[2] if len(argv) == 3 else argv[2:]
            node["shell"] = True
        else:
            node["command"] = argv
        image = runs.get("image")
        if image is None and RUNS_KEY not in notes and isinstance(container.get("image"), str):
            image = container["image"]  # written before the exporter said which image was the node's own
        if isinstance(image, str):
            node["image"] = self.imp.image(image)
        for key in ("executor", "network"):
            if key in runs:
                node[key] = runs[key]
        workdir = container.get("workingDir", WORKFLOW)
        if isinstance(workdir, str) and workdir.startswith(WORKFLOW + "/"):
            node["workdir"] = workdir[len(WORKFLOW) + 1 :]
        elif workdir != WORKFLOW:
            f.error(cpath + ("workingDir",), f"weft export runs a task in {WORKFLOW} or a folder of it")
        env = {}
        for index, var in enumerate(f.sequence(container.get("env"), cpath + ("env",), "env")):
            var = f.mapping(var, cpath + ("env", index), "an environment variable")
            f.keys(var, cpath + ("env", index), ("name", "value"))
            if isinstance(var.get("name"), str) and isinstance(var.get("value"), str):
                env[var["name"]] = var["value"]
        if env:
            node["env"] = env
        limits = f.mapping(
            f.mapping(container.get("resources"), cpath + ("resources",), "resources").get("limits"),
            cpath + ("resources", "limits"),
            "limits",
        )
        resources: dict[str, Any] = {}
        if "cpu" in limits:
            resources["cpus"] = number(limits["cpu"])
        if "memory" in limits:
            resources["memory"] = number(limits["memory"])
        if resources:
            node["resources"] = resources
        self._limits(node)
        self._carried(f.mapping(tmpl.get("inputs"), path + ("inputs",), "inputs"), path + ("inputs",))
        return {"node": node, "options": options}

    def _launcher(self, args: Any, where: Path) -> tuple[dict[str, list[str]], list[str] | None]:
        """The launcher's options (each a list of its values) and the command after ``--``."""
        args = self.f.sequence(args, where, "args")
        options: dict[str, list[str]] = {}
        index = 0
        while index < len(args):
            word = args[index]
            if word == "--":
                argv = args[index + 1 :]
                if not argv or not all(isinstance(a, str) for a in argv):
                    self.f.error(where + (index,), "no command after --")
                    return options, None
                return options, list(argv)
            if (
                not isinstance(word, str)
                or word not in OPTIONS
                or index + 1 >= len(args)
                or not isinstance(args[index + 1], str)
            ):
                self.f.error(where + (index,), f"{shown(word)} is not an option of Weft's launcher")
                return options, None
            options.setdefault(word, []).append(args[index + 1])
            index += 2
        self.f.error(where, "no command: Weft's launcher runs what follows --")
        return options, None

    def _limits(self, node: dict[str, Any]) -> None:
        f, path, tmpl = self.f, self.path, self.tmpl
        if "activeDeadlineSeconds" in tmpl:
            seconds = number(tmpl["activeDeadlineSeconds"])
            if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 < seconds < math.inf:
                f.error(path + ("activeDeadlineSeconds",), "not a number of seconds")
            else:
                node["timeout"] = seconds
        if "retryStrategy" not in tmpl:
            return
        rpath = path + ("retryStrategy",)
        retry = f.mapping(tmpl["retryStrategy"], rpath, "retryStrategy")
        f.keys(retry, rpath, ("limit", "backoff"))
        backoff = f.mapping(retry.get("backoff"), rpath + ("backoff",), "backoff")
        f.keys(backoff, rpath + ("backoff",), ("duration", "factor", "cap"))
        limit = number(retry.get("limit"))
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            f.error(rpath + ("limit",), "not a whole number")
            return
        node["retries"] = limit
        duration = backoff.get("duration")
        delay = number(duration[:-1]) if isinstance(duration, str) and duration.endswith("s") else None
        if duration is not None and not isinstance(delay, (int, float)):
            f.error(rpath + ("backoff", "duration"), "not a number of seconds (10s)")
        elif delay is not None and delay != 1:  # Weft's default
            node["retry_delay"] = delay

    def _carried(self, inputs: dict[str, Any], where: Path) -> None:
        """The raw artifacts: Weft's helpers (which the engine has) and the workflow's files."""
        for index, art in enumerate(self.f.sequence(inputs.get("artifacts"), where + ("artifacts",), "artifacts")):
            apath = where + ("artifacts", index)
            if not isinstance(art, dict) or "raw" not in art:
                continue  # an input artifact of a file port
            target, data = art.get("path"), art["raw"].get("data") if isinstance(art["raw"], dict) else None
            if not isinstance(target, str) or not isinstance(data, str):
                self.f.error(apath, "a raw artifact needs a path and a text")
                continue
            if target in HELPERS:
                continue
            rel = PurePosixPath(target).relative_to(WORKFLOW) if target.startswith(WORKFLOW + "/") else None
            odd = any(ord(char) < 32 for char in target) or "\\" in target or len(target) > 1024
            if rel is None or odd or any(part in ("", ".", "..") for part in rel.parts):
                self.f.error(apath + ("path",), f"a file weft export carries lies inside {WORKFLOW}")
                continue
            if self.imp.files.setdefault(rel.as_posix(), data) != data:
                self.f.error(apath + ("raw",), f"file {shown(rel.as_posix())} is carried twice, different")


def import_weft_argo(
    foreign: Foreign, name: str, image_map: dict[str, str]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The Weft document of a workflow ``weft export --to argo`` wrote, and the files it carries
    (path relative to the workflow's folder -> text)."""
    reader = WeftArgoImport(foreign, name, image_map)
    doc = reader.build()
    return doc, reader.files
