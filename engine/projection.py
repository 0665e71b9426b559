"""The as-of-now graph: real nodes and edges plus ghosts for what may still appear.

A ghost hangs off a dynamic node that has not finished and may still create nodes; it says
what it stands for, as precisely as the promises binding that node allow: "anything may
follow", "up to 3 more nodes", "0+ nodes matching M*". Inside an open shape region it says
what the pattern still allows: "0+ more M", "one of left | right"; an alternative that can no
longer happen is not named, and a region that can take nothing more has no ghost.

It is sound because every node that appears later is created by a task whose creator chain
starts at a node that was real at projection time; that node was dynamic, unfinished and
allowed to create nodes, so it had a ghost (and a node created inside a region is a region
node, so it is one the region's ghost names). A workflow without dynamic nodes, or under
``static``, has no ghosts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine.promises import PromiseKeeper, matches
from engine.regions import Region

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
    state_of = keeper.state_of
    keeper.state_of = lambda node: states.get(node, "pending")
    try:
        for node, resolved in keeper.graph.resolved.items():
            if not resolved.dynamic or states.get(node, "pending") in TERMINAL:
                continue
            may, remaining, allowed = keeper.node_allowance(node)
            if not may:
                continue
            region = keeper.region_of(node)
            if region is not None and states.get(region[1].last, "pending") == "pending":
                ghost = _region_ghost(node, region[1], keeper, allowed)
                if ghost is not None:
                    out.append(ghost)
                continue
            out.append(Ghost(node, _label(remaining, allowed), remaining, allowed))
    finally:
        keeper.state_of = state_of
    return out


def _region_ghost(node: str, region: Region, keeper: PromiseKeeper, allowed: tuple[str, ...] | None) -> Ghost | None:
    """What ``node`` may still add to its region, as its pattern (and other promises) allow."""
    unbounded, groups = region.addable(keeper.state_of)
    if allowed is not None:  # other promises narrow it further
        unbounded = [a for a in unbounded if matches(allowed, a.strip("'\""), a.strip("'\""))]
        groups = [[a for a in g if matches(allowed, a.strip("'\""), a.strip("'\""))] for g in groups]
        groups = [g for g in groups if g]
    parts = [f"0+ more {a}" for a in unbounded]
    if len(groups) == 1:
        parts.append("maybe " + ", ".join(groups[0]))
    elif groups:
        parts.append("one of " + " | ".join(g[0] if len(g) == 1 else "(" + ", ".join(g) + ")" for g in groups))
    if not parts:
        return None
    names = tuple(a.strip("'\"") for a in unbounded + [a for g in groups for a in g])
    return Ghost(node, "; ".join(parts), None if unbounded else max(len(g) for g in groups), names)


def _label(remaining: int | None, allowed: tuple[str, ...] | None) -> str:
    what = f"nodes matching {' | '.join(allowed)}" if allowed else "nodes"
    if remaining is not None:
        return f"up to {remaining} more {what}" if not allowed else f"up to {remaining} {what}"
    return f"0+ {what}" if allowed else "anything may follow"
