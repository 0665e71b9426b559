"""The replay bar under the canvas: a slider over a past run's events, and playback.

Playing moves the slider through the events as they happened, at the speed chosen (0.5× to
10×), by the events' own timestamps; an idle stretch of the run (a task sleeping for an hour,
a node waiting for a person) counts at most ``MAX_GAP`` seconds, so playback never stalls. It
runs on a clock, not per event: after a slow redraw it jumps to where the clock is, so a run
of thousands of events plays in the time it took, not in the time its redraws take. Space
plays and pauses while the bar has the focus.
"""

from __future__ import annotations

import bisect
import itertools

from PySide6 import QtCore, QtGui, QtWidgets

#: playback speeds offered, as multiples of the run's own pace
SPEEDS = (0.5, 1.0, 2.0, 4.0, 10.0)
DEFAULT_SPEED = 1.0
#: seconds of run time one idle gap between two events takes at most, played back
MAX_GAP = 1.0
#: milliseconds between two steps at least: the slider moves at most this often
FRAME_MS = 40


def play_times(timestamps: list[float], max_gap: float = MAX_GAP) -> list[float]:
    """When each event comes in playback, in seconds from the first at 1×: the run's own
    times, each gap between two events cut to ``max_gap``."""
    gaps = (min(max(b - a, 0.0), max_gap) for a, b in itertools.pairwise(timestamps))
    return [0.0, *itertools.accumulate(gaps)] if timestamps else []


def clock_text(seconds: float) -> str:
    """A moment of a run as a stopwatch shows it: 00:03.2, 12:05.0, 1:02:13."""
    seconds = max(0.0, seconds)
    if seconds >= 3600:
        whole = int(seconds)
        return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    return f"{int(seconds // 60):02d}:{seconds % 60:04.1f}"


def speed_text(speed: float) -> str:
    return f"{speed:g}×"


class ReplayBar(QtWidgets.QWidget):
    """A slider over a past run's events, with play/pause and speed.

    ``seek(n)`` asks for the run as of event ``n``: once the slider rests when a person moves
    it, at each step when playing."""

    seek = QtCore.Signal(int)
    playing_changed = QtCore.Signal(bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(QtCore.Qt.ClickFocus)
        self.timestamps: list[float] = []  # when each event happened (index 0: event 1)
        self.times: list[float] = []  # when each event comes in playback at 1× (gaps capped)
        style = self.style()
        self._icons = {
            False: style.standardIcon(QtWidgets.QStyle.SP_MediaPlay),
            True: style.standardIcon(QtWidgets.QStyle.SP_MediaPause),
        }
        self.play_action = QtGui.QAction(self._icons[False], "Play", self)
        self.play_action.setShortcut(QtGui.QKeySequence(QtCore.Qt.Key_Space))
        self.play_action.setShortcutContext(QtCore.Qt.WidgetWithChildrenShortcut)
        self.play_action.triggered.connect(lambda _checked=False: self.toggle_play())
        self.addAction(self.play_action)
        self.play_button = QtWidgets.QToolButton()
        self.play_button.setDefaultAction(self.play_action)
        self.play_button.setToolButtonStyle(QtCore.Qt.ToolButtonTextBesideIcon)
        self.play_button.setAutoRaise(True)
        self.speed = QtWidgets.QComboBox()
        for speed in SPEEDS:
            self.speed.addItem(speed_text(speed), speed)
        self.speed.setCurrentIndex(SPEEDS.index(DEFAULT_SPEED))
        self.speed.setToolTip("Playback speed: idle stretches of the run take at most a second")
        self.speed.currentIndexChanged.connect(self._speed_changed)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.slider.setMinimum(1)
        self.slider.setToolTip("Drag to any event; ← → step one event, Home / End jump to the ends")
        self.label = QtWidgets.QLabel()
        self.label.setMinimumWidth(self.fontMetrics().horizontalAdvance("event 0000 of 0000 at 00:00.0 — interrupted"))
        self.close_button = QtWidgets.QToolButton(text="Close run")
        self.resume_button = QtWidgets.QToolButton(text="Resume")
        self.resume_button.hide()
        title = QtWidgets.QLabel("Replay")
        title.setStyleSheet("font-weight: bold;")
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(title)
        layout.addWidget(self.play_button)
        layout.addWidget(self.speed)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        layout.addWidget(self.resume_button)
        layout.addWidget(self.close_button)
        self._rest = QtCore.QTimer(self)
        self._rest.setSingleShot(True)
        self._rest.setInterval(60)  # moving the slider quickly redraws once it rests
        self._rest.timeout.connect(lambda: self.seek.emit(self.slider.value()))
        self.slider.valueChanged.connect(self._moved)
        self._step_timer = QtCore.QTimer(self)
        self._step_timer.setSingleShot(True)
        self._step_timer.setTimerType(QtCore.Qt.PreciseTimer)
        self._step_timer.timeout.connect(self._step)
        self._clock = QtCore.QElapsedTimer()
        self._origin = 0.0  # playback time (seconds at 1×) when the clock started
        self._pace = DEFAULT_SPEED  # the speed since then

    # -- what is replayed ------------------------------------------------------------------

    def set_range(self, last: int, timestamps: list[float] | None = None) -> None:
        """A run of ``last`` events (``timestamps``: when each happened), shown at its end."""
        self.pause()
        self.timestamps = list(timestamps or [])[: max(1, last)]
        self.times = play_times(self.timestamps)
        self.slider.blockSignals(True)
        self.slider.setMaximum(max(1, last))
        self.slider.setValue(max(1, last))
        self.slider.blockSignals(False)

    def at_time(self, seq: int) -> float:
        """Playback seconds (at 1×) of event ``seq``."""
        if not self.times:
            return 0.0
        return self.times[min(max(seq, 1), len(self.times)) - 1]

    def run_time(self, seq: int) -> float:
        """Seconds from the run's first event to event ``seq``, as it happened."""
        if not self.timestamps:
            return 0.0
        return self.timestamps[min(max(seq, 1), len(self.timestamps)) - 1] - self.timestamps[0]

    # -- playing ---------------------------------------------------------------------------

    @property
    def playing(self) -> bool:
        return self._clock.isValid()

    @property
    def speed_factor(self) -> float:
        return float(self.speed.currentData() or DEFAULT_SPEED)

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        """Play from the event shown; from the first when the last is shown."""
        if self.playing or self.slider.maximum() <= 1:
            return
        if self.slider.value() >= self.slider.maximum():
            self._show(self.slider.minimum())
        self._start_clock(self.at_time(self.slider.value()))
        self._set_playing(True)
        self._schedule()

    def pause(self) -> None:
        if not self.playing:
            return
        self._step_timer.stop()
        self._clock.invalidate()
        self._set_playing(False)

    def _set_playing(self, playing: bool) -> None:
        self.play_action.setIcon(self._icons[playing])
        self.play_action.setText("Pause" if playing else "Play")
        self.play_action.setToolTip(f"{'Pause' if playing else 'Play'} the replay (Space)")
        self.playing_changed.emit(playing)

    def _start_clock(self, origin: float) -> None:
        self._origin = origin
        self._pace = self.speed_factor
        self._clock.start()

    def _now(self) -> float:
        """Where playback is, in seconds of the run at 1×."""
        return self._origin + self._clock.elapsed() / 1000 * self._pace

    def _step(self) -> None:
        """Show the last event whose time has come; then wait for the next one, or stop at the end."""
        if not self.playing:
            return
        due = bisect.bisect_right(self.times, self._now())
        if due > self.slider.value():
            self._show(min(due, self.slider.maximum()))
        if self.slider.value() >= self.slider.maximum():
            self.pause()
            return
        self._schedule()

    def _schedule(self) -> None:
        following = self.at_time(self.slider.value() + 1)
        wait_ms = (following - self._now()) / self._pace * 1000
        self._step_timer.start(int(max(FRAME_MS, wait_ms)))

    def _show(self, seq: int) -> None:
        """Move the slider to ``seq`` and redraw there now (playback does not wait for it to rest)."""
        self.slider.blockSignals(True)
        self.slider.setValue(seq)
        self.slider.blockSignals(False)
        self._rest.stop()
        self.seek.emit(seq)

    def _moved(self, value: int) -> None:
        """A person moved the slider: redraw once it rests; playing goes on from there."""
        self._rest.start()
        if self.playing:
            self._start_clock(self.at_time(value))
            self._schedule()

    def _speed_changed(self) -> None:
        if self.playing:  # from the moment shown, at the new pace
            self._start_clock(self._now())
            self._schedule()

    def hideEvent(self, event: QtGui.QHideEvent) -> None:  # noqa: N802 - Qt's name
        self.pause()  # a hidden replay (the run closed) never plays on
        super().hideEvent(event)
