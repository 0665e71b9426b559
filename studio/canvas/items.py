"""How a node looks on the canvas: NodeGraphQt's node item, drawn Weft's way.

One item class draws every kind of node: a workflow node, a node a task created during a run,
a ghost (what may still appear, dashed, with what it stands for) and a refused node (what a
mutation that broke a promise tried to add, red and dashed). Run state is an attribute of the
item that only paints differently; it never goes through NodeGraphQt's properties (which
would push undo entries) and never into the document.

The item is also made cheaper to create than NodeGraphQt's: port labels are simple text
items, nothing is drawn until the item is in the scene, and icons are not loaded.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from studio import theme
from studio.canvas.nodegraph import CACHE_MODE, INPUT, SELECTED_BORDER_COLOR, SELECTED_COLOR, AbstractNodeItem, NodeItem

DESIGN, SPAWNED, GHOST, REFUSED = "design", "spawned", "ghost", "refused"

#: Fill and border per node state (border drawn thick, fill tinted).
STATE_COLORS: dict[str, tuple[int, int, int]] = {
    "pending": (150, 150, 150),
    "running": (70, 150, 230),
    "waiting": (235, 200, 70),
    "succeeded": (90, 185, 100),
    "failed": (235, 45, 45),
    "skipped": (120, 120, 120),
    "cancelled": (160, 130, 210),
    "retired": (110, 110, 110),
}
#: A glyph per state, drawn beside the state's name and in the node's corner: a state reads
#: without its colour too (and two close colours never stand alone).
STATE_ICONS: dict[str, str] = {
    "pending": "○",
    "running": "▶",
    "waiting": "?",
    "succeeded": "✓",
    "failed": "✕",
    "skipped": "↷",
    "cancelled": "⊘",
    "retired": "⌀",
}
#: how much of the state's colour goes into the node's fill (out of 4): failed stands out
STATE_TINT: dict[str, int] = {"failed": 2, "pending": 0, "retired": 0}
GHOST_PEN = QtGui.QColor(170, 170, 170)
REFUSED_PEN = QtGui.QColor(235, 70, 70)
BADGE = QtGui.QColor(230, 140, 40)
SUBFLOW_BADGE = QtGui.QColor(120, 170, 240)
LOOP_BADGE = QtGui.QColor(200, 160, 240)  # a loop node's ×N iterations
CACHED_BADGE = QtGui.QColor(80, 190, 200)
RETRY_BADGE = QtGui.QColor(150, 160, 200)
TIMEOUT_BADGE = QtGui.QColor(175, 175, 150)
#: height of each of the two footer lines: the state (or detail), and where it runs with badges
LINE = 13.0
#: how much of a retired node (and of its wires) still shows: it left the as-of-now graph
RETIRED_OPACITY = 0.35

#: Port colours by the base of their type, so compatible ports look alike.
TYPE_COLORS: dict[str, tuple[int, int, int]] = {
    "str": (80, 170, 110),
    "file": (170, 120, 70),
    "int": (80, 140, 220),
    "float": (110, 170, 230),
    "bool": (230, 160, 60),
    "json": (150, 150, 150),
    "record": (170, 110, 210),
    "control": (110, 110, 120),
}

_FONT: QtGui.QFont | None = None


def _small_font() -> QtGui.QFont:
    global _FONT
    if _FONT is None:
        _FONT = QtGui.QFont()
        _FONT.setPointSizeF(7.5)
    return _FONT


def type_color(type_text: str | None) -> tuple[int, int, int, int]:
    if type_text is None:
        return (*TYPE_COLORS["control"], 255)
    base = type_text.rstrip("?")
    while base.startswith(("list[", "dict[")):
        base = base[5:-1].split(",")[-1].strip().rstrip("?")
    return (*TYPE_COLORS.get(base, TYPE_COLORS["record"]), 255)


class _Title(QtWidgets.QGraphicsSimpleTextItem):
    """The node's title: a simple text item (NodeGraphQt's is a full, editable text document)."""

    def __init__(self, text: str, parent: QtWidgets.QGraphicsItem) -> None:
        super().__init__(text, parent)
        self.setBrush(theme.color(theme.current().node_title))
        self.setCacheMode(CACHE_MODE)

    def setPlainText(self, text: str) -> None:
        self.setText(text)

    def toPlainText(self) -> str:
        return self.text()

    def setDefaultTextColor(self, color: QtGui.QColor) -> None:
        self.setBrush(color)

    def set_locked(self, _state: bool = False) -> None:
        pass  # ids are edited in the properties panel, never on the canvas

    def set_editable(self, _value: bool = False) -> None:
        pass


class _Nothing:
    """Stands in for NodeGraphQt's icon and "disabled" overlay, which Weft does not draw."""

    proxy_mode = False

    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF()

    def setPos(self, *_args: Any) -> None:
        pass

    def setVisible(self, _visible: bool) -> None:
        pass

    def setPixmap(self, _pixmap: Any) -> None:
        pass


class NodeLook:
    """What every node item shows, whatever draws it: kind, run state, progress, badges."""

    weft_id: str
    kind: str
    run_state: str | None
    progress: float | None
    detail: str
    dynamic: bool
    culprit: bool
    problem: str | None
    note: str
    accent: QtGui.QColor | None
    cached_from: str | None
    question: str
    where: str
    cache: bool
    retries: int
    timeout: float | None
    _faded: bool

    def _init_look(self, kind: str = DESIGN) -> None:
        self.weft_id = ""
        self.kind = kind
        self.run_state = None
        self.progress = None
        self.detail = ""  # a second line: operator, or the ghost's meaning
        self.dynamic = False
        self.culprit = False  # the task whose mutation broke a promise
        self.problem = None
        self.note = ""  # why it failed, was skipped or cancelled
        self.accent = None  # style.color
        self.cached_from = None  # the run whose cached result this node reused
        self.question = ""  # what it asks while it waits for a person
        self.where = ""  # where it runs: local, or docker and the image
        self.cache = False  # may reuse an earlier result
        self.retries = 0
        self.timeout: float | None = None
        self.sub_workflow = ""  # the file a `workflow:` node is (its badge and tooltip say it)
        self.iterations = 0  # a loop node during a run: how many iterations so far (its ×N badge)
        self._faded = False

    def tooltip(self) -> str:
        lines = [f"<b>{self.weft_id}</b>"]
        if self.detail:
            lines.append(self.detail)
        if self.kind == SPAWNED:
            lines.append("<i>created during the run</i>")
        if self.where:
            lines.append(f"runs on: {html.escape(self.where)}")
        if self.sub_workflow:
            lines.append(f"sub-workflow: {html.escape(self.sub_workflow)} (double-click to open it)")
        if self.dynamic:
            lines.append("dynamic: its task may add nodes, edges and promises")
        if self.cache:
            lines.append("cache: may reuse an earlier run's result")
        if self.retries:
            lines.append(f"retries: {self.retries}")
        if self.timeout:
            lines.append(f"timeout: {_seconds(self.timeout)} per attempt")
        if self.run_state:
            state = self.run_state + (f" ({self.progress:.0%})" if self.progress is not None else "")
            lines.append(f"state: {state}")
        if self.run_state == "retired":
            lines.append("<i>made by an earlier attempt that a restart replaced: no longer in the graph</i>")
        if self.question:
            lines.append(f"asks: {html.escape(self.question)} (select it to answer)")
        if self.cached_from:
            lines.append(f"cached from run {html.escape(self.cached_from)}")
        if self.note:
            lines.append(self.note)
        if self.problem:
            lines.append(f"<font color='#e06666'>{self.problem}</font>")
        return "<br/>".join(lines)

    def refresh(self) -> None:
        """Repaint after a change of run state, progress or badges (cheap: no relayout). The
        tooltip is built when the pointer comes to the node, not at every change."""
        if self.toolTip():  # type: ignore[attr-defined]  # a mixin: the QGraphicsItem provides it
            self.setToolTip("")  # type: ignore[attr-defined]  # a mixin: the QGraphicsItem provides it
        faded = self.run_state == "retired"
        if faded != self._faded:
            self._faded = faded
            self.setOpacity(RETIRED_OPACITY if faded else 1.0)  # type: ignore[attr-defined]  # a mixin
        self.update()  # type: ignore[attr-defined]  # a mixin: the QGraphicsItem provides it

    def hoverEnterEvent(self, event: Any) -> None:
        self.setToolTip(self.tooltip())  # type: ignore[attr-defined]  # a mixin: the QGraphicsItem provides it
        super().hoverEnterEvent(event)  # type: ignore[misc]  # a mixin: the QGraphicsItem provides it

    def badges(self) -> list[tuple[str, QtGui.QColor]]:
        """The small labels of the second footer line, most telling first."""
        out: list[tuple[str, QtGui.QColor]] = []
        if self.kind == GHOST:
            return out
        if self.iterations:
            out.append((f"×{self.iterations}", LOOP_BADGE))
        if self.sub_workflow:
            out.append(("sub-workflow", SUBFLOW_BADGE))
        if self.dynamic:
            out.append(("dynamic", BADGE))
        if self.cached_from:
            out.append(("cached", CACHED_BADGE))
        elif self.cache:
            out.append(("cache", CACHED_BADGE))
        if self.retries:
            out.append((f"↻{self.retries}", RETRY_BADGE))
        if self.timeout:
            out.append((f"⏱{_seconds(self.timeout)}", TIMEOUT_BADGE))
        return out

    def paint_look(
        self, painter: QtGui.QPainter, rect: QtCore.QRectF, header: float, selected: bool, border_rgba: Any, proxy: bool
    ) -> None:
        look = theme.current()
        radius = 5.0
        state_rgb = STATE_COLORS.get(self.run_state or "")
        if self.kind in (GHOST, REFUSED):
            pen = QtGui.QPen(GHOST_PEN if self.kind == GHOST else REFUSED_PEN, 1.6, QtCore.Qt.DashLine)
            painter.setPen(pen)
            painter.setBrush(theme.color(look.ghost_fill) if self.kind == GHOST else QtGui.QColor(120, 30, 30, 90))
            painter.drawRoundedRect(rect, radius, radius)
        else:
            fill = theme.color(look.node_body)
            if state_rgb is not None:
                tint, share = QtGui.QColor(*state_rgb), STATE_TINT.get(self.run_state or "", 1)
                fill = QtGui.QColor(
                    (fill.red() * (4 - share) + tint.red() * share) // 4,
                    (fill.green() * (4 - share) + tint.green() * share) // 4,
                    (fill.blue() * (4 - share) + tint.blue() * share) // 4,
                )
            painter.setPen(QtCore.Qt.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(rect, radius, radius)
            painter.setBrush(self.accent if self.accent is not None else theme.color(look.node_header))
            painter.drawRoundedRect(QtCore.QRectF(rect.left(), rect.top(), rect.width(), header), radius, radius)
            if self.kind == SPAWNED:  # a stripe on the left: made by a task, not by a person
                painter.setBrush(QtGui.QColor(230, 140, 40, 160))
                painter.drawRect(QtCore.QRectF(rect.left(), rect.top() + radius, 3.0, rect.height() - 2 * radius))
            if selected:
                painter.setBrush(QtGui.QColor(*SELECTED_COLOR))
                painter.drawRoundedRect(rect, radius, radius)
            if self.culprit or self.problem:
                border, width = REFUSED_PEN, 3.0
            elif self.run_state == "failed":
                border, width = QtGui.QColor(*STATE_COLORS["failed"]), 3.6
            elif state_rgb is not None:
                border, width = QtGui.QColor(*state_rgb), 2.6
            else:
                border, width = theme.color(look.node_border), 1.2
            if selected:
                border, width = QtGui.QColor(*SELECTED_BORDER_COLOR), max(width, 2.0)
            painter.setBrush(QtCore.Qt.NoBrush)
            painter.setPen(QtGui.QPen(border, width))
            painter.drawRoundedRect(rect, radius, radius)
            if state_rgb is not None and not proxy:
                self._paint_state_icon(painter, rect, header, state_rgb)
        if proxy:
            return
        self._paint_footer(painter, rect, state_rgb)

    def _paint_state_icon(self, painter: QtGui.QPainter, rect: QtCore.QRectF, header: float, rgb: Any) -> None:
        """The state's glyph in a disc at the header's right end (a failed node's is bigger)."""
        size = 16.0 if self.run_state == "failed" else 13.0
        disc = QtCore.QRectF(rect.right() - size - 3, rect.top() + max(1.0, (header - size) / 2), size, size)
        painter.setPen(QtGui.QPen(QtGui.QColor(255, 255, 255, 200), 1.0))
        painter.setBrush(QtGui.QColor(*rgb))
        painter.drawEllipse(disc)
        font = QtGui.QFont(_small_font())
        font.setBold(True)
        font.setPointSizeF(size * 0.45)
        painter.setFont(font)
        painter.setPen(QtGui.QColor(255, 255, 255))
        painter.drawText(disc, QtCore.Qt.AlignCenter, STATE_ICONS.get(self.run_state or "", ""))

    def _paint_footer(self, painter: QtGui.QPainter, rect: QtCore.QRectF, state_rgb: Any) -> None:
        look = theme.current()
        painter.setFont(_small_font())
        metrics = QtGui.QFontMetrics(_small_font())
        first = QtCore.QRectF(rect.left() + 8, rect.bottom() - 6 - 2 * LINE, rect.width() - 16, LINE)
        second = QtCore.QRectF(first.left(), first.bottom(), first.width(), LINE)
        if self.kind == GHOST:
            text = self.detail
        elif self.kind == REFUSED:
            text = "refused: " + self.detail
        elif self.run_state == "waiting" and self.question:
            text = f"? waiting: {self.question}"
        elif self.run_state:
            text = f"{STATE_ICONS.get(self.run_state, '')} {self.run_state}" + (
                f"  {self.progress:.0%}" if self.progress is not None else ""
            )
        else:
            text = self.detail
        if self.kind == REFUSED:
            pen = REFUSED_PEN
        elif self.run_state == "failed":
            pen = QtGui.QColor(255, 235, 235) if look.name == "dark" else QtGui.QColor(150, 0, 0)
        else:
            pen = theme.color(look.node_footer)
        painter.setPen(pen)
        if self.run_state == "failed":
            bold = QtGui.QFont(_small_font())
            bold.setBold(True)
            painter.setFont(bold)
        painter.drawText(
            first,
            QtCore.Qt.AlignLeft | QtCore.Qt.AlignVCenter,
            metrics.elidedText(text, QtCore.Qt.ElideRight, int(first.width())),
        )
        painter.setFont(_small_font())
        right = second.right()
        for label, colour in reversed(self.badges()):
            right = self._paint_badge(painter, second, right, label, colour)
        if self.where and self.kind != GHOST:
            painter.setPen(theme.color(look.node_where))
            room = QtCore.QRectF(second.left(), second.top(), max(0.0, right - second.left() - 4), LINE)
            painter.drawText(
                room,
                QtCore.Qt.AlignLeft | QtCore.Qt.AlignVCenter,
                metrics.elidedText(self.where, QtCore.Qt.ElideMiddle, int(room.width())),
            )
        if self.progress is not None and self.kind not in (GHOST, REFUSED):
            bar = QtCore.QRectF(rect.left() + 4, rect.bottom() - 4, rect.width() - 8, 3)
            painter.setPen(QtCore.Qt.NoPen)
            painter.setBrush(QtGui.QColor(0, 0, 0, 120))
            painter.drawRect(bar)
            painter.setBrush(QtGui.QColor(*(state_rgb or STATE_COLORS["running"])))
            painter.drawRect(
                QtCore.QRectF(bar.left(), bar.top(), bar.width() * max(0.0, min(1.0, self.progress)), bar.height())
            )

    def _paint_badge(
        self, painter: QtGui.QPainter, line: QtCore.QRectF, right: float, text: str, color: QtGui.QColor
    ) -> float:
        """A small rounded label on ``line``, ending at ``right``; returns where the next one ends."""
        width = QtGui.QFontMetrics(_small_font()).horizontalAdvance(text) + 10.0
        badge = QtCore.QRectF(right - width, line.top() + 0.5, width, LINE - 1.0)
        painter.setPen(QtCore.Qt.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(badge, 6, 6)
        painter.setPen(QtGui.QColor(30, 30, 30))
        painter.setFont(_small_font())
        painter.drawText(badge, QtCore.Qt.AlignCenter, text)
        return badge.left() - 3.0

    def apply_theme(self) -> None:
        """Take the current theme's text colours (the body is painted from it anyway)."""
        self.update()  # type: ignore[attr-defined]  # a mixin: the QGraphicsItem provides it


def _seconds(value: float) -> str:
    value = float(value)
    if value >= 3600 and value % 3600 == 0:
        return f"{int(value // 3600)}h"
    if value >= 60 and value % 60 == 0:
        return f"{int(value // 60)}m"
    return f"{value:g}s"


def short_image(image: str, limit: int = 22) -> str:
    """An image name as a node shows it: no registry host, no ``library/``, no digest."""
    name = image.split("@", 1)[0]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if parts and parts[0] == "library":
        parts = parts[1:]
    name = "/".join(parts) or image
    return name if len(name) <= limit else "…" + name[-(limit - 1) :]


def where_text(executor: str | None, image: str | None) -> str:
    """Where a node runs, in a few words: ``local``, ``docker · python:3.12-slim``."""
    executor = executor or "local"
    if executor == "local" or not image:
        return executor
    return f"{executor} · {short_image(image)}"


class WeftNodeItem(NodeLook, NodeItem):
    """A workflow node: NodeGraphQt's node item (ports a person can wire), drawn Weft's way.
    ``weft_id`` is Weft's id (NodeGraphQt's ids change on every load)."""

    def __init__(self, name: str = "node", parent: QtWidgets.QGraphicsItem | None = None) -> None:
        # NodeItem.__init__ minus what Weft does not draw (icon, overlay, editable title)
        AbstractNodeItem.__init__(self, name, parent)
        self._properties["icon"] = None
        self._icon_item = _Nothing()
        self._text_item = _Title(self.name, self)
        self._x_item = _Nothing()
        self._input_items: dict[Any, Any] = {}
        self._output_items: dict[Any, Any] = {}
        self._widgets: dict[str, Any] = {}
        self._proxy_mode = False
        self._proxy_mode_threshold = 70
        self._init_look()
        self.setAcceptHoverEvents(True)

    def set_proxy_mode(self, mode: bool) -> None:
        """Far out, ports are not drawn either (they are hundreds of small Python paints)."""
        if mode is self._proxy_mode:
            return
        super().set_proxy_mode(mode)
        for port in list(self._input_items) + list(self._output_items):
            port.setVisible(not mode)

    # -- NodeGraphQt overrides that keep creation cheap --------------------------------------

    def pre_init(self, viewer: Any, pos: Any = None) -> None:
        """Drawn and placed before it joins the scene: moving an item (and its dozen children)
        that the scene already indexes costs several times more."""
        self.draw_node()
        if pos:
            self.setPos(pos[0], pos[1])

    def post_init(self, viewer: Any = None, pos: Any = None) -> None:
        pass  # NodeGraphQt draws and places the node here, after adding it: done in pre_init

    def auto_switch_mode(self) -> None:
        """Far out (the node narrower on screen than the threshold), draw it as a plain box: the
        view's scale says so without mapping the node's corners to the screen at every paint."""
        viewer = self.viewer()
        if viewer is not None:
            self.set_proxy_mode(self._width * viewer.transform().m11() < self._proxy_mode_threshold)

    @AbstractNodeItem.layout_direction.setter
    def layout_direction(self, value: int = 0) -> None:
        AbstractNodeItem.layout_direction.fset(self, value)  # drawn once, in post_init

    @property
    def icon(self) -> Any:
        return self._properties.get("icon")

    @icon.setter
    def icon(self, path: Any = None) -> None:
        self._properties["icon"] = path

    @AbstractNodeItem.width.setter
    def width(self, width: float = 0.0) -> None:
        AbstractNodeItem.width.fset(self, max(width, self._width))

    @AbstractNodeItem.height.setter
    def height(self, height: float = 0.0) -> None:
        AbstractNodeItem.height.fset(self, max(height, self._height))

    def _add_port(self, port: Any) -> Any:
        text = QtWidgets.QGraphicsSimpleTextItem(port.name, self)
        text.setFont(_small_font())
        text.setBrush(theme.color(theme.current().node_text))
        text.setVisible(port.display_name)
        text.setCacheMode(CACHE_MODE)
        if port.port_type == INPUT:
            self._input_items[port] = text
        else:
            self._output_items[port] = text
        return port

    def _set_text_color(self, color: Any) -> None:
        self._text_item.setDefaultTextColor(theme.color(theme.current().node_title))  # not NodeGraphQt's

    def apply_theme(self) -> None:
        look = theme.current()
        self._text_item.setBrush(theme.color(look.node_title))
        for text in list(self._input_items.values()) + list(self._output_items.values()):
            text.setBrush(theme.color(look.node_text))
        self.update()

    def _tooltip_disable(self, state: bool) -> None:
        pass  # the canvas sets the tooltip once, and refresh() when the state changes

    def mouseDoubleClickEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        viewer = self.viewer()
        if viewer is not None and event.button() == QtCore.Qt.LeftButton:
            viewer.node_double_clicked.emit(self.id)
        QtWidgets.QGraphicsItem.mouseDoubleClickEvent(self, event)

    def draw_node(self) -> None:
        super().draw_node()
        self._height += 2 * LINE + 4.0  # the state (or detail) line, and where it runs with badges
        self.prepareGeometryChange()

    def paint(self, painter: QtGui.QPainter, option: Any, widget: Any) -> None:
        self.auto_switch_mode()  # far out, titles and port names are not drawn
        painter.save()
        self.paint_look(
            painter,
            self.boundingRect().adjusted(1.0, 1.0, -1.0, -1.0),
            self._text_item.boundingRect().height(),
            self.selected,
            self.border_color,
            self._proxy_mode,
        )
        painter.restore()


class RunNodeItem(NodeLook, AbstractNodeItem):
    """A node a task created, a ghost, or a refused node: one light item (no NodeGraphQt model,
    no port items), so a run can add a thousand of them without the window stalling. They are
    not wired by people; their wires are ``RunEdgeItem``s."""

    WIDTH = 180.0
    HEIGHT = 58.0
    HEADER = 20.0

    def __init__(self, node_id: str, label: str, kind: str, detail: str = "", dynamic: bool = False) -> None:
        AbstractNodeItem.__init__(self, label)
        self._init_look(kind)
        self.weft_id, self.detail, self.dynamic = node_id, detail, dynamic
        self._properties["id"] = None  # not a NodeGraphQt node: the graph never looks it up
        self._width, self._height = self.WIDTH, self.HEIGHT
        self.on_moved: Any = None
        self.setFlag(QtWidgets.QGraphicsItem.ItemSendsGeometryChanges, True)
        self.setAcceptHoverEvents(True)

    def itemChange(self, change: Any, value: Any) -> Any:
        if change == QtWidgets.QGraphicsItem.ItemPositionHasChanged and self.on_moved is not None:
            self.on_moved(self)
        return super().itemChange(change, value)

    def anchor(self, output: bool) -> QtCore.QPointF:
        """Where wires leave (right) or enter (left) the node, in scene coordinates."""
        pos = self.scenePos()
        return QtCore.QPointF(pos.x() + (self._width if output else 0.0), pos.y() + self.HEADER + 10.0)

    def paint(self, painter: QtGui.QPainter, option: Any, widget: Any) -> None:
        painter.save()
        rect = self.boundingRect().adjusted(1.0, 1.0, -1.0, -1.0)
        scale = painter.worldTransform().m11()
        proxy = scale * self._width < 70
        self.paint_look(painter, rect, self.HEADER, self.isSelected(), (46, 57, 66, 255), proxy)
        if not proxy:
            painter.setPen(theme.color(theme.current().node_title) if self.kind not in (GHOST,) else GHOST_PEN)
            title = QtCore.QRectF(rect.left() + 8, rect.top(), rect.width() - 16, self.HEADER)
            metrics = QtGui.QFontMetrics(painter.font())
            painter.drawText(
                title, QtCore.Qt.AlignCenter, metrics.elidedText(self.name, QtCore.Qt.ElideMiddle, int(title.width()))
            )
        painter.restore()


class RunEdgeItem(QtWidgets.QGraphicsPathItem):
    """A wire the run drew: to or from a node a task created, towards a ghost, or refused."""

    def __init__(self, color: tuple[int, ...], dashed: bool = False, tooltip: str = "") -> None:
        super().__init__()
        self.setZValue(-1)
        pen = QtGui.QPen(QtGui.QColor(*color), 2.0, QtCore.Qt.DashLine if dashed else QtCore.Qt.SolidLine)
        self.setPen(pen)
        self.setToolTip(tooltip)
        self.tip = tooltip
        self.retired = False

    def set_retired(self, retired: bool) -> None:
        """Faded and dotted: a restart took the wire out of the as-of-now graph (replay keeps it)."""
        if retired == self.retired:
            return
        self.retired = retired
        pen = self.pen()
        pen.setStyle(QtCore.Qt.DotLine if retired else QtCore.Qt.SolidLine)
        self.setPen(pen)
        self.setOpacity(RETIRED_OPACITY if retired else 1.0)
        self.setToolTip(f"{self.tip} (retired by a restart)" if retired else self.tip)

    def route(self, start: QtCore.QPointF, end: QtCore.QPointF) -> None:
        path = QtGui.QPainterPath(start)
        bend = max(40.0, abs(end.x() - start.x()) / 2)
        path.cubicTo(QtCore.QPointF(start.x() + bend, start.y()), QtCore.QPointF(end.x() - bend, end.y()), end)
        self.setPath(path)
