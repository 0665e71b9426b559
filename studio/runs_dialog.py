"""The runs in the database: find one (by text, by state), open it, resume it, or delete runs.

Deleting goes through the engine's store (``Store.delete_run``), as `weft delete` does: a run
going on, its process alive, is refused with the engine's own one-line reason, shown in the
dialog as soon as such a run is selected.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from engine.errors import InvalidInput
from engine.events import RunState
from engine.history.store import Store, deletion_refused
from studio.canvas.items import STATE_COLORS

INTERRUPTED_COLOR = QtGui.QColor(200, 120, 0)
REFUSED_COLOR = QtGui.QColor(170, 40, 40)
NOTICE_COLOR = QtGui.QColor(90, 90, 90)
INTERRUPTED_TIP = "Its engine process died before the run ended. Resume continues it here: what succeeded is kept."
#: the state filter's entries, in the order people look for them
STATES = (
    RunState.RUNNING,
    RunState.PAUSED,
    RunState.INTERRUPTED,
    RunState.FAILED,
    RunState.BROKEN,
    RunState.CANCELLED,
    RunState.SUCCEEDED,
)
ALL_STATES = "All states"
#: the dot before each state, in the canvas's colours where the canvas has the state
STATE_DOTS = {
    **STATE_COLORS,
    RunState.PAUSED.value: STATE_COLORS["waiting"],
    RunState.INTERRUPTED.value: INTERRUPTED_COLOR.getRgb()[:3],
    RunState.BROKEN.value: (150, 30, 30),
}


def state_icon(state: str) -> QtGui.QIcon:
    """A coloured dot: a run's state at a glance, readable on any background."""
    pixmap = QtGui.QPixmap(12, 12)
    pixmap.fill(QtCore.Qt.transparent)
    painter = QtGui.QPainter(pixmap)
    painter.setRenderHint(QtGui.QPainter.Antialiasing)
    painter.setPen(QtCore.Qt.NoPen)
    painter.setBrush(QtGui.QColor(*STATE_DOTS.get(state, (150, 150, 150))))
    painter.drawEllipse(1, 1, 10, 10)
    painter.end()
    return QtGui.QIcon(pixmap)


def when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else ""


def duration_text(seconds: float) -> str:
    """A run's length as people read it: 0.4 s, 12 s, 3 min 05 s, 2 h 04 min, 3 d 2 h."""
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def run_duration(run: dict[str, Any], now: float) -> str:
    """Finished − started; for a run going on, its length so far; nothing for an interrupted
    run (no end was recorded)."""
    started, finished = run.get("started_at"), run.get("finished_at")
    if not started:
        return ""
    if finished:
        return duration_text(finished - started)
    if is_live(run):
        return f"{duration_text(now - started)} so far"
    return "—"


def is_live(run: dict[str, Any]) -> bool:
    """Going on now (``Store.runs`` already says `interrupted` for a run whose process died)."""
    return run["state"] in {state.value for state in RunState if state.is_live}


class RunsDialog(QtWidgets.QDialog):
    """The runs in the database, newest first; filter them, open or resume one, delete some."""

    COLUMNS = ("Run", "Workflow", "State", "Started", "Duration", "Finished")
    STATE_COLUMN = 2
    DURATION_COLUMN = 4

    def __init__(
        self, store: Store, parent: QtWidgets.QWidget | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Past runs")
        self.resize(1000, 480)
        self.store = store
        self.clock = clock
        self.resume_chosen = False
        self.deleted: list[str] = []
        self.confirmation: QtWidgets.QMessageBox | None = None  # the open "Delete runs?" question
        self.runs = {run["id"]: run for run in store.runs(limit=500)}

        self.filter = QtWidgets.QLineEdit()
        self.filter.setPlaceholderText("Filter by workflow or run id")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.apply_filter)
        QtGui.QShortcut(QtGui.QKeySequence.Find, self, self.filter.setFocus)
        self.state_filter = QtWidgets.QComboBox()
        self.state_filter.currentIndexChanged.connect(self.apply_filter)
        self.shown = QtWidgets.QLabel()
        self.shown.setStyleSheet("color: palette(mid);")
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(self.filter, 1)
        bar.addWidget(QtWidgets.QLabel("State"))
        bar.addWidget(self.state_filter)
        bar.addWidget(self.shown)

        self.table = QtWidgets.QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.ExtendedSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self._fill()
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.Stretch)  # the workflow name takes what is left
        header.setMinimumSectionSize(60)
        roomy = self.table.fontMetrics().horizontalAdvance("59 min 59 s so far") + 16  # grows while open
        self.table.setColumnWidth(self.DURATION_COLUMN, max(self.table.columnWidth(self.DURATION_COLUMN), roomy))
        self.table.doubleClicked.connect(self._open_double_clicked)
        self.table.itemSelectionChanged.connect(self._selected)
        QtGui.QShortcut(QtGui.QKeySequence.Delete, self.table, self.delete_selected, context=QtCore.Qt.WidgetShortcut)

        interrupted = sum(run["state"] == RunState.INTERRUPTED for run in self.runs.values())
        self.note = QtWidgets.QLabel(
            f"{interrupted} interrupted run{'s' if interrupted != 1 else ''}: select one and press Resume to "
            "continue it here."
        )
        self.note.setStyleSheet(f"color: {INTERRUPTED_COLOR.name()};")
        self.note.setVisible(interrupted > 0)
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.message.hide()

        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Open | QtWidgets.QDialogButtonBox.Cancel)
        self.open_button = buttons.button(QtWidgets.QDialogButtonBox.Open)
        self.resume_button = buttons.addButton("Resume", QtWidgets.QDialogButtonBox.ActionRole)
        self.resume_button.setToolTip(INTERRUPTED_TIP)
        self.resume_button.clicked.connect(self._resume)
        self.delete_button = buttons.addButton("Delete…", QtWidgets.QDialogButtonBox.DestructiveRole)
        self.delete_button.setToolTip("Delete the selected runs: events, logs, cached results, workspaces (Del)")
        self.delete_button.clicked.connect(self.delete_selected)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

        self._fill_state_filter()
        self.ticker = QtCore.QTimer(self)  # the "so far" of runs going on
        self.ticker.setInterval(1000)
        self.ticker.timeout.connect(self._tick)
        self._tick()
        self.apply_filter()
        self.table.setFocus()

    # -- rows ------------------------------------------------------------------------------

    def _fill(self) -> None:
        now = self.clock()
        for row, run in enumerate(self.runs.values()):
            self.table.insertRow(row)
            values = (
                run["id"],
                run["workflow"],
                run["state"],
                when(run["started_at"]),
                run_duration(run, now),
                when(run["finished_at"]),
            )
            for col, value in enumerate(values):
                item = QtWidgets.QTableWidgetItem(str(value or ""))
                if col == self.DURATION_COLUMN:
                    item.setTextAlignment(QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter)
                elif col == self.STATE_COLUMN:
                    item.setIcon(state_icon(str(run["state"])))
                self.table.setItem(row, col, item)
            if run["state"] == RunState.INTERRUPTED:
                self._mark_interrupted(row)
            elif deletion_refused(run):
                self.table.item(row, self.STATE_COLUMN).setToolTip(deletion_refused(run))

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

    def _fill_state_filter(self) -> None:
        counts = {state: 0 for state in STATES}
        for run in self.runs.values():
            if run["state"] in counts:
                counts[RunState(run["state"])] += 1
        self.state_filter.blockSignals(True)
        chosen = self.state_filter.currentData()
        self.state_filter.clear()
        self.state_filter.addItem(f"{ALL_STATES} ({len(self.runs)})", None)
        for state, count in counts.items():
            self.state_filter.addItem(f"{state.value} ({count})", state.value)
        index = self.state_filter.findData(chosen)
        self.state_filter.setCurrentIndex(max(0, index))
        self.state_filter.blockSignals(False)

    def row_of(self, run_id: str) -> int:
        return next((r for r in range(self.table.rowCount()) if self.table.item(r, 0).text() == run_id), -1)

    def _run_at(self, row: int) -> dict[str, Any]:
        return self.runs[self.table.item(row, 0).text()]

    def _tick(self) -> None:
        now = self.clock()
        live = False
        for row in range(self.table.rowCount()):
            run = self._run_at(row)
            if is_live(run) and not run["finished_at"]:
                self.table.item(row, self.DURATION_COLUMN).setText(run_duration(run, now))
                live = True
        if live and not self.ticker.isActive():
            self.ticker.start()
        elif not live:
            self.ticker.stop()

    # -- filtering -------------------------------------------------------------------------

    def set_state_filter(self, state: str | None) -> None:
        self.state_filter.setCurrentIndex(max(0, self.state_filter.findData(state)))

    def apply_filter(self, *_args: object) -> None:
        """Show the rows whose workflow or run id holds the text (any case) and whose state is
        the chosen one; selected rows that get hidden are unselected."""
        needle = self.filter.text().strip().casefold()
        state = self.state_filter.currentData()
        shown = 0
        for row in range(self.table.rowCount()):
            run = self._run_at(row)
            visible = (not needle or needle in run["id"].casefold() or needle in str(run["workflow"]).casefold()) and (
                state is None or run["state"] == state
            )
            self.table.setRowHidden(row, not visible)
            shown += visible
            if not visible:
                for col in range(self.table.columnCount()):
                    self.table.item(row, col).setSelected(False)
        total = self.table.rowCount()
        self.shown.setText(f"{shown} of {total} run{'s' if total != 1 else ''}")
        if not self.selected_ids() and shown:
            self.table.selectRow(self.visible_rows()[0])
        self._selected()

    def visible_rows(self) -> list[int]:
        return [r for r in range(self.table.rowCount()) if not self.table.isRowHidden(r)]

    # -- selection -------------------------------------------------------------------------

    def selected_ids(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.table.item(r, 0).text() for r in rows if not self.table.isRowHidden(r)]

    def interrupted(self, row: int) -> bool:
        item = self.table.item(row, self.STATE_COLUMN)
        return item is not None and item.text().startswith(RunState.INTERRUPTED.value)

    def _selected(self) -> None:
        ids = self.selected_ids()
        one = len(ids) == 1
        self.open_button.setEnabled(one)
        self.resume_button.setEnabled(one and self.interrupted(self.row_of(ids[0])))
        refused = [reason for reason in (deletion_refused(self.runs[i]) for i in ids) if reason]
        self.delete_button.setEnabled(bool(ids) and not refused)
        if refused:
            more = f" ({len(refused) - 1} more selected runs are going on)" if len(refused) > 1 else ""
            self.say(f"Cannot delete: {refused[0]}{more}", NOTICE_COLOR)
        elif self.message.property("why_not"):
            self.message.hide()

    def say(self, text: str, color: QtGui.QColor | None = REFUSED_COLOR) -> None:
        """A line under the table: why Delete is off (grey), why a delete was refused (red), or
        what was done (no colour)."""
        self.message.setText(text)
        self.message.setProperty("why_not", color is not None)
        self.message.setStyleSheet(f"color: {color.name()};" if color is not None else "")
        self.message.show()

    def _open_double_clicked(self, _index: QtCore.QModelIndex) -> None:
        if len(self.selected_ids()) == 1:
            self.accept()

    def _resume(self) -> None:
        self.resume_chosen = True
        self.accept()

    def run_id(self) -> str | None:
        ids = self.selected_ids()
        return ids[0] if len(ids) == 1 else None

    # -- deleting --------------------------------------------------------------------------

    def delete_selected(self) -> list[str]:
        """Delete the selected runs after asking; the ids deleted. A run going on (checked
        again now: it may have ended, or died, since the list was read) refuses them all."""
        ids = self.selected_ids()
        if not ids:
            return []
        refused: list[str] = []
        for run_id in ids:
            try:
                self.runs[run_id] = {**self.runs[run_id], **self.store.run(run_id)}
            except InvalidInput:  # deleted meanwhile by someone else
                continue
            reason = deletion_refused(self.runs[run_id])
            if reason:
                refused.append(reason)
        if refused:
            more = f" ({len(refused) - 1} more selected runs are going on)" if len(refused) > 1 else ""
            self.say(refused[0] + more + ("; nothing was deleted" if len(ids) > 1 else ""))
            self.delete_button.setEnabled(False)
            return []
        if not self.confirm(ids):
            return []
        deleted: list[str] = []
        problems: list[str] = []
        for run_id in ids:
            try:
                outcome = self.store.delete_run(run_id)
            except InvalidInput as exc:
                problems.append(str(exc))
                continue
            deleted.append(run_id)
            if outcome.workspace_error:
                problems.append(f"run {run_id} deleted, but {outcome.workspace_error}")
        for run_id in deleted:
            self.table.removeRow(self.row_of(run_id))
            del self.runs[run_id]
        self.deleted.extend(deleted)
        self._fill_state_filter()
        self.apply_filter()
        if problems:
            self.say("; ".join(problems))
        else:
            self.say(f"Deleted {len(deleted)} run{'s' if len(deleted) != 1 else ''}.", None)
        return deleted

    def confirm(self, ids: list[str]) -> bool:
        """Ask before deleting: nothing of a deleted run can be brought back."""
        what = f"run {ids[0]}" if len(ids) == 1 else f"{len(ids)} runs"
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Warning, "Delete runs", f"Delete {what}?", parent=self)
        box.setInformativeText(
            "Their events, logs, outputs, cached results and workspace folders are removed for good. "
            "This cannot be undone."
        )
        if len(ids) > 1:
            box.setDetailedText("\n".join(ids))
        delete = box.addButton("Delete", QtWidgets.QMessageBox.DestructiveRole)
        box.setDefaultButton(box.addButton(QtWidgets.QMessageBox.Cancel))
        self.confirmation = box
        try:
            box.exec()
        finally:
            self.confirmation = None
        return box.clickedButton() is delete
