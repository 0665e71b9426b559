"""Export the as-of-now graph: DOT through the engine's own writer, PNG from the canvas.

"As of now" means what the canvas shows: the workflow with the ghosts the projection gives it
before any run, or the run being shown (live or past) with its states and ghosts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtWidgets

from engine.fold import EdgeRecord, NodeRecord, RunSnapshot
from engine.loader import read_text_leniently
from engine.projection import Ghost
from engine.replay import from_workflow, to_dot
from engine.writer import edge_data, node_data
from studio.document import Document

if TYPE_CHECKING:
    from studio.mainwindow import MainWindow


def document_view(document: Document) -> tuple[RunSnapshot, list[Ghost]]:
    """The workflow's registration-time projection (ghosts included) when it is valid; its plain
    graph otherwise."""
    _wf, loaded, _problems = read_text_leniently(document.text(), "<studio>", document.path)
    if loaded is not None:
        try:
            return from_workflow(loaded)
        except Exception:  # noqa: BLE001 - the plain graph below is still worth exporting
            pass
    view = RunSnapshot()
    for seq, node in enumerate(document.nodes):
        resolved = document.resolved(node)
        view.nodes[node.id] = NodeRecord(
            node.id, node_data(node), None, bool(resolved and resolved.dynamic), seq, state=None
        )
    view.edges = [EdgeRecord(e.source, e.target, edge_data(e), None) for e in document.edges]
    return view, []


def dot_text(window: MainWindow) -> str:
    model = window.canvas.run_layer.model
    view, ghosts = (model.run, list(model.ghosts)) if model is not None else document_view(window.document)
    return to_dot(view, ghosts, window.document.workflow.name)


def _target(window: MainWindow, title: str, suffix: str, name_filter: str) -> Path | None:
    doc = window.document
    base = (
        doc.path.with_name(doc.path.name.split(".")[0] + suffix)
        if doc.path
        else Path.cwd() / (doc.workflow.name + suffix)
    )
    path, _ = QtWidgets.QFileDialog.getSaveFileName(window, title, str(base), name_filter)
    return Path(path) if path else None


def export_dot(window: MainWindow, path: Path | None = None) -> Path | None:
    path = path or _target(window, "Export DOT", ".dot", "GraphViz DOT (*.dot *.gv)")
    if path is None:
        return None
    path.write_text(dot_text(window), encoding="utf-8")
    window.statusBar().showMessage(f"Exported {path}", 5000)
    return path


def export_png(window: MainWindow, path: Path | None = None) -> Path | None:
    path = path or _target(window, "Export PNG", ".png", "PNG image (*.png)")
    if path is None:
        return None
    if not window.canvas.render(str(path)):
        QtWidgets.QMessageBox.warning(window, "Export PNG", f"Could not write {path}")
        return None
    window.statusBar().showMessage(f"Exported {path}", 5000)
    return path
