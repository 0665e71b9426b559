"""The operator palette: operators to drag onto the canvas, grouped by where they come from.

Three sources: the open workflow (its own operators and what it imports), the operator
library that ships with Weft (``resources/operators``), and the user's library folder. A drag
carries ``{"operator": name, "library": file}`` in Weft's own MIME type (NodeGraphQt's palette
format cannot carry names with '-'). A library folder's workflow files are listed beside its
operator files, marked as sub-workflows; dragging one carries ``{"workflow": "LIBRARY:NAME"}``
and adds a ``workflow:`` node.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from engine.workflow.model import OperatorSpec
from studio.canvas.graph import OPERATOR_MIME
from studio.model import subworkflows
from studio.model.document import Document
from studio.model.library import BUILTIN_FOLDER, LibraryFile, library_files, library_workflows

ROLE_REF = QtCore.Qt.UserRole + 1
#: the colour sub-workflow entries are written in (as the canvas draws their badge)
SUB_WORKFLOW_COLOR = QtGui.QColor(90, 160, 230)


def describe_operator(op: OperatorSpec) -> str:
    lines = [f"<b>{op.name}</b>"]
    if op.description:
        lines.append(op.description)
    for what, ports in (("inputs", op.inputs), ("outputs", op.outputs)):
        if ports:
            lines.append(f"{what}: " + ", ".join(f"{n}: {t}" for n, t in ports.items()))
    if op.dynamic:
        lines.append("dynamic: may add nodes while it runs")
    return "<br/>".join(lines)


class OperatorTree(QtWidgets.QTreeWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QtWidgets.QAbstractItemView.DragOnly)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        self.setVerticalScrollMode(QtWidgets.QAbstractItemView.ScrollPerPixel)

    def mimeTypes(self) -> list[str]:
        return [OPERATOR_MIME]

    def mimeData(self, items: list[QtWidgets.QTreeWidgetItem]) -> QtCore.QMimeData:
        mime = QtCore.QMimeData()
        ref = items[0].data(0, ROLE_REF) if items else None
        if ref:
            mime.setData(OPERATOR_MIME, QtCore.QByteArray(json.dumps(ref).encode("utf-8")))
            mime.setText(ref.get("workflow") or ref["operator"])
        return mime


class Palette(QtWidgets.QWidget):
    """``activated(ref)`` asks for a node of the operator at the centre of the view (double-click)."""

    activated = QtCore.Signal(dict)

    def __init__(self, user_folder: Path | None = None, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.user_folder = user_folder
        self.document: Document | None = None
        self.filter = QtWidgets.QLineEdit(placeholderText="Filter operators")
        self.filter.setClearButtonEnabled(True)
        self.tree = OperatorTree()
        refresh = QtWidgets.QToolButton(text="Refresh")
        refresh.setToolTip("Read the library folders again")
        refresh.clicked.connect(self.refresh)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.filter)
        top.addWidget(refresh)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.tree)
        self.filter.textChanged.connect(self._apply_filter)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        self._builtin: list[LibraryFile] = []
        self._user: list[LibraryFile] = []
        self.extra_folders: list[Path] = []
        self._extra: list[tuple[Path, list[LibraryFile]]] = []
        self._workflows: dict[str, list[tuple[str, Path]]] = {}
        self.refresh()

    def set_document(self, document: Document) -> None:
        if self.document is not None:
            self.document.events.workflow_changed.disconnect(self.rebuild)
        self.document = document
        document.events.workflow_changed.connect(self.rebuild)
        self.rebuild()

    def set_folders(self, folders: list[Path]) -> None:
        """More library folders to show (from the preferences), each a group of its own."""
        self.extra_folders = [Path(f) for f in folders]
        self.refresh()

    def refresh(self) -> None:
        self._builtin = library_files(BUILTIN_FOLDER)
        self._user = library_files(self.user_folder)
        self._extra = [(folder, library_files(folder)) for folder in self.extra_folders]
        folders = [BUILTIN_FOLDER, self.user_folder, *self.extra_folders]
        self._workflows = {str(f): library_workflows(f) for f in folders if f is not None}
        self.rebuild()

    def libraries(self) -> list[LibraryFile]:
        """The library files offered (Weft's, then the user's), as last read."""
        return self._builtin + self._user

    def rebuild(self, *_changed: object) -> None:
        """List everything again, keeping what the pointer is over where it is: a drop that
        imports a library must not slide the next operator out from under the pointer."""
        anchor = self._anchor()
        collapsed = {
            self.tree.topLevelItem(i).text(0).split(" (")[0]
            for i in range(self.tree.topLevelItemCount())
            if not self.tree.topLevelItem(i).isExpanded()
        }
        scroll = self.tree.verticalScrollBar().value()
        self.tree.clear()
        doc = self.document
        groups = [
            ("Weft library", self._builtin, "", str(BUILTIN_FOLDER)),
            ("My library", self._user, str(self.user_folder), str(self.user_folder)),
        ]
        groups += [(folder.name or str(folder), libs, str(folder), str(folder)) for folder, libs in self._extra]
        shown = {doc.import_for(lib.path) for _t, libs, _f, _k in groups for lib in libs} if doc is not None else set()
        imported = set(doc.workflow.imports) if doc is not None else set()
        if doc is not None:
            own = QtWidgets.QTreeWidgetItem(self.tree, [f"This workflow ({doc.workflow.name})"])
            for name, op in sorted(doc.operators().items()):
                source = doc.operator_source(name)
                if source in shown:
                    continue  # listed (in bold) under its library: the list keeps its rows
                self._leaf(own, op, None, f" ({Path(source).name})" if source else "")
        for title, libraries, folder, key in groups:
            group = QtWidgets.QTreeWidgetItem(self.tree, [title])
            if folder:
                group.setToolTip(0, f"operator library files (*.weft.yaml) in {folder}")
            for ref, path in self._workflows.get(key, []):
                self._workflow_leaf(group, ref, path)
            for lib in libraries:
                node = QtWidgets.QTreeWidgetItem(group, [lib.title])
                node.setToolTip(0, str(lib.path) + "".join(f"\n{p}" for p in lib.problems))
                uses = doc is not None and doc.import_for(lib.path) in imported
                for _name, op in sorted(lib.operators.items()):
                    leaf = self._leaf(node, op, lib.path, "")
                    if uses:
                        font = leaf.font(0)
                        font.setBold(True)
                        leaf.setFont(0, font)
                        leaf.setToolTip(0, leaf.toolTip(0) + "<br/><i>imported by this workflow</i>")
        self.tree.expandAll()
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top.text(0).split(" (")[0] in collapsed:
                top.setExpanded(False)
        self._apply_filter(self.filter.text())
        self.tree.verticalScrollBar().setValue(scroll)
        self._restore(anchor)

    def _anchor(self) -> tuple[dict[str, str], int] | None:
        """The operator under the pointer and where it is drawn (or None)."""
        viewport = self.tree.viewport()
        point = viewport.mapFromGlobal(QtGui.QCursor.pos())
        if not viewport.rect().contains(point):
            return None
        item = self.tree.itemAt(point)
        ref = item.data(0, ROLE_REF) if item is not None else None
        return (ref, self.tree.visualItemRect(item).top()) if ref else None

    def _restore(self, anchor: tuple[dict[str, str], int] | None) -> None:
        if anchor is None:
            return
        ref, top = anchor
        item = (
            self.find_workflow(ref["workflow"])
            if ref.get("workflow")
            else self.find(ref["operator"], Path(ref["library"]) if ref["library"] else None)
        )
        if item is not None:
            bar = self.tree.verticalScrollBar()
            bar.setValue(bar.value() + self.tree.visualItemRect(item).top() - top)

    def _leaf(
        self, parent: QtWidgets.QTreeWidgetItem, op: OperatorSpec, library: Path | None, suffix: str
    ) -> QtWidgets.QTreeWidgetItem:
        item = QtWidgets.QTreeWidgetItem(parent, [op.name + suffix])
        item.setData(0, ROLE_REF, {"operator": op.name, "library": str(library) if library else ""})
        item.setToolTip(0, describe_operator(op))
        item.setFlags(item.flags() | QtCore.Qt.ItemIsDragEnabled)
        if op.dynamic:
            item.setForeground(0, QtGui.QBrush(QtGui.QColor(230, 140, 40)))
        return item

    def _workflow_leaf(self, parent: QtWidgets.QTreeWidgetItem, ref: str, path: Path) -> QtWidgets.QTreeWidgetItem:
        """A library workflow: dragged in, it is a `workflow:` node with the ports it declares."""
        sub = subworkflows.resolve(ref, self.document.path if self.document is not None else None)
        item = QtWidgets.QTreeWidgetItem(parent, [f"{ref.split(':', 1)[1]} (sub-workflow)"])
        item.setData(0, ROLE_REF, {"operator": "", "library": "", "workflow": ref})
        lines = [f"<b>{ref}</b> — a sub-workflow", str(path)]
        for what, ports in (("inputs", sub.inputs), ("outputs", sub.outputs)):
            if ports:
                lines.append(f"{what}: " + ", ".join(f"{n}: {t}" for n, t in ports.items()))
        if sub.problem:
            lines.append(f"<i>{sub.problem}</i>")
        item.setToolTip(0, "<br/>".join(lines))
        item.setForeground(0, QtGui.QBrush(SUB_WORKFLOW_COLOR))
        item.setFlags(item.flags() | QtCore.Qt.ItemIsDragEnabled)
        return item

    def _apply_filter(self, text: str) -> None:
        text = text.strip().lower()

        def visit(item: QtWidgets.QTreeWidgetItem) -> bool:
            ref = item.data(0, ROLE_REF)
            if ref:
                shown = not text or text in (ref.get("workflow") or ref["operator"]).lower()
            else:
                shown = any([visit(item.child(i)) for i in range(item.childCount())])
            item.setHidden(not shown)
            return shown

        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            visit(top)
            top.setHidden(False)

    def _double_clicked(self, item: QtWidgets.QTreeWidgetItem) -> None:
        ref = item.data(0, ROLE_REF)
        if ref:
            self.activated.emit(ref)

    def find(self, operator: str, library: Path | None = None) -> QtWidgets.QTreeWidgetItem | None:
        """The palette entry for ``operator`` (from ``library``, or the workflow's own when None)."""
        wanted = str(library.resolve()) if library else ""
        iterator = QtWidgets.QTreeWidgetItemIterator(self.tree)
        while iterator.value():
            item = iterator.value()
            ref = item.data(0, ROLE_REF)
            if ref and ref["operator"] == operator and ref["library"] == wanted:
                return item
            iterator += 1
        return None

    def find_workflow(self, ref: str) -> QtWidgets.QTreeWidgetItem | None:
        """The palette entry for library workflow ``ref`` (``lab:stats``)."""
        iterator = QtWidgets.QTreeWidgetItemIterator(self.tree)
        while iterator.value():
            item = iterator.value()
            data = item.data(0, ROLE_REF)
            if data and data.get("workflow") == ref:
                return item
            iterator += 1
        return None

    def mime_for(self, item: QtWidgets.QTreeWidgetItem) -> QtCore.QMimeData:
        """What dragging ``item`` carries (the drop handler reads exactly this)."""
        return self.tree.mimeData([item])
