"""The as-of-now graph: real nodes and edges plus ghosts for what may still appear.

A ghost hangs off a dynamic node that has not finished and may still create nodes; it says
what it stands for, as precisely as the promises binding that node allow: "anything may
follow", "up to 3 more nodes", "0+ nodes matching M*". It is sound because every node that
appears later is created by a task whose creator chain starts at a node that was real at
projection time; that node was dynamic, unfinished and allowed to create nodes, so it had a
ghost. A workflow without dynamic nodes, or under ``static``, has no ghosts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from engine.promises import PromiseKeeper

TERMINAL = {"succeeded", "failed", "skipped", "cancelled"}


@dataclass(frozen=True)
class Ghost:
    owner: str
    label: str
    max: int | None = None
    match: tuple[str, ...] | None = None

    @property
    def id(self) -> str:
        return f"ghost:{self.owner}"


def ghosts(keeper: PromiseKeeper, states: Mapping[str, str]) -> list[Ghost]:
    """Ghosts for the graph in ``keeper`` with nodes in ``states`` (missing: pending)."""
    out = []
    for node, resolved in keeper.graph.resolved.items():
        if not resolved.dynamic or states.get(node, "pending") in TERMINAL:
            continue
        may, remaining, allowed = keeper.node_allowance(node)
        if not may:
            continue
        out.append(Ghost(node, _label(remaining, allowed), remaining, allowed))
    return out


def _label(remaining: int | None, allowed: tuple[str, ...] | None) -> str:
    what = f"nodes matching {' | '.join(allowed)}" if allowed else "nodes"
    if remaining is not None:
        return f"up to {remaining} more {what}" if not allowed else f"up to {remaining} {what}"
    return f"0+ {what}" if allowed else "anything may follow"
