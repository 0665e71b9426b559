"""A `workflow:` node during a run: one node standing for its inner nodes, unless expanded.

A run never has the `workflow:` node itself: it has the inner nodes, ids prefixed with the
node's id (``clean/read``). The run layer asks ``folder`` which canvas node stands for a run
node; a folded group's inner nodes are not drawn, their wires are the workflow's own, and the
`workflow:` node shows their aggregate state (the engine's ``aggregate_state``, as ``weft
show`` gives it) and how many of them have finished. *Expand* in its context menu draws the
inner nodes as created nodes are drawn; *Collapse* folds them again.

A loop's iterations are folded the same way: ``refine@2``, ``refine@3`` (created by the loop's
latch as it goes round) are drawn as their workflow node ``refine``, which shows the latest
iteration's state and how many iterations there are so far (``×3``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.events import NodeState
from engine.history.fold import aggregate_state

if TYPE_CHECKING:
    from studio.canvas.canvas import Canvas
    from studio.canvas.items import NodeLook
    from studio.model.runmodel import RunModel


class Folds:
    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        #: `workflow:` nodes a person asked to see in full during this run
        self.expanded: set[str] = set()

    def loop_of(self, run_id: str) -> str | None:
        """The loop node of the canvas standing for run node ``run_id`` (itself or an iteration)."""
        doc = self.canvas.document
        if doc is None:
            return None
        base, at, number = run_id.rpartition("@")
        node = base if at and number.isdigit() else run_id
        return node if node in self.canvas.nodes and node in doc.loop_members() else None

    def iterations(self, model: RunModel, node: str) -> list[str]:
        """The run's instances of loop node ``node``, first to last (``refine``, ``refine@2``, ...)."""
        found = [(1, node)] if node in model.nodes else []
        prefix = node + "@"
        for run_id, record in model.nodes.items():
            if run_id.startswith(prefix) and run_id[len(prefix) :].isdigit() and record.state is not NodeState.RETIRED:
                found.append((int(run_id[len(prefix) :]), run_id))
        return [run_id for _k, run_id in sorted(found)]

    def group_of(self, run_id: str) -> str | None:
        """The `workflow:` node of the canvas that run node ``run_id`` is part of (expanded or not),
        or the loop node it is an iteration of."""
        loop = self.loop_of(run_id)
        if loop is not None:
            return loop
        head, slash, _rest = run_id.partition("/")
        doc = self.canvas.document
        if not slash or doc is None or head not in self.canvas.nodes:
            return None
        return head if doc.subworkflow(head) is not None else None

    def folded(self, run_id: str) -> str | None:
        """The `workflow:` node drawn in place of run node ``run_id``, or None when it is drawn."""
        group = self.group_of(run_id)
        return group if group is not None and group not in self.expanded else None

    def members(self, model: RunModel, group: str) -> list[str]:
        if self.loop_of(group) is not None:
            return self.iterations(model, group)
        prefix = group + "/"
        return [n for n, r in model.nodes.items() if n.startswith(prefix) and r.state is not NodeState.RETIRED]

    def paint(self, model: RunModel, group: str, item: NodeLook) -> None:
        """The group's aggregate state, its share of finished inner nodes, and a count."""
        if self.loop_of(group) is not None:
            self._paint_loop(model, group, item)
            return
        records = [model.nodes[n] for n in self.members(model, group)]
        if not records:
            return
        states = [r.state or NodeState.PENDING for r in records]
        done = sum(1 for s in states if s.is_terminal)
        item.run_state = aggregate_state(states)
        item.progress = done / len(states) if item.run_state is NodeState.RUNNING else None
        item.note = f"{done} of {len(states)} inner nodes finished" + (
            "" if group in self.expanded else " (right-click, Expand, to see them)"
        )
        item.refresh()

    def _paint_loop(self, model: RunModel, node: str, item: NodeLook) -> None:
        """The latest iteration's state and progress, and how many iterations there are so far."""
        found = self.iterations(model, node)
        item.iterations = len(found)
        if not found:
            item.run_state = item.progress = None
            item.note = ""
            item.refresh()
            return
        last = model.nodes[found[-1]]
        item.run_state = last.state
        item.progress = last.progress
        states = ", ".join(f"{n}: {model.nodes[n].state or NodeState.PENDING}" for n in found)
        item.note = "<br/>".join(x for x in (last.reason or "", f"iterations: {states}") if x)
        item.refresh()

    def action(self, model: RunModel | None, node_id: str) -> str | None:
        """'Expand' on a `workflow:` node with inner nodes in the run, 'Collapse' on an expanded
        one or on one of its inner nodes; None otherwise."""
        if model is None or self.loop_of(node_id) is not None:
            return None  # a loop's iterations are counted on its nodes, listed in the run panel
        group = node_id if node_id in self.canvas.nodes else self.group_of(node_id)
        if group is None or not self.members(model, group):
            return None
        if group in self.expanded:
            return "Collapse"
        return "Expand" if node_id == group else None
