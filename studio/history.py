"""Past runs: pick one from the database, see its final graph, logs and outputs, and replay it.

A past run is its events. Opening one loads the workflow text the run kept, draws the final
graph with every node's state, and shows a slider over the event numbers (``studio.replay``):
moving it, or playing it, folds the events up to that number again (and asks the engine for
the ghosts of that moment). The list of runs (``studio.runs_dialog``) also deletes runs.

A run whose engine process died is `interrupted`: the list marks it and offers Resume, which
continues it in the studio (the window's ``resume``), where it streams as a live run does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtWidgets

from engine import collector
from engine.errors import InvalidInput
from engine.events import LogLine, RunState
from engine.history.codec import KINDS
from engine.history.fold import CHATTER
from engine.history.store import Store
from studio.model.runmodel import LOG_LINES, RunModel
from studio.replay import ReplayBar, clock_text
from studio.runs_dialog import INTERRUPTED_TIP, RunsDialog

if TYPE_CHECKING:
    from studio.canvas.runlayer import RunLayer
    from studio.runpanel import RunPanel
    from studio.runview import Banner


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
        self.leave = leave
        self.store: Store | None = None
        self.dialog: RunsDialog | None = None
        self.run_id: str | None = None
        self.at: int | None = None
        self.last = 0
        replay.seek.connect(self.seek)
        replay.resume_button.setToolTip(INTERRUPTED_TIP)
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
            if self.run_id is not None and self.run_id in dialog.deleted:
                self.leave()  # the run shown is gone
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
        self.replay.set_range(self.last, store.event_times(run_id))
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
            f"event {upto} of {self.last} at {clock_text(self.replay.run_time(upto))} ({', '.join(sorted(kinds))})"
            f" — {model.state or 'starting'}"
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
