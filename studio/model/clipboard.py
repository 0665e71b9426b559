"""Nodes copied as workflow text, and that text pasted into a workflow (no Qt).

What is copied is a small workflow of its own: the chosen nodes, the wires between them, the
workflow's own operators and record types they use, and (as absolute paths under
``imports:``) the libraries their other operators come from. So it pastes into another
window, into another workflow, or into a text editor as a workflow that reads.

Pasting is planned here and applied by the editor as one undo step: ids that clash are
renamed (``a`` -> ``a-2``) and wires and conditions follow; operators and types the target
lacks come along; a library the target does not import yet is added to its ``imports:``.
What cannot come along is said in words, never dropped silently.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.workflow.loader import read_text_leniently
from engine.workflow.model import EdgeSpec, NodeSpec, OperatorSpec
from engine.workflow.writer import dump_yaml, edge_data, node_data, operator_data
from studio.model.document import Document, rename_in_condition
from studio.model.library import read_library

#: The clipboard format of copied nodes (the same text also goes on the clipboard as plain text).
FRAGMENT_MIME = "application/x-weft-nodes+yaml"

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBERED = re.compile(r"^(.*\S)-(\d+)$")


@dataclass
class Fragment:
    """Copied nodes as read back from the clipboard."""

    nodes: list[NodeSpec]
    edges: list[EdgeSpec] = field(default_factory=list)
    operators: dict[str, OperatorSpec] = field(default_factory=dict)
    types: dict[str, dict[str, str]] = field(default_factory=dict)
    libraries: list[Path] = field(default_factory=list)


@dataclass
class PastePlan:
    """What a paste adds: new nodes and wires, and the workflow fields that change with them
    (None: unchanged). ``refused`` says why nothing can be pasted; ``notes`` what did not come along."""

    nodes: list[NodeSpec] = field(default_factory=list)
    edges: list[EdgeSpec] = field(default_factory=list)
    operators: dict[str, OperatorSpec] | None = None
    types: dict[str, dict[str, str]] | None = None
    imports: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    refused: str | None = None


# -- copying ---------------------------------------------------------------------------------


def fragment_text(doc: Document, node_ids: list[str], positions: dict[str, tuple[float, float]]) -> str:
    """The workflow text of ``node_ids`` with the wires among them, drawn at ``positions``."""
    chosen = [n for n in doc.nodes if n.id in set(node_ids)]
    ids = {n.id for n in chosen}
    nodes = []
    for spec in chosen:
        spec = copy.deepcopy(spec)
        if spec.id in positions:
            x, y = positions[spec.id]
            spec.style = {**(spec.style or {}), "pos": [round(float(x), 1), round(float(y), 1)]}
        nodes.append(spec)
    edges = [e for e in doc.edges if e.source in ids and e.target in ids]
    own_ops = {n.operator for n in chosen if n.operator and n.operator in doc.workflow.operators}
    operators = {name: doc.workflow.operators[name] for name in sorted(own_ops)}
    libraries = sorted(
        {str(lib) for n in chosen if n.operator and (lib := doc.operator_library(n.operator)) is not None}
    )
    types = types_used(doc.workflow.types, [*nodes, *operators.values()])
    data: dict[str, object] = {"weft": 1, "name": "copied-nodes"}
    if types:
        data["types"] = types
    if libraries:
        data["imports"] = libraries
    if operators:
        data["operators"] = {name: operator_data(op) for name, op in operators.items()}
    data["nodes"] = [node_data(n) for n in nodes]
    if edges:
        data["edges"] = [edge_data(e) for e in edges]
    return dump_yaml(data)


def types_used(defined: dict[str, dict[str, str]], specs: list[NodeSpec | OperatorSpec]) -> dict[str, dict[str, str]]:
    """The record types of ``defined`` that the ports of ``specs`` name, and those they name."""
    wanted = [w for s in specs for ports in (s.inputs, s.outputs) for t in (ports or {}).values() for w in _words(t)]
    out: dict[str, dict[str, str]] = {}
    while wanted:
        name = wanted.pop()
        if name in defined and name not in out:
            out[name] = dict(defined[name])
            wanted += [w for t in defined[name].values() for w in _words(t)]
    return {name: out[name] for name in defined if name in out}


def _words(text: object) -> list[str]:
    return _WORD.findall(text) if isinstance(text, str) else []


def read_fragment(text: str) -> Fragment | None:
    """Copied nodes from clipboard text (ours, or any workflow text); None when it has none."""
    try:
        workflow, _loaded, _problems = read_text_leniently(text, "<clipboard>")
    except Exception:  # text from anywhere: whatever it is, it is simply not nodes
        return None
    if workflow is None or not workflow.nodes:
        return None
    libraries = [Path(i) for i in workflow.imports if Path(i).is_absolute()]
    return Fragment(workflow.nodes, workflow.edges, workflow.operators, workflow.types, libraries)


# -- pasting ---------------------------------------------------------------------------------


def plan_paste(
    doc: Document,
    fragment: Fragment,
    at: tuple[float, float] | None = None,
    offset: tuple[float, float] = (0.0, 0.0),
) -> PastePlan:
    """How ``fragment`` joins ``doc``: placed with its top-left node corner at ``at`` (or moved
    by ``offset`` from where it was copied), ids renamed where taken, operators brought along."""
    plan = PastePlan()
    operator_names = _plan_operators(doc, fragment, plan)
    if plan.refused:
        return plan
    _plan_types(doc, fragment, plan)

    taken = set(doc.node_ids()) | {n.id for n in fragment.nodes}
    renames: dict[str, str] = {}
    for spec in fragment.nodes:
        if doc.node(spec.id) is not None:
            renames[spec.id] = _free_id(spec.id, taken)
            taken.add(renames[spec.id])

    placed = [_pos(n) for n in fragment.nodes]
    known = [p for p in placed if p is not None]
    origin = (min(p[0] for p in known), min(p[1] for p in known)) if known else (0.0, 0.0)
    shift = (at[0] - origin[0], at[1] - origin[1]) if at is not None else offset
    for index, spec in enumerate(fragment.nodes):
        new = copy.deepcopy(spec)
        new.id = renames.get(spec.id, spec.id)
        if new.operator is not None:
            new.operator = operator_names.get(new.operator, new.operator)
        pos = placed[index] or (origin[0] + 40.0 * index, origin[1] + 40.0 * index)
        new.style = {**(new.style or {}), "pos": [round(pos[0] + shift[0], 1), round(pos[1] + shift[1], 1)]}
        plan.nodes.append(new)
    ids = {n.id for n in fragment.nodes}
    for edge in fragment.edges:
        if edge.source not in ids or edge.target not in ids:
            continue
        when = edge.when
        for old, new_id in renames.items():
            when = rename_in_condition(when, old, new_id) if when else when
        plan.edges.append(
            dataclasses.replace(
                edge,
                source=renames.get(edge.source, edge.source),
                target=renames.get(edge.target, edge.target),
                when=when,
            )
        )
    return plan


def _free_id(node_id: str, taken: set[str]) -> str:
    """``a`` -> ``a-2``; ``a-2`` -> ``a-3``: the next free number of the same name."""
    match = _NUMBERED.match(node_id)
    base, n = (match.group(1), int(match.group(2)) + 1) if match else (node_id, 2)
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _pos(spec: NodeSpec) -> tuple[float, float] | None:
    pos = (spec.style or {}).get("pos")
    return (float(pos[0]), float(pos[1])) if isinstance(pos, list) and len(pos) == 2 else None


def _plan_operators(doc: Document, fragment: Fragment, plan: PastePlan) -> dict[str, str]:
    """Operators the pasted nodes use: own ones copied (renamed if the target has another of
    that name), libraries imported. Returns the renamed operators."""
    used = [n.operator for n in fragment.nodes if n.operator]
    libraries = {}
    for path in fragment.libraries:
        libraries[path] = read_library(path) if path.is_file() else None
    own = dict(doc.workflow.operators)
    imports = list(doc.workflow.imports)
    renamed: dict[str, str] = {}
    available = doc.operators()
    for name in dict.fromkeys(used):
        if name in fragment.operators:
            op = fragment.operators[name]
            if name not in available:
                own[name] = op
            elif available[name] != op:
                new = _free_operator_name(name, set(available) | set(own))
                own[new] = dataclasses.replace(op, name=new)
                renamed[name] = new
                plan.notes.append(f"operator '{name}' came along as '{new}' (this workflow has another '{name}')")
            continue
        source = next((p for p, lib in libraries.items() if lib is not None and name in lib.operators), None)
        if source is None:
            unread = [str(p) for p, lib in libraries.items() if lib is None]
            if name not in available:
                plan.notes.append(
                    f"operator '{name}' is not known here"
                    + (
                        f": its library {', '.join(unread)} cannot be read"
                        if unread
                        else ": import the library it is in"
                    )
                )
            continue
        lib_path = source.resolve()
        here = doc.operator_library(name)
        if name in doc.workflow.operators or (here is not None and here != lib_path):
            where = "this workflow's own" if here is None else f"from {here.name}"
            plan.refused = (
                f"operator '{name}' here is {where}, but the copied nodes use the one from {source.name}; "
                "rename one of them first"
            )
            return renamed
        if here is None:
            entry = doc.import_for(lib_path)
            if entry not in imports:
                imports.append(entry)
    if own != doc.workflow.operators:
        plan.operators = own
    if imports != doc.workflow.imports:
        plan.imports = imports
    return renamed


def _free_operator_name(name: str, taken: set[str]) -> str:
    n = 2
    while f"{name}-{n}" in taken:
        n += 1
    return f"{name}-{n}"


def _plan_types(doc: Document, fragment: Fragment, plan: PastePlan) -> None:
    known = {**doc.imported_types(), **doc.workflow.types}
    types = dict(doc.workflow.types)
    for name, fields in fragment.types.items():
        if name not in known:
            types[name] = dict(fields)
        elif known[name] != fields:
            plan.notes.append(f"type '{name}' is defined differently here; the pasted nodes use this workflow's")
    if types != doc.workflow.types:
        plan.types = types
