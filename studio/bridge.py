"""THE bridge from a run to the GUI thread: the only way engine events reach Qt.

The run executes in a child process (``runhost``); the runner's reader thread calls ``push``
for every event it receives (a deque append: cheap, and safe from any thread). A timer on the
GUI thread drains the deque every ``INTERVAL_MS`` and emits what it found as one ``batch`` — so
ten thousand log lines a second cost the GUI thirty signals a second, and every canvas change
happens on the GUI thread, where NodeGraphQt (which is not thread-safe at all) needs it.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from PySide6 import QtCore

INTERVAL_MS = 30
MAX_BATCH = 20000  # items per batch; the rest waits for the next tick (keeps each tick short)


class EventBridge(QtCore.QObject):
    batch = QtCore.Signal(list)

    def __init__(self, parent: QtCore.QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._queue: deque[Any] = deque()
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.drain)

    def push(self, item: Any) -> None:
        """Called from any thread."""
        self._queue.append(item)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self.drain()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def drain(self) -> None:
        queue = self._queue
        items = []
        pop = queue.popleft
        for _ in range(min(len(queue), MAX_BATCH)):
            items.append(pop())
        if items:
            self.batch.emit(items)
