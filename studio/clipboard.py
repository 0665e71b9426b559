"""Copy, cut, paste and duplicate of nodes on the canvas, through the system clipboard.

Copied nodes go on the clipboard as workflow text (``studio.model.clipboard``), in Weft's own
MIME type and as plain text, so they paste into another window, another workflow or a text
editor; plain workflow text from elsewhere pastes too. Each paste is one undo step and
selects what it added.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from studio.canvas.canvas import Canvas
from studio.canvas.items import DESIGN
from studio.model.clipboard import FRAGMENT_MIME, Fragment, fragment_text, plan_paste, read_fragment

#: how far a duplicate is put from its original (down and to the right, as in Node-RED)
DUPLICATE_OFFSET = (40.0, 40.0)


class CanvasClipboard(QtCore.QObject):
    def __init__(self, canvas: Canvas, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas

    def _selection_text(self) -> tuple[list[str], str] | None:
        doc = self.canvas.document
        if doc is None:
            return None
        ids = [n for n in self.canvas.selected_ids() if n in self.canvas.nodes and doc.node(n) is not None]
        if not ids:
            self.canvas.message.emit("Select the nodes to copy first.")
            return None
        positions = {}
        for node_id in ids:
            item = self.canvas.item(node_id)
            if item is not None and item.kind == DESIGN:
                positions[node_id] = (float(item.xy_pos[0]), float(item.xy_pos[1]))
        return ids, fragment_text(doc, ids, positions)

    def copy(self) -> bool:
        found = self._selection_text()
        if found is None:
            return False
        ids, text = found
        mime = QtCore.QMimeData()
        mime.setData(FRAGMENT_MIME, QtCore.QByteArray(text.encode("utf-8")))
        mime.setText(text)
        QtWidgets.QApplication.clipboard().setMimeData(mime)
        self.canvas.message.emit(f"Copied {ids[0] if len(ids) == 1 else f'{len(ids)} nodes'}")
        return True

    def cut(self) -> None:
        if self._may_edit() and self.copy():
            ids = self.canvas.selected_ids()
            self.canvas.editor.delete(ids, [])

    def paste(self) -> list[str]:
        if not self._may_edit():
            return []
        mime = QtWidgets.QApplication.clipboard().mimeData()
        text = ""
        if mime is not None and mime.hasFormat(FRAGMENT_MIME):
            text = bytes(mime.data(FRAGMENT_MIME)).decode("utf-8", errors="replace")
        elif mime is not None and mime.hasText():
            text = mime.text()
        fragment = read_fragment(text) if text.strip() else None
        if fragment is None:
            self.canvas.message.emit("Nothing to paste: the clipboard holds no nodes.")
            return []
        return self._paste(fragment, at=self._pointer())

    def duplicate(self) -> list[str]:
        if not self._may_edit():
            return []
        found = self._selection_text()
        fragment = read_fragment(found[1]) if found else None
        return self._paste(fragment, offset=DUPLICATE_OFFSET, text="Duplicate") if fragment else []

    def _paste(
        self,
        fragment: Fragment,
        at: tuple[float, float] | None = None,
        offset: tuple[float, float] = (0.0, 0.0),
        text: str = "Paste",
    ) -> list[str]:
        doc, editor = self.canvas.document, self.canvas.editor
        assert doc is not None and editor is not None
        plan = plan_paste(doc, fragment, at, offset)
        if plan.refused:
            self.canvas.message.emit(f"Cannot paste: {plan.refused}")
            return []
        added = editor.paste(plan, text)
        self.canvas.select(added)
        done = f"{'Pasted' if text == 'Paste' else 'Duplicated'} {', '.join(added)}"
        self.canvas.message.emit("; ".join([done, *plan.notes]))
        return added

    def _pointer(self) -> tuple[float, float]:
        """Where the pointer is on the canvas, or the middle of the view when it is elsewhere."""
        viewer = self.canvas.viewer
        viewport = viewer.viewport()
        point = viewport.mapFromGlobal(QtGui.QCursor.pos())
        if not viewport.rect().contains(point):
            point = viewport.rect().center()
        scene = viewer.mapToScene(point)
        return (scene.x(), scene.y())

    def _may_edit(self) -> bool:
        if self.canvas.editor is None or self.canvas.document is None:
            return False
        if not self.canvas.editable:
            self.canvas.message.emit("The workflow cannot be edited while a run is shown.")
            return False
        return True
