"""The run drawn over the workflow: states, progress, nodes tasks created, ghosts, a broken promise.

Nothing here touches the document or the undo stack. Workflow nodes are NodeGraphQt items
(people wire them); what the run adds — created nodes, ghosts, refused nodes and their wires —
are light scene items of their own, so a task that creates a thousand nodes costs the window
little. They are added in slices of at most ``BUDGET`` seconds per turn of the event loop, each
in the free slot beside its creator (or its inputs): nothing a person placed moves.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import networkx as nx
from PySide6 import QtCore, QtWidgets

from engine.events import NodeState
from studio.canvas.items import GHOST, REFUSED, SPAWNED, NodeLook, RunEdgeItem, RunNodeItem, where_text
from studio.canvas.layout import Grid, beside
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
            item.refresh()
        self.model = None
        self.positions.clear()
        self._preds.clear()
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
            self._preds.setdefault(key.target, []).append(key.source)
            if self._drawn_by_workflow(key):
                continue
            self._edge_queue.append((key, SPAWNED_EDGE, False))
        for node_id in changes.new_nodes:
            if node_id not in self.canvas.nodes and node_id not in self.items:
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

    def show(self, model: RunModel) -> None:
        """Draw ``model`` as it is (the replay slider): add what is new, remove what is not there."""
        if self.model is None:
            self.grid = self.canvas.grid()
        self.model = model
        for node_id in [n for n, item in self.items.items() if item.kind == SPAWNED and n not in model.nodes]:
            self._remove(node_id)
        for key in [k for k in self.edges if k not in model.edges and not k.target.startswith(("ghost:", "refused:"))]:
            self._remove_edge(key)
        self._preds = {}
        for key in model.edges:
            self._preds.setdefault(key.target, []).append(key.source)
        self._queue = deque(n for n in model.nodes if n not in self.canvas.nodes and n not in self.items)
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
            ):
                self._create_spawned(node_id)
                created = True
        if self._edge_queue:
            queued = set(self._queue)
            waiting = []
            for entry in self._edge_queue:
                key = entry[0]
                if self._has(key.source) and self._has(key.target):
                    self._draw_edge(*entry)
                elif key.source in queued or key.target in queued:
                    waiting.append(entry)
            self._edge_queue = waiting
        if created:
            self.canvas.frames.schedule()
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
        if pos is None:
            anchors = [p for p in self._preds.get(node_id, []) if self._has(p)] or (
                [run.created_by] if run.created_by and self._has(run.created_by) else []
            )
            pos = beside([self._pos(a) for a in anchors], RunNodeItem.HEIGHT, self.grid)
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
        self.grid.unmark(pos.x(), pos.y(), item.HEIGHT)
        scene = item.scene()
        if scene is not None:
            scene.removeItem(item)

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
            if not self._has(ghost.owner):
                continue
            item = self._new_item(ghost_id, "…", GHOST, ghost.label)
            item.setPos(*beside([self._pos(ghost.owner)], item.HEIGHT, self.grid))
            self._draw_edge(EdgeKey(ghost.owner, None, ghost_id, None), GHOST_EDGE, True)

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
