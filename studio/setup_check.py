"""Help ▸ Check setup: the lines of `weft doctor`, in a window.

The checks run on a worker thread (reaching Docker may take seconds when it does not answer);
the window says "Checking…" until the lines come.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from engine.cli.doctor import checks, healthy


class SetupCheck(QtWidgets.QDialog):
    done = QtCore.Signal(list, bool)

    def __init__(self, home: Path, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("setup-check")
        self.setWindowTitle("Check Setup")
        self.summary = QtWidgets.QLabel("Checking Docker, the default image, the home, GraphViz and Ray…")
        self.summary.setWordWrap(True)
        self.text = QtWidgets.QPlainTextEdit(readOnly=True)
        self.text.setObjectName("setup-check-lines")
        self.text.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.FixedFont))
        self.text.setLineWrapMode(QtWidgets.QPlainTextEdit.WidgetWidth)
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Close)
        close.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.text, 1)
        layout.addWidget(close)
        self.resize(760, 260)
        self.lines: list[str] = []
        self.done.connect(self._show)
        threading.Thread(target=self._check, args=(home,), name="setup-check", daemon=True).start()

    def _check(self, home: Path) -> None:
        found = checks(home)
        try:
            self.done.emit([c.line for c in found], healthy(found))
        except RuntimeError:  # the window was closed (and deleted) before the checks ended
            pass

    def _show(self, lines: list[str], ok: bool) -> None:
        self.lines = lines
        self.text.setPlainText("\n".join(lines))
        self.summary.setText(
            "Everything Weft needs is here (the same lines as `weft doctor`)."
            if ok
            else "Something Weft needs is missing: each line says what to do (the same lines as `weft doctor`)."
        )


def show_setup_check(parent: QtWidgets.QWidget, home: Path) -> SetupCheck:
    dialog = SetupCheck(home, parent)
    dialog.open()  # window-modal, not a nested event loop
    return dialog
