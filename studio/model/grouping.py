"""Selected nodes made into a workflow of their own, used in their place as a `workflow:` node.

Planned here without Qt, applied by the editor as one undo step. The new file holds the
chosen nodes and the wires among them; a wire entering the selection becomes one of its
``inputs:`` (one per inner input port, typed by that port, read through ``inputs.NAME``), a
wire leaving it one of its ``outputs:`` (one per inner output port). The workflow's own
operators and record types the nodes use come along, and so do the imports their operators
come from (rewritten for the new file). The file is written beside the workflow, so the
nodes' relative paths (commands, params, `workflow:` files) mean the same things there.

What the engine could not run the same way is refused with the reason: a condition on a
wire crossing the border that reads a node inside (a `workflow:` node's outputs cannot be
read by conditions), and an inner condition reading a node left outside.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ExpressionError
from engine.languages import expr
from engine.workflow.model import EdgeSpec, NodeSpec, Workflow
from engine.workflow.writer import write_text
from studio.model.clipboard import types_used
from studio.model.document import Document, EdgeKey
from studio.model.library import LIBRARY_SUFFIX, import_path, import_text


@dataclass
class GroupPlan:
    """What grouping does: the file's text, the wires and nodes taken away, the `workflow:`
    node put in their place and its wires. ``refused`` says why it cannot be done."""

    path: Path | None = None
    text: str = ""
    node: NodeSpec | None = None
    removed_edges: list[EdgeKey] = field(default_factory=list)
    removed_nodes: list[str] = field(default_factory=list)
    edges: list[EdgeSpec] = field(default_factory=list)
    refused: str | None = None


def plan_group(doc: Document, node_ids: list[str], path: Path) -> GroupPlan:
    """How ``node_ids`` of ``doc`` become the workflow file ``path`` and one node using it."""
    chosen = [n for n in doc.nodes if n.id in set(node_ids)]
    ids = {n.id for n in chosen}
    path = Path(path).resolve()
    if len(chosen) < 2:
        return GroupPlan(refused="select two nodes or more to group them")
    if doc.path is None:
        return GroupPlan(refused="save the workflow first: the new file goes beside it")
    if path.parent != doc.path.parent:
        return GroupPlan(refused=f"the new workflow must be in the folder of this one ({doc.path.parent})")
    if not path.name.endswith(LIBRARY_SUFFIX):
        path = path.with_name(path.name + LIBRARY_SUFFIX)
    if path == doc.path:
        return GroupPlan(refused="the new workflow cannot be written over this one")
    if any(n.id == "inputs" for n in chosen):
        return GroupPlan(refused="a node called 'inputs' cannot be inside a workflow with inputs")

    inner = [e for e in doc.edges if e.source in ids and e.target in ids]
    entering = [e for e in doc.edges if e.source not in ids and e.target in ids]
    leaving = [e for e in doc.edges if e.source in ids and e.target not in ids]
    for edge in inner:
        outside = _reads(edge.when) - ids
        if outside:
            left_out = ", ".join(sorted(outside))
            return GroupPlan(refused=f"the condition of {EdgeKey.of(edge)} reads {left_out}, which is left out")
    for edge in (*entering, *leaving):
        read = _reads(edge.when) & ids
        if read:
            return GroupPlan(
                refused=f"the condition of {EdgeKey.of(edge)} reads {', '.join(sorted(read))}, which would be "
                "inside the group (conditions cannot read a sub-workflow's nodes)"
            )

    name = path.name.removesuffix(LIBRARY_SUFFIX)
    group_id = doc.unique_id(name)
    # inputs: one per inner port fed from outside; outputs: one per inner port read outside
    in_ports = list(dict.fromkeys((e.target, e.target_port) for e in entering if e.target_port is not None))
    out_ports = list(dict.fromkeys((e.source, e.source_port) for e in leaving if e.source_port is not None))
    input_names = _names(in_ports)
    output_names = _names(out_ports)
    inputs = {input_names[key]: doc.ports(key[0])[0].get(key[1], "json") for key in in_ports}
    outputs = {output_names[key]: f"{key[0]}.{key[1]}" for key in out_ports}

    nodes = [copy.deepcopy(n) for n in chosen]
    own_ops = {n.operator for n in chosen if n.operator and n.operator in doc.workflow.operators}
    operators = {op: copy.deepcopy(doc.workflow.operators[op]) for op in sorted(own_ops)}
    imports = sorted(
        {
            import_text(import_path(source, doc.path), path)
            for n in chosen
            if n.operator and (source := doc.operator_source(n.operator)) is not None
        }
    )
    sub = Workflow(
        name=name,
        description=f"Grouped from {doc.workflow.name}: {', '.join(n.id for n in chosen)}.",
        types=types_used(doc.workflow.types, [*nodes, *operators.values()]),
        imports=imports,
        operators=operators,
        nodes=nodes,
        edges=[copy.deepcopy(e) for e in inner]
        + [EdgeSpec("inputs", key[0], input_names[key], key[1]) for key in in_ports],
        inputs=inputs or None,
        outputs=outputs or None,
    )
    sub.settings = copy.deepcopy(doc.workflow.settings)

    plan = GroupPlan(path=path, text=write_text(sub))
    positions = [p for n in chosen if (p := doc.position(n.id)) is not None]
    style = None
    if positions:
        x = sum(p[0] for p in positions) / len(positions)
        y = sum(p[1] for p in positions) / len(positions)
        style = {"pos": [round(x, 1), round(y, 1)]}
    plan.node = NodeSpec(id=group_id, workflow=_relative(path, doc.path), style=style)
    plan.removed_edges = [EdgeKey.of(e) for e in (*entering, *leaving)]
    plan.removed_nodes = [n.id for n in chosen]
    seen: set[EdgeKey] = set()
    for edge in entering:
        new = dataclasses.replace(
            edge,
            target=group_id,
            target_port=None if edge.target_port is None else input_names[(edge.target, edge.target_port)],
        )
        _add_once(plan.edges, seen, new)
    for edge in leaving:
        new = dataclasses.replace(
            edge,
            source=group_id,
            source_port=None if edge.source_port is None else output_names[(edge.source, edge.source_port)],
        )
        _add_once(plan.edges, seen, new)
    return plan


def _add_once(edges: list[EdgeSpec], seen: set[EdgeKey], edge: EdgeSpec) -> None:
    """Runs-after wires from several inner nodes to one outer node become one wire."""
    key = EdgeKey.of(edge)
    if key not in seen:
        seen.add(key)
        edges.append(edge)


def _names(ports: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """A port's name when no other port of the list has it, else ``NODE_PORT``."""
    counts: dict[str, int] = {}
    for _node, port in ports:
        counts[port] = counts.get(port, 0) + 1
    return {(node, port): port if counts[port] == 1 else f"{node}_{port}".replace("-", "_") for node, port in ports}


def _reads(condition: str | None) -> set[str]:
    if not condition:
        return set()
    try:
        return {ref.node for ref in expr.parse(condition).references()}
    except ExpressionError:
        return set()


def _relative(target: Path, including: Path) -> str:
    return Path(os.path.relpath(target, including.parent)).as_posix()
