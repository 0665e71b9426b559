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
from studio.canvas.nodegraph import INPUT, OUTPUT, BaseNode, NodeGraph, NodeViewer, PortItem

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


class _Item(WeftNodeItem):
    _placed = False

    def placed(self) -> None:
        """The node stands where it belongs: from now on, moving it moves its wires along."""
        self._placed = True
        self.setFlag(QtWidgets.QGraphicsItem.ItemSendsGeometryChanges, True)

    def itemChange(self, change: Any, value: Any) -> Any:
        if change == QtWidgets.QGraphicsItem.ItemPositionHasChanged and self._placed:
            for port in self.inputs + self.outputs:
                port.redraw_connected_pipes()
        return super().itemChange(change, value)

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

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, undo_stack=None)  # no undo shortcuts of its own: the window has them
        self.wire_check: WireCheck | None = None
        self.refused_reason: str | None = None
        self.node_menu: NodeMenu | None = None

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

    def _validate_accept_connection(self, from_port: PortItem, to_port: PortItem) -> bool:
        if self.wire_check is None or from_port.port_type == to_port.port_type:
            return True  # same-side drops are restored by the viewer itself
        reason = self.wire_check(from_port, to_port)
        self.refused_reason = reason
        if reason:
            self.wire_refused.emit(reason)
            return False
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
