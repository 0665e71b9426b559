"""Past runs: pick one from the database, see its final graph, logs and outputs, and replay it.

A past run is its events. Opening one loads the workflow text the run kept, draws the final
graph with every node's state, and shows a slider over the event numbers: moving it folds
the events up to that number again (and asks the engine for the ghosts of that moment).

A run whose engine process died is `interrupted`: the list marks it and offers Resume, which
continues it in the studio (the window's ``resume``), where it streams as a live run does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from engine import collector
from engine.errors import InvalidInput
from engine.events import LogLine, RunState
from engine.history.codec import KINDS
from engine.history.fold import CHATTER
from engine.history.store import Store
from studio.model.runmodel import LOG_LINES, RunModel

if TYPE_CHECKING:
    from studio.canvas.runlayer import RunLayer
    from studio.runpanel import RunPanel
    from studio.runview import Banner


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else ""


INTERRUPTED_COLOR = QtGui.QColor(200, 120, 0)
INTERRUPTED_TIP = "Its engine process died before the run ended. Resume continues it here: what succeeded is kept."


class RunsDialog(QtWidgets.QDialog):
    """The runs in the database, newest first; interrupted ones marked, with Resume."""

    STATE_COLUMN = 2

    def __init__(self, store: Store, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open a past run")
        self.resize(820, 440)
        self.resume_chosen = False
        self.table = QtWidgets.QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Run", "Workflow", "State", "Started", "Finished"])
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        interrupted = 0
        for row, run in enumerate(store.runs(limit=500)):
            self.table.insertRow(row)
            for col, value in enumerate(
                (run["id"], run["workflow"], run["state"], _when(run["started_at"]), _when(run["finished_at"]))
            ):
                self.table.setItem(row, col, QtWidgets.QTableWidgetItem(str(value or "")))
            if run["state"] == RunState.INTERRUPTED.value:
                interrupted += 1
                self._mark_interrupted(row)
        self.table.resizeColumnsToContents()
        self.table.doubleClicked.connect(self.accept)
        self.table.itemSelectionChanged.connect(self._selected)
        self.note = QtWidgets.QLabel(
            f"{interrupted} interrupted run{'s' if interrupted != 1 else ''}: select one and press Resume to "
            "continue it here."
        )
        self.note.setStyleSheet(f"color: {INTERRUPTED_COLOR.name()};")
        self.note.setVisible(interrupted > 0)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Open | QtWidgets.QDialogButtonBox.Cancel)
        self.resume_button = buttons.addButton("Resume", QtWidgets.QDialogButtonBox.ActionRole)
        self.resume_button.setToolTip(INTERRUPTED_TIP)
        self.resume_button.clicked.connect(self._resume)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        if self.table.rowCount():
            self.table.selectRow(0)
        self._selected()

    def _mark_interrupted(self, row: int) -> None:
        """Amber, bold, with what it means: a run that stopped without an end and can go on."""
        font = QtGui.QFont()
        font.setBold(True)
        for col in range(self.table.columnCount()):
            item = self.table.item(row, col)
            item.setToolTip(INTERRUPTED_TIP)
            if col == self.STATE_COLUMN:
                item.setText("interrupted — can be resumed")
                item.setForeground(INTERRUPTED_COLOR)
                item.setFont(font)

    def interrupted(self, row: int) -> bool:
        item = self.table.item(row, self.STATE_COLUMN)
        return item is not None and item.text().startswith(RunState.INTERRUPTED.value)

    def _selected(self) -> None:
        row = self.table.currentRow()
        self.resume_button.setEnabled(row >= 0 and self.interrupted(row))

    def _resume(self) -> None:
        self.resume_chosen = True
        self.accept()

    def run_id(self) -> str | None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        return item.text() if item else None


class ReplayBar(QtWidgets.QWidget):
    """A slider over a past run's events."""

    seek = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.slider.setMinimum(1)
        self.label = QtWidgets.QLabel()
        self.close_button = QtWidgets.QToolButton(text="Close run")
        self.resume_button = QtWidgets.QToolButton(text="Resume")
        self.resume_button.setToolTip(INTERRUPTED_TIP)
        self.resume_button.hide()
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(QtWidgets.QLabel("Replay"))
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        layout.addWidget(self.resume_button)
        layout.addWidget(self.close_button)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(60)  # moving the slider quickly redraws once it rests
        self._timer.timeout.connect(lambda: self.seek.emit(self.slider.value()))
        self.slider.valueChanged.connect(lambda _v: self._timer.start())

    def set_range(self, last: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setMaximum(max(1, last))
        self.slider.setValue(max(1, last))
        self.slider.blockSignals(False)


class History:
    """Shows past runs (read-only), with the replay slider.

    ``may_leave()`` says whether the open workflow may be left for a past run (no run going on,
    changes saved or dropped); ``show_workflow(run_id, text, path)`` opens the run's workflow
    read-only; ``leave()`` goes back from the past run; ``resume(run_id)`` continues an
    interrupted run in the studio. The run is drawn on ``run_layer``, its logs in ``run_panel``
    and a broken promise on ``banner``.
    """

    def __init__(
        self,
        home: Path,
        parent: QtWidgets.QWidget,
        replay: ReplayBar,
        run_layer: RunLayer,
        run_panel: RunPanel,
        banner: Banner,
        may_leave: Callable[[], bool],
        show_workflow: Callable[[str, str, str | None], None],
        leave: Callable[[], None],
        resume: Callable[[str], object],
    ) -> None:
        self.home = Path(home)
        self.parent = parent
        self.replay = replay
        self.run_layer = run_layer
        self.run_panel = run_panel
        self.banner = banner
        self.may_leave = may_leave
        self.show_workflow = show_workflow
        self.resume = resume
        self.store: Store | None = None
        self.dialog: RunsDialog | None = None
        self.run_id: str | None = None
        self.at: int | None = None
        self.last = 0
        replay.seek.connect(self.seek)
        replay.close_button.clicked.connect(lambda _checked=False: leave())
        replay.resume_button.clicked.connect(lambda _checked=False: self.run_id and self.resume(self.run_id))

    def _store(self) -> Store:
        if self.store is None:
            self.store = Store(self.home)
        return self.store

    def choose(self) -> None:
        if not self.may_leave():
            return
        try:
            dialog = RunsDialog(self._store(), self.parent)
            self.dialog = dialog  # tests reach the open dialog here
            try:
                chosen = dialog.run_id() if dialog.exec() == QtWidgets.QDialog.Accepted else None
            finally:
                self.dialog = None
            if chosen:
                self.open(chosen)
                if dialog.resume_chosen:
                    self.resume(chosen)
        except InvalidInput as exc:  # no database there, an unreadable one, a run gone since
            QtWidgets.QMessageBox.warning(self.parent, "Past runs", str(exc))

    def open(self, ref: str) -> None:
        """Show run ``ref`` (an id, a unique prefix, or 'last'); raises InvalidInput if unknown."""
        store = self._store()
        run_id = store.resolve_run(ref)
        row = store.run(run_id)
        self.run_id = run_id
        self.last = int(row.get("last_seq") or 0)
        self.show_workflow(run_id, row.get("text") or "", row.get("path"))
        self.replay.set_range(self.last)
        self.replay.resume_button.setVisible(row.get("state") == RunState.INTERRUPTED.value)
        self.replay.show()
        self.seek(self.last)

    def close(self) -> None:
        self.run_id = None
        self.replay.hide()

    def model_at(self, upto: int) -> RunModel:
        """The run folded up to event ``upto`` (structure and states; logs are read on demand)."""
        assert self.run_id is not None
        store = self._store()
        model = RunModel(self.run_id)
        with collector.paused():
            model.apply(store.events(self.run_id, upto=upto, skip=CHATTER))
        model.ghosts = model.run.ghosts()
        return model

    def seek(self, upto: int) -> None:
        if self.run_id is None:
            return
        self.at = upto
        model = self.model_at(upto)
        self.run_layer.show(model)
        self.run_layer.flush()
        self.run_panel.set_model(model, log_source=self.log_lines)
        kinds = {KINDS[type(rec.event)] for rec in self._store().events(self.run_id, after=upto - 1, upto=upto)}
        self.replay.label.setText(
            f"event {upto} of {self.last} ({', '.join(sorted(kinds))}) — {model.state or 'starting'}"
        )
        self.banner.show_broken(model.broken)

    def log_lines(self, node: str | None) -> list[str]:
        if self.run_id is None:
            return []
        lines = []
        for rec in self._store().events(self.run_id, (LogLine,), upto=self.at, node=node):
            line = rec.event
            assert isinstance(line, LogLine)
            if node is None and line.node:
                lines.append(f"{line.node}: {line.message}")
            elif node is None or line.node == node:
                lines.append(line.message)
        return lines[-LOG_LINES:]

    def close_store(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None
