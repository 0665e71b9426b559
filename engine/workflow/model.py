"""The workflow model: plain, typed records of what a workflow *is* (never how a run is going).

A ``Workflow`` holds exactly what its text says (unset fields stay ``None`` so writing it back
gives the same text); ``resolve_node`` merges a node with its operator into the effective
settings a task runs with. Run state (node states, outputs, attempts) lives in ``engine.running.run``
and in SQLite, never here.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import Location
from engine.workflow.libraries import LibraryImage


class Trigger(str, enum.Enum):
    ALL = "all"
    ANY = "any"
    ALWAYS = "always"


#: Fields an operator and a node share (a node may carry an inline operator).
TASK_FIELDS = (
    "description",
    "inputs",
    "outputs",
    "command",
    "shell",
    "image",
    "build",
    "executor",
    "env",
    "workdir",
    "retries",
    "retry_delay",
    "timeout",
    "dynamic",
    "resources",
    "network",
    "warm",
    "cache",
    "params",
    "params_schema",
    "style",
)
EXECUTORS = ("local", "docker", "ray")
STYLE_KEYS = ("color", "label", "icon", "pos")
#: The kinds of value an operator may declare for a param (``params_schema``).
PARAM_TYPES = ("str", "int", "float", "bool", "file", "json", "choice")


@dataclass(slots=True)
class ParamSpec:
    """One declared param of an operator: what a node may set, and what it gets if it does not.

    ``default`` None means "no default" (a null default is the same as none). ``short`` records
    that the text said only the type (``path: file``), so writing it back says the same."""

    type: str
    default: Any = None
    help: str | None = None
    required: bool | None = None
    min: int | float | None = None
    max: int | float | None = None
    choices: list[Any] | None = None
    short: bool = field(default=False, compare=False)

    @property
    def is_required(self) -> bool:
        return bool(self.required)


@dataclass(slots=True)
class TaskFields:
    """Settings shared by operators and nodes. ``None`` means "not said here"."""

    description: str | None = None
    inputs: dict[str, str] | None = None
    outputs: dict[str, str] | None = None
    command: list[str] | str | None = None
    shell: bool | None = None
    image: str | None = None
    build: str | None = None
    executor: str | None = None
    env: dict[str, str] | None = None
    workdir: str | None = None
    retries: int | None = None
    retry_delay: float | None = None
    timeout: float | None = None
    dynamic: bool | None = None
    resources: dict[str, Any] | None = None
    network: bool | None = None
    warm: bool | None = None
    cache: bool | None = None
    params: dict[str, Any] | None = None
    #: the params it declares (name -> ParamSpec); ``params`` above are values
    params_schema: dict[str, ParamSpec] | None = None
    style: dict[str, Any] | None = None


@dataclass(slots=True)
class OperatorSpec(TaskFields):
    name: str = ""
    loc: Location | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class NodeSpec(TaskFields):
    id: str = ""
    operator: str | None = None
    trigger: Trigger | None = None
    #: ``workflow: PATH`` or ``workflow: LIBRARY:NAME``: the node is that workflow (``engine.workflow.nesting``)
    workflow: str | None = None
    loc: Location | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class EdgeSpec:
    source: str
    target: str
    source_port: str | None = None
    target_port: str | None = None
    when: str | None = None
    style: dict[str, Any] | None = None
    loc: Location | None = field(default=None, compare=False, repr=False)

    @property
    def is_data(self) -> bool:
        return self.source_port is not None

    @property
    def source_text(self) -> str:
        return self.source if self.source_port is None else f"{self.source}.{self.source_port}"

    @property
    def target_text(self) -> str:
        return self.target if self.target_port is None else f"{self.target}.{self.target_port}"

    def __str__(self) -> str:
        return f"{self.source_text} -> {self.target_text}"


@dataclass(slots=True)
class PromiseSpec:
    """One promise as written. Its meaning is ``engine.promises.keeper``' business."""

    kind: str
    args: Any
    id: str | None = None
    by: Any = None
    where: dict[str, str] | None = None
    loc: Location | None = field(default=None, compare=False, repr=False)


@dataclass
class Settings:
    max_parallel: int | None = None
    executor: str | None = None
    image: str | None = None
    fail_fast: bool | None = None
    #: every node may reuse an earlier result (a node or operator saying ``cache:`` decides for itself)
    cache: bool | None = None
    #: library folders (relative to the workflow's folder), named by their folder names
    libraries: list[str] | None = None
    #: how many iterations a loop may run (``engine.workflow.loops``); None: the default, 1000
    max_iterations: int | None = None
    #: where the ``ray`` executor runs tasks: ``address`` (a cluster) and ``workspace`` (where
    #: the cluster's nodes see the Weft home's ``workspaces`` folder); see docs/ray.md
    ray: dict[str, str] | None = None


@dataclass
class Workflow:
    name: str
    version: int = 1
    description: str | None = None
    settings: Settings = field(default_factory=Settings)
    types: dict[str, dict[str, str]] = field(default_factory=dict)
    imports: list[str] = field(default_factory=list)
    operators: dict[str, OperatorSpec] = field(default_factory=dict)
    nodes: list[NodeSpec] = field(default_factory=list)
    edges: list[EdgeSpec] = field(default_factory=list)
    promises: list[PromiseSpec] = field(default_factory=list)
    #: typed inputs a run (or the node that includes it) gives it: nodes read them as ``inputs.NAME``
    inputs: dict[str, str] | None = None
    #: outputs it gives the node that includes it: NAME -> ``NODE.PORT``
    outputs: dict[str, str] | None = None
    #: The file it was read from; tasks run with its folder as working directory.
    path: Path | None = field(default=None, compare=False, repr=False)
    #: Operators from ``imports`` (not written back; the import line is).
    library: dict[str, OperatorSpec] = field(default_factory=dict, compare=False, repr=False)
    #: The library folders it sees, by name (``engine.workflow.libraries``); set by the loader.
    library_folders: dict[str, Path] = field(default_factory=dict, compare=False, repr=False)
    #: Library images its nodes and settings name (``image: weft:base``), with what they are built on.
    images: dict[str, LibraryImage] = field(default_factory=dict, compare=False, repr=False)
    #: Finds a library operator (``weft:read``) a task's node names that the text did not;
    #: raises ``engine.workflow.libraries.LibraryMiss``. Set by the loader.
    find_operator: Callable[[str], OperatorSpec] | None = field(default=None, compare=False, repr=False)
    #: its cycles, each a loop (``engine.workflow.loops.Loop``), found when it is validated
    loops: list[Any] = field(default_factory=list, compare=False, repr=False)
    #: The loaded workflow of each ``workflow:`` node, by node id (a ``loader.Loaded``; not written back).
    included: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def operator(self, name: str) -> OperatorSpec | None:
        return self.operators.get(name) or self.library.get(name)

    def all_operators(self) -> dict[str, OperatorSpec]:
        return {**self.library, **self.operators}


@dataclass(frozen=True, slots=True)
class ResolvedNode:
    """A node merged with its operator: the effective settings a task runs with.

    Read-only, its mappings too: the empty ones are one shared dict."""

    id: str
    operator: str | None
    inputs: dict[str, str]
    outputs: dict[str, str]
    command: list[str] | str | None
    shell: bool
    image: str | None
    build: str | None
    executor: str | None
    env: dict[str, str]
    workdir: str | None
    retries: int
    retry_delay: float
    timeout: float | None
    dynamic: bool
    resources: dict[str, Any]
    network: bool
    warm: bool
    params: dict[str, Any]
    style: dict[str, Any]
    trigger: Trigger
    #: may reuse an earlier succeeded attempt's result (``engine.running.cache``)
    cache: bool = False


def resolve_node(node: NodeSpec, operator: OperatorSpec | None, settings: Settings | None = None) -> ResolvedNode:
    """Node settings over operator settings (over the workflow's ``settings`` for ``cache``);
    dict-valued ones (env, params, style) merge."""
    n, o = node, operator if operator is not None else _NO_OPERATOR
    return ResolvedNode(
        id=n.id,
        operator=n.operator,
        inputs=_copy(_pick(n.inputs, o.inputs)),
        outputs=_copy(_pick(n.outputs, o.outputs)),
        command=_pick(n.command, o.command),
        shell=bool(_pick(n.shell, o.shell, False)),
        image=_pick(n.image, o.image),
        build=_pick(n.build, o.build),
        executor=_pick(n.executor, o.executor),
        env={k: str(v) for k, v in _merged(o.env, n.env).items()} or _NOTHING,
        workdir=_pick(n.workdir, o.workdir),
        retries=int(_pick(n.retries, o.retries, 0)),
        retry_delay=float(_pick(n.retry_delay, o.retry_delay, 1.0)),
        timeout=_pick(n.timeout, o.timeout),
        dynamic=bool(_pick(n.dynamic, o.dynamic, False)),
        resources=_merged(o.resources, n.resources),
        network=bool(_pick(n.network, o.network, False)),
        warm=bool(_pick(n.warm, o.warm, False)),
        params=_with_defaults(declared_defaults(declaration_of(n, operator)), _merged(o.params, n.params)),
        style=_merged(o.style, n.style),
        trigger=n.trigger or Trigger.ALL,
        cache=bool(_pick(n.cache, o.cache, settings.cache if settings is not None else None)),
    )


def declaration_of(node: NodeSpec, operator: OperatorSpec | None) -> dict[str, ParamSpec] | None:
    """The params a node's task declares: its operator's, or (inline) its own; None if undeclared."""
    return operator.params_schema if node.operator is not None and operator is not None else node.params_schema


def declared_defaults(schema: dict[str, ParamSpec] | None) -> dict[str, Any] | None:
    """The declared default of every param that has one, to fill in what a node leaves unset."""
    if not schema:
        return None
    return {name: spec.default for name, spec in schema.items() if spec.default is not None} or None


#: What a node without an operator inherits: nothing.
_NO_OPERATOR = OperatorSpec()


def _pick(own: Any, inherited: Any, default: Any = None) -> Any:
    value = own if own is not None else inherited
    return default if value is None else value


def _merged(inherited: dict[str, Any] | None, own: dict[str, Any] | None) -> dict[str, Any]:
    if not inherited:
        return _copy(own)
    base = dict(inherited)
    base.update(own or {})
    return base


def _with_defaults(defaults: dict[str, Any] | None, params: dict[str, Any]) -> dict[str, Any]:
    """Declared defaults under the params a node and its operator set."""
    return {**defaults, **params} if defaults else params


def _copy(mapping: dict[str, Any] | None) -> dict[str, Any]:
    return dict(mapping) if mapping else _NOTHING


#: The one empty mapping every resolved node without inputs, env, params... holds (a hundred
#: thousand nodes, six empty dicts each, were 38 MB). Never changed, like the rest of a
#: ResolvedNode.
_NOTHING: dict[str, Any] = {}


def task_fields_of(spec: TaskFields) -> dict[str, Any]:
    """The shared fields that are set, in the canonical order."""
    return {f: getattr(spec, f) for f in TASK_FIELDS if getattr(spec, f) is not None}


_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(?:([kmgtp])(?:i?b)?|b)?\s*$", re.IGNORECASE)
_UNIT = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}


def memory_bytes(value: int | str) -> int:
    """Bytes in a memory size as Docker reads it: a number of bytes, or '512m', '2g', '1.5GiB'.

    Units are powers of 1024 with or without ``i``/``b`` (Docker's ``RAMInBytes``), so a limit
    means the same to Weft as to ``docker run -m``.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    found = _SIZE.match(value) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"not a memory size: {value!r}")
    number, unit = found.groups()
    return int(float(number) * _UNIT[unit.lower()]) if unit else int(float(number))


#: The name under which a workflow's nodes read its own inputs (``from: inputs.NAME``).
INPUTS = "inputs"


def ports_of(workflow: Workflow, resolved: dict[str, ResolvedNode]) -> tuple[dict[str, str], dict[str, str]]:
    """The input and output ports of a workflow used as a node: its declared ``inputs``, and
    each output typed as the node port that provides it (``outputs: {total: sum.total}``)."""
    outputs: dict[str, str] = {}
    for name, ref in (workflow.outputs or {}).items():
        node, _, port = ref.partition(".")
        if node in resolved and port in resolved[node].outputs:
            outputs[name] = resolved[node].outputs[port]
    return dict(workflow.inputs or {}), outputs
