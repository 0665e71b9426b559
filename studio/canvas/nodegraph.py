"""The one module that imports NodeGraphQt (import-linter checks it).

Everything the canvas needs from NodeGraphQt comes through here: the base classes Weft's
items, viewer and graph extend, and a few small operations named for what the canvas does
with them. A NodeGraphQt upgrade that moves or renames something is then fixed in one place,
and nothing outside ``studio.canvas`` ever sees NodeGraphQt's types.
"""

from __future__ import annotations

from NodeGraphQt import BaseNode, NodeGraph
from NodeGraphQt.base.commands import PortConnectedCmd, PortDisconnectedCmd
from NodeGraphQt.constants import ITEM_CACHE_MODE, NodeEnum, PipeEnum, PortTypeEnum, ViewerEnum
from NodeGraphQt.qgraphics.node_abstract import AbstractNodeItem
from NodeGraphQt.qgraphics.node_base import NodeItem
from NodeGraphQt.qgraphics.pipe import PipeItem
from NodeGraphQt.qgraphics.port import PortItem
from NodeGraphQt.widgets.viewer import NodeViewer

__all__ = [
    "AbstractNodeItem",
    "BaseNode",
    "CACHE_MODE",
    "DASHED",
    "GRID_DOTS",
    "GRID_LINES",
    "INPUT",
    "NodeGraph",
    "NodeItem",
    "NodeViewer",
    "OUTPUT",
    "PipeItem",
    "PortItem",
    "SELECTED_BORDER_COLOR",
    "SELECTED_COLOR",
    "SOLID",
    "join",
    "part",
]

#: ``PortItem.port_type`` of an input and of an output.
INPUT: int = PortTypeEnum.IN.value
OUTPUT: int = PortTypeEnum.OUT.value
#: ``PipeItem.style`` of a dashed and of a solid wire.
DASHED: int = PipeEnum.DRAW_TYPE_DASHED.value
SOLID: int = PipeEnum.DRAW_TYPE_DEFAULT.value
#: ``NodeScene.grid_mode`` of a dotted and of a lined canvas.
GRID_DOTS: int = ViewerEnum.GRID_DISPLAY_DOTS.value
GRID_LINES: int = ViewerEnum.GRID_DISPLAY_LINES.value
#: How node items cache their drawing, as NodeGraphQt's own items do.
CACHE_MODE = ITEM_CACHE_MODE
#: NodeGraphQt's fill and border of a selected node (RGBA).
SELECTED_COLOR: tuple[int, ...] = tuple(NodeEnum.SELECTED_COLOR.value)
SELECTED_BORDER_COLOR: tuple[int, ...] = tuple(NodeEnum.SELECTED_BORDER_COLOR.value)


def join(output: object, input_: object) -> None:
    """Draw a wire between two ports (``Port`` objects), never on NodeGraphQt's undo stack: the
    document's stack has the edit, the canvas only mirrors it."""
    PortConnectedCmd(output, input_, False).redo()


def part(output: object, input_: object) -> None:
    """Take the wire between two ports away (as ``join``, never on an undo stack)."""
    PortDisconnectedCmd(output, input_, False).redo()
