"""NodeGraphQt, adapted: Weft checks wires, Weft routes every user gesture, nothing else.

NodeGraphQt's ``NodeGraph`` would turn gestures into its own undo commands on its own model;
here the viewer's gesture signals (a wire drawn or cut, nodes moved, something dropped) go to
the canvas instead, which turns them into document edits, and the canvas mirrors the
document back. Connections are validated by Weft's types while the wire is dragged (the
viewer's accept hook), so an incompatible wire never lands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6 import QtCore, QtWidgets

from studio.canvas.items import NodeLook, WeftNodeItem
from studio.canvas.nodegraph import INPUT, OUTPUT, BaseNode, NodeGraph, NodeViewer, PipeItem, PortItem
from studio.canvas.wires import WeftPipeItem

#: a press on a wire this close to one of its ports (scene units) picks the wire up to move its
#: end, as a drag from the port does; anywhere else along the wire, a click selects it
PORT_END = 18.0

#: The drag-and-drop format of the palette: JSON {"operator": name, "library": path or ""}.
OPERATOR_MIME = "application/x-weft-operator"

WireCheck = Callable[[PortItem, PortItem], "str | None"]
#: the menu a right-click on a node shows (its Weft id given), or None for the canvas's menu
NodeMenu = Callable[[str], "QtWidgets.QMenu | None"]


class WeftPortItem(PortItem):
    """A port that tells the viewer when the pointer is over it (the status bar shows its type).

    Its tooltip (name and type) is ``tip``, handed to Qt the first time the pointer comes near
    (setting thousands of tooltips up front is a measurable part of opening a big workflow).
    """

    tip = ""
    type_text: str | None = None  # the port's data type; None for 'after' and 'then'
    #: Qt's own itemChange, not NodeGraphQt's Python one: ports change a dozen times each while a
    #: node is built, and each call into Python cost more than the port; the node moves its
    #: pipes instead (``_Item.itemChange``)
    itemChange = QtWidgets.QGraphicsItem.itemChange

    @PortItem.multi_connection.setter
    def multi_connection(self, mode: bool = False) -> None:
        self._multi_connection = mode

    @PortItem.locked.setter
    def locked(self, value: bool = False) -> None:
        self._locked = value

    def hoverEnterEvent(self, event: Any) -> None:
        if self.tip and self.toolTip() != self.tip:
            self.setToolTip(self.tip)
        super().hoverEnterEvent(event)
        scene = self.scene()
        if scene is not None and isinstance(scene.viewer(), WeftViewer):
            scene.viewer().port_hovered.emit(self.tip)


def _add_port(item: WeftNodeItem, name: str, port_type: int, multi: bool, display: bool, locked: bool) -> PortItem:
    port = WeftPortItem(item)
    port.name = name
    port.port_type = port_type
    port.multi_connection = multi
    port.display_name = display
    port.locked = locked
    return item._add_port(port)


_SELECTED_CHANGE = QtWidgets.QGraphicsItem.GraphicsItemChange.ItemSelectedChange
_MOVED = QtWidgets.QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged


class _Item(WeftNodeItem):
    _placed = False

    def placed(self) -> None:
        """The node stands where it belongs: from now on, moving it moves its wires along."""
        self._placed = True
        self.setFlag(QtWidgets.QGraphicsItem.ItemSendsGeometryChanges, True)

    def itemChange(self, change: Any, value: Any) -> Any:
        # called tens of times per node while a canvas is built: decide by identity, and leave
        # NodeGraphQt's handler (wire highlights) to the one change it is for
        if change is _SELECTED_CHANGE:
            return super().itemChange(change, value)
        if change is _MOVED and self._placed:
            for port in self.inputs + self.outputs:
                port.redraw_connected_pipes()
        return value

    def add_input(
        self,
        name: str = "input",
        multi_port: bool = False,
        display_name: bool = True,
        locked: bool = False,
        painter_func: Any = None,
    ) -> PortItem:
        return _add_port(self, name, INPUT, multi_port, display_name, locked)

    def add_output(
        self,
        name: str = "output",
        multi_port: bool = False,
        display_name: bool = True,
        locked: bool = False,
        painter_func: Any = None,
    ) -> PortItem:
        return _add_port(self, name, OUTPUT, multi_port, display_name, locked)


class WeftNode(BaseNode):
    """One node on the canvas; its look and run state live on ``self.view`` (a WeftNodeItem)."""

    __identifier__ = "weft"
    NODE_NAME = "node"

    def __init__(self) -> None:
        super().__init__(_Item)

    @property
    def item(self) -> WeftNodeItem:
        return self.view


class WeftViewer(NodeViewer):
    wire_refused = QtCore.Signal(str)
    port_hovered = QtCore.Signal(str)
    #: a new wire was dragged from a port (a PortItem) and let go over empty space (scene point)
    wire_dropped = QtCore.Signal(object, QtCore.QPointF)
    #: empty canvas was double-clicked (scene point)
    background_double_clicked = QtCore.Signal(QtCore.QPointF)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, undo_stack=None)  # no undo shortcuts of its own: the window has them
        self.wire_check: WireCheck | None = None
        self.refused_reason: str | None = None
        self.node_menu: NodeMenu | None = None

    # -- wires ------------------------------------------------------------------------------

    def establish_connection(self, start_port: PortItem, end_port: PortItem) -> None:
        """NodeGraphQt's, with Weft's wire item (its look, label, tooltip and wider hit area)."""
        pipe = WeftPipeItem()
        self.scene().addItem(pipe)
        pipe.set_connections(start_port, end_port)
        pipe.draw_path(pipe.input_port, pipe.output_port)
        if start_port.node.selected or end_port.node.selected:
            pipe.highlight()
        if not start_port.node.visible or not end_port.node.visible:
            pipe.hide()

    def wire_to_select(self, pos: QtCore.QPointF) -> WeftPipeItem | None:
        """The wire a left click at ``pos`` (scene) selects: one under the pointer, away from its
        ports' ends and from any node (a press there picks the wire up, as NodeGraphQt does)."""
        for item in self.scene().items(pos):
            if isinstance(item, (NodeLook, PortItem)) or isinstance(item.parentItem(), NodeLook):
                return None
            if isinstance(item, WeftPipeItem) and item.input_port is not None and item.output_port is not None:
                ends = (item.input_port.sceneBoundingRect().center(), item.output_port.sceneBoundingRect().center())
                if all(QtCore.QLineF(pos, end).length() > PORT_END for end in ends):
                    return item
                return None
        return None

    def sceneMousePressEvent(self, event: Any) -> None:
        plain = not (self.ALT_state or self.SHIFT_state or self.CTRL_state or self._LIVE_PIPE.isVisible())
        if plain and event.button() == QtCore.Qt.LeftButton and self.wire_to_select(event.scenePos()) is not None:
            return  # the scene's own press selects it
        super().sceneMousePressEvent(event)

    # -- NodeGraphQt's modifier hints -------------------------------------------------------

    def focusOutEvent(self, event: Any) -> None:
        """A shortcut that opens a dialog takes the keyboard away before Ctrl (or Shift, Alt) is
        released: the viewer never sees the release, so forget the modifiers here, and the hint
        NodeGraphQt draws for them ("CTRL: Deselect Nodes") with them."""
        self.forget_modifiers()
        super().focusOutEvent(event)

    def forget_modifiers(self) -> None:
        self.ALT_state = self.CTRL_state = self.SHIFT_state = False
        self._cursor_text.setPlainText("")
        self._cursor_text.setVisible(False)

    def modifier_hint(self) -> str:
        """The hint NodeGraphQt draws on the canvas while a modifier is held ('' when none)."""
        return self._cursor_text.toPlainText().strip() if self._cursor_text.isVisible() else ""

    def node_at(self, pos: QtCore.QPoint) -> NodeLook | None:
        """The node drawn at ``pos`` (viewport coordinates), whatever part of it is there."""
        for item in self.items(pos):
            while item is not None and not isinstance(item, NodeLook):
                item = item.parentItem()
            if item is not None:
                return item
        return None

    def contextMenuEvent(self, event: Any) -> None:
        node = self.node_at(event.pos()) if self.node_menu is not None else None
        menu = self.node_menu(node.weft_id) if node is not None and self.node_menu is not None else None
        if menu is None or menu.isEmpty():
            super().contextMenuEvent(event)
            return
        self.RMB_state = False
        menu.exec(event.globalPos())

    def apply_live_connection(self, event: Any) -> None:
        """A new wire let go over no port asks what to add there (``wire_dropped``); a wire
        picked up from a port and let go there is cut, as NodeGraphQt does."""
        start = self._start_port
        fresh = self._LIVE_PIPE.isVisible() and start is not None and self._detached_port is None
        if fresh and not self._LIVE_PIPE.shift_selected:
            if not any(isinstance(i, PortItem) for i in self.scene().items(event.scenePos())):
                start.hovered = False
                self.end_live_connection()
                self.wire_dropped.emit(start, event.scenePos())
                return
        super().apply_live_connection(event)

    def mouseDoubleClickEvent(self, event: Any) -> None:
        at = event.position().toPoint()
        busy = [i for i in self.items(at) if i.isVisible() and isinstance(i, (PortItem, PipeItem))]
        if event.button() == QtCore.Qt.LeftButton and not busy and self.node_at(at) is None:
            self.background_double_clicked.emit(self.mapToScene(at))
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def _validate_accept_connection(self, from_port: PortItem, to_port: PortItem) -> bool:
        if self.wire_check is None or from_port.port_type == to_port.port_type:
            return True  # same-side drops are restored by the viewer itself
        reason = self.wire_check(from_port, to_port)
        refused_before, self.refused_reason = self.refused_reason, reason
        if reason:
            self.wire_refused.emit(reason)
            return False
        if refused_before:
            self.wire_refused.emit("")  # over a port that fits now: the refusal no longer holds
        return True

    def _validate_reject_connection(self, from_port: PortItem, to_port: PortItem) -> bool:
        return False

    def _accepts(self, event: Any) -> bool:
        return event.mimeData().hasFormat(OPERATOR_MIME)

    def dragEnterEvent(self, event: Any) -> None:
        event.accept() if self._accepts(event) else event.ignore()

    def dragMoveEvent(self, event: Any) -> None:
        event.accept() if self._accepts(event) else event.ignore()


class WeftGraph(NodeGraph):
    """The NodeGraphQt controller with its gesture handling taken out (the canvas does it)."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent, viewer=WeftViewer())
        self.set_acyclic(False)  # cycles are refused by Weft's check, with a reason
        self.set_pipe_collision(False)
        self.register_node(WeftNode)

    def get_unique_name(self, name: str) -> str:
        return name  # ids are Weft's business (and this is O(n) per node upstream)

    def _wire_signals(self) -> None:
        viewer = self._viewer
        viewer.node_selected.connect(self._on_node_selected)
        viewer.node_selection_changed.connect(self._on_node_selection_changed)
        viewer.node_double_clicked.connect(self._on_node_double_clicked)

    def _on_node_selected(self, node_id: str) -> None:
        node = self.get_node_by_id(node_id)
        if node is not None:
            self.node_selected.emit(node)

    def _on_node_selection_changed(self, sel_ids: list[str], desel_ids: list[str]) -> None:
        self.node_selection_changed.emit(
            [n for n in map(self.get_node_by_id, sel_ids) if n is not None],
            [n for n in map(self.get_node_by_id, desel_ids) if n is not None],
        )

    def _on_node_double_clicked(self, node_id: str) -> None:
        node = self.get_node_by_id(node_id)
        if node is not None:
            self.node_double_clicked.emit(node)
