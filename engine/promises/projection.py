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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import ProblemCollector
from engine.events import AddedEdge, GraphChanged, NodeState, RunStarted, Structure
from engine.languages.iterations import SEPARATOR, instance, split
from engine.languages.porttypes import TypeRegistry
from engine.promises.graph import Mutation, RunGraph
from engine.promises.keeper import PromiseKeeper, matches
from engine.promises.regions import Region
from engine.workflow.model import EdgeSpec, NodeSpec, ResolvedNode, Trigger, Workflow
from engine.workflow.records import MessageSource, Reader


@dataclass(frozen=True)
class Ghost:
    owner: str
    label: str
    max: int | None = None
    match: tuple[str, ...] | None = None
    #: what kind of growth it stands for, when not its owner's own: "loop" for a loop's next iteration
    kind: str = ""

    @property
    def id(self) -> str:
        return f"ghost:{self.owner}:{self.kind}" if self.kind else f"ghost:{self.owner}"


def ghosts(
    keeper: PromiseKeeper, states: Mapping[str, NodeState], loops: Iterable[Mapping[str, Any]] = ()
) -> list[Ghost]:
    """Ghosts for the graph in ``keeper`` with nodes in ``states`` (missing: pending), and for
    each of ``loops`` (``engine.workflow.loops.Loop.describe``) whose last iteration is unfinished."""
    out = loop_ghosts(keeper.graph.nodes, states, loops)
    state_of = keeper.state_of
    pending = NodeState.PENDING
    keeper.state_of = lambda node: states.get(node, pending)
    try:
        for node, resolved in keeper.graph.resolved.items():
            if not resolved.dynamic or states.get(node, pending).is_terminal:
                continue
            may, remaining, allowed = keeper.node_allowance(node)
            if not may:
                continue
            region = keeper.region_of(node)
            if region is not None and states.get(region[1].last, pending) is pending:
                ghost = _region_ghost(node, region[1], keeper, allowed)
                if ghost is not None:
                    out.append(ghost)
                continue
            out.append(Ghost(node, _label(remaining, allowed), remaining, allowed))
    finally:
        keeper.state_of = state_of
    return out


def loop_ghosts(
    nodes: Iterable[str], states: Mapping[str, NodeState], loops: Iterable[Mapping[str, Any]]
) -> list[Ghost]:
    """A loop whose last iteration's latch has not settled may go round again: its next
    iteration is a ghost hanging off that latch ("may repeat while COND"). Sound: a next
    iteration is only ever created by that latch, when it succeeds."""
    loops = list(loops)
    if not loops:
        return []
    latest = {str(loop["entry"]): 1 for loop in loops}
    for node in nodes:
        if SEPARATOR in node:
            base, k = split(node)
            if base in latest and k > latest[base]:
                latest[base] = k
    out = []
    for loop in loops:
        k = latest[str(loop["entry"])]
        latch = instance(str(loop["latch"]), k)
        if not states.get(latch, NodeState.PENDING).is_terminal:
            members = tuple(str(m) for m in loop.get("members") or ())
            label = f"may repeat while {loop['when']}"
            out.append(Ghost(latch, label, None, members or None, "loop"))
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


def ghosts_of(structure: Iterable[Structure], states: Mapping[str, NodeState]) -> list[Ghost]:
    """Ghosts of a run folded from its structure events (``engine.history.fold``)."""
    structure = list(structure)
    loops = next((e.loops for e in structure if isinstance(e, RunStarted)), ())
    return ghosts(keeper_of(structure), states, loops)


def keeper_of(structure: Iterable[Structure]) -> PromiseKeeper:
    """The run's graph and promise keeper rebuilt from its structure events, as the run built
    them: the registration, then each accepted mutation, through the same ``apply`` /
    ``register`` / ``applied``. Events were checked when the run wrote them, so they are read
    without a second validation."""

    graph = RunGraph(Workflow(name="replay"), TypeRegistry())
    keeper = PromiseKeeper(graph)
    reader = Reader(MessageSource("event"), ProblemCollector())
    for event in structure:
        creator = event.created_by if isinstance(event, GraphChanged) else None
        m = Mutation(creator)
        resolved: dict[str, ResolvedNode] = {}
        for node in event.nodes:
            m.nodes.append(_node_spec(node.id, node.spec.get("operator"), node.dynamic))
            resolved[node.id] = _skeleton(node.id, node.spec.get("operator"), node.dynamic)
        m.edges.extend(_edge(e) for e in event.edges)
        for spec in event.promises:
            promise = reader.promise(spec, ())
            if promise is not None:
                m.promises.append(promise)
        graph.apply(m, resolved)
        if creator is None:
            keeper.register(m.promises)
        else:
            keeper.applied(m)
    return keeper


def _node_spec(node_id: str, operator: str | None, dynamic: bool) -> NodeSpec:
    return NodeSpec(id=node_id, operator=operator, dynamic=dynamic)


def _skeleton(node_id: str, operator: str | None, dynamic: bool) -> ResolvedNode:
    """What ``resolve_node`` makes of a node that says only its id, operator and ``dynamic``."""
    return ResolvedNode(
        id=node_id,
        operator=operator,
        inputs={},
        outputs={},
        command=None,
        shell=False,
        image=None,
        build=None,
        executor=None,
        env={},
        workdir=None,
        retries=0,
        retry_delay=1.0,
        timeout=None,
        dynamic=dynamic,
        resources={},
        network=False,
        warm=False,
        params={},
        style={},
        trigger=Trigger.ALL,
    )


def _edge(edge: AddedEdge) -> EdgeSpec:
    source_port = str(edge.spec.get("from", "")).partition(".")[2] or None
    target_port = str(edge.spec.get("to", "")).partition(".")[2] or None
    return EdgeSpec(edge.source, edge.target, source_port, target_port, edge.spec.get("when"), edge.spec.get("style"))
