"""The records the Argo importer builds (a node in progress, what a call expanded to, the
values a template sees) and the small conversions of Argo's values it needs."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from engine.imports.argo_expr import Ref

KINDS = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate")
SHELLS = {"sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"}
#: interpreters whose -c / -e argument is code: a run-time value must not be written into it
INTERPRETERS = {"python": "-c", "python3": "-c", "python2": "-c", "node": "-e", "perl": "-e", "ruby": "-e"}
INTERPRETERS["Rscript"] = "-e"
NOOP = ["python3", "-c", "pass"]
HELPER = ["python3", "-m", "weft_step"]

K8S = "a Kubernetes setting with no Weft equivalent"
PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.S)
NO_ITEM = object()
ITEM_MARK = "\x00"  # around an item of withParam, resolved by the node made for it at run time
FAN_ITEM = object()


def env_name(port: str) -> str:
    """The variable weft_step sets for an input (as ``weft_step.env_name``)."""
    return "WEFT_ARGO_" + re.sub(r"[^A-Za-z0-9]", "_", port).upper()


def port_name(name: str) -> str:
    port = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return port if port and not port[0].isdigit() else f"p_{port}"


@dataclass
class Fragment:
    """What a call expanded to: where edges into it go, where edges out of it leave."""

    entries: list[str]
    exits: list[str]
    leaf: Leaf | None = None
    may_skip: bool = False
    looped: bool = False


@dataclass
class Leaf:
    """One node being built; written out once every reference to it is known."""

    id: str
    kind: str  # step | join | arguments | ask | approve | sleep | fanout
    argv: list[str] = field(default_factory=list)
    image: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    ports: dict[Ref, str] = field(default_factory=dict)  # input port per value it is fed
    file_ports: set[str] = field(default_factory=set)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # parameter port -> path, default
    artifacts_out: dict[str, str] = field(default_factory=dict)
    artifacts_in: dict[str, str] = field(default_factory=dict)  # input port -> path
    raw_in: dict[str, list[str]] = field(default_factory=dict)
    result: bool = False
    trigger: str | None = None
    retries: int | None = None
    retry_delay: float | None = None
    timeout: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    fill: list[int] = field(default_factory=list)  # the arguments with a value to fill in at run time

    def port_for(self, ref: Ref, hint: str, file: bool = False) -> str:
        if ref not in self.ports:
            base = port_name(hint)
            port, n = base, 2
            while port in self.ports.values():
                port, n = f"{base}_{n}", n + 1
            self.ports[ref] = port
            if file:
                self.file_ports.add(port)
        return self.ports[ref]


@dataclass
class Scope:
    prefix: str
    kind: str  # steps | dag | leaf | top
    params: dict[str, list[str | Ref]] = field(default_factory=dict)
    artifacts: dict[str, Ref] = field(default_factory=dict)
    artifact_paths: dict[str, str] = field(default_factory=dict)
    siblings: dict[str, Fragment] = field(default_factory=dict)
    item: Any = NO_ITEM


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value.strip()):
        return int(value)
    return None


def in_seconds(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*", value)
        if match:
            return float(match.group(1)) * {None: 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]
    return None


def flat_text(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(flat_text(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(flat_text(v) for v in value)
    return value if isinstance(value, str) else ""


def topological(after: dict[str, set[str]]) -> list[str] | None:
    order: list[str] = []
    state: dict[str, int] = {}
    for start in after:
        if state.get(start):
            continue
        stack = [(start, iter(sorted(after[start])))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                state[node] = 2
                order.append(node)
            elif state.get(child) == 1:
                return None
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(sorted(after.get(child, ())))))
    return order
