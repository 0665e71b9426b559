"""The run panel: the run's state, and the selected node's progress, outputs and live log;
beside them, a waiting node's question with its answer form.

The log view shows the ring buffer behind it (the last ``LOG_LINES`` lines) through a list
model, refreshed at most once per batch: the view draws only the rows on screen, so a task
writing as fast as it can costs the GUI the same as a quiet one. For a past run, lines are
read from the store on demand.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from engine.events import NodeState
from studio.model.runmodel import LOG_LINES, Changes, RunModel
from studio.question import QuestionForm

LogSource = Callable[[str | None], list[str]]


class LogView(QtWidgets.QListView):
    """A bounded, fast log view (the last ``LOG_LINES`` lines), following the end while at the end."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        # a C++ model: drawing rows calls no Python, which matters while a run's events pour in
        self.model_ = QtCore.QStringListModel()
        self.lines: list[str] = []
        self.setModel(self.model_)
        self.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QtWidgets.QAbstractItemView.ExtendedSelection)
        self.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.FixedFont))
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAsNeeded)
        copy = QtGui.QAction("Copy", self)
        copy.setShortcut(QtGui.QKeySequence.Copy)
        copy.setShortcutContext(QtCore.Qt.WidgetShortcut)
        copy.triggered.connect(self.copy_selection)
        self.addAction(copy)
        self.setContextMenuPolicy(QtCore.Qt.ActionsContextMenu)

    def set_lines(self, lines: list[str]) -> None:
        bar = self.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        self.lines = lines[-LOG_LINES:]
        self.model_.setStringList(self.lines)
        if at_end:
            self.scrollToBottom()

    def copy_selection(self) -> None:
        rows = sorted(i.row() for i in self.selectedIndexes())
        QtWidgets.QApplication.clipboard().setText("\n".join(self.lines[r] for r in rows))

    def toPlainText(self) -> str:
        return "\n".join(self.lines)

    def line_count(self) -> int:
        return len(self.lines)


class RunPanel(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: RunModel | None = None
        self.node: str | None = None
        self.log_source: LogSource | None = None  # a past run: lines come from the store
        self.summary = QtWidgets.QLabel("No run yet. Run the workflow (F5), or open a past run (Ctrl+H).")
        self.summary.setWordWrap(True)
        self.node_label = QtWidgets.QLabel()
        self.node_label.setWordWrap(True)
        self.node_label.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.log = LogView()
        self.outputs = QtWidgets.QPlainTextEdit()
        self.outputs.setReadOnly(True)
        self.outputs.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.FixedFont))
        tabs = QtWidgets.QTabWidget()
        tabs.addTab(self.log, "Log")
        tabs.addTab(self.outputs, "Outputs")
        #: a loop node's iterations (``refine``, ``refine@2``, ...): each one's state and outputs
        self.iterations = QtWidgets.QPlainTextEdit()
        self.iterations.setReadOnly(True)
        self.iterations.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.FixedFont))
        tabs.addTab(self.iterations, "Iterations")
        self.tabs = tabs
        self.question = QuestionForm()
        self.question.setMinimumWidth(320)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.node_label, 1)
        row.addWidget(self.progress)
        layout.addLayout(row)
        body = QtWidgets.QHBoxLayout()
        body.addWidget(tabs, 3)
        body.addWidget(self.question, 2)
        layout.addLayout(body, 1)

    def set_model(self, model: RunModel | None, log_source: LogSource | None = None) -> None:
        self.model = model
        self.log_source = log_source
        self.refresh()

    def show_node(self, node: str | None) -> None:
        self.node = node
        self.question.clear()  # chosen again, a question starts afresh (an answer the run refused too)
        self.refresh()

    def refresh(self) -> None:
        model = self.model
        self.summary.setText(model.summary() if model else "No run shown.")
        self._show_node_state()
        self._show_question()
        self.log.set_lines(self._lines())
        self.log.scrollToBottom()
        self._show_outputs()

    def _show_question(self) -> None:
        model = self.model
        run = model.nodes.get(self.node) if model and self.node else None
        if run is not None and run.state is NodeState.WAITING and run.question:
            self.question.show_question(run.id, run.question)
        else:
            self.question.clear()

    def _lines(self) -> list[str]:
        if self.log_source is not None:
            return self.log_source(self.node)
        model = self.model
        if model is None:
            return []
        run = model.nodes.get(self.node) if self.node else None
        if run is not None:
            return model.log_of(run.id)
        return list(model.engine_log)

    def _show_node_state(self) -> None:
        model = self.model
        run = model.nodes.get(self.node) if model and self.node else None
        if run is None:
            self.node_label.setText("Run log" if model else "")
            self.progress.setVisible(False)
            return
        text = f"<b>{run.id}</b>: {run.state}"
        if run.attempt > 1:
            text += f" (attempt {run.attempt})"
        if run.created_by:
            text += f" — created by {run.created_by}"
        if run.reason:
            text += f"<br/>{run.reason}"
        count = model.log_counts.get(run.id, 0) if model else 0
        if count > LOG_LINES and self.log_source is None:
            text += f"<br/><i>showing the last {LOG_LINES} of {count} lines (all are in the run's history)</i>"
        self.node_label.setText(text)
        self.progress.setVisible(run.progress is not None or run.state is NodeState.RUNNING)
        if run.progress is None:
            self.progress.setRange(0, 0 if run.state is NodeState.RUNNING else 1000)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(run.progress * 1000))
        self.progress.setFormat(run.progress_text or "%p%")

    def _show_iterations(self) -> None:
        """Every iteration of the selected node, if it is in a loop that went round."""
        model, node = self.model, self.node
        if model is None or node is None:
            self.iterations.setPlainText("")
            return
        base = node.rpartition("@")[0] if node.rpartition("@")[2].isdigit() else node
        prefix = base + "@"
        found = sorted(
            ((int(n[len(prefix) :]), n) for n in model.nodes if n.startswith(prefix) and n[len(prefix) :].isdigit()),
        )
        if not found:
            self.iterations.setPlainText("(not in a loop that went round)")
            return
        rows = [(1, base)] + found if base in model.nodes else found
        lines = [f"{len(rows)} iterations"]
        for number, run_id in rows:
            run = model.nodes[run_id]
            outputs = json.dumps(run.outputs, ensure_ascii=False, default=str) if run.outputs else ""
            lines.append(f"#{number}  {run_id}  {run.state or 'pending'}  {outputs}".rstrip())
        self.iterations.setPlainText("\n".join(lines))

    def _show_outputs(self) -> None:
        self._show_iterations()
        model = self.model
        run = model.nodes.get(self.node) if model and self.node else None
        if run is None or not run.outputs:
            self.outputs.setPlainText("(no outputs)" if run is not None else "")
            return
        self.outputs.setPlainText(json.dumps(run.outputs, indent=2, ensure_ascii=False, default=str))

    def update_from(self, changes: Changes) -> None:
        """Show what one batch changed (only where something happened)."""
        model = self.model
        if model is None:
            return
        if changes.run_state or changes.states or changes.new_nodes:
            self.summary.setText(model.summary())
        node = self.node
        if node is not None and (node in changes.states or node in changes.progress):
            self._show_node_state()
            self._show_question()
        if node is not None and (node in changes.outputs or changes.new_nodes or changes.states):
            self._show_outputs()
        new = changes.logs.get(node, 0) if node in model.nodes else sum(changes.logs.values())
        if new and self.log_source is None:
            self.log.set_lines(self._lines())
