"""Menus, toolbar and the shortcuts people expect (New, Open, Save, Undo, Run, Stop, ...).

The actions know what they call, not who answers: the window hands over one ``Slots`` of
callables, the undo stack and the canvas, and the main window widget they hang menus on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import shiboken6
from PySide6 import QtCore, QtGui, QtWidgets

from studio import help
from studio.canvas.canvas import Canvas
from studio.canvas.navigation import ZOOM_STEP, zoom

Keys = QtGui.QKeySequence


PAUSE_TIP = "Pause the run: no new task starts; running tasks go on"


@dataclass(frozen=True)
class Slots:
    """What each action does (every callable takes no argument unless said)."""

    new: Callable[[], object]
    open_dialog: Callable[[], object]
    open: Callable[[str], object]  # a recent file's path
    save: Callable[[], object]
    save_as: Callable[[], object]
    export_dot: Callable[[], object]
    export_png: Callable[[], object]
    export_svg: Callable[[], object]
    quit: Callable[[], object]
    delete: Callable[[], object]
    arrange: Callable[[], object]
    validate: Callable[[], object]
    run: Callable[[], object]
    stop: Callable[[], object]
    pause: Callable[[], object]  # pause a running run, or resume a paused one
    clear_run: Callable[[], object]
    history: Callable[[], object]
    recent_files: Callable[[], list[str]]
    copy: Callable[[], object]
    cut: Callable[[], object]
    paste: Callable[[], object]
    duplicate: Callable[[], object]
    quick_add: Callable[[], object]  # the searchable operator list at the pointer
    group: Callable[[], object] = lambda: None  # the selected nodes into a sub-workflow file
    import_dialog: Callable[[], object] = lambda: None  # an Argo Workflow or Elyra pipeline, as a new document
    preferences: Callable[[], object] = lambda: None
    about: Callable[[], object] = lambda: None
    export_argo: Callable[[], object] = lambda: None  # the workflow as an Argo Workflow (YAML)
    check_setup: Callable[[], object] = lambda: None  # the lines of `weft doctor`
    start_page: Callable[[], object] = lambda: None


class Actions:
    def __init__(
        self,
        host: QtWidgets.QMainWindow,
        slots: Slots,
        undo_stack: QtGui.QUndoStack,
        canvas: Canvas,
        docks: Iterable[QtWidgets.QDockWidget],
    ) -> None:
        self.host = host
        self.slots = s = slots
        self.undo_stack = undo_stack
        self.new = self._make("&New", s.new, Keys.New, "Start a new workflow")
        self.open = self._make("&Open…", s.open_dialog, Keys.Open, "Open a workflow file")
        self.import_ = self._make(
            "&Import…", s.import_dialog, None, "Import an Argo Workflow or an Elyra pipeline as a new workflow"
        )
        self.save = self._make("&Save", s.save, Keys.Save, "Save the workflow text")
        self.save_as = self._make("Save &As…", s.save_as, Keys.SaveAs, "Save the workflow under another name")
        self.export_dot = self._make(
            "Export &DOT…", s.export_dot, "Ctrl+E", "Export the as-of-now graph (with ghosts) as GraphViz DOT"
        )
        self.export_png = self._make("Export &PNG…", s.export_png, "Ctrl+Shift+E", "Export the canvas as a PNG image")
        self.export_svg = self._make("Export S&VG…", s.export_svg, None, "Export the as-of-now graph as SVG (GraphViz)")
        self.export_argo = self._make(
            "&Argo Workflow…", s.export_argo, None, "Export the workflow as an Argo Workflow to run on Kubernetes"
        )
        self.quit = self._make("&Quit", s.quit, Keys.Quit, "Quit Weft Studio")
        self.undo = undo_stack.createUndoAction(host, "&Undo")
        self.undo.setShortcut(Keys.Undo)
        self.redo = undo_stack.createRedoAction(host, "&Redo")
        self.redo.setShortcuts(
            [Keys(Keys.Redo), Keys("Ctrl+Y")] if Keys(Keys.Redo) != Keys("Ctrl+Y") else [Keys(Keys.Redo)]
        )
        self.delete = self._make("&Delete", s.delete, Keys.Delete, "Delete the selected nodes and wires")
        self.delete.setShortcutContext(QtCore.Qt.WidgetWithChildrenShortcut)
        canvas.viewer.addAction(self.delete)  # Delete in a text field deletes text, not nodes
        self.select_all = self._make("Select &All", lambda: canvas.select(canvas.nodes), Keys.SelectAll)
        self.select_all.setShortcutContext(QtCore.Qt.WidgetWithChildrenShortcut)
        canvas.viewer.addAction(self.select_all)
        self.copy = self._make("&Copy", s.copy, Keys.Copy, "Copy the selected nodes and the wires between them")
        self.cut = self._make("Cu&t", s.cut, Keys.Cut, "Cut the selected nodes (copy, then delete)")
        self.paste = self._make("&Paste", s.paste, Keys.Paste, "Paste nodes at the pointer")
        self.duplicate = self._make("D&uplicate", s.duplicate, "Ctrl+D", "Duplicate the selected nodes")
        self.quick_add = self._make(
            "&Quick Add…", s.quick_add, "Tab", "Search the operators and add one at the pointer"
        )
        self.group = self._make(
            "&Group into Sub-workflow…",
            s.group,
            "Ctrl+G",
            "Write the selected nodes to a workflow file of their own, used here as one node",
        )
        for action in (self.copy, self.cut, self.paste, self.duplicate, self.quick_add, self.group):
            action.setShortcutContext(QtCore.Qt.WidgetWithChildrenShortcut)  # text fields keep their own
            canvas.viewer.addAction(action)
        self.fit = self._make("&Fit View", canvas.fit, "Ctrl+0", "Show the whole graph (also: F on the canvas)")
        QtGui.QShortcut(Keys("F"), canvas.viewer, canvas.fit, context=QtCore.Qt.WidgetShortcut)
        self.zoom_in = self._make("Zoom &In", lambda: zoom(canvas.viewer, ZOOM_STEP), "Ctrl+=", "Zoom in")
        self.zoom_in.setShortcuts([Keys("Ctrl+="), Keys("Ctrl++")])
        self.zoom_out = self._make("Zoom &Out", lambda: zoom(canvas.viewer, 1 / ZOOM_STEP), "Ctrl+-", "Zoom out")
        layer = canvas.run_layer
        self.follow = self._toggle(
            "F&ollow New Nodes", layer.follow, lambda on: setattr(layer, "follow", on), "Scroll to nodes a run creates"
        )
        self.minimap = self._toggle("&Minimap", True, canvas.minimap.setVisible, "The whole graph, small, in a corner")
        self.arrange = self._make("&Arrange", s.arrange, "Ctrl+L", "Lay the nodes out in layers (undoable)")
        self.validate = self._make("&Validate", s.validate, "F7", "Check the workflow as the engine would")
        self.run = self._make("&Run", s.run, "F5", "Run the workflow as it is on the canvas")
        self.run.setShortcuts([Keys("F5"), Keys("Ctrl+R")])
        self.stop = self._make("S&top", s.stop, "Shift+F5", "Stop the run (every task is stopped)")
        self.stop.setShortcuts([Keys("Shift+F5"), Keys("Ctrl+.")])
        self.pause = self._make("&Pause", s.pause, "F6", PAUSE_TIP)
        self.pause.setEnabled(False)
        self.clear_run = self._make("&Clear Run", s.clear_run, None, "Remove the run's drawing from the canvas")
        self.history = self._make("Open &Past Run…", s.history, "Ctrl+H", "Open a run from the history")
        self.preferences = self._make("&Preferences…", s.preferences, Keys.Preferences, "Executor, libraries, theme")
        self.preferences.setMenuRole(QtGui.QAction.PreferencesRole)
        self.about = self._make("&About Weft Studio", s.about, None, "Version and links")
        self.check_setup = self._make(
            "Check &Setup…", s.check_setup, None, "Docker, the default image, the home, GraphViz, Ray"
        )
        self.start_page = self._make("Start &Page", s.start_page, None, "New, open, recent files and the examples")
        self.guides = [
            self._make(text, lambda p=path: help.open_guide(p), None, f"Open {path.name}") for text, path in help.GUIDES
        ]
        # the toolbar's Undo and Redo keep their width: their text never changes, the tooltip says what
        self.undo_tool = Twin("Undo", self.undo, undo_stack.undo)
        self.redo_tool = Twin("Redo", self.redo, undo_stack.redo)
        self._menus(docks)
        self._toolbar()
        # right-click on the canvas: the same actions (NodeGraphQt shows its menu when it has any)
        canvas.add_context_actions(
            [self.undo, self.redo, self.cut, self.copy, self.paste, self.delete, self.group]
            + [self.select_all, self.fit, self.arrange, self.run, self.stop]
        )

    def _make(self, text: str, slot: Callable[[], object], shortcut: object = None, tip: str = "") -> QtGui.QAction:
        action = QtGui.QAction(text, self.host)
        if shortcut is not None:
            action.setShortcut(Keys(shortcut) if not isinstance(shortcut, Keys) else shortcut)
        action.setStatusTip(tip)
        action.setToolTip(
            f"{text.replace('&', '').rstrip('…')} ({action.shortcut().toString()})"
            if shortcut is not None
            else text.replace("&", "")
        )
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _toggle(self, text: str, checked: bool, setter: Callable[[bool], object], tip: str) -> QtGui.QAction:
        action = QtGui.QAction(text, self.host, checkable=True, checked=checked, statusTip=tip)
        action.toggled.connect(setter)
        return action

    def _menus(self, docks: Iterable[QtWidgets.QDockWidget]) -> None:
        bar = self.host.menuBar()
        file = bar.addMenu("&File")
        file.addActions([self.new, self.open])
        self.recent = file.addMenu("Open &Recent")
        file.addAction(self.import_)
        file.addActions([self.save, self.save_as])
        file.addSeparator()
        file.addActions([self.export_dot, self.export_svg, self.export_png])
        self.export_menu = file.addMenu("E&xport")
        self.export_menu.addAction(self.export_argo)
        file.addSeparator()
        file.addAction(self.quit)
        edit = bar.addMenu("&Edit")
        edit.addActions([self.undo, self.redo])
        edit.addSeparator()
        edit.addActions([self.cut, self.copy, self.paste, self.duplicate, self.delete, self.select_all])
        edit.addSeparator()
        edit.addActions([self.quick_add, self.group])
        edit.addSeparator()
        edit.addAction(self.preferences)
        view = bar.addMenu("&View")
        view.addActions([self.zoom_in, self.zoom_out, self.fit, self.arrange])
        view.addActions([self.follow, self.minimap])
        view.addSeparator()
        for dock in docks:
            view.addAction(dock.toggleViewAction())
        workflow = bar.addMenu("&Workflow")
        workflow.addActions([self.validate, self.run, self.pause, self.stop, self.clear_run])
        history = bar.addMenu("&History")
        history.addAction(self.history)
        guide = bar.addMenu("&Help")
        guide.addActions(self.guides)
        guide.addSeparator()
        guide.addActions([self.start_page, self.check_setup])
        guide.addAction(self.about)
        self.rebuild_recent()

    def _toolbar(self) -> None:
        tools = self.host.addToolBar("Main")
        tools.setObjectName("toolbar-main")
        tools.setToolButtonStyle(QtCore.Qt.ToolButtonTextOnly)
        tools.addActions([self.new, self.open, self.save])
        tools.addSeparator()
        tools.addActions([self.undo_tool, self.redo_tool, self.delete])
        tools.addSeparator()
        tools.addActions([self.validate, self.run, self.pause, self.stop])
        tools.addSeparator()
        tools.addActions([self.fit, self.history])

    def set_paused(self, paused: bool) -> None:
        """The run is paused (the action resumes it) or not (the action pauses it)."""
        self.pause.setText("Res&ume" if paused else "&Pause")
        self.pause.setStatusTip(
            "Resume the run" if paused else "Pause the run: no new task starts; running tasks go on"
        )
        self.pause.setToolTip(f"{'Resume' if paused else 'Pause'} (F6)")

    def rebuild_recent(self) -> None:
        self.recent.clear()
        files = self.slots.recent_files()
        for path in files:
            action = self.recent.addAction(Path(path).name)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _c=False, p=path: self.slots.open(p))
        self.recent.setEnabled(bool(files))

    def update(self, running: bool, editable: bool, past_run: bool) -> None:
        self.run.setEnabled(not running and not past_run)
        self.stop.setEnabled(running)
        self.pause.setEnabled(running)
        if not running:
            self.set_paused(False)
        for action in (self.delete, self.arrange, self.cut, self.paste, self.duplicate, self.quick_add, self.group):
            action.setEnabled(editable)
        self.undo.setVisible(True)
        if running:
            self.undo.setEnabled(False)
            self.redo.setEnabled(False)
        else:
            self.undo.setEnabled(self.undo_stack.canUndo())
            self.redo.setEnabled(self.undo_stack.canRedo())
        for action in (self.new, self.open):
            action.setEnabled(not running)


class Twin(QtGui.QAction):
    """A toolbar twin of a menu action whose text changes (Undo Delete 1 wire): its own text stays,
    so the toolbar never moves; it takes the action's state and says what it would do in its
    tooltip."""

    def __init__(self, text: str, action: QtGui.QAction, slot: Callable[[], object]) -> None:
        super().__init__(text, action.parent())
        self.action = action
        self.triggered.connect(lambda _checked=False: slot())
        action.changed.connect(self.follow)
        self.follow()

    def follow(self) -> None:
        if not shiboken6.isValid(self.action) or not shiboken6.isValid(self):
            return  # the window is going: its actions tell their last changes as they are deleted
        what = self.action.text().replace("&", "")
        self.setEnabled(self.action.isEnabled())
        self.setToolTip(f"{what} ({self.action.shortcut().toString()})")
        self.setStatusTip(what)
