"""The problems panel: every problem of a workflow, each with file:line:column, and its node.

Problems come from the engine's loader with their location in the text; the panel also finds
which node's block of text each one falls in, so selecting a problem selects that node on
the canvas.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from engine.errors import Problem, ProblemCollector
from engine.workflow.yamlsrc import parse_yaml

ROLE_NODE = QtCore.Qt.UserRole + 1


def node_lines(text: str) -> list[tuple[int, str]]:
    """(first line, node id) of every node in a workflow text, in order."""
    problems = ProblemCollector()
    doc = parse_yaml(text, "<text>", problems) if text else None
    if doc is None or not isinstance(doc.data, dict) or not isinstance(doc.data.get("nodes"), list):
        return []
    out = []
    for i, node in enumerate(doc.data["nodes"]):
        if isinstance(node, dict) and node.get("id") is not None:
            out.append((doc.source.at(("nodes", i)).line, str(node["id"])))
    return sorted(out)


def node_at(lines: list[tuple[int, str]], line: int) -> str | None:
    found = None
    for start, node in lines:
        if start <= line:
            found = node
        else:
            break
    return found


class ProblemsPanel(QtWidgets.QWidget):
    activated = QtCore.Signal(str)  # the node a problem is about ("" if none)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QtWidgets.QLabel()
        self.title.setWordWrap(True)
        self.list = QtWidgets.QListWidget()
        self.list.setWordWrap(True)
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)

    def show_problems(self, problems: list[Problem], text: str, title: str) -> None:
        self.title.setText(title)
        self.list.clear()
        lines = node_lines(text) if problems else []
        in_nodes = _in_nodes_section(text) if problems else (0, 0)
        for problem in problems:
            item = QtWidgets.QListWidgetItem(str(problem))
            item.setForeground(QtGui.QBrush(QtGui.QColor(224, 102, 102)))
            line = problem.location.line
            node = node_at(lines, line) if in_nodes[0] <= line < in_nodes[1] else None
            item.setData(ROLE_NODE, node or "")
            if node:
                item.setToolTip(f"about node {node} (click to select it)")
            self.list.addItem(item)

    def _activated(self, item: QtWidgets.QListWidgetItem) -> None:
        self.activated.emit(item.data(ROLE_NODE) or "")

    def messages(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]


def _in_nodes_section(text: str) -> tuple[int, int]:
    """The lines of the top-level ``nodes:`` block (1-based, end exclusive)."""
    start, end = 0, 0
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("nodes:"):
            start = number
        elif start and not end and line and not line[0].isspace() and not line.startswith(("-", "#")):
            end = number
    return (start, end or 10**9) if start else (0, 0)
