"""A dynamic node an Argo workflow can still express: a map pinned by ``shape: "A -> M* -> B"``.

The promise says everything ``A`` creates is a copy of operator ``M`` between ``A`` and ``B``,
and nothing else. On Argo, ``A``'s launcher turns the nodes its task creates into a JSON list
(its ``weft-fan-out`` output: each copy's id and params), a task of ``M``'s template runs once
per item with ``withParam``, and ``B`` waits for all of them. The launcher refuses (fails the
pod) whatever the promise would have refused, and what this form cannot carry (a created edge
with ports or a condition, a node that is not a plain copy of ``M``).

Only this form is exported: one repeated operator (``*`` or ``+``) between two top-level
nodes, the workflow's only promise, ``M`` with no inputs, ``B`` with trigger ``all``.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import InvalidInput
from engine.languages.shape import Atom, Repeat, compile_shape
from engine.workflow.model import PromiseSpec, Workflow

#: the output of the creator that lists the copies, one ``{"node", "params"}`` per copy
FAN_OUT = "weft-fan-out"


@dataclass(frozen=True)
class FanOut:
    creator: str
    operator: str
    join: str
    #: 0 for ``M*``, 1 for ``M+``
    least: int
    promise: PromiseSpec


def pinned(workflow: Workflow, node: str) -> FanOut | str:
    """The fan-out a shape promise makes of dynamic node ``node``, or why there is none."""
    shapes = [p for p in workflow.promises if p.kind == "shape"]
    mine = []
    for promise in shapes:
        try:
            shape = compile_shape(promise.args, promise.where)
        except InvalidInput:
            continue
        if shape.first == node:
            mine.append((promise, shape))
    if not mine:
        return "no shape promise pins what it creates (only 'A -> M* -> B' is exported, as withParam)"
    promise, shape = mine[0]
    items = shape.top.items
    middle = items[1] if len(items) == 3 else None
    if (
        shape.defs
        or not isinstance(middle, Repeat)
        or middle.op not in ("*", "+")
        or not isinstance(middle.item, Atom)
        or middle.item.glob
    ):
        return f"its shape '{promise.args}' is not 'A -> M* -> B' (the one form exported, as withParam)"
    operator = middle.item.name
    if workflow.operator(operator) is None:
        return f"'{operator}' in its shape '{promise.args}' is no operator of the workflow"
    others = [p for p in workflow.promises if p is not promise]
    if others:
        return f"promise {others[0].kind} is not kept by an exported fan-out (only the shape is)"
    return FanOut(node, operator, shape.last, 1 if middle.op == "+" else 0, promise)
