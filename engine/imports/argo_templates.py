"""The Argo importer's reading of a template that runs something: a container or script (its
image, argv, env, outputs), a suspend, and the limits of either (timeouts, retries). One part
of ``engine.imports.argo.ArgoImport`` (``imp``), which calls it for every leaf it makes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from engine.imports.argo_expr import Ref
from engine.imports.argo_model import (
    INTERPRETERS,
    ITEM_MARK,
    K8S,
    SHELLS,
    Leaf,
    Scope,
    as_text,
    env_name,
    in_seconds,
    port_name,
    whole,
)
from engine.imports.foreign import shown
from engine.workflow.yamlsrc import Path

if TYPE_CHECKING:
    from engine.imports.argo import ArgoImport


class TemplateBodies:
    def __init__(self, imp: ArgoImport) -> None:
        self.imp = imp
        self.f = imp.f

    def runnable(self, leaf: Leaf, tmpl: dict[str, Any], tpath: Path, body: str, scope: Scope) -> None:
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
            leaf.image = self.imp.image_map.get(image, self.imp.image_map.get("*", image))
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
            filled = self._fill(leaf, self.imp._resolve(text, where, scope), where, context)
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
                parts = self.imp._resolve(as_text(var.get("value", "")), vpath + ("value",), scope)
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

    def suspend(self, leaf: Leaf, tmpl: dict[str, Any], tpath: Path) -> None:
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

    def literal(self, value: Any, where: Path, scope: Scope) -> Any:
        """A setting that may be written with ``{{...}}``: known when importing, or refused."""
        if not isinstance(value, str) or "{{" not in value:
            return value
        parts = self.imp._resolve(value, where, scope)
        if any(isinstance(part, Ref) for part in parts):
            self.f.error(where, "a setting known only at run time is not imported")
            return None
        return "".join(part for part in parts if isinstance(part, str))

    def limits(self, leaf: Leaf, tmpl: dict[str, Any], tpath: Path, scope: Scope) -> None:
        for key in ("activeDeadlineSeconds", "timeout"):
            if key in tmpl:
                before = len(self.f.problems.problems)
                value = self.literal(tmpl[key], tpath + (key,), scope)
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
        limit = self.literal(retry.get("limit"), rpath + ("limit",), scope)
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
