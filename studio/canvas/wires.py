"""How a wire looks: data wires solid in their type's colour, runs-after wires thin and dashed.

A wire says what it is when the pointer is over it (``int → int``, ``runs after``, and its
``when``), shows its ``when`` as a small label at its middle, and is easy to click: its hit
area is wider than its line, so a click selects it (picking a wire up to move it is a drag
from its port end; see ``WeftViewer``).
"""

from __future__ import annotations

import math
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from studio import theme
from studio.canvas.items import type_color
from studio.canvas.nodegraph import DASHED, INPUT, SOLID, PipeItem

#: how far from its line a click still hits a wire (scene units)
HIT_WIDTH = 10.0
DATA_WIDTH = 2.0
AFTER_WIDTH = 1.3
LOOP_DROP = 36.0  # how far under its nodes a back edge goes round
LOOP_REACH = 28.0  # how far out of the latch (and before the entry) it turns
LOOP_RADIUS = 12.0
WHEN_LIMIT = 32  # characters of a `when` the label shows (the tooltip has all of it)


class WhenLabel(QtWidgets.QGraphicsItem):
    """The `when` of a wire, in a small rounded box at the wire's middle."""

    def __init__(self, parent: QtWidgets.QGraphicsItem) -> None:
        super().__init__(parent)
        self.text = ""
        self._font = QtGui.QFont()
        self._font.setPointSizeF(7.5)
        self._rect = QtCore.QRectF()
        self.setAcceptedMouseButtons(QtCore.Qt.NoButton)
        self.setZValue(1)

    def set_text(self, text: str) -> None:
        shown = text if len(text) <= WHEN_LIMIT else text[: WHEN_LIMIT - 1] + "…"
        self.prepareGeometryChange()
        self.text = shown
        width = QtGui.QFontMetrics(self._font).horizontalAdvance(shown) + 10.0
        self._rect = QtCore.QRectF(-width / 2, -8.0, width, 16.0)

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QtGui.QPainter, option: Any, widget: Any) -> None:
        look = theme.current()
        painter.save()
        painter.setRenderHint(QtGui.QPainter.Antialiasing, True)
        painter.setPen(QtGui.QPen(QtGui.QColor(200, 180, 80), 0.8))
        painter.setBrush(theme.color(look.label_fill))
        painter.drawRoundedRect(self._rect, 7, 7)
        painter.setFont(self._font)
        painter.setPen(theme.color(look.label_text))
        painter.drawText(self._rect, QtCore.Qt.AlignCenter, self.text)
        painter.restore()


class WeftPipeItem(PipeItem):
    """One workflow wire. Its look follows from its ports (``type_text`` on Weft's port items:
    None for the *then* and *after* ports of runs-after wires) and its ``when``."""

    def __init__(self) -> None:
        self.runs_after = False
        self.when: str | None = None
        self.width_px = DATA_WIDTH
        self.label: WhenLabel | None = None
        self.back = False  # a loop's back edge: routed back under the nodes it joins
        self._styled = False  # NodeGraphQt's __init__ styles the wire once; set_connections does it
        super().__init__()
        self._styled = True

    # -- what it is ---------------------------------------------------------------------

    def set_connections(self, port1: Any, port2: Any) -> None:
        super().set_connections(port1, port2)
        self.restyle()

    def types(self) -> tuple[str | None, str | None]:
        return getattr(self.output_port, "type_text", None), getattr(self.input_port, "type_text", None)

    def kind_text(self) -> str:
        """``int → int`` for a data wire, ``runs after`` for a runs-after one."""
        source, target = self.types()
        if source is None or target is None:
            return "runs after"
        return f"{source} → {target}"

    def ends_text(self) -> str:
        out, inp = self.output_port, self.input_port
        if out is None or inp is None:
            return ""
        source = getattr(out.node, "weft_id", "")
        target = getattr(inp.node, "weft_id", "")
        source_type, target_type = self.types()
        left = source if source_type is None else f"{source}.{out.name}"
        right = target if target_type is None else f"{target}.{inp.name}"
        return f"{left} → {right}"

    def tip(self) -> str:
        lines = [self.ends_text(), self.kind_text()]
        if self.back:
            lines.append("loop: back edge" + ("" if self.when else " (needs a `when`)"))
        if self.when:
            lines.append(f"when {self.when}")
        return "\n".join(line for line in lines if line)

    def set_when(self, when: str | None) -> None:
        self.when = when or None
        if self.when:
            if self.label is None:
                self.label = WhenLabel(self)
            self.label.set_text(self.when)
            self.label.setVisible(True)
            self._place_label()
        elif self.label is not None:
            self.label.setVisible(False)

    def restyle(self) -> None:
        """Colour, width and dash from the ports and the current theme."""
        source, target = self.types()
        self.runs_after = source is None or target is None
        if self.runs_after:
            self.color, self.style, self.width_px = theme.current().after_wire, DASHED, AFTER_WIDTH
        else:
            self.color, self.style, self.width_px = type_color(source), SOLID, DATA_WIDTH
        if self.isSelected():
            self.highlight()
        else:
            self.reset()

    # -- drawing ------------------------------------------------------------------------

    def set_pipe_styling(self, color: Any, width: float = 2, style: int = 0) -> None:
        super().set_pipe_styling(color, max(1, round(width)), style)
        pen = self.pen()
        pen.setWidthF(width)
        self.setPen(pen)

    def reset(self) -> None:
        if not self._styled:
            return  # still being built: restyle() styles it once its ports are known
        self._active = False
        self._highlight = False
        self.set_pipe_styling(self.color, self.width_px, self.style)
        if self.path().isEmpty():  # not drawn yet (being built): draw_path places the pointer
            self._dir_pointer.setVisible(False)
        else:
            self._draw_direction_pointer()

    def highlight(self) -> None:
        self._highlight = True
        self.set_pipe_styling((254, 207, 42, 255), self.width_px + 1.5, self.style)

    def activate(self) -> None:
        self._active = True
        lighter = theme.color(self.color).lighter(135)
        self.set_pipe_styling(lighter.getRgb(), self.width_px + 1.0, self.style)

    def shape(self) -> QtGui.QPainterPath:
        stroker = QtGui.QPainterPathStroker()
        stroker.setWidth(HIT_WIDTH)
        return stroker.createStroke(self.path())

    def boundingRect(self) -> QtCore.QRectF:
        return super().boundingRect().adjusted(-HIT_WIDTH / 2, -HIT_WIDTH / 2, HIT_WIDTH / 2, HIT_WIDTH / 2)

    def set_back(self, back: bool) -> None:
        if back != self.back:
            self.back = back
            if self.input_port is not None and self.output_port is not None:
                self.draw_path(self.input_port, self.output_port)

    def draw_path(self, start_port: Any, end_port: Any = None, cursor_pos: Any = None) -> None:
        joined = cursor_pos is None and self.input_port is not None and self.output_port is not None
        if joined and self.back:
            self._draw_back()
        elif joined and end_port is not None and end_port.node is not start_port.node:
            self._draw_curve(start_port, end_port)
        else:
            super().draw_path(start_port, end_port, cursor_pos)  # a wire being dragged
        self._place_label()

    def _draw_curve(self, start: Any, end: Any) -> None:
        """The curve between two ports, as NodeGraphQt draws it (horizontal, curved), with its
        direction pointer placed from the curve's own formula: a wire is drawn thousands of
        times while a big workflow opens, and measuring the path costs more than the curve."""
        out, inp = self.output_port, self.input_port
        visible = out.isVisible() and inp.isVisible() and out.node.isVisible() and inp.node.isVisible()
        self.setVisible(visible)
        if not visible:
            return
        box = start.boundingRect()
        dx, dy = box.width() / 2, box.height() / 2
        a, b = start.scenePos(), end.scenePos()
        x1, y1, x2, y2 = a.x() + dx, a.y() + dy, b.x() + dx, b.y() + dy
        reach = min(abs(x1 - x2), start.node.boundingRect().width())
        if start.port_type == INPUT:
            reach = -reach
        c1x, c2x = x1 + reach, x2 - reach
        path = QtGui.QPainterPath(QtCore.QPointF(x1, y1))
        path.cubicTo(c1x, y1, c2x, y2, x2, y2)
        self.setPath(path)
        # the middle of a cubic whose control points mirror each other, and how far it goes
        # from there in a hundredth of the curve (NodeGraphQt sizes the pointer by that step)
        mx, my = (x1 + 3 * c1x + 3 * c2x + x2) / 8, (y1 + 3 * y1 + 3 * y2 + y2) / 8
        tx, ty = x2 + c2x - c1x - x1, y2 + y2 - y1 - y1
        step = 0.0075 * math.hypot(tx, ty)
        pointer = self._dir_pointer
        if step < 0.3:
            pointer.setVisible(False)  # too short a wire to point anywhere
            return
        pointer.setRotation(math.degrees(math.atan2(ty, tx)) - 90)
        pointer.setPos(mx, my)
        if step < 1.0:
            pointer.setScale(step)
        pointer.setVisible(True)

    def _draw_back(self) -> None:
        """Out of the latch to the right, down under both nodes, back left, and up into the entry."""
        out, inp = self.output_port, self.input_port
        visible = all(p.isVisible() and p.node.isVisible() for p in (out, inp))
        self.setVisible(visible)
        if not visible:
            return
        a = out.sceneBoundingRect().center()
        b = inp.sceneBoundingRect().center()
        bottom = max(out.node.sceneBoundingRect().bottom(), inp.node.sceneBoundingRect().bottom()) + LOOP_DROP
        right, left = a.x() + LOOP_REACH, b.x() - LOOP_REACH
        r = LOOP_RADIUS
        path = QtGui.QPainterPath(a)
        path.lineTo(right - r, a.y())
        path.quadTo(right, a.y(), right, a.y() + r)
        path.lineTo(right, bottom - r)
        path.quadTo(right, bottom, right - r, bottom)
        path.lineTo(left + r, bottom)
        path.quadTo(left, bottom, left, bottom - r)
        path.lineTo(left, b.y() + r)
        path.quadTo(left, b.y(), left + r, b.y())
        path.lineTo(b)
        self.setPath(path.toReversed())  # NodeGraphQt's pipes run from the input (its pointer assumes so)
        self._draw_direction_pointer()

    def _place_label(self) -> None:
        if self.label is not None and self.label.isVisible():
            middle = self.path().pointAtPercent(0.5)
            self.label.setPos(middle.x(), middle.y() - (20.0 if self.back else 14.0))

    def hoverEnterEvent(self, event: Any) -> None:
        self.setToolTip(self.tip())
        super().hoverEnterEvent(event)
        viewer = self.viewer()
        if viewer is not None and hasattr(viewer, "port_hovered"):
            viewer.port_hovered.emit(self.tip().replace("\n", "  ·  "))
