"""The entry DAG of a workflow ``weft export`` wrote, read back as Weft nodes and edges.

``depends`` gives each node's sources and trigger, the task's arguments its data edges, ``when``
the conditions (in Weft's words, each part the exporter joined with ``&&`` on the edge from the
node it reads), and a ``withParam`` task over a creator's ``weft-fan-out`` the operator its
copies run and the shape promise ``A -> M* -> B`` that pinned them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from engine.imports.foreign import shown
from engine.imports.weft_argo_form import (
    ENDS,
    FAN_OUT,
    IDS_KEY,
    INPUTS_KEY,
    NODE_PARAM,
    ORDER,
    PARAMS_PARAM,
    TASK_REF,
    WHEN_TOKEN,
    WORKFLOW_REF,
)
from engine.languages.expr import node_reference
from engine.workflow.yamlsrc import Path

if TYPE_CHECKING:
    from engine.imports.weft_argo import WeftArgoImport


class DagReader:
    """The entry DAG's tasks as nodes, edges, and the fan-out's operator and promise."""

    def __init__(self, imp: WeftArgoImport, path: Path) -> None:
        self.imp, self.f, self.path = imp, imp.f, path

    def read(self, tasks: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any], list[Any]]:
        nodes: list[dict[str, Any]] = []
        edges: list[dict[str, Any]] = []
        operators: dict[str, Any] = {}
        promises: list[Any] = []
        fans: dict[str, str] = {}  # task name of a fan-out's copies -> the operator
        creators: dict[str, dict[str, list[str]]] = {}  # node id -> its launcher's fan-out options
        for index, task in enumerate(tasks):
            tpath = self.path + (index,)
            task = self.f.mapping(task, tpath, "a task")
            self.f.keys(task, tpath, ("name", "template", "depends", "when", "arguments", "withParam"))
            name = task.get("name")
            if not isinstance(name, str) or name not in self.imp.ids:
                self.f.error(tpath + ("name",), f"task {shown(name)} is not in the {IDS_KEY} annotation")
                continue
            read = self.imp.template(task.get("template"), tpath + ("template",))
            if read is None:
                continue
            node, options = read["node"], read["options"]
            if "withParam" in task:
                operator = self._fan_out(task, tpath, node, creators)
                if operator is not None:
                    fans[name] = operator
                    operators[operator] = node
                continue
            node_id = self.imp.ids[name]
            own = self._params(task, tpath)
            if "--fan-out" in options:
                node["dynamic"] = True
                creators[node_id] = options
            edges += self._edges(task, tpath, node_id, node, fans)
            if own:
                node["params"] = own
            nodes.append({"id": node_id, **{key: node[key] for key in ORDER if key in node}})
        for creator, options in creators.items():
            operator, join = options["--fan-out"][0], options.get("--fan-out-into", [""])[0]
            least = options.get("--fan-out-least", ["0"])[0]
            defaults = self.imp._json(options.get("--fan-out-defaults", ["{}"])[0], self.path, dict) or {}
            if operator in operators and defaults:
                operators[operator]["params"] = defaults
            if operator not in operators:
                self.f.error(self.path, f"no task runs the copies of {shown(operator)} that {shown(creator)} makes")
            join_id = next((self.imp.ids[t] for t, i in self.imp.ids.items() if i == join.replace("/", "_")), join)
            promises.append({"shape": f"{creator} -> {operator}{'+' if least == '1' else '*'} -> {join_id}"})
        return nodes, edges, operators, promises

    def _fan_out(self, task: dict[str, Any], tpath: Path, node: dict[str, Any], creators: dict[str, Any]) -> str | None:
        match = re.fullmatch(
            r"\{\{tasks\.([A-Za-z0-9-]+)\.outputs\.parameters\." + FAN_OUT + r"\}\}", str(task.get("withParam"))
        )
        creator = self.imp.ids.get(match.group(1)) if match else None
        if creator is None or creator not in creators:
            self.f.error(tpath + ("withParam",), "withParam over a list no earlier Weft fan-out made")
            return None
        if node.get("inputs"):
            self.f.error(tpath, "the copies of a fan-out have no inputs")
            return None
        return creators[creator]["--fan-out"][0]

    def _params(self, task: dict[str, Any], tpath: Path) -> dict[str, Any]:
        args = self.f.mapping(task.get("arguments"), tpath + ("arguments",), "arguments")
        own: dict[str, Any] = {}
        for index, param in enumerate(self.f.sequence(args.get("parameters"), tpath + ("arguments", "parameters"), "")):
            if isinstance(param, dict) and param.get("name") == PARAMS_PARAM:
                if "{{" in str(param.get("value")):
                    self.f.error(tpath + ("arguments", "parameters", index), "params with '{{', which Argo substitutes")
                    continue
                own = self.imp._json(param.get("value"), tpath + ("arguments", "parameters", index), dict) or {}
        return own

    def _edges(
        self, task: dict[str, Any], tpath: Path, node_id: str, node: dict[str, Any], fans: dict[str, str]
    ) -> list[dict[str, Any]]:
        args = self.f.mapping(task.get("arguments"), tpath + ("arguments",), "arguments")
        self.f.keys(args, tpath + ("arguments",), ("parameters", "artifacts"))
        data: list[dict[str, Any]] = []
        fed = set()
        ports = node.get("inputs", {})
        for key in ("parameters", "artifacts"):
            for index, arg in enumerate(self.f.sequence(args.get(key), tpath + ("arguments", key), key)):
                apath = tpath + ("arguments", key, index)
                arg = self.f.mapping(arg, apath, "an argument")
                port = arg.get("name")
                if port in (NODE_PARAM, PARAMS_PARAM):
                    continue
                if not isinstance(port, str) or port not in ports:
                    self.f.error(apath, f"{shown(port)} is no input of the template (its {INPUTS_KEY})")
                    continue
                value = arg.get("from" if key == "artifacts" else "value")
                if value == "null" and key == "parameters" and str(ports[port]).endswith("?"):
                    continue  # an optional input nothing feeds
                source = self._source(value, apath)
                if source is not None:
                    data.append({"from": source, "to": f"{node_id}.{port}"})
                    fed.add(source.partition(".")[0])
        trigger, after = self._depends(task, tpath, fans)
        if trigger != "all":
            node["trigger"] = trigger
        conditions = self._when(task, tpath, after)
        from_inputs = next((edge for edge in data if edge["from"].startswith("inputs.")), None)
        if "inputs" in conditions:  # it reads only the workflow's inputs: on an edge from them
            if from_inputs is not None:
                from_inputs["when"] = _joined(conditions.pop("inputs"))
            elif after:
                conditions.setdefault(after[0], []).extend(conditions.pop("inputs"))
        edges: list[dict[str, Any]] = []
        for source in after:
            parts = conditions.get(source, [])
            if source not in fed or parts:
                edge: dict[str, Any] = {"from": source, "to": node_id}
                if parts:
                    edge["when"] = _joined(parts)
                edges.append(edge)
        extra = set(fed) - set(after) - {"inputs"}
        if extra:
            self.f.error(tpath + ("depends",), f"reads {shown(sorted(extra)[0])} without depending on it")
        return data + edges

    def _source(self, value: Any, where: Path) -> str | None:
        text = value if isinstance(value, str) else ""
        task = TASK_REF.match(text)
        if task and task.group(1) in self.imp.ids and not self.imp.ids[task.group(1)].endswith("*"):
            return f"{self.imp.ids[task.group(1)]}.{task.group(3)}"
        given = WORKFLOW_REF.match(text)
        if given:
            return f"inputs.{given.group(1)}"
        self.f.error(where, "not an output of another task or a workflow parameter, as weft export writes")
        return None

    def _depends(self, task: dict[str, Any], tpath: Path, fans: dict[str, str]) -> tuple[str, list[str]]:
        """The trigger and the source nodes ``depends`` says, as the exporter writes it."""
        text = task.get("depends")
        if text is None:
            return "all", []
        where = tpath + ("depends",)
        terms = _top_level(str(text), "&&")
        ended = re.compile(r"^\((\S+)\.Succeeded(?: \|\| \1\.(?:Failed|Errored|Skipped|Omitted)){4}\)$")
        sources: list[str] = []
        kinds: set[str] = set()
        for term in terms:
            if term.startswith("(") and (found := ended.match(term)) and term.count("||") == len(ENDS) - 1:
                kinds.add("always")
                sources.append(found.group(1))
            elif term in (f"({t}.Succeeded || {t}.Skipped)" for t in fans) or term[:-10] in fans:
                continue  # the join waits for every copy of the fan-out: its promise says so
            elif len(terms) == 1 and " || " in term:
                names = [t.removesuffix(".Succeeded") for t in term.split(" || ")]
                if not all(t.endswith(".Succeeded") for t in term.split(" || ")):
                    break
                kinds.add("any")
                sources += names
            elif term.endswith(".Succeeded") and " " not in term:
                kinds.add("all")
                sources.append(term.removesuffix(".Succeeded"))
            else:
                break
        else:
            if len(kinds) <= 1 and all(s in self.imp.ids for s in sources):
                return (kinds.pop() if kinds else "all"), [self.imp.ids[s] for s in sources]
        self.f.error(where, "not a depends weft export writes (A.Succeeded && ..., || for any, every end for always)")
        return "all", []

    def _when(self, task: dict[str, Any], tpath: Path, after: list[str]) -> dict[str, list[str]]:
        """The condition, in Weft's words, split into the parts the exporter joined with
        ``&&`` (one per edge's condition), each placed on the edge from the first node it reads."""
        text = task.get("when")
        if text is None:
            return {}
        where = tpath + ("when",)
        placed: dict[str, list[str]] = {}
        for part in _top_level(str(text), "&&"):
            weft, reads = self._condition(part, where)
            if weft is None:
                return {}
            source = next((r for r in reads if r in after), "inputs" if reads else after[0] if after else None)
            if source is None or any(r not in after and r != "inputs" for r in reads):
                self.f.error(where, "the condition reads a task it does not depend on")
                return {}
            placed.setdefault(source, []).append(weft)
        return placed

    def _condition(self, text: str, where: Path) -> tuple[str | None, list[str]]:
        words: list[str] = []
        reads: list[str] = []
        pos = 0
        while pos < len(text):
            match = WHEN_TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                if text[pos:].strip():
                    self.f.error(where, "not a condition weft export writes (numbers, booleans, && || !)")
                    return None, []
                break
            pos = match.end()
            ref, op, word = match.group("ref"), match.group("op"), match.group("word")
            if ref is not None:
                inner = ref[2:-2].split(".")
                if inner[0] == "workflow":
                    words.append(f"inputs.{inner[2]}")
                    reads.append("inputs")
                    continue
                node = self.imp.ids.get(inner[1])
                if node is None or node.endswith("*"):
                    self.f.error(where, f"the condition reads task {shown(inner[1])}, no node")
                    return None, []
                words.append(f"{node_reference(node)}.{inner[4]}")
                reads.append(node)
            elif op is not None:
                words.append({"&&": "and", "||": "or", "!": "not"}.get(op, op))
            else:
                words.append(word)
        weft = " ".join(words).replace("( ", "(").replace(" )", ")")
        return _unwrapped(weft), list(dict.fromkeys(reads))


def _joined(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else " and ".join(f"({part})" for part in parts)


def _top_level(text: str, op: str) -> list[str]:
    """``text`` split at ``op`` outside parentheses, each part stripped."""
    parts, depth, start, index = [], 0, 0, 0
    while index < len(text):
        char = text[index]
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and text.startswith(op, index):
            parts.append(text[start:index].strip())
            start = index = index + len(op)
            continue
        index += 1
    parts.append(text[start:].strip())
    return parts


def _unwrapped(text: str) -> str:
    """``text`` without parentheses around all of it (the exporter wraps every part)."""
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for index, char in enumerate(text):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and index < len(text) - 1:
                return text
        text = text[1:-1].strip()
    return text
