"""Frames around shape regions: drawn from the region's members, never from geometry.

NodeGraphQt's backdrops decide membership by what lies inside them; a region's members are
the model's business (``Document.regions`` or the run's graph), and the frame only follows
them: when a member moves, the frame is redrawn around the members, wherever they went.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from studio.model.regions import Region

if TYPE_CHECKING:
    from studio.canvas.canvas import Canvas

MARGIN = 24.0


class FrameItem(QtWidgets.QGraphicsPathItem):
    def __init__(self, region: Region) -> None:
        super().__init__()
        self.region = region
        self.setZValue(-3)  # under pipes and nodes
        self.setPen(QtGui.QPen(QtGui.QColor(120, 180, 230), 1.5, QtCore.Qt.DashLine))
        self.setBrush(QtGui.QColor(120, 180, 230, 22))
        self.label = QtWidgets.QGraphicsSimpleTextItem(self)
        self.label.setBrush(QtGui.QColor(150, 200, 240))
        self.setToolTip(f"region of {region.label}: {', '.join(sorted(region.members))}")

    def place(self, rect: QtCore.QRectF) -> None:
        rect = rect.adjusted(-MARGIN, -MARGIN - 14, MARGIN, MARGIN)
        path = QtGui.QPainterPath()
        path.addRoundedRect(rect, 12, 12)
        self.setPath(path)
        text = self.region.label + (f"  ({self.region.problem})" if self.region.problem else "")
        self.label.setText(text)
        self.label.setPos(rect.left() + 10, rect.top() + 4)


class Frames:
    """Keeps one frame per region; redraws them (coalesced) when anything they depend on moves."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.items: list[FrameItem] = []
        self._pending = False
        #: what the run adds to regions (node -> creator), set by the run layer
        self.created_by: dict[str, str | None] = {}

    def schedule(self) -> None:
        if not self._pending:
            self._pending = True
            QtCore.QTimer.singleShot(0, self.update)

    def regions(self) -> list[Region]:
        doc = self.canvas.document
        if doc is None:
            return []
        regions = doc.regions()
        if not self.created_by or not regions:
            return regions
        from studio.model.regions import region_members

        dag = self.canvas.run_layer.dag()
        out = []
        for region in regions:
            members, problem = region_members(dag, region.anchors, self.created_by)
            out.append(Region(region.promise, region.label, region.anchors, members, problem))
        return out

    def update(self) -> None:
        self._pending = False
        scene = self.canvas.viewer.scene()
        regions = self.regions()
        while len(self.items) > len(regions):
            scene.removeItem(self.items.pop())
        for i, region in enumerate(regions):
            if i < len(self.items):
                self.items[i].region = region
            else:
                self.items.append(FrameItem(region))
                scene.addItem(self.items[i])
            rect = QtCore.QRectF()
            for member in region.members:
                item = self.canvas.item(member)
                if item is not None:
                    rect = rect.united(item.sceneBoundingRect())
            self.items[i].setVisible(not rect.isNull())
            if not rect.isNull():
                self.items[i].place(rect)
            self.items[i].setToolTip(f"region of {region.label}: {', '.join(sorted(region.members))}")
