"""Moving the view: zoom in and out, centre on a point, bring an item into view.

NodeGraphQt's viewer keeps what it shows as a scene rectangle (``_scene_range``) and fits the
view to it; every move of the view here goes through that rectangle, so the viewer's own
wheel zoom and panning carry on from where these leave it.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore

ZOOM_STEP = 1.25
MIN_SCALE, MAX_SCALE = 0.02, 3.0


def visible_rect(viewer: Any) -> QtCore.QRectF:
    """The part of the scene the view shows now."""
    return viewer.mapToScene(viewer.viewport().rect()).boundingRect()


def zoom(viewer: Any, factor: float) -> None:
    """Zoom by ``factor`` (> 1: in) about the middle of the view, within sane bounds."""
    scale = viewer.transform().m11() or 1.0
    factor = max(MIN_SCALE / scale, min(MAX_SCALE / scale, factor))
    if abs(factor - 1.0) > 1e-6:
        viewer.scale(factor, factor)


def center_on(viewer: Any, point: QtCore.QPointF) -> None:
    viewer._scene_range.translate(point - viewer._scene_range.center())
    viewer._update_scene()


def reveal(viewer: Any, rect: QtCore.QRectF, margin: float = 40.0) -> None:
    """Centre on ``rect`` if it is not already in view (nothing moves when it is)."""
    if not visible_rect(viewer).contains(rect.adjusted(-margin, -margin, margin, margin)):
        center_on(viewer, rect.center())
