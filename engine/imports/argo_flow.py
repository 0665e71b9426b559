"""The Argo importer's expansion of ``steps`` and ``dag`` templates: each step or task a call
(once, once per ``withItems``/``withSequence`` item, or a run-time fan-out for ``withParam``),
wired by step groups, ``depends`` and ``when``, with exit handlers and joins. One part of
``engine.imports.argo.ArgoImport`` (``imp``), whose calls and edges it uses.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from engine.imports.argo_expr import Conjunct, Ref, Untranslatable, translate_depends, translate_when
from engine.imports.argo_model import (
    FAN_ITEM,
    NO_ITEM,
    Fragment,
    Leaf,
    Scope,
    as_text,
    flat_text,
    topological,
    whole,
)
from engine.imports.foreign import shown
from engine.workflow.yamlsrc import Path

if TYPE_CHECKING:
    from engine.imports.argo import ArgoImport


class StepsAndDags:
    def __init__(self, imp: ArgoImport) -> None:
        self.imp = imp
        self.f = imp.f

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
                params[param["name"]] = self.imp._resolve(as_text(param["value"]), ppath + ("value",), scope)
        artifacts: dict[str, Ref] = {}
        for index, art in enumerate(self.f.sequence(args.get("artifacts"), apath + ("artifacts",), "artifacts")):
            ppath = apath + ("artifacts", index)
            art = self.f.mapping(art, ppath, "an artifact")
            self.f.keys(art, ppath, ("name", "from"), {"fromExpression": "expressions have no Weft equivalent"})
            parts = self.imp._resolve(as_text(art.get("from", "")), ppath + ("from",), scope)
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
            frag = self.imp._call(template, params, artifacts, cpath + ("template",), inner, copy_id, stack, item)
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
        done = self.imp._settled(f"{node_id}_done", frag.exits)
        after = self.imp._call(handler, {}, {}, cpath + ("onExit",), scope, f"{node_id}_onexit", stack)
        if after is not None:
            self.imp._wire([done], after, None, [])

    def _when(self, call: dict[str, Any], cpath: Path, scope: Scope) -> tuple[str | None, list[str]]:
        if "when" not in call:
            return None, []
        text = self.f.text(call["when"], cpath + ("when",), "when")
        if text is None:
            return None, []
        before = len(self.f.problems.problems)
        parts = self.imp._resolve(text, cpath + ("when",), scope)
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
                seq[key] = self.imp.bodies.literal(seq[key], path + (key,), scope)
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
        parts = self.imp._resolve(text, ppath, scope)
        if len(parts) != 1 or not isinstance(parts[0], Ref):
            self.f.error(ppath, "withParam must be one {{...}} reference to a list")
            return None
        template = call["template"]
        if template not in self.imp.templates:
            self.f.error(cpath + ("template",), f"no template named {shown(template)}")
            return None
        index, tmpl = self.imp.templates[template]
        if "container" not in tmpl and "script" not in tmpl:
            self.f.error(cpath + ("template",), "withParam over a steps, dag or suspend template is not imported")
            return None
        inner = Scope(
            scope.prefix, scope.kind, scope.params, scope.artifacts, scope.artifact_paths, scope.siblings, FAN_ITEM
        )
        params, artifacts = self._call_args(call, cpath, inner)
        probe = self.imp._call(template, params, artifacts, cpath + ("template",), inner, node_id, stack, FAN_ITEM)
        if probe is None or probe.leaf is None:
            return None
        item = probe.leaf
        if item.ports or item.outputs or item.artifacts_out or item.artifacts_in or item.raw_in:
            self.f.error(
                cpath, "withParam over a template with inputs known at run time, or with outputs, is not imported"
            )
            return None
        fan = Leaf(node_id, "fanout")
        self.imp.leaves[node_id] = fan  # replaces the probe: the items are made from it at run time
        port = fan.port_for(parts[0], "items")
        fan.extra["item"] = self._item_node(item)
        fan.extra["fill"] = item.fill
        join = self.imp._leaf(f"{node_id}_join", "join", cpath)
        fan.extra["join"] = join.id
        fan.extra["port"] = port
        self.imp._edge(node_id, join.id)
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

    def steps(self, tmpl: dict[str, Any], tpath: Path, scope: Scope, stack: tuple[str, ...]) -> Fragment | None:
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
                    previous = [s for name, f in last_named for s in self.imp._sources_of(f, name)]
                for copy, when, reads in copies:
                    self.imp._wire(previous, copy, when, reads, cpath)
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

    def dag(self, tmpl: dict[str, Any], tpath: Path, scope: Scope, stack: tuple[str, ...]) -> Fragment | None:
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
                self.imp._wire(sources, copy, when, reads, tp)
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
                return self.imp._sources_of(frag, prefix + dep)
            return frag.exits
        if conj.kind == "settled":
            (dep,) = conj.tasks
            return [self.imp._settled(f"{prefix}{dep}_done", frags[dep].exits)]
        join_id = f"{prefix}{target}_any_{'_'.join(conj.tasks)}"
        if join_id not in self.imp.leaves:
            join = self.imp._leaf(join_id, "join", ())
            join.trigger = "any"
            for dep in conj.tasks:
                for source in frags[dep].exits:
                    self.imp._edge(source, join_id)
        return [join_id]
