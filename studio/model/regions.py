"""Which nodes a shape promise's region holds, for drawing its frame (no Qt here).

Membership is the engine's (``engine.promises.regions.region_members``, SPEC §5), computed from the
graph, never from where nodes happen to be drawn, so the frame follows its nodes through
saving, loading and any re-layout, and holds exactly what the run's checks count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx

from engine.errors import ShapeError
from engine.languages.shape import compile_shape
from engine.languages.shape import pattern_problems as check_pattern
from engine.promises.regions import region_members as engine_region_members

# Atoms of a pattern: node ids may contain '-', but '->' is the series operator.


@dataclass(frozen=True)
class Region:
    promise: int  # index in the workflow's promises (or the run's)
    label: str
    anchors: tuple[str, str] | None
    members: frozenset[str]
    problem: str | None = None


def shape_anchors(pattern: str, where: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """The first and last atoms of a shape pattern (the engine's reader decides), or None when
    it has no two anchors."""
    try:
        return compile_shape(pattern, where).anchors
    except ShapeError:
        return None
    except Exception:  # noqa: BLE001 - a half-finished reader must not break drawing
        return None


def pattern_problems(pattern: str, where: Mapping[str, str] | None = None) -> list[str]:
    """Problems of a shape pattern as a person types it, each naming its column (none: fine)."""
    try:
        return list(check_pattern(pattern, where))
    except Exception as exc:  # noqa: BLE001 - a checker that fails is reported, never raised
        return [f"could not check the pattern: {exc}"]


def region_members(
    dag: nx.DiGraph, anchors: tuple[str, str] | None, created_by: Mapping[str, str | None] | None = None
) -> tuple[frozenset[str], str | None]:
    """The nodes of the region between ``anchors`` in ``dag``, and a problem text if any.

    ``created_by`` (node -> creator) adds nodes created by a task inside the region or by the
    first anchor, for a running (or finished) run.
    """
    if anchors is None:
        return frozenset(), "the pattern has no two anchors"
    missing = [a for a in anchors if a not in dag]
    if missing:
        return frozenset(a for a in anchors if a in dag), f"anchor '{missing[0]}' is not a node"
    children: dict[str, list[str]] = {}
    for node, creator in (created_by or {}).items():
        if creator is not None:
            children.setdefault(creator, []).append(node)
    members = engine_region_members(
        anchors[0], anchors[1], dag.successors, dag.predecessors, lambda node: children.get(node, ())
    )
    return frozenset(members), None
