"""The workflow model: plain, typed records of what a workflow *is* (never how a run is going).

A ``Workflow`` holds exactly what its text says (unset fields stay ``None`` so writing it back
gives the same text); ``resolve_node`` merges a node with its operator into the effective
settings a task runs with. Run state (node states, outputs, attempts) lives in ``engine.run``
and in SQLite, never here.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import Location


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
    "params",
    "style",
)
EXECUTORS = ("local", "docker")
STYLE_KEYS = ("color", "label", "icon", "pos")


@dataclass
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
    params: dict[str, Any] | None = None
    style: dict[str, Any] | None = None


@dataclass
class OperatorSpec(TaskFields):
    name: str = ""
    loc: Location | None = field(default=None, compare=False, repr=False)


@dataclass
class NodeSpec(TaskFields):
    id: str = ""
    operator: str | None = None
    trigger: Trigger | None = None
    loc: Location | None = field(default=None, compare=False, repr=False)


@dataclass
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


@dataclass
class PromiseSpec:
    """One promise as written. Its meaning is ``engine.promises``' business."""

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
    #: The file it was read from; tasks run with its folder as working directory.
    path: Path | None = field(default=None, compare=False, repr=False)
    #: Operators from ``imports`` (not written back; the import line is).
    library: dict[str, OperatorSpec] = field(default_factory=dict, compare=False, repr=False)

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def operator(self, name: str) -> OperatorSpec | None:
        return self.operators.get(name) or self.library.get(name)

    def all_operators(self) -> dict[str, OperatorSpec]:
        return {**self.library, **self.operators}


@dataclass(frozen=True)
class ResolvedNode:
    """A node merged with its operator: the effective settings a task runs with."""

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


def resolve_node(node: NodeSpec, operator: OperatorSpec | None) -> ResolvedNode:
    """Node settings over operator settings; dict-valued ones (env, params, style) merge."""

    def pick(name: str, default: Any = None) -> Any:
        value = getattr(node, name)
        if value is None and operator is not None:
            value = getattr(operator, name)
        return default if value is None else value

    def merged(name: str) -> dict[str, Any]:
        base = dict(getattr(operator, name) or {}) if operator is not None else {}
        base.update(getattr(node, name) or {})
        return base

    return ResolvedNode(
        id=node.id,
        operator=node.operator,
        inputs=dict(pick("inputs", {})),
        outputs=dict(pick("outputs", {})),
        command=pick("command"),
        shell=bool(pick("shell", False)),
        image=pick("image"),
        build=pick("build"),
        executor=pick("executor"),
        env={k: str(v) for k, v in merged("env").items()},
        workdir=pick("workdir"),
        retries=int(pick("retries", 0)),
        retry_delay=float(pick("retry_delay", 1.0)),
        timeout=pick("timeout"),
        dynamic=bool(pick("dynamic", False)),
        resources=merged("resources"),
        network=bool(pick("network", False)),
        warm=bool(pick("warm", False)),
        params=merged("params"),
        style=merged("style"),
        trigger=node.trigger or Trigger.ALL,
    )


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
