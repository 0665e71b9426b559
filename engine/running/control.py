"""Working with a run (SPEC §9): what a restart resets and retires, and what an answer is.

Pure functions over a run's graph and its questions, shared by the run that applies a control
and by the commands that check one before asking for it (`weft restart`, `weft answer`, the
studio), so both refuse the same things with the same one-line reasons.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.errors import InvalidInput, TypeSyntaxError, ValueTypeError
from engine.events import NodeState, RunState
from engine.history.fold import snapshot
from engine.history.recorded import load_recorded
from engine.history.store import Store
from engine.languages.porttypes import Optional, Primitive, TypeRegistry
from engine.promises.graph import RunGraph


def restart_sets(graph: RunGraph, named: Iterable[str]) -> tuple[list[str], list[str]]:
    """(reset, retired) for restarting ``named``: reset are they and every node downstream of
    them, back to `pending`; retired are the nodes their earlier attempts created, and in
    turn those nodes' creations, with everything downstream of a retired node reset too.
    Both in the graph's order."""
    reset: set[str] = set()
    retired: set[str] = set()
    work = list(named)
    while work:
        node = work.pop()
        if node in reset or node in retired:
            continue
        reset.add(node)
        work.extend(graph.successors(node))
        children = list(graph.children.get(node, ()))
        while children:  # what it created leaves the graph, and what those created
            child = children.pop()
            if child in retired:
                continue
            retired.add(child)
            reset.discard(child)
            children.extend(graph.children.get(child, ()))
            work.extend(graph.successors(child))
    order = list(graph.nodes)
    return [n for n in order if n in reset and n not in retired], [n for n in order if n in retired]


def unknown_nodes(known: Mapping[str, Any], named: Iterable[str]) -> str | None:
    """A one-line reason if any of ``named`` is not a node of the run, else None."""
    missing = [n for n in named if n not in known]
    if not missing:
        return None
    return f"no node {', '.join(repr(n) for n in missing)}"


# -- answers -------------------------------------------------------------------------------


def check_fields(fields: Any, declared: Mapping[str, str], registry: TypeRegistry) -> dict[str, str]:
    """The fields of an ``ask`` message, checked: each a type text that parses, holds no
    ``file`` (a person's answer names no file of the run), and agrees with a declared output
    of the same name. Raises ``ValueError`` with a one-line reason."""
    if not isinstance(fields, dict) or not fields:
        raise ValueError("'fields' must be an object of at least one NAME: TYPE")
    out: dict[str, str] = {}
    for name, text in fields.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"field name {name!r} is not a name (letters, digits, _)")
        try:
            field_type = registry.parse(text)
        except TypeSyntaxError as exc:
            raise ValueError(f"field '{name}': {exc}") from None
        if registry.has_file(field_type):
            raise ValueError(f"field '{name}' ({field_type}): a person's answer cannot be a file")
        if name in declared:
            why = registry.why_not_assignable(field_type, registry.parse(declared[name]))
            if why is not None:
                raise ValueError(f"field '{name}' does not agree with the declared output: {why}")
        out[name] = str(text)
    return out


_TRUE = ("true", "yes", "y", "on", "1")
_FALSE = ("false", "no", "n", "off", "0")


def value_from_text(text: str, type_text: str, registry: TypeRegistry) -> Any:
    """A ``--set NAME=VALUE`` text as the value its field's type wants: text for ``str``, a
    number, true/false/yes/no for ``bool``, JSON for anything else."""
    field_type = registry.parse(type_text)
    base = field_type.inner if isinstance(field_type, Optional) else field_type
    name = base.name if isinstance(base, Primitive) else None
    if name == "str":
        return text
    stripped = text.strip()
    if name == "bool":
        if stripped.lower() in _TRUE:
            return True
        if stripped.lower() in _FALSE:
            return False
        raise ValueError(f"'{text}' is not true or false")
    if name in ("int", "float"):
        try:
            number: float = int(stripped) if name == "int" else float(stripped)
        except ValueError:
            raise ValueError(f"'{text}' is not {'an integer' if name == 'int' else 'a number'}") from None
        if not math.isfinite(number):
            raise ValueError(f"'{text}' is not a finite number")
        return number
    if stripped == "null" and isinstance(field_type, Optional):
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        if name == "json":
            return text  # free JSON: plain text is a JSON string
        raise ValueError(f"'{text}' is not JSON (a {field_type} is given as JSON)") from None


def check_answer(fields: Mapping[str, str], values: Mapping[str, Any], registry: TypeRegistry) -> dict[str, Any]:
    """``values`` checked against the question's ``fields``: no unknown name, every required
    field given, each value of its type. Raises ``InvalidInput`` with a one-line reason."""
    unknown = [name for name in values if name not in fields]
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        raise InvalidInput(f"no field {names} in the question (fields: {', '.join(fields)})")
    answer: dict[str, Any] = {}
    for name, text in fields.items():
        field_type = registry.parse(text)
        if name not in values:
            if isinstance(field_type, Optional):
                continue
            raise InvalidInput(f"field '{name}' ({text}) needs an answer")
        try:
            registry.check_value(values[name], field_type)
        except ValueTypeError as exc:
            raise InvalidInput(f"field '{name}' ({text}): {exc}") from None
        answer[name] = values[name]
    return answer


def answer_values(
    fields: Mapping[str, str], sets: Iterable[str], json_text: str | None, registry: TypeRegistry
) -> dict[str, Any]:
    """The values of `weft answer`'s ``--json OBJECT`` and ``--set NAME=VALUE`` (later wins),
    each ``--set`` read as its field's type wants; checked with ``check_answer``."""
    values: dict[str, Any] = {}
    if json_text is not None:
        try:
            given = json.loads(json_text)
        except ValueError as exc:
            raise InvalidInput(f"--json: not JSON ({exc})") from None
        if not isinstance(given, dict):
            raise InvalidInput("--json: must be an object of NAME: VALUE")
        values.update(given)
    for item in sets:
        name, eq, text = item.partition("=")
        if not eq or not name:
            raise InvalidInput(f"--set {item!r}: write NAME=VALUE")
        if name not in fields:
            raise InvalidInput(f"--set {name}: no field '{name}' in the question (fields: {', '.join(fields)})")
        try:
            values[name] = value_from_text(text, fields[name], registry)
        except ValueError as exc:
            raise InvalidInput(f"--set {name}: {exc} (field '{name}' is {fields[name]})") from None
    return check_answer(fields, values, registry)


def how_to_answer(run: str, node: str, fields: Mapping[str, str]) -> str:
    """The command that answers ``node``, with a placeholder per field."""
    parts = [f"weft answer {run} {node}"]
    for name, text in fields.items():
        hint = {"bool": "true|false", "str": "TEXT", "int": "N", "float": "X"}.get(text.rstrip("?"), "JSON")
        part = f"--set {name}={hint}"
        parts.append(f"[{part}]" if text.rstrip().endswith("?") else part)
    return " ".join(parts)


# -- checking a control before asking for it -------------------------------------------------


def check_restart(store: Store, run_id: str, nodes: Sequence[str]) -> RunState:
    """May ``nodes`` of run ``run_id`` be restarted now? Its state as of now if so; else
    ``InvalidInput`` with the one-line reason (nothing is changed)."""
    state = RunState(store.run(run_id)["state"])
    if state is RunState.BROKEN:
        raise InvalidInput(f"cannot restart run {run_id}: it is broken (a broken run is final)")
    if state is RunState.RUNNING:
        raise InvalidInput(f"cannot restart run {run_id}: it is running; pause it first (`weft pause {run_id}`)")
    view = snapshot(store, run_id)
    missing = unknown_nodes(view.nodes, nodes)
    if missing:
        raise InvalidInput(f"cannot restart run {run_id}: it has {missing}")
    retired = [n for n in nodes if view.nodes[n].state is NodeState.RETIRED]
    if retired:
        raise InvalidInput(f"cannot restart run {run_id}: node '{retired[0]}' was retired by an earlier restart")
    return state


def check_answer_of(
    store: Store, run_id: str, node: str, sets: Sequence[str], json_text: str | None
) -> tuple[RunState, dict[str, Any]]:
    """Run ``run_id``'s state as of now and the checked answer to its waiting ``node``; else
    ``InvalidInput`` with the one-line reason (nothing is changed)."""
    row = store.run(run_id)
    state = RunState(row["state"])
    view = snapshot(store, run_id)
    missing = unknown_nodes(view.nodes, [node])
    if missing:
        raise InvalidInput(f"cannot answer: run {run_id} has {missing}")
    if state.is_terminal:
        raise InvalidInput(f"cannot answer: run {run_id} is {state.value}")
    record = view.nodes[node]
    if record.state is not NodeState.WAITING or record.question is None:
        raise InvalidInput(f"cannot answer: node '{node}' of run {run_id} is not waiting (it is {record.state})")
    registry = load_recorded(row, run_id).registry
    return state, answer_values(record.question["fields"], sets, json_text, registry)


def given_inputs(pairs: list[str], declared: dict[str, str] | None, registry: TypeRegistry) -> dict[str, Any] | None:
    """``weft run --input NAME=VALUE``s as the values of a workflow's ``inputs:`` (each read as
    its type wants, as ``weft answer --set``); every input whose type is not optional must be
    given. One-line ``InvalidInput`` otherwise. None for a workflow without inputs."""
    if declared is None:
        if pairs:
            raise InvalidInput("--input: this workflow declares no inputs:")
        return None
    values: dict[str, Any] = {}
    for pair in pairs:
        name, eq, text = pair.partition("=")
        if not eq or not name:
            raise InvalidInput(f"--input {pair}: expected NAME=VALUE")
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise InvalidInput(f"--input {name}: the workflow has no input '{name}' (inputs: {known})")
        try:
            value = value_from_text(text, declared[name], registry)
            registry.check_value(value, registry.parse(declared[name]), path=name)
        except (ValueError, ValueTypeError) as exc:
            raise InvalidInput(f"--input {name}: {exc} (expected {declared[name]})") from None
        values[name] = value
    missing = [n for n, t in declared.items() if n not in values and not isinstance(registry.parse(t), Optional)]
    if missing:
        given = " ".join(f"--input {n}=..." for n in missing)
        raise InvalidInput(f"missing input{'s' if len(missing) > 1 else ''} {', '.join(missing)}: add {given}")
    return values
