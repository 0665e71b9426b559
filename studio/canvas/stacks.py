"""Stacks: many siblings a task created, drawn as one node until someone expands them.

A task that fans out to two thousand nodes of one kind would bury the canvas. Siblings — nodes
made by one creator with one operator (or one inline command) — are drawn as one stack node
("M × 2000", how many are in each state, one progress bar) once there are more than
``THRESHOLD`` of them; their wires are drawn once, to and from the stack. This is only a way of
drawing: the run model keeps every node, and expanding a stack draws its members again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from studio.canvas.items import STATE_COLORS, RunNodeItem, _small_font
from studio.model.runmodel import NodeRecord

STACK = "stack"
THRESHOLD = 8  # more siblings than this are drawn as one stack
#: which state colours a stack: the worst or most active one any member is in
PRECEDENCE = ("failed", "running", "waiting", "pending", "cancelled", "skipped", "retired", "succeeded")
SYMBOLS = {"succeeded": "✓", "failed": "✗"}
_STEM = re.compile(r"[-_.@:/]*\d+$")

GroupKey = tuple[str, str]


def group_key(record: NodeRecord) -> GroupKey | None:
    """Which siblings ``record`` belongs with: its creator and its operator (or inline command)."""
    if record.created_by is None:
        return None
    spec = record.spec or {}
    kind = spec.get("operator") or spec.get("workflow") or json.dumps(spec.get("command"), sort_keys=True)
    return record.created_by, str(kind)


def stem(node_id: str) -> str:
    """A node id without its running number: ``M-0017`` -> ``M``."""
    return _STEM.sub("", node_id) or node_id


@dataclass
class Group:
    """Siblings and the tally of their states (kept whether or not they are drawn stacked)."""

    key: GroupKey
    stack_id: str
    label: str = ""
    members: list[str] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    running_progress: dict[str, float] = field(default_factory=dict)
    collapsed: bool = False  # drawn as one stack node now
    expanded: bool = False  # a person asked to see the members
    pos: tuple[float, float] | None = None
    _index: dict[str, int] = field(default_factory=dict)

    def index_of(self, node_id: str) -> int:
        if len(self._index) != len(self.members):
            self._index = {m: i for i, m in enumerate(self.members)}
        return self._index[node_id]

    def add(self, node_id: str, record: NodeRecord) -> None:
        self.members.append(node_id)
        if not self.label:
            self.label = record.spec.get("operator") or stem(node_id)
        elif not node_id.startswith(self.label) and not record.spec.get("operator"):
            self.label = _common_prefix(self.label, stem(node_id)) or self.key[0] + "'s nodes"
        self.note(node_id, record)

    def note(self, node_id: str, record: NodeRecord) -> None:
        state = record.state.value if record.state is not None else "pending"
        old = self.states.get(node_id)
        if old != state:
            if old is not None:
                self.counts[old] -= 1
            self.counts[state] = self.counts.get(state, 0) + 1
            self.states[node_id] = state
        if record.progress is not None and state in ("running", "waiting"):
            self.running_progress[node_id] = record.progress
        else:
            self.running_progress.pop(node_id, None)

    @property
    def worst(self) -> str:
        return next((s for s in PRECEDENCE if self.counts.get(s)), "pending")

    @property
    def progress(self) -> float:
        """Finished members count whole, running ones by their own progress."""
        total = len(self.members)
        done = sum(n for s, n in self.counts.items() if s not in ("pending", "running", "waiting"))
        return (done + sum(self.running_progress.values())) / total if total else 0.0

    def tally(self) -> str:
        """``58 ✓ · 2 running``: how many members are in each state, worst first."""
        parts = []
        for state in (*PRECEDENCE[:-1], "succeeded"):
            count = self.counts.get(state, 0)
            if count:
                parts.append(f"{count} {SYMBOLS.get(state, state)}")
        return " · ".join(parts)


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n].rstrip("-_.@:/")


class StackItem(RunNodeItem):
    """One node standing for a group of siblings: a deck of cards, with the tally and a bar."""

    WIDTH = 200.0
    HEIGHT = 64.0
    DECK = 5.0  # offset of each card drawn behind

    def __init__(self, group: Group, on_activated: Callable[[StackItem], Any]) -> None:
        super().__init__(group.stack_id, "", STACK)
        self.group = group
        self.on_activated = on_activated
        self.sync()

    def sync(self) -> None:
        """Take the group's tally (after its members changed)."""
        group = self.group
        self.name = f"{group.label} × {len(group.members)}"
        self.detail = group.tally()
        self.run_state = group.worst
        self.progress = group.progress
        self.refresh()

    def tooltip(self) -> str:
        group = self.group
        return (
            f"<b>{group.label} × {len(group.members)}</b><br/>created by {group.key[0]}<br/>"
            f"{group.tally()}<br/><i>double-click (or right-click, Expand) to show every node</i>"
        )

    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF(0.0, 0.0, self._width + 2 * self.DECK, self._height + 2 * self.DECK)

    def anchor(self, output: bool) -> QtCore.QPointF:
        pos = self.scenePos()
        return QtCore.QPointF(pos.x() + (self._width + self.DECK if output else 0.0), pos.y() + self.HEADER + 10.0)

    def mouseDoubleClickEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        if event.button() == QtCore.Qt.LeftButton:
            QtCore.QTimer.singleShot(0, lambda: self.on_activated(self))  # not while Qt delivers the click
        event.accept()

    def paint(self, painter: QtGui.QPainter, option: Any, widget: Any) -> None:
        painter.save()
        rgb = STATE_COLORS.get(self.run_state or "", STATE_COLORS["pending"])
        scale = painter.worldTransform().m11()
        proxy = scale * self._width < 70
        for depth in (2, 1):  # the cards behind
            card = QtCore.QRectF(depth * self.DECK, depth * self.DECK, self._width, self._height)
            painter.setPen(QtGui.QPen(QtGui.QColor(*rgb).darker(160), 1.2))
            painter.setBrush(QtGui.QColor(34, 37, 44))
            painter.drawRoundedRect(card.adjusted(1, 1, -1, -1), 5, 5)
        rect = QtCore.QRectF(0, 0, self._width, self._height).adjusted(1.0, 1.0, -1.0, -1.0)
        fill = QtGui.QColor(40, 44, 52)
        fill = QtGui.QColor(
            (fill.red() * 3 + rgb[0]) // 4, (fill.green() * 3 + rgb[1]) // 4, (fill.blue() * 3 + rgb[2]) // 4
        )
        painter.setPen(QtCore.Qt.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, 5, 5)
        painter.setBrush(QtGui.QColor(0, 0, 0, 70))
        painter.drawRoundedRect(QtCore.QRectF(rect.left(), rect.top(), rect.width(), self.HEADER), 5, 5)
        painter.setBrush(QtGui.QColor(230, 140, 40, 160))  # made by a task, as every created node
        painter.drawRect(QtCore.QRectF(rect.left(), rect.top() + 5, 3.0, rect.height() - 10))
        selected = self.isSelected()
        painter.setBrush(QtCore.Qt.NoBrush)
        painter.setPen(QtGui.QPen(QtGui.QColor(255, 190, 90) if selected else QtGui.QColor(*rgb), 2.6))
        painter.drawRoundedRect(rect, 5, 5)
        if not proxy:
            painter.setPen(QtGui.QColor(235, 235, 235))
            title = QtCore.QRectF(rect.left() + 8, rect.top(), rect.width() - 16, self.HEADER)
            font = QtGui.QFont(painter.font())
            font.setBold(True)
            painter.setFont(font)
            metrics = QtGui.QFontMetrics(font)
            painter.drawText(
                title, QtCore.Qt.AlignCenter, metrics.elidedText(self.name, QtCore.Qt.ElideMiddle, int(title.width()))
            )
            painter.setFont(_small_font())
            painter.setPen(QtGui.QColor(215, 215, 215))
            line = QtCore.QRectF(rect.left() + 10, rect.top() + self.HEADER + 4, rect.width() - 20, 16)
            small = QtGui.QFontMetrics(_small_font())
            painter.drawText(
                line,
                QtCore.Qt.AlignLeft | QtCore.Qt.AlignVCenter,
                small.elidedText(self.detail, QtCore.Qt.ElideRight, int(line.width())),
            )
            percent = QtCore.QRectF(rect.left() + 10, rect.bottom() - 20, rect.width() - 20, 12)
            painter.drawText(percent, QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter, f"{self.progress or 0.0:.0%}")
        bar = QtCore.QRectF(rect.left() + 6, rect.bottom() - 7, rect.width() - 12, 4)
        painter.setPen(QtCore.Qt.NoPen)
        painter.setBrush(QtGui.QColor(0, 0, 0, 130))
        painter.drawRect(bar)
        painter.setBrush(QtGui.QColor(*rgb))
        painter.drawRect(
            QtCore.QRectF(bar.left(), bar.top(), bar.width() * max(0.0, min(1.0, self.progress or 0.0)), 4)
        )
        painter.restore()
