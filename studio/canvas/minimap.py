"""The minimap: the whole graph small, in a corner of the canvas; click or drag to go there.

It draws plain rectangles (one per node, in its run state's colour) from the canvas's own
items, gathered a few times a second, never the scene's items themselves: a run of thousands
of nodes costs it a list of rectangles, not a second rendering of the scene.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtGui, QtWidgets

from studio.canvas.items import GHOST, STATE_COLORS
from studio.canvas.navigation import center_on, visible_rect

if TYPE_CHECKING:
    from studio.canvas.canvas import Canvas

SIZE = QtCore.QSize(200, 130)
MARGIN = 12
REFRESH_MS = 400
IDLE = QtGui.QColor(120, 130, 150)


class Minimap(QtWidgets.QWidget):
    def __init__(self, canvas: Canvas) -> None:
        super().__init__(canvas.viewer)
        self.canvas = canvas
        self.setObjectName("minimap")
        self.setFixedSize(SIZE)
        self.setCursor(QtCore.Qt.PointingHandCursor)
        self.setToolTip("The whole graph: click or drag to move the view there")
        self.boxes: list[tuple[QtCore.QRectF, QtGui.QColor]] = []
        self.bounds = QtCore.QRectF()
        self.view = QtCore.QRectF()
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        canvas.viewer.installEventFilter(self)
        self._place()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Resize:
            self._place()
        return False

    def _place(self) -> None:
        viewer = self.canvas.viewer
        self.move(viewer.width() - self.width() - MARGIN, viewer.height() - self.height() - MARGIN)
        self.raise_()

    def setVisible(self, visible: bool) -> None:
        super().setVisible(visible)
        if visible:
            self._place()
            self.refresh()

    def refresh(self) -> None:
        """Gather the nodes' rectangles and the view's; repaint."""
        if not self.isVisible():
            return
        boxes = []
        bounds = QtCore.QRectF()
        looks: list[Any] = [n.view for n in self.canvas.nodes.values()]
        looks += list(self.canvas.run_layer.items.values())
        for look in looks:
            rect = look.sceneBoundingRect()
            rgb = STATE_COLORS.get(look.run_state or "")
            color = QtGui.QColor(*rgb) if rgb else IDLE
            if look.kind == GHOST:
                color.setAlpha(90)
            boxes.append((rect, color))
            bounds = bounds.united(rect)
        self.boxes = boxes
        self.view = visible_rect(self.canvas.viewer)
        self.bounds = bounds.adjusted(-80, -80, 80, 80) if not bounds.isNull() else QtCore.QRectF()
        self.update()

    def _transform(self) -> QtGui.QTransform | None:
        """Scene to minimap coordinates: the graph fitted into the widget, aspect kept."""
        bounds = self.bounds
        if bounds.isNull() or bounds.width() <= 0 or bounds.height() <= 0:
            return None
        inner = QtCore.QRectF(self.rect()).adjusted(6, 6, -6, -6)
        scale = min(inner.width() / bounds.width(), inner.height() / bounds.height())
        dx = inner.left() + (inner.width() - bounds.width() * scale) / 2 - bounds.left() * scale
        dy = inner.top() + (inner.height() - bounds.height() * scale) / 2 - bounds.top() * scale
        return QtGui.QTransform(scale, 0, 0, scale, dx, dy)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        painter.setPen(QtGui.QPen(QtGui.QColor(90, 95, 110), 1))
        painter.setBrush(QtGui.QColor(24, 26, 31, 215))
        painter.drawRoundedRect(QtCore.QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        transform = self._transform()
        if transform is None:
            painter.end()
            return
        painter.setPen(QtCore.Qt.NoPen)
        for rect, color in self.boxes:
            box = transform.mapRect(rect)
            if box.width() < 2:
                box.setWidth(2)
            if box.height() < 2:
                box.setHeight(2)
            painter.setBrush(color)
            painter.drawRect(box)
        painter.setBrush(QtGui.QColor(255, 255, 255, 28))
        painter.setPen(QtGui.QPen(QtGui.QColor(240, 240, 240), 1.2))
        painter.drawRect(transform.mapRect(self.view).intersected(QtCore.QRectF(self.rect()).adjusted(1, 1, -1, -1)))
        painter.end()

    def _go(self, pos: QtCore.QPointF) -> None:
        transform = self._transform()
        if transform is None:
            return
        inverse, ok = transform.inverted()
        if ok:
            center_on(self.canvas.viewer, inverse.map(pos))
            self.view = visible_rect(self.canvas.viewer)
            self.update()

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        if event.button() == QtCore.Qt.LeftButton:
            self._go(event.position())
        event.accept()

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        if event.buttons() & QtCore.Qt.LeftButton:
            self._go(event.position())
        event.accept()

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:
        event.accept()
