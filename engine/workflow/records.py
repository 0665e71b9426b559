"""Plain data (from YAML or from a task's JSON message) to model records, field by field.

Every function takes the data, its ``path`` inside the document and a ``source`` that turns
paths into locations, and adds problems to a collector instead of raising, so a file with
ten mistakes gets ten error lines in one go. The same functions parse the nodes and edges a
task sends in a ``mutate`` message, with a source that names the task's message.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from typing import Any, Protocol

from engine.errors import Location, ProblemCollector, ShapeError
from engine.languages.shape import compile_shape
from engine.workflow.model import (
    EXECUTORS,
    PARAM_TYPES,
    STYLE_KEYS,
    TASK_FIELDS,
    EdgeSpec,
    NodeSpec,
    OperatorSpec,
    ParamSpec,
    PromiseSpec,
    Settings,
    Trigger,
    memory_bytes,
)
from engine.workflow.params import describe, value_problem
from engine.workflow.yamlsrc import Path, scalar_text

NODE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
#: a loop's later iteration of a node (``engine.languages.iterations``): only the engine makes
#: them, so only a change of structure read back from a run's events may name one
ITERATION_ID = re.compile(r"^(?:[A-Za-z0-9_-]+/)*[A-Za-z0-9_-]+@[0-9]+$")  # in a group: left/body@2
PORT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
OPERATOR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
RECORD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
PARAM_KEYS = ("type", "default", "help", "required", "min", "max", "choices")


def _is_memory_size(text: str) -> bool:
    """A size as Docker reads it ('512m', '1.5GiB'); the one reading is ``model.memory_bytes``."""
    try:
        return memory_bytes(text) > 0
    except ValueError:
        return False


NODE_KEYS = ("id", "operator", "trigger", "workflow") + TASK_FIELDS
#: What a ``workflow:`` node may say besides its id: the rest comes from the workflow it names.
WORKFLOW_NODE_KEYS = ("id", "workflow", "description", "style")
#: A node id as a run knows it: a node of a workflow inside a workflow is ``outer/inner/id``.
RUN_NODE_ID = re.compile(r"^[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*$")
TRIGGERS = tuple(t.value for t in Trigger)
PROMISE_KINDS = ("static", "no_new_nodes", "no_new_edges", "only_nodes", "only_edges", "max_nodes", "shape")
PROMISE_ARGS = {
    "static": ((), ()),
    "no_new_nodes": ((), ("by",)),
    "no_new_edges": ((), ("by", "from", "to")),
    "only_nodes": (("match",), ("by",)),
    "only_edges": (("pairs",), ("by",)),
    "max_nodes": (("max",), ("by",)),
}


class Source(Protocol):
    def at(self, path: Path) -> Location: ...
    def key(self, path: Path) -> Location: ...


class MessageSource:
    """Locations inside a task's message: ``task 'plan' message 3: nodes[0].command``."""

    def __init__(self, description: str) -> None:
        self.description = description

    def at(self, path: Path) -> Location:
        text = ""
        for part in path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        return Location(self.description, path=text)

    key = at


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class Reader:
    """Field readers bound to one source and one problem collector."""

    def __init__(self, source: Source, problems: ProblemCollector, run_ids: bool = False) -> None:
        self.source = source
        self.problems = problems
        #: ids as a run knows them (``clean/read``), in a task's message; a workflow text's are plain
        self.node_id = RUN_NODE_ID if run_ids else NODE_ID

    def error(self, path: Path, message: str) -> None:
        self.problems.add(self.source.at(path), message)

    def mapping(self, data: Any, path: Path, what: str, allowed: tuple[str, ...] | None) -> dict[str, Any]:
        """``data`` as a mapping; with ``allowed``, unknown keys are reported (with a hint)."""
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.error(path, f"{what} must be a mapping, not {describe(data)}")
            return {}
        if allowed is not None:
            for key in data:
                if key not in allowed:
                    self.problems.add(
                        self.source.key(path + (key,)), f"unknown key '{key}' in {what}{did_you_mean(key, allowed)}"
                    )
        return data

    def text(self, data: Any, path: Path, what: str) -> str | None:
        if data is None or isinstance(data, str):
            return data
        self.error(path, f"{what} must be text, not {describe(data)}")
        return None

    def flag(self, data: Any, path: Path, what: str) -> bool | None:
        if data is None or isinstance(data, bool):
            return data
        self.error(path, f"{what} must be true or false, not {describe(data)}")
        return None

    def number(
        self, data: Any, path: Path, what: str, *, integer: bool = False, minimum: float = 0, exclusive: bool = False
    ) -> Any:
        if data is None:
            return None
        ok = isinstance(data, int) if integer else isinstance(data, (int, float))
        if isinstance(data, bool) or not ok or (isinstance(data, float) and not math.isfinite(data)):
            self.error(path, f"{what} must be {'a whole number' if integer else 'a number'}, not {describe(data)}")
            return None
        if data < minimum or (exclusive and data == minimum):
            bound = f"greater than {minimum}" if exclusive else f"at least {minimum}"
            self.error(path, f"{what} must be {bound}, not {data}")
            return None
        return data

    def choice(self, data: Any, path: Path, what: str, choices: tuple[str, ...]) -> str | None:
        if data is None:
            return None
        if data not in choices:
            self.error(
                path, f"{what} must be one of {', '.join(choices)}, not {data!r}{did_you_mean(str(data), choices)}"
            )
            return None
        return data

    def text_map(
        self, data: Any, path: Path, what: str, key_pattern: re.Pattern[str] | None = None, stringify: bool = False
    ) -> dict[str, str] | None:
        if data is None:
            return None
        mapping = self.mapping(data, path, what, None)
        out: dict[str, str] = {}
        for key, value in mapping.items():
            if key_pattern is not None and not key_pattern.match(key):
                self.problems.add(self.source.key(path + (key,)), f"'{key}' is not a valid name in {what}")
                continue
            if stringify and isinstance(value, (int, float, bool)):
                value = scalar_text(value)
            if not isinstance(value, str):
                self.error(path + (key,), f"{what}: '{key}' must be text, not {describe(value)}")
                continue
            out[key] = value
        return out

    def text_list(self, data: Any, path: Path, what: str, min_items: int = 0) -> list[str] | None:
        if data is None:
            return None
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            self.error(path, f"{what} must be a list of text")
            return None
        if len(data) < min_items:
            self.error(path, f"{what} must not be empty")
            return None
        return list(data)

    def json_object(self, data: Any, path: Path, what: str) -> dict[str, Any] | None:
        if data is None:
            return None
        if not isinstance(data, dict):
            self.error(path, f"{what} must be a mapping, not {describe(data)}")
            return None
        return data

    # -- composite records -------------------------------------------------------------

    def settings(self, data: Any, path: Path) -> Settings:
        m = self.mapping(
            data,
            path,
            "settings",
            ("max_parallel", "executor", "image", "fail_fast", "cache", "libraries", "max_iterations", "ray"),
        )
        return Settings(
            max_parallel=self.number(
                m.get("max_parallel"), path + ("max_parallel",), "max_parallel", integer=True, minimum=1
            ),
            executor=self.choice(m.get("executor"), path + ("executor",), "executor", EXECUTORS),
            image=self.text(m.get("image"), path + ("image",), "image"),
            fail_fast=self.flag(m.get("fail_fast"), path + ("fail_fast",), "fail_fast"),
            cache=self.flag(m.get("cache"), path + ("cache",), "cache"),
            libraries=self.text_list(m.get("libraries"), path + ("libraries",), "libraries"),
            max_iterations=self.number(
                m.get("max_iterations"), path + ("max_iterations",), "max_iterations", integer=True, minimum=1
            ),
            ray=self._ray(m.get("ray"), path + ("ray",)),
        )

    def _ray(self, value: Any, path: Path) -> dict[str, str] | None:
        if value is None:
            return None
        m = self.mapping(value, path, "settings.ray", ("address", "workspace"))
        out: dict[str, str] = {}
        for key in ("address", "workspace"):
            if key in m and self.text(m[key], path + (key,), f"settings.ray.{key}") is not None:
                out[key] = m[key]
        return out

    def task_fields(self, m: dict[str, Any], path: Path, spec: Any) -> None:
        """Fill the shared operator/node fields of ``spec`` from mapping ``m``."""
        for name in TASK_FIELDS:
            if name in m:
                setattr(spec, name, self._task_field(name, m[name], path + (name,)))
        if spec.shell is not True and isinstance(spec.command, str):
            self.error(path + ("command",), "command must be a list of arguments (a text command needs `shell: true`)")
            spec.command = None

    def _task_field(self, name: str, value: Any, path: Path) -> Any:
        return _TASK_FIELD_READERS[name](self, value, path, name)

    def _command(self, value: Any, path: Path) -> list[str] | str | None:
        if isinstance(value, str):
            if not value.strip():
                self.error(path, "command must not be empty")
                return None
            return value
        if isinstance(value, list):
            value = [scalar_text(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in value]
        return self.text_list(value, path, "command", min_items=1)

    def _resources(self, value: Any, path: Path) -> dict[str, Any] | None:
        m = self.mapping(value, path, "resources", ("cpus", "memory", "pids", "gpus", "custom"))
        out: dict[str, Any] = {}
        if "cpus" in m:
            out["cpus"] = self.number(m["cpus"], path + ("cpus",), "resources.cpus", exclusive=True)
        if "memory" in m:
            mem = m["memory"]
            if isinstance(mem, int) and not isinstance(mem, bool) and mem > 0:
                out["memory"] = mem
            elif isinstance(mem, str) and _is_memory_size(mem):
                out["memory"] = mem
            else:
                self.error(path + ("memory",), f"resources.memory must be bytes or a size like '512m', not {mem!r}")
        if "pids" in m:  # processes and threads at once (a container's pids limit)
            pids = self.number(m["pids"], path + ("pids",), "resources.pids", integer=True, minimum=1)
            if pids is not None:
                out["pids"] = pids
        if "gpus" in m:  # the ray executor's num_gpus
            gpus = self.number(m["gpus"], path + ("gpus",), "resources.gpus", minimum=0)
            if gpus is not None:
                out["gpus"] = gpus
        if "custom" in m:  # the ray executor's custom resources: NAME -> amount
            custom = self.mapping(m["custom"], path + ("custom",), "resources.custom", None)
            amounts = {}
            for name, amount in custom.items():
                number = self.number(amount, path + ("custom", name), f"resources.custom.{name}", minimum=0)
                if number is not None:
                    amounts[str(name)] = number
            out["custom"] = amounts
        return out if value is not None else None

    def style(self, value: Any, path: Path) -> dict[str, Any] | None:
        if value is None:
            return None
        m = self.mapping(value, path, "style", STYLE_KEYS)
        out: dict[str, Any] = {}
        for key in ("color", "label", "icon"):
            if key in m and self.text(m[key], path + (key,), f"style.{key}") is not None:
                out[key] = m[key]
        if "pos" in m:
            pos = m["pos"]
            if (
                isinstance(pos, list)
                and len(pos) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pos)
            ):
                out["pos"] = list(pos)
            else:
                self.error(path + ("pos",), "style.pos must be two numbers [x, y]")
        return out

    def operator(self, name: str, data: Any, path: Path) -> OperatorSpec:
        spec = OperatorSpec(name=name, loc=self.source.key(path))
        if not OPERATOR_NAME.match(name):
            self.problems.add(self.source.key(path), f"'{name}' is not a valid operator name")
        m = self.mapping(data, path, f"operator '{name}'", TASK_FIELDS)
        self.task_fields(m, path, spec)
        if spec.command is None and "command" not in m and (data is None or isinstance(data, dict)):
            self.problems.add(self.source.key(path), f"operator '{name}' has no command")
        return spec

    def _iteration_id(self, node_id: str) -> bool:
        """A loop iteration's id, read from a message (a task's, refused later; or a run's event)."""
        return isinstance(self.source, MessageSource) and ITERATION_ID.match(node_id) is not None

    def node(self, data: Any, path: Path) -> NodeSpec | None:
        allowed = NODE_KEYS
        if not isinstance(data, dict):
            self.error(path, f"a node must be a mapping, not {describe(data)}")
            return None
        m = self.mapping(data, path, "node", allowed)
        spec = NodeSpec(loc=self.source.at(path))
        raw_id = m.get("id")
        if raw_id is None or isinstance(raw_id, (dict, list, bool)) or raw_id == "":
            self.error(path, "a node needs an id")
            return None
        spec.id = scalar_text(raw_id)
        if not self.node_id.match(spec.id) and not self._iteration_id(spec.id):
            self.error(path + ("id",), f"node id '{spec.id}' may only use letters, digits, '_' and '-'")
        if "workflow" in m:
            return self._workflow_node(spec, m, path)
        spec.operator = self.text(m.get("operator"), path + ("operator",), "operator")
        trigger = self.choice(m.get("trigger"), path + ("trigger",), "trigger", TRIGGERS)
        spec.trigger = Trigger(trigger) if trigger else None
        self.task_fields(m, path, spec)
        if spec.operator is None and "command" not in m:
            self.error(path, f"node '{spec.id}' needs a command or an operator")
        if spec.operator is not None:
            for own in ("command", "inputs", "outputs", "shell", "params_schema"):
                if own in m:
                    self.problems.add(
                        self.source.key(path + (own,)),
                        f"node '{spec.id}' uses operator '{spec.operator}', so its {own} comes from there",
                    )
        return spec

    def _workflow_node(self, spec: NodeSpec, m: dict[str, Any], path: Path) -> NodeSpec | None:
        """A node that is a whole workflow: its ports, commands and promises are that workflow's."""
        spec.workflow = self.text(m.get("workflow"), path + ("workflow",), "workflow")
        for key in m:
            if key not in WORKFLOW_NODE_KEYS:
                self.problems.add(
                    self.source.key(path + (key,)),
                    f"node '{spec.id}' is the workflow '{spec.workflow}': it has no '{key}' of its own "
                    "(only id, workflow, description and style)",
                )
        spec.description = self.text(m.get("description"), path + ("description",), "description")
        spec.style = self.style(m.get("style"), path + ("style",))
        return spec if spec.workflow else None

    def params_schema(self, value: Any, path: Path) -> dict[str, ParamSpec] | None:
        """Declared params: ``NAME: TYPE`` or ``NAME: {type, default, help, required, min, max, choices}``."""
        if value is None:
            return None
        if not isinstance(value, dict):
            self.error(path, f"params_schema must be a mapping of param names, not {describe(value)}")
            return None
        out: dict[str, ParamSpec] = {}
        for name, decl in value.items():
            if not PARAM_NAME.match(str(name)):
                self.problems.add(self.source.key(path + (name,)), f"'{name}' is not a valid param name")
                continue
            spec = self._param(str(name), decl, path + (name,))
            if spec is not None:
                out[str(name)] = spec
        return out

    def _param(self, name: str, decl: Any, path: Path) -> ParamSpec | None:
        what = f"param '{name}'"
        if isinstance(decl, str):
            if decl == "choice":
                self.error(path, f"{what}: a choice needs its choices ({{type: choice, choices: [a, b]}})")
                return None
            kind = self.choice(decl, path, f"{what}: the type", PARAM_TYPES)
            return ParamSpec(kind, short=True) if kind else None
        if not isinstance(decl, dict):
            types = ", ".join(PARAM_TYPES)
            self.error(path, f"{what} must be a type ({types}) or a mapping with 'type', not {describe(decl)}")
            return None
        m = self.mapping(decl, path, what, PARAM_KEYS)
        if "type" not in m:
            self.error(path, f"{what} needs a type ({', '.join(PARAM_TYPES)})")
            return None
        kind = self.choice(m["type"], path + ("type",), f"{what}: the type", PARAM_TYPES)
        if kind is None:
            return None
        spec = ParamSpec(kind)
        spec.help = self.text(m.get("help"), path + ("help",), f"{what}: help")
        spec.required = self.flag(m.get("required"), path + ("required",), f"{what}: required")
        ok = True
        for bound in ("min", "max"):
            if bound not in m:
                continue
            if kind not in ("int", "float"):
                self.error(path + (bound,), f"{what}: {bound} is for int and float params, not {kind}")
                ok = False
                continue
            whole = kind == "int"
            number = self.number(m[bound], path + (bound,), f"{what}: {bound}", integer=whole, minimum=-math.inf)
            ok = ok and number is not None
            setattr(spec, bound, number)
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            self.error(path + ("max",), f"{what}: max ({spec.max}) is less than min ({spec.min})")
            ok = False
        if kind == "choice":
            spec.choices = self._choices(m.get("choices"), path, what)
            ok = ok and spec.choices is not None
        elif "choices" in m:
            self.error(path + ("choices",), f"{what}: choices are for 'type: choice', not {kind}")
            ok = False
        if m.get("default") is not None:
            if spec.required:
                self.error(path + ("default",), f"{what} is required (every node sets it), so it cannot have a default")
                ok = False
            elif ok:
                problem = value_problem(spec, m["default"])
                if problem is not None:
                    self.error(path + ("default",), f"{what}: the default {problem}")
                    ok = False
            spec.default = m["default"]
        return spec if ok else None

    def _choices(self, value: Any, path: Path, what: str) -> list[Any] | None:
        if value is None:
            self.error(path, f"{what}: a choice needs its choices (choices: [a, b])")
            return None
        scalar = (str, int, float)
        if not isinstance(value, list) or not value or not all(isinstance(v, scalar) for v in value):
            self.error(path + ("choices",), f"{what}: choices must be a non-empty list of text or numbers")
            return None
        if len({repr(v) for v in value}) != len(value):
            self.error(path + ("choices",), f"{what}: a choice is listed twice")
            return None
        return list(value)

    def edge(self, data: Any, path: Path) -> EdgeSpec | None:
        if not isinstance(data, dict):
            self.error(path, f"an edge must be a mapping, not {describe(data)}")
            return None
        m = self.mapping(data, path, "edge", ("from", "to", "when", "style"))
        ends = []
        for end in ("from", "to"):
            value = m.get(end)
            if value is None:
                self.error(path, f"an edge needs '{end}'")
                return None
            text = scalar_text(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
            if not isinstance(text, str):
                self.error(path + (end,), f"edge '{end}' must be 'node' or 'node.port'")
                return None
            node, _, port = text.partition(".")
            if not (self.node_id.match(node) or self._iteration_id(node)) or (
                "." in text and not PORT_NAME.match(port)
            ):
                self.error(path + (end,), f"edge '{end}' must be 'node' or 'node.port', not '{text}'")
                return None
            ends.append((node, port or None))
        (source, source_port), (target, target_port) = ends
        if (source_port is None) != (target_port is None):
            self.error(path, "a data edge names a port on both ends ('a.out' -> 'b.in'); a runs-after edge names none")
            return None
        when = self.text(m.get("when"), path + ("when",), "when")
        return EdgeSpec(
            source,
            target,
            source_port,
            target_port,
            when,
            self.style(m.get("style"), path + ("style",)),
            loc=self.source.at(path),
        )

    def promise(self, data: Any, path: Path) -> PromiseSpec | None:
        if not isinstance(data, dict):
            self.error(path, f"a promise must be a mapping like {{no_new_nodes: {{}}}}, not {describe(data)}")
            return None
        kinds = [k for k in data if k in PROMISE_KINDS]
        extra = ("id", "by", "where") if "shape" in kinds else ("id",)
        self.mapping(data, path, "promise", PROMISE_KINDS + extra)
        if len(kinds) != 1:
            what = "no" if not kinds else "more than one"
            self.error(path, f"a promise has exactly one kind ({', '.join(PROMISE_KINDS)}); this has {what}")
            return None
        kind = kinds[0]
        spec = PromiseSpec(kind=kind, args=None, loc=self.source.at(path))
        spec.id = self.text(data.get("id"), path + ("id",), "promise id")
        kpath = path + (kind,)
        if kind == "shape":
            spec.args = self.text(data[kind], kpath, "shape")
            spec.by = self._selectors(data.get("by"), path + ("by",), "by")
            where = self.text_map(data.get("where"), path + ("where",), "where", RECORD_NAME)
            spec.where = where
            if spec.args is None:
                return None
            try:
                compile_shape(spec.args, where)
            except ShapeError as exc:
                at = path + (("where", exc.name) if exc.name else (kind,))
                text = (where or {}).get(exc.name, "") if exc.name else spec.args
                within = getattr(self.source, "within", None)  # the column inside the pattern
                self.problems.add(
                    within(at, text, exc.offset) if within else self.source.at(at), f"bad shape pattern: {exc.message}"
                )
                return None
            return spec
        required, optional = PROMISE_ARGS[kind]
        args = self.mapping(data[kind], kpath, kind, required + optional)
        for name in required:
            if name not in args:
                self.error(kpath, f"{kind} needs '{name}'")
                return None
        spec.args = {}
        for name in optional:
            if name in args:
                spec.args[name] = self._selectors(args[name], kpath + (name,), name)
        if kind == "only_nodes":
            spec.args["match"] = self._selectors(args["match"], kpath + ("match",), "match")
        elif kind == "only_edges":
            pairs = args["pairs"]
            if not (
                isinstance(pairs, list)
                and all(isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in pairs)
            ):
                self.error(kpath + ("pairs",), "pairs must be a list of [from, to] selector pairs")
                return None
            spec.args["pairs"] = [list(p) for p in pairs]
        elif kind == "max_nodes":
            spec.args["max"] = self.number(args["max"], kpath + ("max",), "max", integer=True)
        return spec

    def _selectors(self, value: Any, path: Path, what: str) -> list[str] | str | None:
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = scalar_text(value)
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            value = [scalar_text(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in value]
        return self.text_list(value, path, what)


#: How each shared operator/node field is read: reader(self, value, path, name).
_TASK_FIELD_READERS: dict[str, Callable[[Reader, Any, Path, str], Any]] = {
    "description": lambda r, value, path, name: r.text(value, path, name),
    "inputs": lambda r, value, path, name: r.text_map(value, path, "inputs", PORT_NAME),
    "outputs": lambda r, value, path, name: r.text_map(value, path, "outputs", PORT_NAME),
    "command": lambda r, value, path, name: r._command(value, path),
    "shell": lambda r, value, path, name: r.flag(value, path, name),
    "image": lambda r, value, path, name: r.text(value, path, name),
    "build": lambda r, value, path, name: r.text(value, path, name),
    "executor": lambda r, value, path, name: r.choice(value, path, name, EXECUTORS),
    "env": lambda r, value, path, name: r.text_map(value, path, "env", stringify=True),
    "workdir": lambda r, value, path, name: r.text(value, path, name),
    "retries": lambda r, value, path, name: r.number(value, path, name, integer=True),
    "retry_delay": lambda r, value, path, name: r.number(value, path, name),
    "timeout": lambda r, value, path, name: r.number(value, path, name, exclusive=True),
    "dynamic": lambda r, value, path, name: r.flag(value, path, name),
    "resources": lambda r, value, path, name: r._resources(value, path),
    "network": lambda r, value, path, name: r.flag(value, path, name),
    "warm": lambda r, value, path, name: r.flag(value, path, name),
    "cache": lambda r, value, path, name: r.flag(value, path, name),
    "params": lambda r, value, path, name: r.json_object(value, path, name),
    "params_schema": lambda r, value, path, name: r.params_schema(value, path),
    "style": lambda r, value, path, name: r.style(value, path),
}
