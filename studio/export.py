"""Export the as-of-now graph: DOT through the engine's own writer, SVG drawn from that DOT by
GraphViz (as `weft graph --format svg` does), PNG from the canvas.

"As of now" means what the canvas shows: the workflow with the ghosts the projection gives it
before any run, or the run being shown (live or past) with its states and ghosts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from engine.cli import graphviz
from engine.history.fold import EdgeRecord, NodeRecord, RunSnapshot
from engine.history.replay import from_workflow, to_dot
from engine.promises.projection import Ghost
from engine.workflow.loader import read_text_leniently
from engine.workflow.writer import edge_data, node_data
from studio.model.document import Document
from studio.model.runmodel import RunModel


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


def dot_text(document: Document, model: RunModel | None) -> str:
    """The DOT of what the canvas shows: the run ``model`` when one is drawn, else the workflow."""
    view, ghosts = (model.run, list(model.ghosts)) if model is not None else document_view(document)
    return to_dot(view, ghosts, document.workflow.name)


def _target(document: Document, parent: QtWidgets.QWidget, title: str, suffix: str, name_filter: str) -> Path | None:
    base = (
        document.path.with_name(document.path.name.split(".")[0] + suffix)
        if document.path
        else Path.cwd() / (document.workflow.name + suffix)
    )
    path, _ = QtWidgets.QFileDialog.getSaveFileName(parent, title, str(base), name_filter)
    return Path(path) if path else None


def export_dot(
    document: Document, model: RunModel | None, parent: QtWidgets.QWidget, path: Path | None = None
) -> Path | None:
    """Write the as-of-now graph as DOT to ``path`` (asked for when None); the path, or None."""
    path = path or _target(document, parent, "Export DOT", ".dot", "GraphViz DOT (*.dot *.gv)")
    if path is None:
        return None
    path.write_text(dot_text(document, model), encoding="utf-8")
    return path


def export_png(
    document: Document, render: Callable[[str], bool], parent: QtWidgets.QWidget, path: Path | None = None
) -> Path | None:
    """Write the canvas (``render(path)`` draws it) as a PNG to ``path`` (asked for when None)."""
    path = path or _target(document, parent, "Export PNG", ".png", "PNG image (*.png)")
    if path is None:
        return None
    if not render(str(path)):
        QtWidgets.QMessageBox.warning(parent, "Export PNG", f"Could not write {path}")
        return None
    return path


def export_argo(document: Document, parent: QtWidgets.QWidget, path: Path | None = None) -> Path | None:
    """Write the workflow as an Argo Workflow (as `weft export --to argo`) to ``path`` (asked for
    when None); the path, or None. A workflow with problems, or one Argo cannot express, is
    refused with the reason before a file is asked for."""
    from engine.argo.export import ExportRefused, export, to_yaml

    title = "Export Argo Workflow"
    name = str(document.path) if document.path else "<studio>"
    _wf, loaded, problems = read_text_leniently(document.text(), name, document.path)
    if loaded is None:
        first = problems.problems[0] if problems.problems else "it cannot be read"
        QtWidgets.QMessageBox.warning(parent, title, f"The workflow has problems; fix them first.\n\n{first}")
        return None
    try:
        text = to_yaml(export(loaded))
    except ExportRefused as exc:
        QtWidgets.QMessageBox.warning(parent, title, f"Argo cannot run this workflow as it is:\n\n{exc}")
        return None
    path = path or _target(document, parent, title, ".argo.yaml", "Argo Workflow (*.yaml *.yml)")
    if path is None:
        return None
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        QtWidgets.QMessageBox.warning(parent, title, f"Could not write {path}: {exc.strerror or exc}")
        return None
    return path


GRAPHVIZ_MISSING = (
    "Exporting SVG needs GraphViz's `dot` program, which is not installed (it is not on PATH).\n\n"
    "Install GraphViz (e.g. `apt install graphviz`, `brew install graphviz`, or from graphviz.org) "
    "and export again. Meanwhile, Export DOT writes the same graph as text, and Export PNG saves "
    "the canvas as drawn."
)


def export_svg(
    document: Document, model: RunModel | None, parent: QtWidgets.QWidget, path: Path | None = None
) -> Path | None:
    """Write the as-of-now graph as SVG, laid out by GraphViz, to ``path`` (asked for when None);
    the path, or None. Without GraphViz it says so before asking for a file."""
    dot = graphviz.find_dot()
    if dot is None:
        QtWidgets.QMessageBox.warning(parent, "Export SVG", GRAPHVIZ_MISSING)
        return None
    path = path or _target(document, parent, "Export SVG", ".svg", "SVG image (*.svg)")
    if path is None:
        return None
    QtWidgets.QApplication.setOverrideCursor(QtGui.QCursor(QtCore.Qt.WaitCursor))
    try:
        picture = graphviz.render(dot_text(document, model), "svg", dot)
        path.write_bytes(picture)
    except graphviz.GraphvizMissing:
        QtWidgets.QMessageBox.warning(parent, "Export SVG", GRAPHVIZ_MISSING)
        return None
    except (graphviz.GraphvizFailed, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        QtWidgets.QMessageBox.warning(parent, "Export SVG", f"Could not write {path}: {reason}")
        return None
    finally:
        QtWidgets.QApplication.restoreOverrideCursor()
    return path
