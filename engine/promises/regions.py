"""Shape regions: which nodes a shape promise is about, and whether they keep its form.

SPEC §5: the region of ``shape: "A -> ... -> B"`` is every node on a path from A to B, with
every node created by a task inside the region or by A. Skipped nodes are not counted, and
nodes are compared by order (transitive reduction). A region is checked

* at every mutation that touches it, leniently: refused as soon as no continuation (adding
  nodes and edges, skipping nodes that may still be skipped) can reach the form;
* before any of its nodes (or a node just outside it, joined to it by an edge) starts: a node
  that has started takes no more incoming edges (mutation rule 2), so what comes before it is
  settled for good, and a continuation must leave it so (``check_start``);
* completely when B is about to start: the region must have the form now, and be closed
  (no edge joins it to the outside but through A and B). After that it takes no more nodes.

The lenient check runs on a few representatives of each group of *twins* (nodes that match
the same atoms and have the same neighbours): twins are interchangeable, and the question is
closed under taking sub-orders, so a refusal on representatives is a refusal of the region.
A mutation that only adds a twin to a group that already has more members than the pattern
has atoms is accepted in O(size of the mutation): that keeps a map of 10,000 copies cheap.
Starts likewise: once more members of a twin group than the pattern has atoms have started,
the start of one more is not checked again (like a search past its budget, this only leaves
the decision to the complete check before B); a start that settles nothing new (a node whose
predecessors have not all started) costs only its own edges.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from engine.events import NodeState
from engine.languages.shape import Atom, Matcher, Order, Shape, bits, compile_shape
from engine.promises.graph import Mutation, RunGraph
from engine.workflow.model import PromiseSpec

StateOf = Callable[[str], NodeState]
PENDING = NodeState.PENDING


def _pending(node: str) -> NodeState:
    return PENDING


#: states of a node that has started: no edge may point into it any more
STARTED = frozenset({NodeState.RUNNING, NodeState.WAITING, NodeState.SUCCEEDED})


def region_members(
    first: str,
    last: str,
    successors: Callable[[str], Iterable[str]],
    predecessors: Callable[[str], Iterable[str]],
    children: Callable[[str], Iterable[str]],
) -> set[str]:
    """The nodes of the region from anchor ``first`` to anchor ``last`` (both exist), SPEC §5.

    Every node on a path from ``first`` to ``last``, then every node created by a task of the
    region other than ``last`` (``children(node)``: the nodes it created), and so on down. The
    run's checks and the studio's frames both ask here, so they never disagree on a member.
    """
    ancestors, stack = {last}, [last]
    while stack:
        for p in predecessors(stack.pop()):
            if p not in ancestors:
                ancestors.add(p)
                stack.append(p)
    core, stack = {first, last}, [first]
    while stack:
        for s in successors(stack.pop()):
            if s in ancestors and s not in core:
                core.add(s)
                stack.append(s)
    out, stack = set(core), [n for n in core if n != last]
    while stack:
        for child in children(stack.pop()):
            if child not in out:
                out.add(child)
                stack.append(child)
    return out


def _h(node: str) -> int:
    return hash(("weft-region", node))


class _View:
    """The run's graph, plus a mutation not applied yet."""

    def __init__(self, graph: RunGraph, m: Mutation | None = None) -> None:
        self.graph = graph
        self.extra_succ: dict[str, list[str]] = {}
        self.extra_pred: dict[str, list[str]] = {}
        self.extra_when: set[str] = set()
        self.extra_children: dict[str, list[str]] = {}
        self.extra_ops: dict[str, str | None] = {}
        if m is not None:
            for n in m.nodes:
                self.extra_ops[n.id] = n.operator
                if m.creator is not None:
                    self.extra_children.setdefault(m.creator, []).append(n.id)
            for e in m.edges:
                self.extra_succ.setdefault(e.source, []).append(e.target)
                self.extra_pred.setdefault(e.target, []).append(e.source)
                if e.when is not None:
                    self.extra_when.add(e.target)

    def succ(self, n: str) -> list[str]:
        g = self.graph
        return [g.edges[i].target for i in g.outgoing.get(n, ())] + self.extra_succ.get(n, [])

    def pred(self, n: str) -> list[str]:
        g = self.graph
        return [g.edges[i].source for i in g.incoming.get(n, ())] + self.extra_pred.get(n, [])

    def has_when_into(self, n: str) -> bool:
        g = self.graph
        return n in self.extra_when or any(g.edges[i].when is not None for i in g.incoming.get(n, ()))

    def children(self, n: str) -> list[str]:
        return self.graph.children.get(n, []) + self.extra_children.get(n, [])

    def operator(self, n: str) -> str | None:
        if n in self.extra_ops:
            return self.extra_ops[n]
        spec = self.graph.nodes.get(n)
        return spec.operator if spec is not None else None

    def exists(self, n: str) -> bool:
        return n in self.graph.nodes or n in self.extra_ops


@dataclass
class Finding:
    """Why a region cannot keep its form (``nodes``: the ones to show a person)."""

    reason: str
    nodes: tuple[str, ...] = ()


class Region:
    def __init__(self, spec: PromiseSpec, graph: RunGraph) -> None:
        self.spec = spec
        self.shape: Shape = compile_shape(spec.args, spec.where)
        self.first, self.last = self.shape.anchors
        self.graph = graph
        self.closed = False
        self.cap = self.shape.size() + 1
        self.atoms = self.shape.atoms()
        self.members: set[str] = set()
        self.keys: dict[str, tuple[int, int, int]] = {}
        self.key_count: Counter[tuple[int, int, int]] = Counter()
        #: members seen starting (``started``), counted by their twin key like ``key_count``
        self.started: set[str] = set()
        self.started_count: Counter[tuple[int, int, int]] = Counter()
        self._fast: Mutation | None = None
        self.rebuild()

    # -- membership -------------------------------------------------------------------------

    def members_in(self, view: _View) -> set[str]:
        if not (view.exists(self.first) and view.exists(self.last)):
            return set()
        return region_members(self.first, self.last, view.succ, view.pred, view.children)

    def rebuild(self) -> None:
        view = _View(self.graph)
        self.members = self.members_in(view)
        self.keys.clear()
        self.key_count.clear()
        self.started_count.clear()
        for n in self.members:
            self._index(n, self._key(view, n, self.members))

    def _atom_mask(self, node: str, operator: str | None) -> int:
        if node in (self.first, self.last):
            return -1
        return sum(1 << k for k, a in enumerate(self.atoms) if a.matches(node, operator))

    def _key(self, view: _View, n: str, members: set[str]) -> tuple[int, int, int]:
        hp = hs = 0
        for p in view.pred(n):
            if p in members:
                hp ^= _h(p)
        for s in view.succ(n):
            if s in members:
                hs ^= _h(s)
        return self._atom_mask(n, view.operator(n)), hp, hs

    def _index(self, n: str, key: tuple[int, int, int]) -> None:
        old = self.keys.get(n)
        if old is not None:
            self.key_count[old] -= 1
            if n in self.started:
                self.started_count[old] -= 1
        self.keys[n] = key
        self.key_count[key] += 1
        if n in self.started:
            self.started_count[key] += 1

    def mark_started(self, node: str) -> None:
        """``node`` passed ``check_start`` and starts now."""
        if node in self.members and node not in self.started:
            self.started.add(node)
            self.started_count[self.keys[node]] += 1

    # -- checks -----------------------------------------------------------------------------

    def touches(self, m: Mutation) -> bool:
        members = self.members
        return any(m.creator in members or m.creator == self.first for _ in m.nodes) or any(
            e.source in members or e.target in members for e in m.edges
        )

    def check(self, m: Mutation, state_of: StateOf) -> Finding | None:
        """Why ``m`` leaves the region no way to its form; None if it still has one."""
        self._fast = None
        if self._just_more_twins(m):
            self._fast = m
            return None
        view = _View(self.graph, m)
        if not self.touches(m):
            if not m.edges:
                return None
            members = self.members_in(view)  # edges elsewhere may still bring nodes onto a path
            if members == self.members:
                return None
        else:
            members = self.members_in(view)
        if self.closed:
            grown = [n for n in members if n not in self.members]
            inside = [
                e
                for e in m.edges
                if (e.source in members and e.source != self.last) or (e.target in members and e.target != self.first)
            ]
            if grown or inside:
                what = grown[0] if grown else str(inside[0])
                return Finding(
                    f"{self.last} has started, so the region from {self.first} to {self.last} is "
                    f"complete and takes nothing more ({what})",
                    tuple(grown),
                )
            return None
        for e in m.edges:
            finding = self._border(view, members, e.source, e.target, state_of)
            if finding is not None:
                return finding
        order, index, thinned = self._order(view, members, state_of, lenient=True)
        if Matcher(self.shape, order).lenient():
            return None
        if thinned:  # decide a refusal on every node, not on representatives (see _order)
            order, index, _ = self._order(view, members, state_of, lenient=True, thin=False)
            if Matcher(self.shape, order).lenient():
                return None
        return self._explain(view, members, order, index, m, state_of)

    def check_start(self, node: str, state_of: StateOf) -> Finding | None:
        """``node`` (not the last anchor) is about to start: does that leave the region no way
        to its form? Once started, a node takes no more incoming edges, so nothing new may
        come before it. Cheap when nothing is settled by the start: a node outside the region
        costs its incoming edges, and one more started twin of a large group costs nothing."""
        if self.closed or node == self.first:
            return None
        view = _View(self.graph)
        members = self.members
        if node not in members:  # just outside: joined to the region by an edge into it?
            for p in view.pred(node):
                if p in members:
                    finding = self._border(view, members, p, node, state_of, starting=node)
                    if finding is not None:
                        return finding
            return None
        for p in view.pred(node):
            finding = self._border(view, members, p, node, state_of, starting=node)
            if finding is not None:
                return finding
        for succ in view.succ(node):
            finding = self._border(view, members, node, succ, state_of, starting=node)
            if finding is not None:
                return finding
        if not all(p in members and state_of(p) in STARTED for p in view.pred(node)):
            return None  # what comes before it may still grow: its start settles nothing
        if self.started_count[self.keys.get(node, (0, 0, 0))] >= self.cap:
            return None  # one more copy of a group that has started many: see the module's doc
        order, index, thinned = self._order(view, members, state_of, lenient=True, starting=node)
        if Matcher(self.shape, order).lenient():
            return None
        if thinned:
            order, index, _ = self._order(view, members, state_of, lenient=True, starting=node, thin=False)
            if Matcher(self.shape, order).lenient():
                return None
        return self._explain_start(node, order, index)

    def _border(
        self, view: _View, members: set[str], source: str, target: str, state_of: StateOf, starting: str = ""
    ) -> Finding | None:
        """An edge between the region and the outside (not through A or B) that can never
        become an edge inside it: its outer end can no longer join the region, or would not
        fit in it if it did."""
        inside_source, inside_target = source in members, target in members
        if inside_source == inside_target:
            return None
        if inside_source and source != self.last:
            if not self._may_join(view, target, state_of, starting):
                return Finding(
                    f"edge {source} -> {target} leaves the region other than through {self.last}, and "
                    f"{target} cannot join the region (it matches no part of `{self.shape}`)",
                    (source, target),
                )
        elif inside_target and target != self.first:
            if not self._may_enter(view, source, state_of, starting):
                return Finding(
                    f"edge {source} -> {target} enters the region from outside (only {self.first} may lead into "
                    f"it), and {source} can no longer join the region",
                    (source, target),
                )
        return None

    def _may_join(self, view: _View, node: str, state_of: StateOf, starting: str) -> bool:
        """Could ``node``, just after a region node, still join the region without breaking it?
        It joins by getting a path to B; then it must match an atom, or be skipped."""
        if self._atom_mask(node, view.operator(node)) != 0:
            return True
        state = state_of(node)
        if state is NodeState.SKIPPED:
            return True
        if state != PENDING or node == starting:
            return False
        return view.has_when_into(node) or any(state_of(p) is NodeState.SKIPPED for p in view.pred(node))

    def _may_enter(self, view: _View, node: str, state_of: StateOf, starting: str) -> bool:
        """Could ``node``, just before a region node, still join the region? Only if A leads to
        it or to one of its creators: settled once they have all started (their incoming
        edges are final)."""
        current: str | None = node
        while current is not None:
            if current == self.first or (current != starting and state_of(current) not in STARTED):
                return True
            if self.graph.dag.has_path(self.first, current):
                return True
            current = self.graph.created_by.get(current)
        return False

    def check_complete(self, state_of: StateOf) -> Finding | None:
        """When the last anchor is about to start: the region must have its form now."""
        view = _View(self.graph)
        members = self.members_in(view)
        self.closed = True
        if self.first not in members or not self._reaches(view):
            return Finding(f"{self.last} is about to start, but no path leads from {self.first} to it")
        for n in sorted(members):  # one entry, one exit: only A is entered, only B is left
            if n != self.first:
                for p in view.pred(n):
                    if p not in members:
                        return Finding(
                            f"edge {p} -> {n} enters the region from outside (only {self.first} may lead into it)",
                            (p, n),
                        )
            if n != self.last:
                for s in view.succ(n):
                    if s not in members:
                        return Finding(f"edge {n} -> {s} leaves the region other than through {self.last}", (n, s))
        order, _, _ = self._order(view, members, state_of, lenient=False)
        if Matcher(self.shape, order, budget=1_000_000).exact():
            return None
        counted = [order.ids[i] for i in order.order]
        listed = ", ".join(counted[:8]) + (" ..." if len(counted) > 8 else "")
        return Finding(
            f"{self.last} is about to start, but the region ({listed}) does not have the form `{self.shape}`",
            tuple(counted),
        )

    def check_registered(self, final: bool) -> Finding | None:
        """The registered workflow, before anything runs: can the region still get its form?
        ``final``: no task may change the graph (no node is dynamic), so what is drawn is all
        there will be, and only a `when` may still take a node out (a skipped node does not
        count). Otherwise a continuation may add nodes and edges too (``check``'s rule)."""
        view = _View(self.graph)
        members = self.members_in(view)
        if final and (self.first not in members or not self._reaches(view)):
            return Finding(f"no path leads from {self.first} to {self.last}", (self.first, self.last))
        for n in sorted(members):
            for p in view.pred(n):
                if p not in members and n != self.first:
                    found = self._border_of(view, members, p, n, final)
                    if found is not None:
                        return found
            for succ in view.succ(n):
                if succ not in members and n != self.last:
                    found = self._border_of(view, members, n, succ, final)
                    if found is not None:
                        return found
        order, _, _ = self._order(view, members, _pending, lenient=True, thin=False)
        matcher = Matcher(self.shape, order)
        optional = len(order.ids) < len(members)  # nodes behind a `when` may still be skipped
        if matcher.lenient() if not final or optional else matcher.exact():
            return None
        listed = ", ".join(order.ids[i] for i in order.order)
        return Finding(f"the region ({listed}) does not have the form `{self.shape}`", tuple(order.ids))

    def _border_of(self, view: _View, members: set[str], source: str, target: str, final: bool) -> Finding | None:
        if not final:
            return self._border(view, members, source, target, _pending)
        outer = target if source in members else source
        if view.has_when_into(outer):
            return None  # it may be skipped, and then the edge does not count
        if source in members:
            return Finding(
                f"edge {source} -> {target} leaves the region other than through {self.last}", (source, target)
            )
        return Finding(
            f"edge {source} -> {target} enters the region from outside (only {self.first} may lead into it)",
            (source, target),
        )

    def _reaches(self, view: _View) -> bool:
        seen, stack = {self.first}, [self.first]
        while stack:
            for s in view.succ(stack.pop()):
                if s == self.last:
                    return True
                if s not in seen:
                    seen.add(s)
                    stack.append(s)
        return False

    def _just_more_twins(self, m: Mutation) -> bool:
        """Does ``m`` only add twins to groups already larger than the pattern? (then no check)"""
        if self.closed or not m.nodes or m.promises:
            return False
        new = {n.id: n for n in m.nodes}
        preds: dict[str, int] = dict.fromkeys(new, 0)
        succs: dict[str, int] = dict.fromkeys(new, 0)
        for e in m.edges:
            if e.when is not None:
                return False
            if e.target in new and e.source in self.members:
                preds[e.target] ^= _h(e.source)
            elif e.source in new and e.target in self.members:
                succs[e.source] ^= _h(e.target)
            else:
                return False
        connected = {e.target for e in m.edges} | {e.source for e in m.edges}
        for n in m.nodes:
            if n.id not in connected and m.creator not in self.members:
                return False
            key = (self._atom_mask(n.id, n.operator), preds[n.id], succs[n.id])
            if key[0] in (0, -1) or self.key_count.get(key, 0) < self.cap:
                return False
        return True

    def applied(self, m: Mutation) -> None:
        if self._fast is m or (self._fast is None and self._just_more_twins(m)):
            new = {n.id: [self._atom_mask(n.id, n.operator), 0, 0] for n in m.nodes}
            self.members.update(new)
            for e in m.edges:  # every edge joins a new twin and an old member: O(1) each
                if e.target in new:
                    new[e.target][1] ^= _h(e.source)
                    mask, hp, hs = self.keys[e.source]
                    self._index(e.source, (mask, hp, hs ^ _h(e.target)))
                else:
                    new[e.source][2] ^= _h(e.target)
                    mask, hp, hs = self.keys[e.target]
                    self._index(e.target, (mask, hp ^ _h(e.source), hs))
            for node, (mask, hp, hs) in new.items():
                self._index(node, (mask, hp, hs))
        elif self.touches(m) or m.creator is None:
            self.rebuild()
        else:
            # edges between outside nodes can still bring them onto a path from A to B
            before = len(self.members)
            if m.edges and len(self.members_in(_View(self.graph))) != before:
                self.rebuild()
        self._fast = None

    # -- the order a check reads ------------------------------------------------------------

    def _order(
        self,
        view: _View,
        members: set[str],
        state_of: StateOf,
        lenient: bool,
        starting: str | None = None,
        thin: bool = True,
    ) -> tuple[Order, dict[str, int], bool]:
        """The region's order on its counted nodes (lenient: without the nodes that may still
        be skipped, with what has started frozen, and, with ``thin``, a few of each group of
        twins); and whether twins were left out.

        A node is frozen when it has started (``starting`` is about to) and so has everything
        before it, all inside the region: then nothing may ever come before it that is not
        there now. Frozen twins are thinned like the others, so a refusal found on them is
        decided again on every node (``thin=False``) before it stands."""
        topo = self._topo(view, members)
        optional: set[str] = set()
        skipped = {n for n in members if state_of(n) is NodeState.SKIPPED}
        frozen: set[str] = set()
        for n in topo:
            state = state_of(n)
            if lenient and (n == starting or state in STARTED):
                if n == self.first or all(p in frozen for p in view.pred(n)):
                    frozen.add(n)
            if n in (self.first, self.last) or state != PENDING:
                continue
            if view.has_when_into(n) or any(p in optional or p in skipped for p in view.pred(n)):
                optional.add(n)
        dropped = skipped | (optional if lenient else set())
        chosen: list[str] = []
        if lenient:
            seen: Counter[tuple[int, bool, frozenset[str], frozenset[str]]] = Counter()
            for n in topo:
                if n in dropped:
                    continue
                if n in (self.first, self.last) or not thin:
                    chosen.append(n)
                    continue
                key = (
                    self._atom_mask(n, view.operator(n)),
                    n in frozen,
                    frozenset(p for p in view.pred(n) if p in members),
                    frozenset(s for s in view.succ(n) if s in members),
                )
                seen[key] += 1
                if seen[key] <= self.cap:
                    chosen.append(n)
        else:
            chosen = [n for n in topo if n not in dropped]
        thinned = len(chosen) < len(topo) - len(dropped)
        # reachability over every member (paths may run through dropped nodes)
        position = {n: i for i, n in enumerate(topo)}
        below = [0] * len(topo)
        for i, n in enumerate(topo):
            acc = 0
            for p in view.pred(n):
                j = position.get(p)
                if j is not None:
                    acc |= below[j] | (1 << j)
            below[i] = acc
        index = {n: i for i, n in enumerate(chosen)}
        if len(chosen) == len(topo):
            mine = below
        else:
            back = {position[n]: i for i, n in enumerate(chosen)}
            mask = sum(1 << position[n] for n in chosen)
            mine = [sum(1 << back[b] for b in bits(below[position[n]] & mask)) for n in chosen]
        above = [0] * len(chosen)
        for j, b in enumerate(mine):
            for i in bits(b):
                above[i] |= 1 << j
        anchors = {index[a]: a for a in (self.first, self.last) if a in index}
        frozen_bits = sum(1 << i for i, n in enumerate(chosen) if n in frozen)
        order = Order(
            chosen, [view.operator(n) for n in chosen], mine, above, anchors, list(range(len(chosen))), frozen_bits
        )
        return order, index, thinned

    def _topo(self, view: _View, members: set[str]) -> list[str]:
        indegree = {n: 0 for n in members}
        for n in members:
            for s in view.succ(n):
                if s in indegree:
                    indegree[s] += 1
        ready = sorted(n for n, d in indegree.items() if d == 0)
        out = []
        while ready:
            n = ready.pop()
            out.append(n)
            for s in view.succ(n):
                if s in indegree:
                    indegree[s] -= 1
                    if indegree[s] == 0:
                        ready.append(s)
        return out

    def _explain(
        self, view: _View, members: set[str], order: Order, index: dict[str, int], m: Mutation, state_of: StateOf
    ) -> Finding:
        pattern = f"`{self.shape}`"
        touched = [n.id for n in m.nodes if n.id in members] + [
            end for e in m.edges for end in (e.source, e.target) if end in members
        ]
        for n in dict.fromkeys(touched):
            if n not in (self.first, self.last) and self._atom_mask(n, view.operator(n)) == 0:
                return Finding(
                    f"{n} is in the region from {self.first} to {self.last}, but matches no part of {pattern}", (n,)
                )
        others = [order.ids[i] for i in order.order if order.ids[i] not in (self.first, self.last)]
        for n in dict.fromkeys(t for t in touched if t in index):
            if n in (self.first, self.last):
                continue
            if not self._fits([n], order, index):
                return Finding(f"{pattern} has no place for {n} where it is", (n,))
            for other in others[:64]:
                if other != n and not self._fits([n, other], order, index):
                    related = order.below[index[n]] >> index[other] & 1 or order.below[index[other]] >> index[n] & 1
                    if related:
                        return Finding(
                            f"{other} and {n} follow one another, which {pattern} does not allow", (other, n)
                        )
                    first, second = sorted((other, n))
                    return Finding(f"{pattern} allows only one of {first} and {second}", (first, second))
        return Finding(
            f"the region from {self.first} to {self.last} can no longer take the form {pattern}",
            tuple(dict.fromkeys(touched)),
        )

    def _explain_start(self, node: str, order: Order, index: dict[str, int]) -> Finding:
        pattern = f"`{self.shape}`"
        head = f"{node} is about to start"
        if not self._fits([node], order, index, closed=True):
            return Finding(
                f"{head}, but {pattern} needs more before it, and nothing can come before a node that has started",
                (node,),
            )
        mine = index[node]
        for j in bits(order.frozen & ~(1 << mine)):
            other = order.ids[j]
            if other in (self.first, self.last) or self._fits([node, other], order, index, closed=True):
                continue
            if order.below[mine] >> j & 1 or order.below[j] >> mine & 1:
                return Finding(f"{head}, after {other}, which {pattern} does not allow", (other, node))
            return Finding(
                f"{head} beside {other}: neither comes before the other, and no edge can join them once both have "
                f"started, but {pattern} does not allow them side by side",
                (other, node),
            )
        return Finding(
            f"{head}, and then the region from {self.first} to {self.last} can no longer take the form {pattern}",
            (node,),
        )

    def _fits(self, nodes: list[str], order: Order, index: dict[str, int], closed: bool = False) -> bool:
        """Does the sub-order on the anchors and ``nodes`` (``closed``: with every node before
        them) still fit the pattern leniently?"""
        keep = [i for i in order.order if order.ids[i] in (self.first, self.last, *nodes)]
        mask = sum(1 << i for i in keep)
        if closed:
            for i in keep:
                if order.ids[i] in nodes:
                    mask |= order.below[i]
        return Matcher(self.shape, order).match(self.shape.top, mask, False)

    # -- for the projection -----------------------------------------------------------------

    def addable(self, state_of: StateOf) -> tuple[list[str], list[list[str]]]:
        """What the region may still take: (atoms it takes any number of, groups of which it
        takes one). Empty when it can take nothing more."""
        if self.closed:
            return [], []
        view = _View(self.graph)
        order, _, _ = self._order(view, self.members_in(view), state_of, lenient=True)

        def fits(atoms: list[Atom]) -> bool:
            return _grown(order, [a.name for a in atoms], self.shape)

        possible = [a for a in self.atoms if fits([a])]
        unbounded = [a for a in possible if fits([a] * self.cap)]
        if len(unbounded) == len(possible) and fits(possible):
            return [str(a) for a in unbounded], []
        groups: list[list[Atom]] = []
        rest = [a for a in possible if a not in unbounded]
        while rest:
            group = [rest.pop(0)]
            for atom in list(rest):
                if fits(group + [atom]):
                    group.append(atom)
                    rest.remove(atom)
            groups.append(group)
        return [str(a) for a in unbounded], [[str(a) for a in g] for g in groups]


def _grown(order: Order, names: list[str], shape: Shape) -> bool:
    """Would the order still fit the shape with fresh, unrelated nodes named ``names``?"""
    n = len(order.ids)
    ids = list(order.ids) + [f"\x00ghost{k}" for k in range(len(names))]
    grown = Order(
        ids,
        [*order.operators, *names],
        list(order.below) + [0] * len(names),
        list(order.above) + [0] * len(names),
        order.anchors,
        list(order.order) + list(range(n, len(ids))),
    )
    return Matcher(shape, grown).lenient()
