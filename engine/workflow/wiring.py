"""Whether one wire may join two ports: the rule the loader, a task's mutation and the studio share.

A wire is an edge: a data edge from an output to an input, or a runs-after edge from a node's
``then`` to another's ``after``. ``GraphChecker`` asks here for every edge of a workflow or
a mutation (and places the answer in the text); the studio's document asks while a person
drags a wire, so the canvas refuses exactly what loading the saved file would refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from engine.languages.porttypes import TypeRegistry
from engine.workflow.model import EdgeSpec
from engine.workflow.records import did_you_mean


def missing_port(node: str, ports: Mapping[str, str], port: str, output: bool) -> str | None:
    """Why node ``node``, whose outputs (or inputs) are ``ports``, has no port ``port``; None if it has."""
    if port in ports:
        return None
    kind = "output" if output else "input"
    listed = ", ".join(ports) or "none"
    return f"node '{node}' has no {kind} '{port}' ({kind}s: {listed}){did_you_mean(port, list(ports))}"


def wire_problem(
    edge: EdgeSpec,
    outputs: Mapping[str, str],
    inputs: Mapping[str, str],
    registry: TypeRegistry,
    *,
    duplicate: bool = False,
    fed_by: EdgeSpec | None = None,
    path_back: Callable[[], list[str] | None] | None = None,
    back: bool = False,
) -> str | None:
    """Why ``edge`` may not exist, in one line; None when it may.

    ``outputs`` are the source node's output ports and ``inputs`` the target's input ports
    (name -> type). What the graph around says comes from the caller: ``duplicate``, the same
    wire (same ends, same ports) exists; ``fed_by``, the data edge that feeds the target input
    and stays; ``back``, it is a loop's back edge (``engine.workflow.loops``), which may join a
    node to itself; ``path_back()``, a path from the edge's target back to its source, if any (the
    wire would close a cycle), asked last since it is the dearest.

    A port type that does not read raises ``TypeSyntaxError``: that is the port's problem,
    reported where the port is declared, not the wire's.
    """
    if (edge.source_port is None) != (edge.target_port is None):
        return "a runs-after wire joins 'then' to 'after'; a data wire joins an output to an input"
    if edge.source_port is not None and edge.target_port is not None:
        problem = missing_port(edge.source, outputs, edge.source_port, True) or missing_port(
            edge.target, inputs, edge.target_port, False
        )
        if problem:
            return problem
    if edge.source == edge.target and not back:
        return f"edge from '{edge.source}' to itself"
    if duplicate:
        return f"duplicate edge {edge}"
    if edge.source_port is not None and edge.target_port is not None:
        source_type = registry.parse(outputs[edge.source_port])
        target_type = registry.parse(inputs[edge.target_port])
        reason = registry.why_not_assignable(source_type, target_type)
        if reason is not None:
            return f"{edge.source_text} ({source_type}) cannot feed {edge.target_text} ({target_type}): {reason}"
        if fed_by is not None:
            return f"input {edge.target_text} is already fed by {fed_by.source_text}"
    path = path_back() if path_back is not None else None
    if path:
        return "it would close a cycle: " + " -> ".join([edge.source, *path])
    return None
