"""Promises: constraints on how a run's graph may grow, which the engine never lets break.

``PromiseKeeper`` is the single check point every mutation passes after the structural rules
(``RunGraph.check``). It keeps the implicit promise of every node not marked ``dynamic`` and
every promise in force, and answers the scheduler's and the projection's questions: may this
running task still add an edge into that node? may it still create nodes, and which?

Two families of promise, one reading of "holds from the moment it is made":

* *growth* promises forbid changes after they are made (``static``, ``no_new_nodes``,
  ``no_new_edges``); the mutation that makes one may still carry its last nodes and edges;
* *state* promises constrain everything tasks created during the run (``only_nodes``,
  ``only_edges``, ``max_nodes``), so one made at run time can already be false when made
  (rule 5), and then the run is broken.

Shape promises (``shape``) are kept by ``engine.promises.regions``: each is a region checked at every
mutation that touches it, before every start of a node in it or beside it, and completely
before its last anchor starts (``before_start``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from engine.events import NodeState
from engine.languages.iterations import SEPARATOR, base_of
from engine.promises.graph import Mutation, RunGraph
from engine.promises.regions import Region, StateOf
from engine.workflow.model import EdgeSpec, NodeSpec, PromiseSpec

IMPLICIT = "implicit: a node not marked dynamic creates no nodes, edges or promises"
GROWTH = ("static", "no_new_nodes", "no_new_edges")


@dataclass(frozen=True)
class Violation:
    promise: str
    task: str | None
    reason: str
    #: the nodes to show a person (e.g. both alternatives of a choice), when known
    nodes: tuple[str, ...] = ()
    #: found before this node started (no task's mutation broke it), if that is how
    before: str | None = None


def breached_by(task: str | None, before: str | None = None) -> str:
    """Who broke a promise: a task's mutation, or, with no task, the graph as it stood when a
    node was about to start (a shape region is checked before every start, SPEC §5)."""
    if task is not None:
        return f"by task: {task}"
    if before is not None:
        return f"found before starting '{before}' (no task's mutation broke it)"
    return "found as its region was checked before a start (no task's mutation broke it)"


def _patterns(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


def matches(patterns: tuple[str, ...] | None, node: str, operator: str | None) -> bool:
    """Selectors name node ids or operator names, or globs of either (``"map-*"``)."""
    if patterns is None:
        return True
    if SEPARATOR in node:  # a loop's later iteration of a node is that node
        node = base_of(node)
    return any(fnmatchcase(node, p) or (operator is not None and fnmatchcase(operator, p)) for p in patterns)


def describe(spec: PromiseSpec) -> str:
    """How a person recognises a promise: its id, or its kind and arguments."""
    if spec.id:
        return spec.id
    if spec.kind == "shape":
        return f"shape {spec.args}"
    args = ", ".join(f"{k}: {_text(v)}" for k, v in (spec.args or {}).items())
    return f"{spec.kind} {{{args}}}" if args else f"{spec.kind} {{}}"


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return str(value)


@dataclass
class Active:
    """A promise in force: who made it (None: the workflow) and what it has counted so far."""

    spec: PromiseSpec
    made_by: str | None
    #: nodes created so far by the tasks it binds (kept up to date by the keeper, for max_nodes)
    count: int = 0
    by: tuple[str, ...] | None = field(init=False)

    def __post_init__(self) -> None:
        raw = self.spec.by if self.spec.kind == "shape" else (self.spec.args or {}).get("by")
        self.by = _patterns(raw)

    def arg(self, name: str) -> tuple[str, ...] | None:
        return _patterns((self.spec.args or {}).get(name))


class PromiseKeeper:
    def __init__(self, graph: RunGraph) -> None:
        self.graph = graph
        self.active: list[Active] = []
        #: shape promises in force, with the promise that made each
        self.regions: list[tuple[Active, Region]] = []
        #: the state of a node (pending until it starts); the run keeps it current
        self.state_of: StateOf = lambda node: NodeState.PENDING
        #: nodes and edges created by tasks so far, as (creator, item)
        self.created_nodes: list[tuple[str, NodeSpec]] = []
        self.created_edges: list[tuple[str, EdgeSpec]] = []

    # -- registration -----------------------------------------------------------------------

    def register(self, promises: Iterable[PromiseSpec]) -> None:
        for p in promises:
            self._add(Active(p, None))

    def _add(self, active: Active) -> None:
        self.active.append(active)
        if active.spec.kind == "shape":
            self.regions.append((active, Region(active.spec, self.graph)))

    # -- the check point --------------------------------------------------------------------

    def check_implicit(self, m: Mutation) -> Violation | None:
        """Only ``dynamic`` nodes change the graph: checked before anything else of ``m``."""
        creator = m.creator
        if creator is not None and m.changes_structure and not self.graph.resolved[creator].dynamic:
            return Violation(
                IMPLICIT, creator, f"{creator} is not marked dynamic, but it tried to create {_describe(m)}"
            )
        return None

    def check(self, m: Mutation) -> Violation | None:
        """The first promise in force, or made by ``m``, that ``m`` would break; None if none."""
        creator = m.creator
        assert creator is not None
        operator = self._operator(creator)
        for active in self.active:
            if matches(active.by, creator, operator):
                reason = self._breaks(active, creator, m, growth=True)
                if reason:
                    return Violation(describe(active.spec), creator, reason)
        for active, region in self.regions:
            if matches(active.by, creator, operator):
                finding = region.check(m, self.state_of)
                if finding is not None:
                    return Violation(
                        describe(active.spec),
                        creator,
                        f"{creator} created {_describe(m, promises=False)}, but {finding.reason}",
                        finding.nodes,
                    )
        for spec in m.promises:  # rule 5: a new promise must hold for the graph as it now is
            made = Active(spec, creator)
            reason = self._already_false(made, m)
            if reason:
                return Violation(describe(spec), creator, reason)
        return None

    def before_start(self, node: str) -> Violation | None:
        """Would starting ``node`` make a shape region's form impossible? A started node takes
        no more incoming edges, so what comes before it is settled: the run is broken before
        the start that makes a breach certain, not later. A region is checked completely, at
        the latest, when its last anchor is about to start. None: the start may go ahead."""
        for active, region in self.regions:
            if region.closed:
                continue
            if region.last == node:
                finding = region.check_complete(self.state_of)
            else:
                finding = region.check_start(node, self.state_of)
            if finding is not None:
                return Violation(describe(active.spec), None, finding.reason, finding.nodes, before=node)
        self.started(node)
        return None

    def started(self, node: str) -> None:
        """``node`` started (or, resuming a run, had started): what comes before it is settled."""
        for _active, region in self.regions:
            region.mark_started(node)

    def applied(self, m: Mutation) -> None:
        """Record what ``m`` (already applied to the graph) created and promised."""
        if m.creator is None:
            for _active, region in self.regions:
                region.applied(m)
            return
        if m.nodes:
            operator = self._operator(m.creator)
            for p in self.active:
                if matches(p.by, m.creator, operator):
                    p.count += len(m.nodes)
        self.created_nodes.extend((m.creator, n) for n in m.nodes)
        self.created_edges.extend((m.creator, e) for e in m.edges)
        for _active, region in self.regions:
            region.applied(m)
        for spec in m.promises:
            made = Active(spec, m.creator)
            made.count = sum(
                1 for creator, _ in self.created_nodes if matches(made.by, creator, self._operator(creator))
            )
            self._add(made)

    def _breaks(self, p: Active, creator: str, m: Mutation, growth: bool) -> str | None:
        """Why ``m`` by ``creator`` breaks ``p`` (None if it keeps it)."""
        kind, label = p.spec.kind, describe(p.spec)
        if kind == "static" and growth and (m.nodes or m.edges):
            return f"{creator} created {_describe(m, promises=False)}, but `{label}` allows no new nodes or edges"
        if kind == "no_new_nodes" and growth and m.nodes:
            return f"{creator} created {_nodes(m.nodes)}, but `{label}` allows no new nodes"
        if kind == "no_new_edges" and growth:
            sources, targets = p.arg("from"), p.arg("to")
            for e in m.edges:
                if self._edge_matches(e, sources, targets, m):
                    return f"{creator} created edge {e.source} -> {e.target}, but `{label}` forbids it"
        if kind == "only_nodes":
            allowed = p.arg("match") or ()
            for n in m.nodes:
                if not matches(allowed, n.id, n.operator):
                    return (
                        f"{creator} created node {n.id}, but `{label}` allows only nodes matching "
                        f"{' | '.join(allowed) or 'nothing'}"
                    )
        if kind == "only_edges":
            for e in m.edges:
                if not self._edge_allowed(e, p, m):
                    return f"{creator} created edge {e.source} -> {e.target}, which `{label}` does not allow"
        if kind == "max_nodes" and m.nodes:
            limit = (p.spec.args or {}).get("max", 0)
            before = p.count
            if before + len(m.nodes) > limit:
                return (
                    f"{creator} created {len(m.nodes)} node{'s' if len(m.nodes) != 1 else ''} "
                    f"({_nodes(m.nodes)}) after {before}, but `{label}` allows at most {limit}"
                )
        return None

    def _already_false(self, p: Active, m: Mutation) -> str | None:
        """Rule 5 for a state promise made by ``m``: everything created so far must keep it."""
        if p.spec.kind in GROWTH:
            return None
        if p.spec.kind == "shape":
            return self._shape_false(p, m)
        so_far = Mutation(m.creator)
        for creator, node in self.created_nodes + [(m.creator or "", n) for n in m.nodes]:
            if matches(p.by, creator, self._operator(creator)):
                so_far.nodes.append(node)
        for creator, edge in self.created_edges + [(m.creator or "", e) for e in m.edges]:
            if matches(p.by, creator, self._operator(creator)):
                so_far.edges.append(edge)
        if p.spec.kind == "max_nodes":
            limit = (p.spec.args or {}).get("max", 0)
            if len(so_far.nodes) > limit:
                return (
                    f"{m.creator} promised `{describe(p.spec)}`, but {len(so_far.nodes)} nodes were "
                    "already created: the promise was false when made"
                )
            return None
        reason = self._breaks(p, m.creator or "", so_far, growth=False)
        if reason:
            return f"{reason} (the promise, made by {m.creator}, was false when made)"
        return None

    def _shape_false(self, p: Active, m: Mutation) -> str | None:
        region = Region(p.spec, self.graph)
        known = set(self.graph.nodes) | {n.id for n in m.nodes}
        missing = [a for a in region.shape.anchors if a not in known]
        if missing:
            return (
                f"{m.creator} promised `{describe(p.spec)}` about {', '.join(missing)}, which "
                f"{'is not a node' if len(missing) == 1 else 'are not nodes'} of this run"
            )
        finding = region.check(m, self.state_of)
        if finding is not None:
            return f"{m.creator} promised `{describe(p.spec)}`, but {finding.reason}: the promise was false when made"
        return None

    def region_of(self, node: str) -> tuple[Active, Region] | None:
        """The open shape region whose growth ``node``'s tasks are bound by, if any."""
        for active, region in self.regions:  # a region binds what its nodes create only without `by:`
            if (
                not region.closed
                and (node == region.first or node in region.members)
                and node != region.last
                and active.by is None
            ):
                return active, region
        return None

    # -- questions from the scheduler and the projection -------------------------------------

    def binding(self, creator: str) -> list[Active]:
        """The promises that restrict what a task of ``creator`` may do."""
        operator = self._operator(creator)
        return [p for p in self.active if matches(p.by, creator, operator)]

    def may_add_edge_anywhere(self, creator: str) -> bool:
        """Could a running task of ``creator`` still add an edge into some pending node?"""
        if not self.graph.resolved[creator].dynamic:
            return False
        for p in self.binding(creator):
            if p.spec.kind == "static":
                return False
            if p.spec.kind == "no_new_edges" and p.arg("from") is None and p.arg("to") is None:
                return False
            if p.spec.kind == "only_edges" and not (p.spec.args or {}).get("pairs"):
                return False
        return True

    def may_add_edge_into_any(self, creator: str) -> bool:
        """May a running task of ``creator`` add an edge into every pending node alike?

        True means no promise singles out targets, so the scheduler need not ask node by node.
        """
        if not self.may_add_edge_anywhere(creator):
            return False
        return not any(
            p.spec.kind == "only_edges" or (p.spec.kind == "no_new_edges" and p.arg("to") is not None)
            for p in self.binding(creator)
        )

    def may_add_edge_into(self, creator: str, target: str) -> bool:
        """Could a running task of ``creator`` still add an edge into ``target``?"""
        if not self.may_add_edge_anywhere(creator):
            return False
        operator = self._operator(target)
        for p in self.binding(creator):
            if p.spec.kind == "no_new_edges" and p.arg("from") is None and matches(p.arg("to"), target, operator):
                return False
            if p.spec.kind == "only_edges" and not any(
                matches(_patterns(pair[1]), target, operator) for pair in p.spec.args["pairs"]
            ):
                return False
        return True

    def node_allowance(self, creator: str) -> tuple[bool, int | None, tuple[str, ...] | None]:
        """May anything still appear through ``creator``; at most how many; matching what?

        This is about everything ``creator``'s new nodes may create in turn, too: a limit
        counts only when it binds every task (no ``by:``), since a node ``creator`` makes may
        be dynamic and not be bound by a promise that names ``creator``.
        """
        if not self.graph.resolved[creator].dynamic:
            return False, 0, None
        remaining: int | None = None
        allowed: tuple[str, ...] | None = None
        for p in self.binding(creator):
            if p.spec.kind in ("static", "no_new_nodes"):
                return False, 0, None
            if p.by is not None:
                continue
            if p.spec.kind == "max_nodes":
                left = max(0, (p.spec.args or {}).get("max", 0) - p.count)
                remaining = left if remaining is None else min(remaining, left)
            if p.spec.kind == "only_nodes":
                match = p.arg("match") or ()
                allowed = match if allowed is None else tuple(x for x in allowed if x in match)
        if remaining == 0 or allowed == ():
            return False, 0, allowed
        return True, remaining, allowed

    # -- helpers ----------------------------------------------------------------------------

    def _operator(self, node: str) -> str | None:
        spec = self.graph.nodes.get(node)
        return spec.operator if spec is not None else None

    def _operator_in(self, node: str, m: Mutation) -> str | None:
        for n in m.nodes:
            if n.id == node:
                return n.operator
        return self._operator(node)

    def _edge_matches(
        self, e: EdgeSpec, sources: tuple[str, ...] | None, targets: tuple[str, ...] | None, m: Mutation
    ) -> bool:
        return matches(sources, e.source, self._operator_in(e.source, m)) and matches(
            targets, e.target, self._operator_in(e.target, m)
        )

    def _edge_allowed(self, e: EdgeSpec, p: Active, m: Mutation) -> bool:
        return any(
            self._edge_matches(e, _patterns(pair[0]), _patterns(pair[1]), m)
            for pair in (p.spec.args or {}).get("pairs", [])
        )


def _nodes(nodes: list[NodeSpec]) -> str:
    ids = ", ".join(n.id for n in nodes[:5])
    return ids + (" ..." if len(nodes) > 5 else "")


def _describe(m: Mutation, promises: bool = True) -> str:
    parts = []
    if m.nodes:
        parts.append(f"node{'s' if len(m.nodes) > 1 else ''} {_nodes(m.nodes)}")
    if m.edges:
        parts.append(
            "edge"
            + ("s " if len(m.edges) > 1 else " ")
            + ", ".join(str(e) for e in m.edges[:5])
            + (" ..." if len(m.edges) > 5 else "")
        )
    if m.promises and promises:
        parts.append(f"{len(m.promises)} promise(s)")
    return " and ".join(parts) or "nothing"
