"""The canvas: a NodeGraphQt scene that mirrors the document and the run, and owns neither.

Document events add, change and remove items; a person's gestures (a wire drawn or cut, nodes
moved, an operator dropped, Delete) become calls on the ``Editor``, which turns them into undo
commands on the document, whose events come back here. The run's state is drawn by the
``RunLayer`` on the same items (and on items for nodes tasks create), never written anywhere.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from PySide6 import QtCore, QtGui

from engine.workflow.model import NodeSpec
from studio import theme
from studio.canvas.frames import Frames
from studio.canvas.graph import OPERATOR_MIME, WeftGraph, WeftNode
from studio.canvas.items import DESIGN, GHOST, NodeLook, WeftNodeItem, type_color, where_text
from studio.canvas.layout import Grid, beside, layered
from studio.canvas.nodegraph import GRID_DOTS, GRID_LINES, OUTPUT, PipeItem, PortItem, join, part
from studio.canvas.wires import WeftPipeItem
from studio.model.document import AFTER, THEN, Document, EdgeKey

NODE_HEIGHT = 80.0


#: how a node is drawn: label, inputs, outputs, detail line, dynamic, colour
Design = tuple[str, dict[str, str], dict[str, str], str, bool, str | None]


class Canvas(QtCore.QObject):
    selection_changed = QtCore.Signal(list)  # Weft ids of the selected nodes
    message = QtCore.Signal(str)  # for the status bar
    activated = QtCore.Signal(str)  # a node was double-clicked

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.graph = WeftGraph(self)
        self.viewer = self.graph.viewer()
        self.viewer.wire_check = self._wire_problem
        self.viewer.wire_refused.connect(lambda reason: self.message.emit(f"Refused: {reason}" if reason else ""))
        self.viewer.port_hovered.connect(self.message.emit)
        self.viewer.connection_changed.connect(self._on_connection_changed)
        self.viewer.connection_sliced.connect(self._on_connection_sliced)
        self.viewer.moved_nodes.connect(self._on_nodes_moved)
        self.viewer.moved_nodes.connect(lambda _moved: self.frames.schedule())
        self.viewer.data_dropped.connect(self._on_dropped)
        self.viewer.scene().selectionChanged.connect(self._selection_changed)
        self.graph.node_double_clicked.connect(lambda node: self.activated.emit(node.view.weft_id))
        self.document: Document | None = None
        self.editor: Any = None
        self.editable = True
        self.nodes: dict[str, WeftNode] = {}
        self.auto_positions: dict[str, tuple[float, float]] = {}
        self._last_selection: list[str] = []
        self._reselect: EdgeKey | None = None
        self.frames = Frames(self)
        self.apply_theme()
        from studio.canvas.runlayer import RunLayer  # the run layer draws on this canvas

        self.run_layer = RunLayer(self)
        from studio.canvas.minimap import Minimap  # the overview in the corner of the view

        self.minimap = Minimap(self)

    # -- the document -----------------------------------------------------------------------

    def set_document(self, document: Document, editor: Any) -> None:
        if self.document is not None:
            for name, handler in self._handlers().items():
                getattr(self.document.events, name).disconnect(handler)
        self.document, self.editor = document, editor
        for name, handler in self._handlers().items():
            getattr(document.events, name).connect(handler)
        self.rebuild()

    def _handlers(self) -> dict[str, Callable[..., None]]:
        return {
            "node_added": self._node_added,
            "node_removed": self._node_removed,
            "node_changed": self._node_changed,
            "node_renamed": self._node_renamed,
            "edge_added": self._edge_added,
            "edge_removed": self._edge_removed,
            "nodes_moved": self._nodes_moved,
            "promises_changed": self.frames.schedule,
            "workflow_changed": self._workflow_changed,
        }

    def rebuild(self) -> None:
        """Draw the whole document again (after opening a file)."""
        self.run_layer.reset()
        for node in list(self.nodes.values()):
            self.graph.remove_node(node, push_undo=False)
        self.nodes.clear()
        self.auto_positions.clear()
        doc = self.document
        if doc is None:
            return
        # lay out first (heights estimated from the ports), so each node is created where it stays
        drawn = {spec.id: self.design_node(spec) for spec in doc.nodes}
        placed = {n: p for n in drawn if (p := doc.position(n)) is not None}
        heights = {n: estimated_height(len(d[1]), len(d[2])) for n, d in drawn.items()}
        back = doc.back_edges()
        laid = layered(
            list(drawn),
            [(e.source, e.target) for e in doc.edges if EdgeKey.of(e) not in back],  # loops lay out as chains
            placed,
            heights,
            growing=[n for n, d in drawn.items() if d[4]],
        )
        self.auto_positions.update(laid)
        counts = Counter(spec.id for spec in doc.nodes)
        for spec in doc.nodes:
            if spec.id in self.nodes:
                continue  # a duplicate id (a problem of the file): the first node stays, marked
            design = drawn[spec.id] if counts[spec.id] == 1 else self._duplicated(spec, counts[spec.id])
            self.nodes[spec.id] = self._create(spec, laid.get(spec.id), design)
        for edge in doc.edges:
            self._connect(EdgeKey.of(edge))
        self.frames.schedule()

    def design_node(self, spec: NodeSpec) -> Design:
        """label, inputs, outputs, detail line, dynamic, colour — of a workflow node as drawn."""
        doc = self.document
        assert doc is not None
        resolved = doc.resolved(spec)
        style = resolved.style if resolved else (spec.style or {})
        label = style.get("label") or spec.id
        if spec.workflow:
            detail = f"▣ {spec.workflow}"
        elif spec.operator:
            detail = spec.operator if resolved else f"unknown operator '{spec.operator}'"
        else:
            command = spec.command
            detail = " ".join(command) if isinstance(command, list) else (command or "")
        inputs, outputs = (resolved.inputs, resolved.outputs) if resolved else ({}, {})
        return label, inputs, outputs, detail, bool(resolved and resolved.dynamic), style.get("color")

    def _duplicated(
        self, spec: NodeSpec, count: int
    ) -> tuple[str, dict[str, str], dict[str, str], str, bool, str | None]:
        """How the first of ``count`` nodes sharing an id is drawn: as itself, said plainly to
        stand for several (the file's problem list names the others' lines)."""
        label, inputs, outputs, _detail, dynamic, _color = self.design_node(spec)
        return label, inputs, outputs, f"{count} nodes have the id '{spec.id}': see Problems", dynamic, "#b3261e"

    def _create(self, spec: NodeSpec, pos: tuple[float, float] | None, drawn: Any = None) -> WeftNode:
        label, inputs, outputs, detail, dynamic, color = drawn or self.design_node(spec)
        doc = self.document
        if pos is None and doc is not None:
            pos = doc.position(spec.id)
        accent = QtGui.QColor(color) if color and QtGui.QColor.isValidColorName(color) else None
        node = self.make_node(spec.id, label, inputs, outputs, DESIGN, detail, dynamic, pos, accent)
        self._runs_on(node.view, spec)
        return node

    def _runs_on(self, item: WeftNodeItem, spec: NodeSpec) -> None:
        """Where the node runs and its badges (cache, retries, timeout), as its text says."""
        doc = self.document
        resolved = doc.resolved(spec) if doc is not None else None
        settings = doc.workflow.settings if doc is not None else None
        executor = (resolved.executor if resolved else spec.executor) or (settings.executor if settings else None)
        image = (resolved.image if resolved else spec.image) or (settings.image if settings else None)
        item.where = where_text(executor, image)
        item.cache = bool(resolved and resolved.cache)
        item.retries = resolved.retries if resolved else 0
        item.timeout = resolved.timeout if resolved else None
        sub = doc.subworkflow(spec) if doc is not None else None
        if sub is not None:
            item.sub_workflow = spec.workflow or ""
            item.where = ""  # its inner nodes run where each says
            item.problem = sub.problem

    def make_node(
        self,
        node_id: str,
        label: str,
        inputs: dict[str, str],
        outputs: dict[str, str],
        kind: str,
        detail: str = "",
        dynamic: bool = False,
        pos: tuple[float, float] | None = None,
        accent: QtGui.QColor | None = None,
    ) -> WeftNode:
        """A node item with Weft's ports: 'after' and 'then' for runs-after wires, then the data ports."""
        node = WeftNode()
        node.NODE_NAME = label
        item = node.view
        item.weft_id, item.kind, item.detail, item.dynamic = node_id, kind, detail, dynamic
        item.accent = accent
        after = node.add_input(AFTER, multi_input=True, color=type_color(None)[:3])
        after.view.tip = f"{node_id}: after — wire a 'then' port here: this node runs after that one"
        if kind != GHOST:
            for name, text in inputs.items():
                port = node.add_input(name, color=type_color(text)[:3])
                port.view.tip = f"{node_id}.{name}: input of type {text}"
                port.view.type_text = text
            for name, text in outputs.items():
                port = node.add_output(name, multi_output=True, color=type_color(text)[:3])
                port.view.tip = f"{node_id}.{name}: output of type {text}"
                port.view.type_text = text
            then = node.add_output(THEN, multi_output=True, color=type_color(None)[:3])
            then.view.tip = f"{node_id}: then — wire it to another node's 'after': that node runs after this one"
        self.graph.add_node(node, pos=list(pos) if pos else [0.0, 0.0], selected=False, push_undo=False)
        item.placed()
        return node

    def remove_item(self, node_id: str) -> None:
        node = self.nodes.pop(node_id, None)
        if node is not None:
            self.graph.remove_node(node, push_undo=False)

    def _node_added(self, node_id: str) -> None:
        doc = self.document
        assert doc is not None
        spec = doc.node(node_id)
        assert spec is not None
        pos = doc.position(node_id) or self.auto_positions.get(node_id)
        node = self._create(spec, None)
        self.nodes[node_id] = node
        if pos is None:
            pos = beside(
                [
                    tuple(self.nodes[e.source].view.xy_pos)
                    for e in doc.edges
                    if e.target == node_id and e.source in self.nodes
                ],
                node.view.height,
                self.grid(),
            )
            self.auto_positions[node_id] = pos
        node.view.setPos(*pos)
        self.frames.schedule()

    def _node_removed(self, node_id: str) -> None:
        node = self.nodes.get(node_id)
        if node is not None:
            self.auto_positions.setdefault(node_id, tuple(node.view.xy_pos))
        self.remove_item(node_id)
        self.frames.schedule()

    def _node_renamed(self, old: str, new: str) -> None:
        if old in self.nodes:
            self.nodes[new] = self.nodes.pop(old)
            self.nodes[new].view.weft_id = new
        if old in self.auto_positions:
            self.auto_positions[new] = self.auto_positions.pop(old)

    def _node_changed(self, node_id: str) -> None:
        """Ports, label or badge may have changed: draw the node again where it stands."""
        doc = self.document
        old = self.nodes.get(node_id)
        spec = doc.node(node_id) if doc else None
        if old is None or spec is None:
            return
        pos = tuple(old.view.xy_pos)
        selected = old.view.isSelected()
        self.remove_item(node_id)
        node = self._create(spec, None)
        self.nodes[node_id] = node
        node.view.setPos(*(doc.position(node_id) or pos))
        node.view.setSelected(selected)
        for edge in doc.edges:
            if node_id in (edge.source, edge.target):
                self._connect(EdgeKey.of(edge))
        self.frames.schedule()

    def _edge_added(self, key: EdgeKey) -> None:
        self._connect(key)
        if key == self._reselect:  # a wire whose `when` changed stays selected
            ports = self._ports(key)
            pipe = pipe_between(ports[0].view, ports[1].view) if ports is not None else None
            if pipe is not None:
                pipe.setSelected(True)
        self._reselect = None
        self.frames.schedule()

    def _edge_removed(self, key: EdgeKey) -> None:
        ports = self._ports(key)
        if ports is not None:
            pipe = pipe_between(ports[0].view, ports[1].view)
            self._reselect = key if pipe is not None and pipe.isSelected() else None
            part(ports[0], ports[1])
        self.frames.schedule()

    def _nodes_moved(self, node_ids: list[str]) -> None:
        doc = self.document
        assert doc is not None
        for node_id in node_ids:
            node = self.nodes.get(node_id)
            pos = doc.position(node_id) or self.auto_positions.get(node_id)
            if node is not None and pos is not None and tuple(node.view.xy_pos) != pos:
                node.view.setPos(*pos)
        self.frames.schedule()

    def _workflow_changed(self, fields: list[str] | None = None) -> None:
        """Imports changed: nodes of imported operators may have gained or lost ports."""
        doc = self.document
        if fields is not None and "settings" in fields and doc is not None:
            for node_id, node in self.nodes.items():  # the default executor, image or cache
                spec = doc.node(node_id)
                if spec is not None:
                    self._runs_on(node.view, spec)
                    node.view.refresh()
        if fields is not None and not {"imports", "types", "operators"} & set(fields):
            return  # the name or description: nothing drawn depends on them
        for node_id in list(self.nodes):
            spec = doc.node(node_id) if doc is not None else None
            if spec is not None and spec.operator is not None:
                self._node_changed(node_id)

    # -- wires ------------------------------------------------------------------------------

    def _ports(self, key: EdgeKey) -> tuple[Any, Any] | None:
        src, dst = self.nodes.get(key.source), self.nodes.get(key.target)
        if src is None or dst is None:
            return None
        out_name, in_name = key.canvas_ports
        out, inp = src.outputs().get(out_name), dst.inputs().get(in_name)
        return (out, inp) if out is not None and inp is not None else None

    def _connect(self, key: EdgeKey) -> bool:
        ports = self._ports(key)
        if ports is None:
            return False
        out, inp = ports
        doc = self.document
        back = doc is not None and key in doc.back_edges()
        if back or (key.target_port is not None and inp.view.connected_ports):
            # a loop's back edge may feed an input that a wire from outside the loop feeds too
            inp.view.multi_connection = back or inp.view.multi_connection
        if out.view not in inp.view.connected_ports:  # the input side: an output may have thousands
            join(out, inp)
        edge = doc.edge(key) if doc else None
        pipe = pipe_between(out.view, inp.view)
        if isinstance(pipe, WeftPipeItem):
            pipe.set_back(back)
            pipe.set_when(edge.when if edge is not None else None)
        return True

    def _wire_problem(self, a: PortItem, b: PortItem) -> str | None:
        """Asked by the viewer while a wire is dragged over a port: why it may not land there."""
        out, inp = (a, b) if a.port_type == OUTPUT else (b, a)
        src, dst = out.node, inp.node
        if not self.editable:
            return "the workflow cannot be edited now (a run is shown); stop it or clear the run first"
        if not isinstance(src, WeftNodeItem) or not isinstance(dst, WeftNodeItem):
            return "not a node"
        if src.kind != DESIGN or dst.kind != DESIGN:
            return "nodes created by a run (and ghosts) cannot be wired"
        if self.document is None:
            return "no workflow"
        key = port_key(out, inp)  # a wire into a fed input replaces the old one: checked alone
        return self.document.connection_problem(key.source, key.source_port, key.target, key.target_port)

    def _on_connection_changed(self, disconnected: list[Any], connected: list[Any]) -> None:
        cut = [port_key(*_out_in(a, b)) for a, b in disconnected]
        drawn = [port_key(*_out_in(a, b)) for a, b in connected]
        doc = self.document
        loops = [k for k in drawn if doc is not None and k.target_port is not None and doc.back_edge(k)]
        if loops:  # the viewer unplugged what fed the input: a back edge feeds it alongside
            cut = [k for k in cut if not any((k.target, k.target_port) == (b.target, b.target_port) for b in loops)]
        if self.editor is not None and self.editable:
            refused = self.editor.rewire(cut, drawn)
            if refused:
                self.message.emit(f"Refused: {refused}")
            elif drawn and drawn[-1] in (doc.back_edges() if doc is not None else set()):
                edge = doc.edge(drawn[-1]) if doc is not None else None
                self.message.emit(
                    f"Connected {drawn[-1]}: it closes a loop into '{drawn[-1].target}', its back edge"
                    + (
                        f" (goes round again while {edge.when})"
                        if edge is not None and edge.when
                        else "; it needs a `when`, the condition to go round again: select the wire and set"
                        " `when` in the inspector"
                    )
                )
            elif drawn:  # says what landed, and takes away a refusal shown while dragging
                self.message.emit(f"Connected {drawn[-1]}")
            elif cut and not self.viewer.refused_reason:  # (a refusal says why the wire came off)
                self.message.emit(f"Disconnected {cut[-1]}")
            self.viewer.refused_reason = None
        self.resync_wires([k.source for k in cut + drawn] + [k.target for k in cut + drawn])

    def _on_connection_sliced(self, pairs: list[Any]) -> None:
        if self.editor is not None and self.editable:
            self.editor.rewire([port_key(*_out_in(a, b)) for a, b in pairs], [])

    def resync_wires(self, node_ids: Iterable[str]) -> None:
        """Make the drawn pipes of these nodes match the document again (after a gesture the viewer
        had already drawn, or undrawn, on its own)."""
        doc = self.document
        if doc is None:
            return
        ids = set(node_ids)
        wanted = {EdgeKey.of(e) for e in doc.edges if e.source in ids or e.target in ids}
        for node_id in ids:
            node = self.nodes.get(node_id)
            if node is None or node.view.kind != DESIGN:
                continue
            for port in node.view.inputs + node.view.outputs:
                for pipe in list(port.connected_pipes):
                    if pipe.input_port is None or pipe.output_port is None:
                        continue
                    key = port_key(pipe.output_port, pipe.input_port)
                    if (
                        key not in wanted
                        and pipe.input_port.node.kind == DESIGN
                        and pipe.output_port.node.kind == DESIGN
                    ):
                        ports = self._ports(key)
                        if ports is not None:
                            part(ports[0], ports[1])
                        pipe.delete()
        for key in wanted:
            ports = self._ports(key)
            if ports is not None and pipe_between(ports[0].view, ports[1].view) is None:
                if ports[1].view in ports[0].view.connected_ports:
                    part(ports[0], ports[1])
                self._connect(key)

    # -- other gestures ---------------------------------------------------------------------

    def _on_nodes_moved(self, moved: dict[Any, Any]) -> None:
        positions = {
            item.weft_id: tuple(item.xy_pos) for item in moved if isinstance(item, WeftNodeItem) and item.kind == DESIGN
        }
        if positions and self.editor is not None and self.editable:
            self.editor.move(positions)

    def _on_dropped(self, mime: QtCore.QMimeData, pos: QtCore.QPoint) -> None:
        if not mime.hasFormat(OPERATOR_MIME) or self.editor is None:
            return
        if not self.editable:
            self.message.emit("The workflow cannot be edited while a run is shown.")
            return
        try:
            ref = json.loads(bytes(mime.data(OPERATOR_MIME)).decode("utf-8"))
        except ValueError:
            return
        problem = self.editor.add_palette_node(ref, (float(pos.x()), float(pos.y())))
        if problem:
            self.message.emit(problem)

    def _selection_changed(self) -> None:
        ids = self.selected_ids()
        if ids != self._last_selection or not ids:
            self._last_selection = ids
            self.selection_changed.emit(ids)

    # -- queries ----------------------------------------------------------------------------

    def item(self, node_id: str) -> NodeLook | None:
        """The item drawing node ``node_id``: a workflow node, or one the run added."""
        node = self.nodes.get(node_id)
        layer = self.run_layer
        return node.view if node is not None else layer.items.get(layer.stack_of.get(node_id, node_id))

    def port(self, node_id: str, name: str, output: bool) -> PortItem | None:
        node = self.nodes.get(node_id)
        if node is None:
            return None
        port = (node.outputs() if output else node.inputs()).get(name)
        return port.view if port is not None else None

    def selected_ids(self) -> list[str]:
        return [i.weft_id for i in self.viewer.selected_nodes() if isinstance(i, NodeLook)]

    def selected_edges(self) -> list[EdgeKey]:
        return [
            port_key(p.output_port, p.input_port)
            for p in self.viewer.selected_pipes()
            if p.input_port is not None and p.output_port is not None
        ]

    def select(self, node_ids: Iterable[str]) -> None:
        ids = set(node_ids)
        scene = self.viewer.scene()
        scene.blockSignals(True)
        for item in self.viewer.all_nodes():
            if isinstance(item, NodeLook):
                item.setSelected(item.weft_id in ids)
        scene.blockSignals(False)
        self._selection_changed()

    def grid(self) -> Grid:
        grid = Grid()
        for item in self.viewer.all_nodes():
            x, y = item.xy_pos
            grid.mark(x, y, item.height)
        return grid

    def items_rect(self) -> QtCore.QRectF:
        rect = QtCore.QRectF()
        for item in self.viewer.all_nodes():
            rect = rect.united(item.sceneBoundingRect())
        return rect

    def apply_theme(self) -> None:
        """Draw the canvas in the current theme: background, grid, nodes, wires, labels."""
        look = theme.current()
        scene = self.viewer.scene()
        scene.background_color = look.canvas
        scene.grid_color = look.grid
        scene.grid_mode = GRID_DOTS if look.dotted_grid else GRID_LINES
        for item in scene.items():
            if isinstance(item, WeftPipeItem):
                item.restyle()
            elif isinstance(item, NodeLook):
                item.apply_theme()
        self.viewer.viewport().update()

    def add_context_actions(self, actions: list[QtGui.QAction]) -> None:
        """Offer ``actions`` on a right-click on the canvas (NodeGraphQt shows its menu when it has any)."""
        self.viewer.context_menus()["graph"].addActions(actions)

    def fit(self) -> None:
        """Show every node (NodeGraphQt's own fit groups the items: far too slow for big graphs)."""
        rect = self.items_rect()
        if rect.isNull():
            return
        rect = rect.adjusted(-60, -60, 60, 60)
        view_ratio = max(1.0, self.viewer.width()) / max(1.0, self.viewer.height())
        if rect.width() / rect.height() < view_ratio:  # keep zoom sane for tiny graphs
            grow = rect.height() * view_ratio - rect.width()
            rect.adjust(-grow / 2, 0, grow / 2, 0)
        if rect.width() < 900:
            rect = QtCore.QRectF(rect.center().x() - 450, rect.center().y() - 450 / view_ratio, 900, 900 / view_ratio)
        self.viewer._scene_range = rect
        self.viewer._update_scene()

    def arranged_positions(self) -> dict[str, tuple[float, float]]:
        """Fresh layered positions for every workflow node (for the Arrange command)."""
        doc = self.document
        if doc is None:
            return {}
        heights = {n: node.view.height for n, node in self.nodes.items()}
        back = doc.back_edges()
        return layered(
            list(self.nodes),
            [(e.source, e.target) for e in doc.edges if EdgeKey.of(e) not in back],  # loops lay out as chains
            {},
            heights,
            growing=[n for n, node in self.nodes.items() if node.view.dynamic],
        )

    def render(self, path: str, scale: float = 1.0) -> bool:
        """The drawn graph (the as-of-now graph when a run is shown) as an image file."""
        scene = self.viewer.scene()
        rect = self.items_rect().adjusted(-40, -40, 40, 40)
        if rect.isNull():
            rect = QtCore.QRectF(0, 0, 400, 300)
        image = QtGui.QImage(int(rect.width() * scale), int(rect.height() * scale), QtGui.QImage.Format_ARGB32)
        image.fill(theme.color(theme.current().canvas))
        painter = QtGui.QPainter(image)
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        scene.render(painter, QtCore.QRectF(image.rect()), rect)
        painter.end()
        return image.save(path)


def estimated_height(inputs: int, outputs: int) -> float:
    """How tall NodeGraphQt will draw a node with these data ports (plus 'after' and 'then')."""
    return 26.0 + 23.0 * max(inputs + 1, outputs + 1) * 1.05 + 30.0


def _out_in(a: PortItem, b: PortItem) -> tuple[PortItem, PortItem]:
    return (a, b) if a.port_type == OUTPUT else (b, a)


def port_key(out: PortItem, inp: PortItem) -> EdgeKey:
    """The edge a pipe from ``out`` to ``inp`` stands for."""
    return EdgeKey(
        out.node.weft_id,
        None if out.name == THEN else out.name,
        inp.node.weft_id,
        None if inp.name == AFTER else inp.name,
    )


def pipe_between(out: PortItem, inp: PortItem) -> PipeItem | None:
    # from the input's side: an input has a wire or two, an output may have thousands
    return next((p for p in inp.connected_pipes if p.output_port is out), None)
