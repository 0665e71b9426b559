"""The main window: canvas in the middle, palette, properties, promises, run and problems around it.

It wires views to the document (through one ``Editor`` and one undo stack), keeps recent files
and the window's layout in ``QSettings``, and hands runs to ``RunView`` and past runs to
``History``. It owns no workflow state of its own.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from engine.errors import InvalidInput, Problem, WorkflowInvalid
from engine.events import NodeState, RunState
from engine.imports import import_path, output_name
from engine.imports.carried import place
from engine.promises.registered import registration_problems
from engine.workflow.loader import handed_down, read_text_leniently
from studio import export, help, theme
from studio.actions import Actions, Slots
from studio.breadcrumbs import Breadcrumbs
from studio.canvas.canvas import Canvas
from studio.canvas.items import DESIGN, GHOST, REFUSED
from studio.clipboard import CanvasClipboard
from studio.editor import Editor
from studio.help import GettingStarted
from studio.history import History, ReplayBar
from studio.model import subworkflows
from studio.model.document import Document
from studio.model.grouping import plan_group
from studio.model.runmodel import RunModel
from studio.palette import Palette
from studio.preferences import Preferences, PreferencesDialog, new_workflow_settings
from studio.problems import ProblemsPanel
from studio.promises_panel import PromisesPanel
from studio.properties import Properties
from studio.quickadd import QuickAdd
from studio.runpanel import RunPanel
from studio.runview import Banner, RunView
from studio.setup_check import show_setup_check
from studio.startpage import StartPage, app_icon

MAX_RECENT = 10
#: the node states "Restart from here" is offered in
_FINISHED = (NodeState.SUCCEEDED, NodeState.FAILED, NodeState.CANCELLED, NodeState.SKIPPED)
FILE_FILTER = "Weft workflows (*.weft.yaml *.yaml *.yml);;All files (*)"
IMPORT_FILTER = "Argo Workflows and Elyra pipelines (*.yaml *.yml *.pipeline *.json);;All files (*)"


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, settings: QtCore.QSettings, home: Path, user_library: Path | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.home = Path(home)
        self.read_only = False
        self.past_run: str | None = None
        self.last_error = ""
        self.undo_stack = QtGui.QUndoStack(self)
        self.undo_stack.cleanChanged.connect(lambda _clean: self._update_title())
        self.prefs = Preferences.load(settings)
        theme.apply(theme.theme_named(self.prefs.theme))
        self.canvas = Canvas(self)
        self.palette = Palette(user_library)
        self.getting_started = GettingStarted(self.canvas.viewer.viewport())
        self.properties = Properties()
        self.promises = PromisesPanel()
        self.run_panel = RunPanel()
        self.problems = ProblemsPanel()
        self.banner = Banner()
        self.replay = ReplayBar()
        self.replay.hide()
        central = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.banner)
        self.breadcrumbs = Breadcrumbs()
        #: the library folders each file of the breadcrumb trail was opened with
        self._inherited: dict[Path, list[str]] = {}
        self.breadcrumbs.chosen.connect(self.back_to)
        column.addWidget(self.breadcrumbs)
        column.addWidget(self.canvas.viewer, 1)
        column.addWidget(self.replay)
        # the canvas's column, and the start page over it (made when first shown)
        self.pages = QtWidgets.QStackedWidget()
        self.pages.addWidget(central)
        self.start_page: StartPage | None = None
        self.setCentralWidget(self.pages)
        self.setWindowIcon(app_icon())
        self.side_tabs = QtWidgets.QTabWidget()
        self.side_tabs.addTab(self.properties, "Properties")
        self.side_tabs.addTab(self.promises, "Promises")
        self.bottom_tabs = QtWidgets.QTabWidget()
        self.bottom_tabs.addTab(self.run_panel, "Run")
        self.bottom_tabs.addTab(self.problems, "Problems")
        self.docks = {
            "palette": self._dock("Operators", self.palette, QtCore.Qt.LeftDockWidgetArea),
            "inspector": self._dock("Inspector", self.side_tabs, QtCore.Qt.RightDockWidgetArea),
            "run": self._dock("Run", self.bottom_tabs, QtCore.Qt.BottomDockWidgetArea),
        }
        self.setCorner(QtCore.Qt.BottomLeftCorner, QtCore.Qt.LeftDockWidgetArea)
        self.setCorner(QtCore.Qt.BottomRightCorner, QtCore.Qt.RightDockWidgetArea)
        self.resizeDocks([self.docks["palette"], self.docks["inspector"]], [230, 340], QtCore.Qt.Horizontal)
        self.resizeDocks([self.docks["run"]], [220], QtCore.Qt.Vertical)
        self.runs = RunView(
            self.home, lambda: self.document, self.canvas.run_layer, self.run_panel, self.banner, parent=self
        )
        self.runs.running_changed.connect(self._run_started_or_ended)
        self.runs.message.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        self.runs.problems_found.connect(self.show_problems)
        self.history = History(
            self.home,
            self,
            self.replay,
            self.canvas.run_layer,
            self.run_panel,
            self.banner,
            may_leave=lambda: not self.runs.running and self.maybe_save(),
            show_workflow=self.show_past_run,
            leave=self.close_run,
            resume=self.continue_run,
        )
        self.clipboard = CanvasClipboard(self.canvas, self)
        self.quick_add = QuickAdd(self.canvas, self.palette.libraries, self)
        self.actions = Actions(self, self._slots(), self.undo_stack, self.canvas, self.docks.values())
        self.runs.paused_changed.connect(self.actions.set_paused)
        self.runs.asked.connect(self._node_asks)
        self.run_panel.question.answered.connect(self._answer)
        self.canvas.viewer.node_menu = self.node_menu
        self._node_menu: QtWidgets.QMenu | None = None
        self.canvas.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.canvas.selection_changed.connect(self._selection_changed)
        self.canvas.viewer.scene().selectionChanged.connect(self._scene_selection_changed)
        self.canvas.activated.connect(self._activated)
        self.palette.activated.connect(self._add_from_palette)
        self.problems.activated.connect(lambda node: node and self.canvas.select([node]))
        self.statusBar().showMessage("Ready")
        self.resize(1400, 860)
        self.document = Document()
        self.editor = Editor(self.document, self.undo_stack)
        self.apply_preferences(self.prefs)
        self.set_document(self.new_document())
        self._restore_layout()

    def _slots(self) -> Slots:
        return Slots(
            new=self.new,
            open_dialog=self.open_dialog,
            import_dialog=self.import_dialog,
            open=self.open,
            save=self.save,
            save_as=self.save_as,
            export_dot=self.export_dot,
            export_png=self.export_png,
            export_svg=self.export_svg,
            export_argo=self.export_argo,
            quit=self.close,
            delete=self.delete_selection,
            arrange=self.arrange,
            validate=self.validate,
            run=self.runs.start,
            stop=self.runs.stop,
            pause=self.runs.toggle_pause,
            clear_run=self.close_run,
            history=self.history.choose,
            recent_files=self.recent_files,
            copy=self.clipboard.copy,
            cut=self.clipboard.cut,
            paste=self.clipboard.paste,
            duplicate=self.clipboard.duplicate,
            group=self.group_dialog,
            quick_add=self.quick_add.open_at_cursor,
            preferences=self.edit_preferences,
            about=lambda: help.show_about(self),
            check_setup=lambda: show_setup_check(self, self.home),
            start_page=self.show_start_page,
        )

    def show_page(self, page: QtWidgets.QWidget) -> None:
        """Bring a panel (properties, promises, run, problems) to the front."""
        for tabs, dock in ((self.side_tabs, self.docks["inspector"]), (self.bottom_tabs, self.docks["run"])):
            if tabs.indexOf(page) >= 0:
                tabs.setCurrentWidget(page)
                dock.show()

    def _dock(self, title: str, widget: QtWidgets.QWidget, area: QtCore.Qt.DockWidgetArea) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # -- documents --------------------------------------------------------------------------

    def show_start_page(self) -> StartPage:
        """New, Open, recent files and the examples, in place of the canvas until one is chosen."""
        if self.start_page is None:
            self.start_page = StartPage(self.recent_files, self.home)
            self.start_page.new_requested.connect(self._start_new)
            self.start_page.open_requested.connect(self.open_dialog)
            self.start_page.chosen.connect(self.open)
            self.pages.addWidget(self.start_page)
        self.pages.setCurrentWidget(self.start_page)
        return self.start_page

    def _start_new(self) -> None:
        if self.document.path is None and not self.document.nodes:
            self.pages.setCurrentIndex(0)  # the blank workflow the window started with
        else:
            self.new()

    def set_document(self, document: Document, read_only: bool = False) -> None:
        self.pages.setCurrentIndex(0)  # the canvas, whatever was shown
        gc.unfreeze()  # what the previous document leaves behind may be collected again
        self.document = document
        self.import_target: Path | None = None
        self.import_files: dict[str, str] = {}
        self.editor = Editor(document, self.undo_stack)
        self.undo_stack.clear()
        self.read_only = read_only
        self.canvas.set_document(document, self.editor)
        self.canvas.editable = not read_only
        self.palette.set_document(document)
        self.properties.locked = read_only
        self.properties.set_document(document, self.editor)
        self.promises.set_document(document, self.editor)
        self.promises.set_read_only(read_only)
        self.run_panel.set_model(None)
        self.banner.hide()
        for name in ("node_added", "node_removed", "edge_added", "edge_removed", "node_renamed"):
            getattr(document.events, name).connect(self._structure_edited)
        document.events.path_changed.connect(lambda _p: self._update_title())
        self.problems.show_problems(
            document.problems,
            self._source_text(document),
            "The file has problems; what could be read is shown." if document.problems else "",
        )
        if document.problems:
            self.show_page(self.problems)
        self._update_actions()
        self._update_title()
        self.getting_started.set_empty(not document.nodes)
        QtCore.QTimer.singleShot(0, self.canvas.fit)

    def _source_text(self, document: Document) -> str:
        try:
            return document.path.read_text(encoding="utf-8") if document.path else ""
        except OSError:
            return ""

    def _structure_edited(self, *_args: Any) -> None:
        """An edit after a run makes the run's drawing stale: clear it."""
        self.getting_started.set_empty(not self.document.nodes)
        if self.canvas.run_layer.model is not None and not self.runs.running and self.past_run is None:
            self.canvas.run_layer.reset()
            self.banner.hide()

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current document (saved, discarded or unchanged)."""
        if self.undo_stack.isClean() or self.read_only:
            return True
        answer = QtWidgets.QMessageBox.question(
            self,
            "Unsaved changes",
            f"Save the changes to {self.document.workflow.name}?",
            QtWidgets.QMessageBox.Save | QtWidgets.QMessageBox.Discard | QtWidgets.QMessageBox.Cancel,
        )
        if answer == QtWidgets.QMessageBox.Save:
            return self.save()
        return answer == QtWidgets.QMessageBox.Discard

    def new(self) -> None:
        if self.runs.running or not self.maybe_save():
            return
        self.close_run(keep_document=True)
        self.set_document(self.new_document())
        self.breadcrumbs.set_trail([])

    def open_dialog(self) -> None:
        start = str(self.document.path.parent) if self.document.path else str(Path.cwd())
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open workflow", start, FILE_FILTER)
        if path:
            self.open(path)

    def open(self, path: str | Path, quiet: bool = False, inherited: Sequence[str] = ()) -> bool:
        """Open a workflow file; invalid text opens with its problems listed, each located.

        ``quiet``: no dialog when the file cannot be read at all (start-up from the command line);
        the reason is in ``last_error`` and in the problems panel. ``inherited``: the library
        folders the workflow it was opened from hands down to it (as a run would).
        """
        if self.runs.running or not self.maybe_save():
            return False
        try:
            document = Document.open(path, inherited)
        except InvalidInput as exc:
            self.last_error = str(exc)
            if quiet:
                self.show_problems([], "", f"Cannot open: {exc}")
            else:
                QtWidgets.QMessageBox.warning(self, "Cannot open", str(exc))
            return False
        self.close_run(keep_document=True)
        self.set_document(document)
        self.breadcrumbs.set_trail([document.path] if document.path else [])
        self.add_recent(document.path)
        self.statusBar().showMessage(
            f"Opened {document.path}" + (f" ({len(document.problems)} problems)" if document.problems else ""), 8000
        )
        return True

    def import_dialog(self) -> None:
        start = str(self.document.path.parent) if self.document.path else str(Path.cwd())
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Import workflow", start, IMPORT_FILTER)
        if path:
            self.import_file(path)

    def import_file(self, path: str | Path) -> bool:
        """Another tool's workflow as a new, unsaved document named after it (docs/import.md);
        a refusal lists its located problems in the Problems panel and keeps the open document."""
        if self.runs.running or not self.maybe_save():
            return False
        source = Path(path)
        target = source.parent / output_name(source)
        try:
            imported = import_path(source, target)
        except WorkflowInvalid as exc:
            self.show_problems(exc.problems, "", f"Cannot import {source.name}:")
            return False
        except InvalidInput as exc:
            self.last_error = str(exc)
            QtWidgets.QMessageBox.warning(self, "Cannot import", str(exc))
            return False
        self.close_run(keep_document=True)
        self.set_document(Document.from_text(imported.text, None, file=target.name))
        self.import_target = target  # where Save As starts: beside the source, whose files it names
        self.import_files = imported.files  # what the source carries: written beside the first save
        self.undo_stack.resetClean()  # unsaved: closing asks
        self.breadcrumbs.set_trail([])
        self._update_title()
        self.statusBar().showMessage(f"Imported {source.name} ({len(self.document.nodes)} nodes)", 8000)
        return True

    def save(self) -> bool:
        if self.read_only:
            return self.save_as()
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        start = str(self.document.path or self.import_target or Path.cwd() / f"{self.document.workflow.name}.weft.yaml")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save workflow as", start, FILE_FILTER)
        if not path:
            return False
        if not path.endswith((".yaml", ".yml")):
            path += ".weft.yaml"
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        if not self.document.complete:
            answer = QtWidgets.QMessageBox.question(
                self,
                "Save a file that had problems?",
                "The file had problems when it was opened; saving writes only what could be read. Save anyway?",
            )
            if answer != QtWidgets.QMessageBox.Yes:
                return False
        try:
            if self.import_files:  # an imported Weft export: the scripts its commands name, beside it
                place(self.import_files, path)
                self.import_files = {}
            saved = self.document.save(path)
        except InvalidInput as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot save", str(exc))
            return False
        except OSError as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        if self.read_only:  # a past run's workflow, saved as a file of its own: now editable
            self.close_run(keep_document=True)
            self.set_document(Document.open(saved))
        self.undo_stack.setClean()
        self.add_recent(saved)
        self._update_title()
        self.statusBar().showMessage(f"Saved {saved}", 5000)
        return True

    def validate(self) -> bool:
        text = self.document.text()
        _wf, loaded, problems = read_text_leniently(
            text, str(self.document.path or "<unsaved workflow>"), self.document.path, self.document.inherited_libraries
        )
        broken = registration_problems(loaded) if loaded is not None else []
        if loaded is not None and not broken:
            self.problems.show_problems(
                [],
                text,
                f"Valid: {len(loaded.workflow.nodes)} nodes, "
                f"{len(loaded.workflow.edges)} edges, "
                f"{len(loaded.workflow.promises)} promises.",
            )
            self.statusBar().showMessage("The workflow is valid.", 5000)
            return True
        self.show_problems(problems.problems + broken, text, "The workflow has problems:")
        return False

    def show_problems(self, problems: list[Problem], text: str, title: str) -> None:
        self.problems.show_problems(problems, text, title)
        self.show_page(self.problems)
        self.statusBar().showMessage(title + (f" {len(problems)} problems" if problems else ""), 8000)

    def export_dot(self) -> None:
        path = export.export_dot(self.document, self.canvas.run_layer.model, self)
        if path is not None:
            self.statusBar().showMessage(f"Exported {path}", 5000)

    def export_svg(self) -> None:
        path = export.export_svg(self.document, self.canvas.run_layer.model, self)
        if path is not None:
            self.statusBar().showMessage(f"Exported {path}", 5000)

    def export_argo(self) -> None:
        path = export.export_argo(self.document, self)
        if path:
            self.statusBar().showMessage(f"Exported {path}", 5000)

    def export_png(self) -> None:
        path = export.export_png(self.document, self.canvas.render, self)
        if path is not None:
            self.statusBar().showMessage(f"Exported {path}", 5000)

    # -- preferences ------------------------------------------------------------------------

    def new_document(self) -> Document:
        """An empty workflow with the preferred executor and image in its settings."""
        document = Document()
        document.workflow.settings = new_workflow_settings(self.prefs, document.workflow.settings)
        return document

    def edit_preferences(self) -> None:
        dialog = PreferencesDialog(self.prefs, self)
        dialog.accepted.connect(lambda: self.apply_preferences(dialog.preferences(), save=True))
        dialog.open()  # window-modal, without a nested event loop

    def apply_preferences(self, prefs: Preferences, save: bool = False) -> None:
        self.prefs = prefs
        if save:
            prefs.save(self.settings)
        theme.apply(theme.theme_named(prefs.theme))
        self.canvas.apply_theme()
        self.getting_started.restyle()
        self.palette.set_folders([Path(f) for f in prefs.libraries])
        # workflows may import from these folders (the loader confines imports to the library path)
        paths = [p for p in os.environ.get("WEFT_LIBRARY_PATH", "").split(os.pathsep) if p]
        os.environ["WEFT_LIBRARY_PATH"] = os.pathsep.join(dict.fromkeys(paths + prefs.libraries))

    # -- recent files and layout ------------------------------------------------------------

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if v]

    def add_recent(self, path: Path | None) -> None:
        if path is None:
            return
        recent = [str(path)] + [p for p in self.recent_files() if p != str(path)]
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self.actions.rebuild_recent()

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if self.runs.controller.running:
            answer = QtWidgets.QMessageBox.question(
                self, "A run is going on", "Stop the run (every task is stopped) and quit?"
            )
            if answer != QtWidgets.QMessageBox.Yes:
                event.ignore()
                return
            # as the question promised: the run stops now, whatever is answered next
            self.runs.stop()
            self.runs.wait(15)  # its end, and the last of its events, shown before the window goes
        if not self.maybe_save():
            event.ignore()
            return
        self.history.close_store()
        self.save_layout()
        event.accept()

    # -- runs ---------------------------------------------------------------------------------

    def _run_started_or_ended(self, running: bool) -> None:
        if running:
            self.show_page(self.run_panel)
        self.set_running(running)

    def set_running(self, running: bool) -> None:
        self.canvas.editable = not running and not self.read_only
        self.properties.locked = running or self.read_only
        self.properties.refresh()
        self.promises.set_read_only(running or self.read_only)
        self._update_actions()

    def show_past_run(self, run_id: str, text: str, path: str | None) -> None:
        """Show a past run's workflow, read-only (``History`` draws the run on it)."""
        document = Document.from_text(text, Path(path) if path else None, file=f"run {run_id}")
        self.past_run = run_id
        self.set_document(document, read_only=True)
        self.show_page(self.run_panel)
        self._update_title()

    def close_run(self, keep_document: bool = False) -> None:
        """Leave a past run (back to an empty, editable workflow unless another one follows)."""
        if self.past_run is None:
            self.canvas.run_layer.reset()
            self.banner.hide()
            return
        self.past_run = None
        self.history.close()
        self.canvas.run_layer.reset()
        if not keep_document:
            path = self.document.path
            document = Document.open(path) if path is not None and path.is_file() else Document()
            self.set_document(document)
        self._update_title()

    def continue_run(self, run_id: str, restart: list[str] | None = None) -> bool:
        """Restart ``restart`` nodes of run ``run_id``, or resume it (interrupted): a paused live
        run is asked to; any other is continued by the studio, whose live view then takes over
        from the replay of that run."""
        done = self.runs.restart(run_id, restart) if restart else self.runs.continue_run(run_id)
        hosted = self.runs.controller.running and self.runs.controller.run_id == run_id
        if done and hosted and self.past_run == run_id:
            self.history.close()  # the replay bar goes: the run is live again
        return done

    def node_menu(self, node_id: str) -> QtWidgets.QMenu | None:
        """What a right-click on a node of the run shown offers: restart it and what follows
        (once it has finished and the run is not running), answer it (while it waits)."""
        model = self.canvas.run_layer.model
        record = model.nodes.get(node_id) if model is not None and model.run_id else None
        stacking = self.canvas.run_layer.stack_action(node_id)  # many siblings drawn as one node
        if (model is None or record is None or model.run_id is None) and not stacking:
            return None
        menu = QtWidgets.QMenu(self)
        if self._node_menu is not None:
            self._node_menu.deleteLater()
        self._node_menu = menu
        if stacking:
            menu.addAction(stacking).triggered.connect(lambda _c=False: self.canvas.run_layer.toggle(node_id))
        if model is None or record is None or model.run_id is None:
            return menu
        run_id = model.run_id
        restart = menu.addAction("Restart from here")
        restart.setObjectName("restart-from-here")
        restart.setStatusTip(f"Run {node_id} again, and everything downstream of it, in run {run_id}")
        why_not = self._why_not_restart(model, record.state)
        if why_not:
            restart.setText(f"Restart from here ({why_not})")
            restart.setEnabled(False)
        restart.triggered.connect(lambda _checked=False: self.continue_run(run_id, [node_id]))
        if record.state is NodeState.WAITING and record.question:
            answer = menu.addAction("Answer…")
            answer.triggered.connect(lambda _checked=False: self._node_asks(node_id, force=True))
        return menu

    def _why_not_restart(self, model: RunModel, state: NodeState | None) -> str:
        """Why the menu offers no restart of a node in ``state`` now ('' when it does); the
        engine's check (``check_restart``) has the last word when it is chosen."""
        if state is NodeState.RETIRED:
            return "retired by an earlier restart"
        if state not in _FINISHED:
            return "when it has finished"
        live = self.runs.controller.running and self.runs.model is model
        if live and model.state is not RunState.PAUSED:
            return "pause the run first"
        return ""

    def _node_asks(self, node_id: str, force: bool = False) -> None:
        """A node waits for an answer: select it, so its question shows in the Run panel
        (unless another node is selected, which a new question does not take away). A node
        inside a folded `workflow:` node is drawn first (the group is expanded)."""
        if force or not self.canvas.selected_ids():
            self.canvas.run_layer.reveal(node_id)
            self.canvas.select([node_id])
            self.show_page(self.run_panel)

    def _answer(self, node_id: str, entries: dict[str, Any]) -> None:
        model = self.run_panel.model
        form = self.run_panel.question
        if model is None or model.run_id is None:
            return
        sent, text = self.runs.answer(model.run_id, node_id, form.fields, entries)
        form.show_sent(text) if sent else form.show_error(text)

    def _activated(self, node_id: str) -> None:
        """Double-click: a waiting node shows its question, a `workflow:` node opens its file,
        any other shows its properties."""
        model = self.canvas.run_layer.model
        record = model.nodes.get(node_id) if model is not None else None
        if record is not None and record.state is NodeState.WAITING:
            self.show_page(self.run_panel)
        elif self.document.subworkflow(node_id) is not None and self.past_run is None:
            self.open_subworkflow(node_id)
        else:
            self.show_page(self.properties)

    def open_subworkflow(self, node_id: str) -> bool:
        """Open the file of `workflow:` node ``node_id`` in the window; the breadcrumb bar
        leads back to this one."""
        sub = self.document.subworkflow(node_id)
        if sub is None or not sub.path.is_file():
            self.statusBar().showMessage(sub.problem if sub and sub.problem else f"{node_id} is no workflow", 8000)
            return False
        here = self.document.path
        trail = list(self.breadcrumbs.trail) or ([here] if here else [])
        inherited = handed_down(self.document.libraries())
        if here is not None:
            self._inherited[here] = list(self.document.inherited_libraries)
        if not self.open(sub.path, inherited=inherited):
            return False
        self.breadcrumbs.set_trail([*trail, sub.path.resolve()])
        return True

    def back_to(self, index: int) -> bool:
        """Go back to the ``index``-th file of the breadcrumb trail."""
        trail = list(self.breadcrumbs.trail)
        if not 0 <= index < len(trail) - 1 or not self.open(
            trail[index], inherited=self._inherited.get(trail[index], ())
        ):
            return False
        self.breadcrumbs.set_trail(trail[: index + 1])
        return True

    def group_dialog(self) -> None:
        """*Group into Sub-workflow…*: ask where the new file goes, then group there."""
        if not self.canvas.editable:
            return
        ids = self.canvas.selected_ids()
        if self.document.path is None or len(ids) < 2:
            self.statusBar().showMessage(
                "Select two nodes or more of a saved workflow to group them into a sub-workflow", 8000
            )
            return
        suggested = self.document.path.parent / f"{self.document.unique_id('group')}.weft.yaml"
        path, _filter = QtWidgets.QFileDialog.getSaveFileName(
            self, "Group into sub-workflow", str(suggested), FILE_FILTER
        )
        if path:
            self.group_selection(Path(path))

    def group_selection(self, path: Path, node_ids: list[str] | None = None) -> str | None:
        """Write the selected nodes (or ``node_ids``) to the workflow file ``path`` beside this
        one and put one `workflow:` node in their place (one undo step). Returns why not, or None."""
        ids = node_ids if node_ids is not None else self.canvas.selected_ids()
        plan = plan_group(self.document, ids, path)
        if plan.refused is not None or plan.path is None:
            problem = plan.refused or "nothing to group"
            self.statusBar().showMessage(f"Cannot group: {problem}", 10000)
            return problem
        try:
            plan.path.write_text(plan.text, encoding="utf-8")
        except OSError as exc:
            self.statusBar().showMessage(f"Cannot write {plan.path}: {exc}", 10000)
            return str(exc)
        subworkflows.forget(plan.path)
        group = self.editor.group(plan)
        if group is not None:
            self.canvas.select([group])
            self.statusBar().showMessage(f"Grouped {len(plan.removed_nodes)} nodes into {plan.path.name}", 8000)
        return None

    # -- selection --------------------------------------------------------------------------

    def _selection_changed(self, ids: list[str]) -> None:
        if len(ids) != 1:
            self.run_panel.show_node(None)
            if not ids:
                self.properties.show_workflow()
            return
        node_id = ids[0]
        self.run_panel.show_node(node_id)
        item = self.canvas.item(node_id)
        model = self.canvas.run_layer.model
        if item is not None and item.kind == DESIGN:
            self.properties.show_node(node_id, read_only=not self.canvas.editable)
        elif model is not None and node_id in model.nodes:
            run = model.nodes[node_id]
            self.properties.show_node(node_id, spec=run.spec, note=f"created by {run.created_by} during the run")
        elif item is not None and item.kind == GHOST:
            self.properties.show_note(
                "Ghost", f"what may still appear after {node_id.removeprefix('ghost:')}: {item.detail}"
            )
        elif item is not None and item.kind == REFUSED:
            self.properties.show_note(
                f"Refused: {node_id.removeprefix('refused:')}",
                "a node of the mutation that broke a promise; it was never added",
            )

    def _scene_selection_changed(self) -> None:
        if not self.canvas.selected_ids():
            edges = self.canvas.selected_edges()
            if len(edges) == 1 and self.document.edge(edges[0]) is not None:
                self.properties.show_edge(edges[0])

    def _add_from_palette(self, ref: dict[str, str]) -> None:
        if not self.canvas.editable:
            return
        center = self.canvas.viewer.mapToScene(self.canvas.viewer.viewport().rect().center())
        problem = self.editor.add_palette_node(ref, (center.x(), center.y()))
        if problem:
            self.statusBar().showMessage(problem, 8000)

    def delete_selection(self) -> None:
        if self.canvas.editable:
            self.editor.delete(self.canvas.selected_ids(), self.canvas.selected_edges())

    def arrange(self) -> None:
        if self.canvas.editable:
            self.editor.move(self.canvas.arranged_positions(), text="Arrange nodes")
            QtCore.QTimer.singleShot(0, self.canvas.fit)

    # -- state of the window ----------------------------------------------------------------

    def _update_actions(self) -> None:
        if hasattr(self, "actions"):
            self.actions.update(
                running=self.runs.running, editable=self.canvas.editable, past_run=self.past_run is not None
            )

    def _update_title(self) -> None:
        doc = self.document
        where = f"run {self.past_run}" if self.past_run else (str(doc.path) if doc.path else "unsaved")
        self.setWindowTitle(f"{doc.workflow.name} — {where}[*] — Weft Studio {help.version()}")
        self.setWindowModified(not self.undo_stack.isClean() and not self.read_only)
