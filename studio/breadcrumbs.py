"""The bar above the canvas that says which workflow inside which is open: ``parent ▸ child``.

Double-clicking a ``workflow:`` node opens its file in the window; the bar keeps the files
gone through on the way, and a click on one goes back to it (asking about unsaved changes as
opening any file does). It shows only while a sub-workflow is open: a workflow opened on its
own starts a new trail.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from studio.model.library import LIBRARY_SUFFIX


class Breadcrumbs(QtWidgets.QFrame):
    #: a file of the trail was clicked (its index): the window goes back to it
    chosen = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("breadcrumbs")
        self.trail: list[Path] = []
        self._row = QtWidgets.QHBoxLayout(self)
        self._row.setContentsMargins(8, 3, 8, 3)
        self._row.setSpacing(4)
        self.buttons: list[QtWidgets.QToolButton] = []
        self.hide()

    def set_trail(self, trail: list[Path]) -> None:
        """The files from the outermost to the one open; one file (or none) hides the bar."""
        self.trail = list(trail)
        while self._row.count():
            taken = self._row.takeAt(0)
            if taken is not None and taken.widget() is not None:
                taken.widget().deleteLater()
        self.buttons = []
        for index, path in enumerate(self.trail):
            if index:
                self._row.addWidget(QtWidgets.QLabel("▸"))
            button = QtWidgets.QToolButton()
            button.setText(path.name.removesuffix(LIBRARY_SUFFIX))
            button.setToolTip(str(path))
            button.setAutoRaise(True)
            last = index == len(self.trail) - 1
            button.setEnabled(not last)
            if last:
                button.setStyleSheet("font-weight: bold")
            else:
                button.setStatusTip(f"Back to {path}")
            button.clicked.connect(_emitter(self.chosen.emit, index))
            self._row.addWidget(button)
            self.buttons.append(button)
        self._row.addStretch(1)
        self.setVisible(len(self.trail) > 1)

    def text(self) -> str:
        return " ▸ ".join(b.text() for b in self.buttons)


def _emitter(emit: Callable[[int], None], index: int) -> Callable[[bool], None]:
    return lambda _checked=False: emit(index)
