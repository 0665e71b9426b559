"""A live run in the window: start, stop, and every batch from the bridge onto the views.

Batches come from the one ``EventBridge``; each is folded into the ``RunModel`` once, and
the canvas, the run panel and the banner show what changed. None of it is an edit: the undo
stack never sees a run.

Working with a run (SPEC §9) goes through the run database, as the command line does: pause,
resume, an answer and the restart of a paused run are controls the live run takes; a run that
ended or was interrupted is continued here, in a host of its own (``Run.resuming``, as
`weft restart` and `weft resume` do), and streams onto the views as a fresh run does. Each is
checked first by ``engine.running.control``, so the studio refuses what the command line
refuses, with the same one line.
"""

from __future__ import annotations

import gc
import html
import json
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtWidgets

from engine import collector
from engine.errors import InvalidInput, WorkflowInvalid
from engine.events import PromiseBroken, RunState
from engine.history.fold import CHATTER
from engine.history.recorded import load_recorded
from engine.history.store import Store
from engine.languages.porttypes import TypeRegistry
from engine.promises.keeper import breached_by
from engine.running.control import check_answer_of, check_restart, value_from_text
from studio.bridge import EventBridge
from studio.model.document import Document
from studio.model.runmodel import LOG_LINES, RunModel
from studio.question import field_kind
from studio.runner import RunController

if TYPE_CHECKING:
    from studio.canvas.runlayer import RunLayer
    from studio.runpanel import RunPanel


class Banner(QtWidgets.QFrame):
    """A strip over the canvas for what must not be missed: a broken promise."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet("QFrame { background: #7a1f1f; } QLabel { color: white; }")
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        self.hide()

    def show_broken(self, broken: PromiseBroken | None) -> None:
        if broken is None:
            self.hide()
            return
        mutation = broken.mutation
        refused = [str(n.get("id")) for n in mutation.get("nodes", []) if isinstance(n, dict)]
        edges = [f"{e.get('from')} -> {e.get('to')}" for e in mutation.get("edges", []) if isinstance(e, dict)]
        what = ", ".join(refused + edges)
        who = breached_by(broken.task, broken.before)
        self.label.setText(
            f"<b>Promise broken: {html.escape(broken.promise)}</b><br/>"
            f"{html.escape(who)}: {html.escape(broken.reason)}"
            + (f"<br/>refused mutation (not applied, drawn in red): {what}" if what else "")
        )
        self.show()


def _read_entry(text: str, type_text: str, registry: TypeRegistry, name: str) -> Any:
    """A field's text as its type wants it (as `weft answer --set` reads it), except that a
    JSON box holds JSON: text that is not JSON is refused rather than taken as a string."""
    try:
        if field_kind(type_text)[0] == "json":
            try:
                return json.loads(text)
            except ValueError as exc:
                raise ValueError(f"not JSON ({exc})") from None
        return value_from_text(text, type_text, registry)
    except ValueError as exc:
        raise InvalidInput(f"field '{name}' ({type_text}): {exc}") from None


def settle_heap() -> None:
    """Keep every object that exists now out of future garbage collections (``gc.freeze``).

    A run's events arrive by the thousand; every so many new objects Python runs a full garbage
    collection, which walks every object of the window (NodeGraphQt's items, the document, the
    engine's modules) and stalled the window for 150-250 ms at a time. Frozen objects are not
    walked. Called when a run starts (no collection first: that would be the very pause this
    avoids); a new document unfreezes, so what the old one left behind is collected again.
    """
    gc.freeze()


class RunView(QtCore.QObject):
    """Runs ``document()`` (the workflow open now) and shows each batch on ``run_layer``,
    ``run_panel`` and ``banner``; the window hears the rest through the signals."""

    finished = QtCore.Signal(str)  # the run's final state
    running_changed = QtCore.Signal(bool)  # a run started (True) or ended (False)
    message = QtCore.Signal(str, int)  # for the status bar: text, milliseconds (0: until replaced)
    problems_found = QtCore.Signal(object, str, str)  # the workflow cannot run: problems, its text, a title
    paused_changed = QtCore.Signal(bool)  # the run was paused (True) or goes on again (False)
    asked = QtCore.Signal(str)  # a node of the live run waits for a person's answer

    def __init__(
        self,
        home: Path,
        document: Callable[[], Document],
        run_layer: RunLayer,
        run_panel: RunPanel,
        banner: Banner,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.home = home
        self.document = document
        self.run_layer = run_layer
        self.run_panel = run_panel
        self.banner = banner
        self.bridge = EventBridge(self)
        self.bridge.batch.connect(self.on_batch)
        self.controller = RunController(home, self.bridge, self)
        self.model: RunModel | None = None
        #: called after every batch with (changes, model): tests and benchmarks watch runs here
        self.batch_hooks: list[Any] = []
        self._registries: dict[str, TypeRegistry] = {}  # each run's types, for reading answers

    @property
    def running(self) -> bool:
        return self.controller.running or (self.model is not None and self.model.ended is None)

    def start(self) -> str | None:
        """Run the workflow as it is on the canvas; returns the run id, or None (problems shown)."""
        doc = self.document()
        if self.running:
            self.message.emit("A run is going on; stop it first.", 5000)
            return None
        text = doc.text()
        settle_heap()
        try:
            run_id = self.controller.start(text, doc.path)
        except WorkflowInvalid as exc:
            self.problems_found.emit(exc.problems, text, "The workflow cannot run:")
            return None
        except InvalidInput as exc:
            self.problems_found.emit([], text, f"The workflow cannot run: {exc}")
            return None
        self.model = RunModel(run_id)
        self.run_layer.attach(self.model)
        self.run_panel.set_model(self.model)
        self.banner.hide()
        self.running_changed.emit(True)
        self.message.emit(f"Running {run_id}…", 0)
        return run_id

    def stop(self) -> None:
        if self.controller.running:
            self.controller.stop()
            self.message.emit("Stopping…", 0)

    def toggle_pause(self) -> None:
        """Pause the run, or resume it if it is paused: asked through the run database, as
        `weft pause` does, so the run takes it within a second and records it."""
        model = self.model
        if model is None or model.run_id is None or not self.controller.running:
            return
        kind = "resume" if model.state is RunState.PAUSED else "pause"
        try:
            store = Store(self.home)
            try:
                store.add_control(model.run_id, kind)
            finally:
                store.close()
        except InvalidInput as exc:
            self.message.emit(f"Cannot {kind} the run: {exc}", 8000)
            return
        self.message.emit("Pausing…" if kind == "pause" else "Resuming…", 0)

    # -- restart, resume, answer ------------------------------------------------------------

    def restart(self, run_id: str, nodes: Sequence[str]) -> bool:
        """Re-run ``nodes`` of run ``run_id`` and everything downstream: a paused live run is
        asked to (it stops the affected tasks and restarts them); an ended or interrupted one
        is restarted and continued here. False, with the one-line reason, when refused."""
        named = list(dict.fromkeys(nodes))
        try:
            with closing(Store(self.home)) as store:
                state = check_restart(store, run_id, named)
                if state is RunState.PAUSED:
                    store.add_control(run_id, "restart", {"nodes": named})
        except InvalidInput as exc:
            self.message.emit(str(exc), 10000)
            return False
        if state is RunState.PAUSED:
            hosted = self.controller.running and self.controller.run_id == run_id
            self.message.emit(
                f"Restarting {', '.join(named)}…"
                if hosted
                else f"Asked run {run_id} to restart {', '.join(named)} (it runs in another process)",
                0,
            )
            return True
        return self.continue_run(run_id, named)

    def continue_run(self, run_id: str, restart: Sequence[str] = ()) -> bool:
        """Continue run ``run_id`` here: an interrupted one where its process stopped, an ended
        or interrupted one after restarting ``restart``. The run's events so far are shown at
        once; what it does next streams in as a fresh run's events do."""
        if self.running:
            self.message.emit("A run is going on; stop it first.", 5000)
            return False
        named = list(restart)
        try:
            with closing(Store(self.home)) as store:
                row = store.run(run_id)
                state = RunState(row["state"])
                if named:
                    check_restart(store, run_id, named)
                elif state is not RunState.INTERRUPTED:
                    raise InvalidInput(f"cannot resume run {run_id}: it is {state.value}")
                model = self._model_of(store, run_id)
            folder = Path(row["path"]).parent if row.get("path") else None
            settle_heap()
            self.controller.resume(run_id, named, folder)
        except InvalidInput as exc:
            self.message.emit(str(exc), 10000)
            return False
        model.ended = None  # it goes on
        if model is not self.model or self.run_layer.model is not model:
            self.model = model
            self.run_layer.attach(model)
            self.run_layer.show(model)
            self.run_panel.set_model(model)
        self.banner.show_broken(model.broken)
        self.running_changed.emit(True)
        what = f"Restarting {', '.join(named)} of run {run_id}…" if named else f"Resuming run {run_id}…"
        self.message.emit(what, 0)
        return True

    def _model_of(self, store: Store, run_id: str) -> RunModel:
        """The run as its events left it: the live view's own model when it shows that run up
        to its end already (its logs are kept), else folded from the store."""
        model = self.model
        if (
            model is not None
            and model.run_id == run_id
            and model.ended is not None
            and self.run_layer.model is model
            and model.last_seq >= store.last_seq(run_id)
        ):
            return model
        model = RunModel(run_id)
        with collector.paused():
            model.apply(store.events(run_id, skip=CHATTER))
            model.take_recent_lines(*store.recent_lines(run_id, LOG_LINES))  # what it logged so far
        return model

    def answer(self, run_id: str, node: str, fields: dict[str, str], entries: dict[str, Any]) -> tuple[bool, str]:
        """Answer waiting ``node``: ``entries`` (a bool, or the text typed, per field) read as
        the question's ``fields`` want, checked, and given to the run through the store (a live
        run takes it at once; an interrupted one when it is resumed). (sent, what to say)."""
        try:
            with closing(Store(self.home)) as store:
                registry = self._registry(store, run_id)
                values: dict[str, Any] = {}
                for name, entry in entries.items():
                    if isinstance(entry, str) and name in fields:
                        values[name] = _read_entry(entry, fields[name], registry, name)
                    else:
                        values[name] = entry
                state, checked = check_answer_of(store, run_id, node, [], json.dumps(values))
                store.add_control(run_id, "answer", {"node": node, "values": checked})
        except InvalidInput as exc:
            return False, str(exc)
        if state is RunState.INTERRUPTED:
            return True, f"Answer recorded: resume run {run_id} to go on with it."
        self.message.emit(f"Answered {node}", 5000)
        return True, "Answer sent; the run takes it in a moment…"

    def _registry(self, store: Store, run_id: str) -> TypeRegistry:
        registry = self._registries.get(run_id)
        if registry is None:
            # the text, libraries and included files the run started with, not those on disk now
            registry = load_recorded(store.run(run_id), run_id).registry
            self._registries[run_id] = registry
        return registry

    def on_batch(self, items: list[Any]) -> None:
        model = self.model
        if model is None:
            return
        changes = model.apply(items)
        self.run_layer.apply(changes)
        self.run_panel.update_from(changes)
        if changes.broken:
            self.banner.show_broken(model.broken)
        for node in changes.asked:
            question = model.nodes[node].question if node in model.nodes else None
            if question:
                self.message.emit(f"{node} asks: {question.get('prompt')} (answer in the Run panel)", 0)
                self.asked.emit(node)
        for hook in self.batch_hooks:
            hook(changes, model)
        if changes.run_state and changes.ended is None and model.state in (RunState.PAUSED, RunState.RUNNING):
            self.paused_changed.emit(model.state is RunState.PAUSED)
            self.message.emit(f"Run {model.run_id} {model.state}", 0)
        if changes.ended is not None:
            self.bridge.stop()
            self.running_changed.emit(False)
            state = model.state or changes.ended.state
            message = f"Run {model.run_id} {state}"
            if changes.ended.error:
                message += f": {changes.ended.error.splitlines()[0]}"
                model.engine_log.append(changes.ended.error)
                self.run_panel.refresh()
            self.message.emit(message, 0)
            self.finished.emit(state)

    def wait(self, timeout: float = 60.0) -> bool:
        """Wait (processing events) until the run has ended and its last batch is shown."""
        if self.model is not None and self.model.ended is None:
            loop = QtCore.QEventLoop()
            self.finished.connect(loop.quit)
            QtCore.QTimer.singleShot(int(timeout * 1000), loop.quit)
            if self.model.ended is None:
                loop.exec()  # the event loop runs (batches arrive) without spinning for the GIL
            self.finished.disconnect(loop.quit)
        self.run_layer.flush()
        return self.model is None or self.model.ended is not None
