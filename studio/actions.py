"""Menus, toolbar and the shortcuts people expect (New, Open, Save, Undo, Run, Stop, ...)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui

from studio import export

if TYPE_CHECKING:
    from studio.mainwindow import MainWindow

Keys = QtGui.QKeySequence


class Actions:
    def __init__(self, window: MainWindow) -> None:
        self.window = w = window
        self.new = self._make("&New", w.new, Keys.New, "Start a new workflow")
        self.open = self._make("&Open…", w.open_dialog, Keys.Open, "Open a workflow file")
        self.save = self._make("&Save", w.save, Keys.Save, "Save the workflow text")
        self.save_as = self._make("Save &As…", w.save_as, Keys.SaveAs, "Save the workflow under another name")
        self.export_dot = self._make(
            "Export &DOT…",
            lambda: export.export_dot(w),
            "Ctrl+E",
            "Export the as-of-now graph (with ghosts) as GraphViz DOT",
        )
        self.export_png = self._make(
            "Export &PNG…", lambda: export.export_png(w), "Ctrl+Shift+E", "Export the canvas as a PNG image"
        )
        self.quit = self._make("&Quit", w.close, Keys.Quit, "Quit Weft Studio")
        self.undo = w.undo_stack.createUndoAction(w, "&Undo")
        self.undo.setShortcut(Keys.Undo)
        self.redo = w.undo_stack.createRedoAction(w, "&Redo")
        self.redo.setShortcuts(
            [Keys(Keys.Redo), Keys("Ctrl+Y")] if Keys(Keys.Redo) != Keys("Ctrl+Y") else [Keys(Keys.Redo)]
        )
        self.delete = self._make("&Delete", w.delete_selection, Keys.Delete, "Delete the selected nodes and wires")
        self.delete.setShortcutContext(QtCore.Qt.WidgetWithChildrenShortcut)
        w.canvas.viewer.addAction(self.delete)  # Delete in a text field deletes text, not nodes
        self.select_all = self._make("Select &All", lambda: w.canvas.select(w.canvas.nodes), Keys.SelectAll)
        self.select_all.setShortcutContext(QtCore.Qt.WidgetWithChildrenShortcut)
        w.canvas.viewer.addAction(self.select_all)
        self.fit = self._make("&Fit View", w.canvas.fit, "Ctrl+0", "Show the whole graph (also: F on the canvas)")
        QtGui.QShortcut(Keys("F"), w.canvas.viewer, w.canvas.fit, context=QtCore.Qt.WidgetShortcut)
        self.arrange = self._make("&Arrange", w.arrange, "Ctrl+L", "Lay the nodes out in layers (undoable)")
        self.validate = self._make("&Validate", w.validate, "F7", "Check the workflow as the engine would")
        self.run = self._make("&Run", w.runs.start, "F5", "Run the workflow as it is on the canvas")
        self.run.setShortcuts([Keys("F5"), Keys("Ctrl+R")])
        self.stop = self._make("S&top", w.runs.stop, "Shift+F5", "Stop the run (every task is stopped)")
        self.stop.setShortcuts([Keys("Shift+F5"), Keys("Ctrl+.")])
        self.clear_run = self._make("&Clear Run", w.close_run, None, "Remove the run's drawing from the canvas")
        self.history = self._make("Open &Past Run…", w.history.choose, "Ctrl+H", "Open a run from the history")
        self._menus()
        self._toolbar()
        # right-click on the canvas: the same actions (NodeGraphQt shows its menu when it has any)
        w.canvas.viewer.context_menus()["graph"].addActions(
            [self.undo, self.redo, self.delete, self.select_all, self.fit, self.arrange, self.run, self.stop]
        )

    def _make(self, text: str, slot: Callable[[], object], shortcut: object = None, tip: str = "") -> QtGui.QAction:
        action = QtGui.QAction(text, self.window)
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

    def _menus(self) -> None:
        bar = self.window.menuBar()
        file = bar.addMenu("&File")
        file.addActions([self.new, self.open])
        self.recent = file.addMenu("Open &Recent")
        file.addActions([self.save, self.save_as])
        file.addSeparator()
        file.addActions([self.export_dot, self.export_png])
        file.addSeparator()
        file.addAction(self.quit)
        edit = bar.addMenu("&Edit")
        edit.addActions([self.undo, self.redo])
        edit.addSeparator()
        edit.addActions([self.delete, self.select_all])
        view = bar.addMenu("&View")
        view.addActions([self.fit, self.arrange])
        view.addSeparator()
        for dock in self.window.docks.values():
            view.addAction(dock.toggleViewAction())
        workflow = bar.addMenu("&Workflow")
        workflow.addActions([self.validate, self.run, self.stop, self.clear_run])
        history = bar.addMenu("&History")
        history.addAction(self.history)
        self.rebuild_recent()

    def _toolbar(self) -> None:
        tools = self.window.addToolBar("Main")
        tools.setObjectName("toolbar-main")
        tools.setToolButtonStyle(QtCore.Qt.ToolButtonTextOnly)
        tools.addActions([self.new, self.open, self.save])
        tools.addSeparator()
        tools.addActions([self.undo, self.redo, self.delete])
        tools.addSeparator()
        tools.addActions([self.validate, self.run, self.stop])
        tools.addSeparator()
        tools.addActions([self.fit, self.history])

    def rebuild_recent(self) -> None:
        self.recent.clear()
        files = self.window.recent_files()
        for path in files:
            action = self.recent.addAction(Path(path).name)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _c=False, p=path: self.window.open(p))
        self.recent.setEnabled(bool(files))

    def update(self, running: bool, editable: bool, past_run: bool) -> None:
        self.run.setEnabled(not running and not past_run)
        self.stop.setEnabled(running)
        for action in (self.delete, self.arrange):
            action.setEnabled(editable)
        self.undo.setVisible(True)
        if running:
            self.undo.setEnabled(False)
            self.redo.setEnabled(False)
        else:
            self.undo.setEnabled(self.window.undo_stack.canUndo())
            self.redo.setEnabled(self.window.undo_stack.canRedo())
        for action in (self.new, self.open):
            action.setEnabled(not running)


def build_actions(window: MainWindow) -> Actions:
    return Actions(window)
