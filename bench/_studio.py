"""Helpers for the studio benchmarks: a main window offscreen, and a watch on the event loop."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def window(home: Path) -> Any:
    from PySide6 import QtCore, QtWidgets

    from studio.mainwindow import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    settings = QtCore.QSettings(str(home / "studio.ini"), QtCore.QSettings.IniFormat)
    win = MainWindow(settings, home)
    win.resize(1400, 900)
    win.show()
    app.processEvents()
    return win


class LoopWatch:
    """A 10 ms timer on the GUI thread; the gaps between its ticks show every stall of the loop."""

    def __init__(self, interval_ms: int = 10) -> None:
        from PySide6 import QtCore

        self.ticks: list[float] = []
        self.timer = QtCore.QTimer()
        self.timer.setTimerType(QtCore.Qt.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def start(self) -> None:
        self.ticks = [time.perf_counter()]
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.ticks.append(time.perf_counter())

    def gaps_ms(self) -> list[float]:
        return [(b - a) * 1000 for a, b in zip(self.ticks, self.ticks[1:])]


def run_until_done(win: Any, timeout: float) -> None:
    win.runs.wait(timeout)  # an event loop that sleeps between events (no busy waiting)


def watched_run(win: Any, timeout: float = 600) -> tuple[float, LoopWatch, Any]:
    """Run the open workflow with a LoopWatch on; (seconds, the watch, the finished run model)."""
    watch = LoopWatch()
    watch.start()
    t0 = time.perf_counter()
    assert win.runs.start()
    run_until_done(win, timeout)
    elapsed = time.perf_counter() - t0
    watch.stop()
    model = win.runs.model
    assert model.state == "succeeded", model.summary()
    return elapsed, watch, model


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
