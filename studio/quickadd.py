"""Quick add: a searchable list of operators at the pointer, to add a node without the palette.

Tab on the canvas, or a double-click on empty canvas, opens it; a wire dragged from a port and
let go over empty space opens it with only the operators that have a port the wire fits, and
the node chosen is added there already wired (as ComfyUI and Blender do). Type to filter,
arrows to move, Enter to add, Escape (or a click elsewhere) to leave nothing behind.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from studio.canvas.canvas import Canvas
from studio.canvas.items import DESIGN, WeftNodeItem
from studio.canvas.nodegraph import OUTPUT, PortItem
from studio.model.document import AFTER, THEN, EdgeKey
from studio.model.library import LibraryFile
from studio.model.suggest import Choice, choices, fitting

#: how far left of the pointer a node fed backwards (from its output) is put
NODE_WIDTH = 190.0
ROLE_CHOICE = QtCore.Qt.UserRole + 1
_MUTED = QtGui.QColor(150, 156, 168)


def ports_line(choice: Choice) -> str:
    """``text → counts, total``: what goes in and comes out, by name."""
    ins, outs = ", ".join(choice.spec.inputs or {}), ", ".join(choice.spec.outputs or {})
    return f"{ins} → {outs}".strip() if ins or outs else ""


def describe(choice: Choice) -> str:
    """The operator in a few lines of rich text; the port a dragged wire would join underlined."""
    spec = choice.spec
    parts = [f"<b>{html.escape(choice.name)}</b> <span style='color:#969ca8'>({html.escape(choice.source)})</span>"]
    if spec.description:
        parts.append(html.escape(spec.description))
    for what, ports in (("in", spec.inputs), ("out", spec.outputs)):
        if ports:
            esc = html.escape
            shown = [
                f"<u>{esc(n)}</u>: {esc(t)}" if n == choice.port else f"{esc(n)}: {esc(t)}" for n, t in ports.items()
            ]
            parts.append(f"{what}: " + ", ".join(shown))
    return "<br/>".join(parts)


class QuickAddPopup(QtWidgets.QFrame):
    """The list itself: a filter field over the operators, keyboard first."""

    chosen = QtCore.Signal(object)  # a Choice
    cancelled = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, QtCore.Qt.Popup)
        self.setObjectName("quick-add")
        self.setFrameShape(QtWidgets.QFrame.StyledPanel)
        self.setStyleSheet(
            "#quick-add { background: #262a31; border: 1px solid #4a5060; border-radius: 4px; }"
            "#quick-add QLabel { color: #d8dbe2; }"
            "#quick-add QLineEdit { background: #1d2026; color: #eceef2; border: 1px solid #4a5060;"
            " border-radius: 3px; padding: 4px 6px; }"
            "#quick-add QTreeWidget { background: #262a31; color: #e4e6eb; border: none; }"
            "#quick-add QTreeWidget::item { padding: 3px 2px; }"
            "#quick-add QTreeWidget::item:selected { background: #3d5a80; color: white; }"
        )
        self.title = QtWidgets.QLabel()
        self.title.setObjectName("quick-add-title")
        self.filter = QtWidgets.QLineEdit(placeholderText="Type to search operators")
        self.list = QtWidgets.QTreeWidget()
        self.list.setColumnCount(3)
        self.list.setHeaderHidden(True)
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setFocusPolicy(QtCore.Qt.NoFocus)
        self.list.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        self.list.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarAsNeeded)
        self.detail = QtWidgets.QLabel()
        self.detail.setObjectName("quick-add-detail")
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(QtCore.Qt.RichText)
        self.detail.setFixedHeight(4 * self.detail.fontMetrics().lineSpacing() + 4)
        self.detail.setAlignment(QtCore.Qt.AlignTop | QtCore.Qt.AlignLeft)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.filter)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.detail)
        self.setFixedWidth(460)
        self.filter.textChanged.connect(self._apply_filter)
        self.filter.installEventFilter(self)
        self.list.itemClicked.connect(lambda item, _col: self._choose(item))
        self.list.currentItemChanged.connect(self._show_detail)
        self._done = False

    # -- showing ----------------------------------------------------------------------------

    def offer(self, offered: list[Choice], title: str, at: QtCore.QPoint) -> None:
        """Show ``offered`` under ``title`` with its top-left corner near ``at`` (global)."""
        self._done = False
        self.title.setText(title)
        self.list.clear()
        bold = self.list.font()
        bold.setBold(True)
        for choice in offered:
            item = QtWidgets.QTreeWidgetItem([choice.name, ports_line(choice), choice.source])
            item.setData(0, ROLE_CHOICE, choice)
            item.setFont(0, bold)
            item.setForeground(1, QtGui.QBrush(_MUTED))
            item.setForeground(2, QtGui.QBrush(_MUTED))
            item.setTextAlignment(2, QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter)
            item.setToolTip(0, describe(choice))
            self.list.addTopLevelItem(item)
        for column in range(3):
            self.list.resizeColumnToContents(column)
        # as tall as what is offered (up to a dozen rows), and then no taller while filtering
        row = self.list.sizeHintForRow(0) if offered else self.list.fontMetrics().height() + 8
        self.list.setFixedHeight(max(4, min(len(offered), 12)) * row + 6)
        self.adjustSize()
        self.filter.blockSignals(True)
        self.filter.clear()
        self.filter.blockSignals(False)
        self._apply_filter("")
        screen = QtGui.QGuiApplication.screenAt(at) or QtGui.QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else QtCore.QRect(0, 0, 4000, 4000)
        x = min(max(at.x(), area.left()), area.right() - self.width())
        y = min(max(at.y(), area.top()), area.bottom() - self.height())
        self.move(x, y)
        self.show()
        self.raise_()
        self.activateWindow()
        self.filter.setFocus()

    def visible_choices(self) -> list[Choice]:
        return [
            self.list.topLevelItem(i).data(0, ROLE_CHOICE)
            for i in range(self.list.topLevelItemCount())
            if not self.list.topLevelItem(i).isHidden()
        ]

    def current(self) -> Choice | None:
        item = self.list.currentItem()
        return item.data(0, ROLE_CHOICE) if item is not None and not item.isHidden() else None

    # -- filtering and keys -----------------------------------------------------------------

    def _apply_filter(self, text: str) -> None:
        """Names that start with the text first, then names that contain it, then descriptions."""
        text = text.strip().lower()
        ranked: list[tuple[int, int, QtWidgets.QTreeWidgetItem]] = []
        items = [self.list.takeTopLevelItem(0) for _ in range(self.list.topLevelItemCount())]
        for index, item in enumerate(items):
            choice: Choice = item.data(0, ROLE_CHOICE)
            name, about = choice.name.lower(), (choice.spec.description or "").lower()
            rank = 0 if name.startswith(text) else 1 if text in name else 2 if text in about else 3
            ranked.append((rank, index if rank else len(name) * 1000 + index, item))
        ranked.sort(key=lambda r: (r[0], r[1]))
        for rank, _key, item in ranked:
            self.list.addTopLevelItem(item)
            item.setHidden(rank == 3)
        first = next((i for _r, _k, i in ranked if not i.isHidden()), None)
        self.list.setCurrentItem(first)
        if first is None:
            self.detail.setText("<i>No operator matches.</i>")

    def _show_detail(self, item: QtWidgets.QTreeWidgetItem | None, _previous: Any = None) -> None:
        if item is not None:
            self.detail.setText(describe(item.data(0, ROLE_CHOICE)))

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if watched is self.filter and event.type() == QtCore.QEvent.KeyPress:
            key = event.key()
            if key in (QtCore.Qt.Key_Up, QtCore.Qt.Key_Down, QtCore.Qt.Key_PageUp, QtCore.Qt.Key_PageDown):
                self._step(key)
                return True
            if key in (QtCore.Qt.Key_Return, QtCore.Qt.Key_Enter):
                self._choose(self.list.currentItem())
                return True
            if key == QtCore.Qt.Key_Escape:
                self.close()
                return True
        return super().eventFilter(watched, event)

    def _step(self, key: int) -> None:
        shown = [
            self.list.topLevelItem(i)
            for i in range(self.list.topLevelItemCount())
            if not self.list.topLevelItem(i).isHidden()
        ]
        if not shown:
            return
        current = self.list.currentItem()
        at = shown.index(current) if current in shown else -1
        step = {QtCore.Qt.Key_Up: -1, QtCore.Qt.Key_Down: 1, QtCore.Qt.Key_PageUp: -8, QtCore.Qt.Key_PageDown: 8}[key]
        target = shown[max(0, min(len(shown) - 1, at + step))]
        self.list.setCurrentItem(target)
        self.list.scrollToItem(target)

    def _choose(self, item: QtWidgets.QTreeWidgetItem | None) -> None:
        if item is None or item.isHidden():
            return
        self._done = True
        self.close()
        self.chosen.emit(item.data(0, ROLE_CHOICE))

    def hideEvent(self, event: QtGui.QHideEvent) -> None:
        super().hideEvent(event)
        if not self._done:
            self._done = True
            self.cancelled.emit()


class QuickAdd(QtCore.QObject):
    """Opens the popup where a person asks for it and adds (and wires) what they choose."""

    def __init__(
        self, canvas: Canvas, libraries: Callable[[], list[LibraryFile]], parent: QtCore.QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.libraries = libraries
        self.popup = QuickAddPopup(canvas.viewer)
        self.popup.chosen.connect(self._chosen)
        self.popup.cancelled.connect(lambda: self.canvas.viewer.setFocus())
        canvas.viewer.background_double_clicked.connect(self.open_at)
        canvas.viewer.wire_dropped.connect(self._wire_dropped)
        self._at = QtCore.QPointF()
        self._wire: EdgeKey | None = None

    def open_at_cursor(self) -> None:
        """Tab: at the pointer when it is over the canvas, else in the middle of the view."""
        viewport = self.canvas.viewer.viewport()
        point = viewport.mapFromGlobal(QtGui.QCursor.pos())
        if not viewport.rect().contains(point):
            point = viewport.rect().center()
        self.open_at(self.canvas.viewer.mapToScene(point))

    def open_at(self, scene_pos: QtCore.QPointF, wire: EdgeKey | None = None, title: str = "Add a node") -> bool:
        doc = self.canvas.document
        if doc is None or self.canvas.editor is None:
            return False
        if not self.canvas.editable:
            self.canvas.message.emit("The workflow cannot be edited while a run is shown.")
            return False
        offered = choices(doc, self.libraries())
        if wire is not None:
            output = wire.target == ""
            node, port = (wire.source, wire.source_port) if output else (wire.target, wire.target_port)
            offered = fitting(doc, offered, self.libraries(), node, port, output)
            if not offered:
                self.canvas.message.emit(f"No operator fits: {title}")
                return False
        self._at, self._wire = scene_pos, wire
        viewer = self.canvas.viewer
        self.popup.offer(offered, title, viewer.viewport().mapToGlobal(viewer.mapFromScene(scene_pos)))
        return True

    def _wire_dropped(self, port: PortItem, scene_pos: QtCore.QPointF) -> None:
        item = port.node
        if not isinstance(item, WeftNodeItem) or item.kind != DESIGN or self.canvas.document is None:
            return
        output = port.port_type == OUTPUT
        name = None if port.name in (THEN, AFTER) else port.name
        inputs, outputs = self.canvas.document.ports(item.weft_id)
        type_text = (outputs if output else inputs).get(name or "", "")
        where = f"{item.weft_id}.{name} ({type_text})" if name else f"{item.weft_id} ({'then' if output else 'after'})"
        wire = EdgeKey(item.weft_id, name, "", None) if output else EdgeKey("", None, item.weft_id, name)
        self.open_at(scene_pos, wire, f"Connect {where} to…" if output else f"Feed {where} from…")

    def _chosen(self, choice: Choice) -> None:
        editor = self.canvas.editor
        if editor is None:
            return
        x, y = self._at.x(), self._at.y() - 40.0
        library = str(choice.library) if choice.library else None
        wire = self._wire
        if wire is None:
            problem = editor.add_operator_node(choice.name, library, (x, y))
        elif wire.target == "":
            problem = editor.add_wired_node(
                choice.name, library, (x + 10.0, y), EdgeKey(wire.source, wire.source_port, "", choice.port)
            )
        else:
            problem = editor.add_wired_node(
                choice.name, library, (x - NODE_WIDTH, y), EdgeKey("", choice.port, wire.target, wire.target_port)
            )
        if problem:
            self.canvas.message.emit(problem)
        else:
            added = self.canvas.document.node_ids()[-1] if self.canvas.document else None
            if added:
                self.canvas.select([added])
        self.canvas.viewer.setFocus()
