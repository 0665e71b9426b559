"""The run drawn over the workflow: states, progress, nodes tasks created, ghosts, a broken promise.

Nothing here touches the document or the undo stack. Workflow nodes are NodeGraphQt items
(people wire them); what the run adds — created nodes, ghosts, refused nodes and their wires —
are light scene items of their own, so a task that creates a thousand nodes costs the window
little. They are added in slices of at most ``BUDGET`` seconds per turn of the event loop, each
in the free slot beside its creator (or its inputs): nothing a person placed moves. Many
siblings are drawn as one stack (``stacks.py``) until someone expands it; a created node that
feeds a node left of it pushes that node (and what follows it) right, if the studio placed it,
so wires keep flowing left to right.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import networkx as nx
from PySide6 import QtCore, QtWidgets

from engine.events import NodeState
from studio.canvas.items import GHOST, REFUSED, SPAWNED, NodeLook, RunEdgeItem, RunNodeItem, where_text
from studio.canvas.layout import Grid, beside
from studio.canvas.stacks import STACK, THRESHOLD, Group, StackItem, group_key
from studio.canvas.subflows import Folds
from studio.model.document import AFTER, THEN, EdgeKey
from studio.model.runmodel import Changes, RunModel, edge_key

if TYPE_CHECKING:
    from studio.canvas.canvas import Canvas

BUDGET = 0.03  # seconds of node creation per turn of the event loop
REPAINT_MS = 150  # while items pour in, the view is repainted at this pace, not after every slice
SPAWNED_EDGE = (230, 140, 40, 255)
GHOST_EDGE = (150, 150, 150, 255)
REFUSED_EDGE = (235, 70, 70, 255)


class RunLayer:
    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.model: RunModel | None = None
        self.items: dict[str, RunNodeItem] = {}  # created, ghost and refused nodes
        self.edges: dict[EdgeKey, RunEdgeItem] = {}  # wires the run drew (not the workflow's)
        self._edges_of: dict[str, set[EdgeKey]] = {}
        self.positions: dict[str, tuple[float, float]] = {}
        self.grid = Grid()
        self._preds: dict[str, list[str]] = {}
        self._succs: dict[str, list[str]] = {}
        self._model_edges_of: dict[str, list[EdgeKey]] = {}  # every edge of the run, by its ends
        #: siblings by (creator, operator); ``stack_of`` names the stack drawing a member now
        self.groups: dict[tuple[str, str], Group] = {}
        self.group_of: dict[str, Group] = {}
        self.stack_of: dict[str, str] = {}
        self.folds = Folds(canvas)  # `workflow:` nodes standing for their inner nodes
        self._dirty: set[str] = set()  # stacks to repaint after this batch
        self._expanded: set[tuple[str, str]] = set()  # groups a person asked to see in full
        #: workflow nodes the run pushed right (their first position, restored on reset)
        self._shifted: dict[str, tuple[float, float]] = {}
        #: scroll to nodes as they are created (View > Follow New Nodes)
        self.follow = True
        self._last_created: str | None = None
        self._followed_at = 0.0
        self._queue: deque[str] = deque()
        self._edge_queue: list[tuple[EdgeKey, tuple[int, ...], bool]] = []
        self._pumping = False
        #: called with (node id, time.time()) when a created node's item appears (benchmarks)
        self.shown_hooks: list[Callable[[str, float], None]] = []
        self._bursting = False
        self._repaint = QtCore.QTimer(canvas)
        self._repaint.setInterval(REPAINT_MS)
        self._repaint.timeout.connect(lambda: self.canvas.viewer.viewport().update())
        canvas.viewer.moved_nodes.connect(self._nodes_moved)

    @property
    def nodes(self) -> dict[str, RunNodeItem]:
        return self.items

    # -- life cycle ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the bare workflow: no run items, no states."""
        for key in list(self.edges):
            self._remove_edge(key)
        for node_id in list(self.items):
            self._remove(node_id)
        for node in self.canvas.nodes.values():
            item = node.view
            item.run_state, item.progress, item.culprit, item.note = None, None, False, ""
            item.iterations = 0
            item.refresh()
        self.model = None
        self.positions.clear()
        self._preds.clear()
        self._succs.clear()
        self._model_edges_of.clear()
        self._clear_groups()
        self._expanded.clear()
        self.folds.expanded.clear()
        doc = self.canvas.document
        for node_id, pos in self._shifted.items():
            node = self.canvas.nodes.get(node_id)
            if node is not None and (doc is None or doc.position(node_id) is None):
                node.view.setPos(*pos)
        self._shifted.clear()
        self._queue.clear()
        self._edge_queue.clear()
        self._burst(False)
        self.canvas.frames.created_by = {}
        self.canvas.frames.schedule()

    def attach(self, model: RunModel) -> None:
        self.reset()
        self.model = model
        self.grid = self.canvas.grid()

    def dag(self) -> nx.DiGraph:
        graph = nx.DiGraph()
        if self.model is not None:
            graph.add_nodes_from(self.model.nodes)
            graph.add_edges_from((k.source, k.target) for k in self.model.edges)
        return graph

    # -- applying a batch -------------------------------------------------------------------

    def apply(self, changes: Changes) -> None:
        model = self.model
        if model is None:
            return
        for key in changes.new_edges:
            self._note_edge(key)
            if self._drawn_by_workflow(key):
                continue
            self._edge_queue.append((key, SPAWNED_EDGE, False))
        for node_id in changes.new_nodes:
            if self.folds.folded(node_id) is not None:
                self._paint(node_id)
            elif node_id in self.group_of:  # a restart retired it, a new attempt made it again
                self._paint(node_id)
            elif node_id not in self.canvas.nodes and node_id not in self.items:
                group = self._join_group(node_id)
                if group is None or not group.collapsed:
                    self._queue.append(node_id)
            else:  # a workflow node, or one a restart retired that a new attempt made again
                self._paint(node_id)
        for node_id in changes.states | changes.progress:
            self._paint(node_id)
        for key in changes.edges:
            self._style_edge(key)
        if changes.new_nodes:
            self.canvas.frames.created_by = {n: r.created_by for n, r in model.nodes.items() if r.created_by}
        if changes.ghosts:
            self._sync_ghosts()
        if changes.broken:
            self._show_broken()
        self._pump()
        self._sync_stacks()

    def show(self, model: RunModel) -> None:
        """Draw ``model`` as it is (the replay slider): add what is new, remove what is not there."""
        if self.model is None:
            self.grid = self.canvas.grid()
        self.model = model
        for node_id in [n for n, item in self.items.items() if item.kind == SPAWNED and n not in model.nodes]:
            self._remove(node_id)
        for key in [k for k in self.edges if k not in model.edges and not k.target.startswith(("ghost:", "refused:"))]:
            self._remove_edge(key)
        self._preds, self._succs, self._model_edges_of = {}, {}, {}
        for key in model.edges:
            self._note_edge(key)
        self._clear_groups()
        queue: deque[str] = deque()
        for node_id in model.nodes:
            if node_id in self.canvas.nodes:
                continue
            if self.folds.folded(node_id) is not None:
                self._paint(node_id)
                continue
            group = self._join_group(node_id)
            if (group is None or not group.collapsed) and node_id not in self.items:
                queue.append(node_id)
        self._queue = queue
        self._edge_queue = [
            (k, SPAWNED_EDGE, False) for k in model.edges if k not in self.edges and not self._drawn_by_workflow(k)
        ]
        for node_id in list(self.canvas.nodes) + [n for n, i in self.items.items() if i.kind == SPAWNED]:
            self._paint(node_id)
        for key in list(self.edges):
            self._style_edge(key)
        self.canvas.frames.created_by = {n: r.created_by for n, r in model.nodes.items() if r.created_by}
        self._sync_ghosts()
        self._show_broken()
        self._pump()
        self._sync_stacks()

    def flush(self) -> None:
        """Create everything still queued now (tests, screenshots, the end of a replay step)."""
        self._pump(budget=None)
        self._burst(False)

    def _pump(self, budget: float | None = BUDGET) -> None:
        self._pumping = False
        deadline = None if budget is None else time.perf_counter() + budget
        created = False
        while self._queue and (deadline is None or time.perf_counter() < deadline):
            node_id = self._queue.popleft()
            if (
                self.model is not None
                and node_id in self.model.nodes
                and node_id not in self.items
                and node_id not in self.canvas.nodes
                and node_id not in self.stack_of
                and self.folds.folded(node_id) is None
            ):
                self._create_spawned(node_id)
                self._last_created = node_id
                created = True
        if self._edge_queue:
            queued = set(self._queue)
            waiting = []
            for entry in self._edge_queue:
                key = self._visible(entry[0])
                if key is None:
                    continue  # between two members of one stack
                if self._has(key.source) and self._has(key.target):
                    self._draw_edge(key, *entry[1:])
                    if entry[1] is SPAWNED_EDGE:
                        self._keep_flow(key)
                elif key.source in queued or key.target in queued:
                    waiting.append(entry)
            self._edge_queue = waiting
        if created:
            self.canvas.frames.schedule()
            self._follow()
        backlog = bool(self._queue)
        self._burst(backlog and budget is not None)
        if backlog and not self._pumping and budget is not None:
            self._pumping = True
            QtCore.QTimer.singleShot(0, self._pump)

    def _burst(self, on: bool) -> None:
        """While a backlog of items is being created, repaint every REPAINT_MS instead of after
        every slice: painting a big scene costs more than creating the next thirty nodes."""
        if on == self._bursting:
            return
        self._bursting = on
        viewer = self.canvas.viewer
        if on:
            viewer.setViewportUpdateMode(QtWidgets.QGraphicsView.NoViewportUpdate)
            self._repaint.start()
        else:
            self._repaint.stop()
            viewer.setViewportUpdateMode(QtWidgets.QGraphicsView.BoundingRectViewportUpdate)
            viewer.viewport().update()

    def _has(self, node_id: str) -> bool:
        return node_id in self.canvas.nodes or node_id in self.items

    def _item(self, node_id: str) -> NodeLook | None:
        node = self.canvas.nodes.get(node_id)
        return node.view if node is not None else self.items.get(node_id)

    # -- nodes ------------------------------------------------------------------------------

    def _detail(self, spec: dict[str, Any]) -> tuple[str, str]:
        """The detail line and the port list (for the tooltip) of a node given as data."""
        doc = self.canvas.document
        operator = spec.get("operator")
        base = doc.operators().get(operator) if (doc is not None and operator) else None
        inputs = spec.get("inputs") or (base.inputs if base and base.inputs else {})
        outputs = spec.get("outputs") or (base.outputs if base and base.outputs else {})
        command = spec.get("command")
        detail = operator or (" ".join(map(str, command)) if isinstance(command, list) else str(command or ""))
        ports = [f"in {n}: {t}" for n, t in dict(inputs).items()] + [f"out {n}: {t}" for n, t in dict(outputs).items()]
        return detail, "<br/>".join(ports)

    def _new_item(
        self, node_id: str, label: str, kind: str, detail: str, dynamic: bool = False, ports: str = ""
    ) -> RunNodeItem:
        item = RunNodeItem(node_id, label, kind, detail, dynamic)
        item.ports_note = ports
        item.note = ports
        item.on_moved = self._item_moved
        self.canvas.viewer.scene().addItem(item)
        self.items[node_id] = item
        return item

    def _create_spawned(self, node_id: str) -> None:
        assert self.model is not None
        run = self.model.nodes[node_id]
        detail, ports = self._detail(run.spec)
        label = (run.spec.get("style") or {}).get("label") or node_id
        pos = self.positions.get(node_id)
        group = self.group_of.get(node_id)
        if pos is None and group is not None and group.expanded and group.pos is not None:
            pos = self._in_block(group, node_id)
        elif pos is None:
            anchors = [p for p in self._preds.get(node_id, []) if self._has(p)] or (
                [run.created_by] if run.created_by and self._has(run.created_by) else []
            )
            pos = beside([self._pos(a) for a in anchors], RunNodeItem.HEIGHT, self.grid)
        if node_id not in self.positions:
            self.positions[node_id] = pos
        else:
            self.grid.mark(pos[0], pos[1], RunNodeItem.HEIGHT)
        item = self._new_item(node_id, label, SPAWNED, detail, run.dynamic, ports)
        settings = self.canvas.document.workflow.settings if self.canvas.document is not None else None
        item.where = where_text(
            run.spec.get("executor") or (settings.executor if settings else None),
            run.spec.get("image") or (settings.image if settings else None),
        )
        item.setPos(*pos)
        self._paint(node_id)
        now = time.time()
        for hook in self.shown_hooks:
            hook(node_id, now)

    def _pos(self, node_id: str) -> tuple[float, float]:
        item = self._item(node_id)
        pos = item.scenePos() if item is not None else QtCore.QPointF()
        return (pos.x(), pos.y())

    def _paint(self, node_id: str) -> None:
        folded = self.folds.group_of(node_id)
        if folded is not None and self.model is not None:
            self.folds.paint(self.model, folded, self.canvas.nodes[folded].view)
            if folded not in self.folds.expanded:
                return
        group = self.group_of.get(node_id)
        if group is not None and self.model is not None and node_id in self.model.nodes:
            group.note(node_id, self.model.nodes[node_id])
            if group.collapsed:
                self._dirty.add(group.stack_id)
                return
        item = self._item(node_id)
        if item is None or item.kind in (GHOST, REFUSED):
            return
        run = self.model.nodes.get(node_id) if self.model is not None else None
        item.run_state = run.state if run is not None else None
        item.progress = run.progress if run is not None else None
        # ``cached_from`` is read where the fold has it (runs reusing a cached result)
        item.cached_from = getattr(run, "cached_from", None) if run is not None else None
        question = run.question if run is not None and run.state is NodeState.WAITING else None
        item.question = str(question.get("prompt") or "") if question else ""
        reason = run.reason if run is not None and run.reason else ""
        item.note = "<br/>".join(x for x in (reason, getattr(item, "ports_note", "")) if x)
        item.refresh()

    def _remove(self, node_id: str) -> None:
        item = self.items.pop(node_id, None)
        if item is None:
            return
        for key in list(self._edges_of.get(node_id, ())):
            self._remove_edge(key)
        pos = item.scenePos()
        self.grid.unmark(pos.x(), pos.y(), item.boundingRect().height())
        scene = item.scene()
        if scene is not None:
            scene.removeItem(item)

    # -- stacks of siblings -----------------------------------------------------------------

    def _clear_groups(self) -> None:
        for group in self.groups.values():
            self._remove(group.stack_id)
        self.groups.clear()
        self.group_of.clear()
        self.stack_of.clear()
        self._dirty.clear()

    def _join_group(self, node_id: str) -> Group | None:
        """Count ``node_id`` among its siblings; once they are too many, they become a stack."""
        assert self.model is not None
        record = self.model.nodes[node_id]
        key = group_key(record)
        if key is None:
            return None
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(key, f"stack:{key[0]}:{len(self.groups)}")
            group.expanded = key in self._expanded
        group.add(node_id, record)
        self.group_of[node_id] = group
        if group.collapsed:
            self.stack_of[node_id] = group.stack_id
            self._dirty.add(group.stack_id)
            self._shown([node_id])
        elif len(group.members) > THRESHOLD and not group.expanded:
            self._collapse(group)
        return group

    def _collapse(self, group: Group) -> None:
        """Draw ``group`` as one stack node where its first member is (or would be)."""
        group.collapsed = True
        for member in group.members:
            self.stack_of[member] = group.stack_id
            self._remove(member)
        item = StackItem(group, lambda stack: self.toggle(stack.weft_id))
        item.on_moved = self._item_moved
        self.canvas.viewer.scene().addItem(item)
        self.items[group.stack_id] = item
        height = item.boundingRect().height()
        if group.pos is None:
            anchors = [self._rep(p) for p in self._preds.get(group.members[0], [])]
            anchors = [a for a in anchors if a != group.stack_id and self._has(a)] or [
                a for a in group.key[:1] if self._has(a)
            ]
            group.pos = beside([self._pos(a) for a in anchors], height, self.grid)
        else:
            self.grid.mark(group.pos[0], group.pos[1], height)
        item.setPos(*group.pos)
        self._requeue_edges(group.members)
        self._dirty.add(group.stack_id)
        self._shown(group.members)
        self._last_created = group.stack_id

    def _expand(self, group: Group) -> None:
        """Draw every member of ``group`` again (placed beside their inputs, as when they came)."""
        item = self.items.get(group.stack_id)
        if item is not None:
            group.pos = (item.scenePos().x(), item.scenePos().y())
        self._remove(group.stack_id)
        group.collapsed = False
        for member in group.members:
            self.stack_of.pop(member, None)
            self._queue.append(member)
        self._requeue_edges(group.members)

    def _in_block(self, group: Group, node_id: str) -> tuple[float, float]:
        """An expanded stack's members fill a block of columns from where the stack stood, about
        as tall as it is wide, rather than one column thousands of rows high."""
        assert group.pos is not None
        grid = self.grid
        index = group.index_of(node_id)
        rows = max(THRESHOLD, math.ceil(math.sqrt(4 * len(group.members))))
        col, row = divmod(index, rows)
        top = grid.row_of(group.pos[1]) - (min(rows, len(group.members)) * grid.rows_for(RunNodeItem.HEIGHT)) // 2
        return grid.place(
            grid.col_of(group.pos[0]) + col, top + row * grid.rows_for(RunNodeItem.HEIGHT), RunNodeItem.HEIGHT
        )

    def _requeue_edges(self, members: list[str]) -> None:
        for member in members:
            for key in self._model_edges_of.get(member, ()):
                if not self._drawn_by_workflow(key):
                    self._edge_queue.append((key, SPAWNED_EDGE, False))

    def toggle(self, node_id: str) -> bool:
        """Expand the stack ``node_id``, or collapse the stack a member ``node_id`` belongs to
        (and the same for a `workflow:` node and its inner nodes)."""
        if self.folds.action(self.model, node_id) is not None:
            return self._toggle_fold(self.folds.group_of(node_id) or node_id)
        group = next((g for g in self.groups.values() if g.stack_id == node_id), None) or self.group_of.get(node_id)
        if group is None or len(group.members) <= THRESHOLD:
            return False
        if group.collapsed:
            self._expanded.add(group.key)
            group.expanded = True
            self._expand(group)
        else:
            self._expanded.discard(group.key)
            group.expanded = False
            self._collapse(group)
        self._pump()
        self._sync_stacks()
        self.canvas.frames.schedule()
        return True

    def reveal(self, node_id: str) -> None:
        """Draw run node ``node_id`` if a folded `workflow:` node stands for it (a question
        inside it is answered on the node that asks, so that node must be on the canvas)."""
        group = self.folds.folded(node_id)
        if group is not None and self.model is not None and self.folds.loop_of(node_id) is None:
            self._toggle_fold(group)

    def _toggle_fold(self, group: str) -> bool:
        model = self.model
        assert model is not None
        members = self.folds.members(model, group)
        inner = set(members)
        if group in self.folds.expanded:
            self.folds.expanded.discard(group)
            for node_id in members:
                self._remove(node_id)
        else:
            self.folds.expanded.add(group)
            self._queue.extend(members)
            self._edge_queue.extend(
                (k, SPAWNED_EDGE, False) for k in model.edges if k.source in inner or k.target in inner
            )
        self._paint(members[0])
        self._pump(budget=None)
        self.canvas.frames.schedule()
        return True

    def stack_action(self, node_id: str) -> str | None:
        """What a right-click on ``node_id`` may do with a stack (or a `workflow:` node):
        'Expand', 'Collapse' or nothing."""
        fold = self.folds.action(self.model, node_id)
        if fold is not None:
            return fold
        item = self.items.get(node_id)
        if item is not None and item.kind == STACK:
            return "Expand"
        group = self.group_of.get(node_id)
        if group is not None and not group.collapsed and len(group.members) > THRESHOLD:
            return "Collapse"
        return None

    def _sync_stacks(self) -> None:
        for stack_id in self._dirty:
            item = self.items.get(stack_id)
            if isinstance(item, StackItem):
                item.sync()
        self._dirty.clear()

    def _rep(self, node_id: str) -> str:
        """The node drawing ``node_id``: itself, or the stack it is part of."""
        return self.stack_of.get(node_id, node_id)

    def _visible(self, key: EdgeKey) -> EdgeKey | None:
        """The wire that stands for edge ``key`` on the canvas (members' wires go to their stack;
        a folded `workflow:` node's are the workflow's own wires, or go to it)."""
        outer, inner = self.folds.folded(key.source), self.folds.folded(key.target)
        if outer is not None or inner is not None:
            source, target = outer or key.source, inner or key.target
            if source == target or (source in self.canvas.nodes and target in self.canvas.nodes):
                return None
            return EdgeKey(
                source, key.source_port if outer is None else None, target, key.target_port if inner is None else None
            )
        source, target = self.stack_of.get(key.source), self.stack_of.get(key.target)
        if source is None and target is None:
            return key
        if source is not None and source == target:
            return None
        return EdgeKey(
            source or key.source,
            None if source else key.source_port,
            target or key.target,
            None if target else key.target_port,
        )

    def _shown(self, node_ids: list[str]) -> None:
        now = time.time()
        for hook in self.shown_hooks:
            for node_id in node_ids:
                hook(node_id, now)

    # -- flow ---------------------------------------------------------------------------------

    def _note_edge(self, key: EdgeKey) -> None:
        self._preds.setdefault(key.target, []).append(key.source)
        self._succs.setdefault(key.source, []).append(key.target)
        self._model_edges_of.setdefault(key.source, []).append(key)
        self._model_edges_of.setdefault(key.target, []).append(key)

    def _movable(self, node_id: str) -> bool:
        """May the run move this node? Created nodes and stacks, and workflow nodes the studio
        laid out (those with no position in the file): never what a person placed."""
        item = self.items.get(node_id)
        if item is not None:
            return item.kind in (SPAWNED, STACK)
        doc = self.canvas.document
        return node_id in self.canvas.nodes and doc is not None and doc.position(node_id) is None

    def _keep_flow(self, key: EdgeKey) -> None:
        """A wire must not double back: a created node feeding one at or left of its own column
        pushes that one, and what follows it, right (as far as the studio may move them)."""
        grid = self.grid
        source_col = grid.col_of(self._pos(key.source)[0])
        if grid.col_of(self._pos(key.target)[0]) > source_col or not self._movable(key.target):
            return
        todo = [(key.target, source_col + 1)]
        while todo:
            node_id, col = todo.pop()
            x, y = self._pos(node_id)
            if grid.col_of(x) >= col or not self._movable(node_id):
                continue
            item = self._item(node_id)
            if item is None:
                continue
            height = item.boundingRect().height() if node_id in self.items else item.height
            grid.unmark(x, y, height)
            pos = grid.place(col, grid.row_of(y), height)
            if node_id in self.canvas.nodes:
                self._shifted.setdefault(node_id, (x, y))
            else:
                self.positions[node_id] = pos
            item.setPos(*pos)
            for edge in list(self._edges_of.get(node_id, ())):  # workflow nodes do not route run wires
                self._route(edge)
            stack = self.items.get(node_id)
            first = stack.group.members[0] if isinstance(stack, StackItem) else node_id  # siblings: alike
            for successor in self._succs.get(first, ()):
                todo.append((self._rep(successor), col + 1))
            doc = self.canvas.document
            for edge in doc.edges if doc is not None and node_id in self.canvas.nodes else ():
                if edge.source == node_id:
                    todo.append((edge.target, col + 1))
        self._settle(key.source)
        self.canvas.frames.schedule()

    def _settle(self, node_id: str) -> None:
        """Put a created node back level with its inputs once what crowded it there moved away."""
        item = self.items.get(node_id)
        anchors = [self._rep(p) for p in self._preds.get(node_id, ()) if self._has(self._rep(p))]
        if item is None or item.kind != SPAWNED or not anchors:
            return
        grid = self.grid
        x, y = self._pos(node_id)
        near = round(sum(grid.row_of(self._pos(a)[1]) for a in anchors) / len(anchors))
        if near == grid.row_of(y):
            return
        height = item.boundingRect().height()
        grid.unmark(x, y, height)
        pos = grid.place(grid.col_of(x), near, height)
        self.positions[node_id] = pos
        item.setPos(*pos)

    def _follow(self) -> None:
        """Bring the newest created node into view (at most five times a second)."""
        now = time.perf_counter()
        if not self.follow or self._last_created is None or now - self._followed_at < 0.2:
            return
        item = self.items.get(self._rep(self._last_created))
        if item is None:
            return
        self._followed_at = now
        from studio.canvas.navigation import reveal

        reveal(self.canvas.viewer, item.sceneBoundingRect())

    # -- edges ------------------------------------------------------------------------------

    def _drawn_by_workflow(self, key: EdgeKey) -> bool:
        doc = self.canvas.document
        return (
            doc is not None
            and doc.edge(key) is not None
            and key.source in self.canvas.nodes
            and key.target in self.canvas.nodes
        )

    def _end(self, node_id: str, port: str | None, output: bool) -> QtCore.QPointF | None:
        item = self.items.get(node_id)
        if item is not None:
            return item.anchor(output)
        port_item = self.canvas.port(node_id, port or (THEN if output else AFTER), output)
        if port_item is None and port is not None:
            port_item = self.canvas.port(node_id, THEN if output else AFTER, output)
        return port_item.sceneBoundingRect().center() if port_item is not None else None

    def _draw_edge(self, key: EdgeKey, color: tuple[int, ...], dashed: bool) -> None:
        if key in self.edges:
            return
        edge = RunEdgeItem(color, dashed, str(key))
        self.edges[key] = edge
        self._edges_of.setdefault(key.source, set()).add(key)
        self._edges_of.setdefault(key.target, set()).add(key)
        self.canvas.viewer.scene().addItem(edge)
        self._route(key)
        self._style_edge(key)

    def _style_edge(self, key: EdgeKey) -> None:
        """A wire a restart retired is drawn faded (replay shows it as it was at each moment)."""
        edge = self.edges.get(key)
        record = self.model.edges.get(key) if self.model is not None else None
        if edge is not None:
            edge.set_retired(record is not None and record.retired)

    def _route(self, key: EdgeKey) -> None:
        edge = self.edges.get(key)
        start = self._end(key.source, key.source_port, True)
        end = self._end(key.target, key.target_port, False)
        if edge is not None and start is not None and end is not None:
            edge.route(start, end)

    def _remove_edge(self, key: EdgeKey) -> None:
        edge = self.edges.pop(key, None)
        for node_id in (key.source, key.target):
            self._edges_of.get(node_id, set()).discard(key)
        if edge is not None and edge.scene() is not None:
            edge.scene().removeItem(edge)

    def _item_moved(self, item: RunNodeItem) -> None:
        for key in self._edges_of.get(item.weft_id, ()):
            self._route(key)

    def _nodes_moved(self, moved: dict[Any, Any]) -> None:
        for item in moved:
            for key in list(self._edges_of.get(getattr(item, "weft_id", ""), ())):
                self._route(key)

    # -- ghosts and broken promises ---------------------------------------------------------

    def _sync_ghosts(self) -> None:
        ghosts = {g.id: g for g in (self.model.ghosts if self.model is not None else [])}
        for node_id in [n for n, item in self.items.items() if item.kind == GHOST and n not in ghosts]:
            self._remove(node_id)
        for ghost_id, ghost in ghosts.items():
            existing = self.items.get(ghost_id)
            if existing is not None:
                if existing.detail != ghost.label:
                    existing.detail = ghost.label
                    existing.refresh()
                continue
            owner = self.folds.loop_of(ghost.owner) or ghost.owner  # a loop's latest latch: its node
            if not self._has(owner):
                continue
            item = self._new_item(ghost_id, "…", GHOST, ghost.label)
            item.setPos(*beside([self._pos(owner)], item.HEIGHT, self.grid))
            self._draw_edge(EdgeKey(owner, None, ghost_id, None), GHOST_EDGE, True)

    def _show_broken(self) -> None:
        broken = self.model.broken if self.model is not None else None
        for node_id in [n for n, item in self.items.items() if item.kind == REFUSED]:
            self._remove(node_id)
        for item in [n.view for n in self.canvas.nodes.values()] + list(self.items.values()):
            if item.culprit:
                item.culprit = False
                item.refresh()
        if broken is None:
            return
        for node_id in [broken.task, *broken.nodes]:
            item = self._item(node_id) if node_id else None
            if item is not None:
                item.culprit = True
                item.refresh()
        culprit = broken.task or ""
        mutation = broken.mutation
        refused_ids: dict[str, str] = {}
        for spec in mutation.get("nodes", []) or []:
            if not isinstance(spec, dict) or "id" not in spec:
                continue
            detail, ports = self._detail(spec)
            refused_id = f"refused:{spec['id']}"
            item = self._new_item(refused_id, str(spec["id"]), REFUSED, str(spec["id"]), ports=ports)
            anchors = [self._pos(culprit)] if self._has(culprit) else []
            item.setPos(*beside(anchors, item.HEIGHT, self.grid))
            refused_ids[str(spec["id"])] = refused_id
        for spec in mutation.get("edges", []) or []:
            if not isinstance(spec, dict):
                continue
            key = edge_key(spec)
            key = EdgeKey(
                refused_ids.get(key.source, key.source),
                key.source_port,
                refused_ids.get(key.target, key.target),
                key.target_port,
            )
            if self._has(key.source) and self._has(key.target):
                self._draw_edge(key, REFUSED_EDGE, True)
        if culprit and refused_ids and not mutation.get("edges"):
            for refused_id in refused_ids.values():  # show who tried to make them
                self._draw_edge(EdgeKey(culprit, None, refused_id, None), REFUSED_EDGE, True)
