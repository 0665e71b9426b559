"""Preferences (Edit ▸ Preferences…): the default executor and image of a new workflow, extra
operator library folders, and the theme — kept in ``QSettings`` under ``preferences/``.

``Preferences`` is the plain record (read from and written to the settings); the dialog edits
one; the window applies one (``MainWindow.apply_preferences``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from PySide6 import QtCore, QtWidgets

from engine.workflow.model import EXECUTORS
from studio import theme

#: the executor entry that means "say nothing in the text": the engine's default, local
DEFAULT_EXECUTOR = "default (local)"


def executor_choices() -> list[str]:
    """What an executor box offers: the default once (it is local), then every other executor."""
    return [DEFAULT_EXECUTOR, *[e for e in EXECUTORS if e != "local"]]


@dataclass
class Preferences:
    executor: str | None = None  # None: the engine's default (local)
    image: str | None = None
    libraries: list[str] = field(default_factory=list)
    theme: str = theme.DARK.name

    @classmethod
    def load(cls, settings: QtCore.QSettings) -> Preferences:
        libraries = settings.value("preferences/libraries", [])
        if isinstance(libraries, str):
            libraries = [libraries]
        executor = str(settings.value("preferences/executor", "") or "") or None
        return cls(
            executor=executor if executor in EXECUTORS and executor != "local" else None,
            image=str(settings.value("preferences/image", "") or "") or None,
            libraries=[str(p) for p in (libraries or []) if p],
            theme=theme.theme_named(settings.value("preferences/theme", theme.DARK.name)).name,
        )

    def save(self, settings: QtCore.QSettings) -> None:
        settings.setValue("preferences/executor", self.executor or "")
        settings.setValue("preferences/image", self.image or "")
        settings.setValue("preferences/libraries", list(self.libraries))
        settings.setValue("preferences/theme", self.theme)
        settings.sync()


class PreferencesDialog(QtWidgets.QDialog):
    """The form; ``preferences()`` is what it says when accepted."""

    def __init__(self, prefs: Preferences, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.setObjectName("preferences")
        self.executor = QtWidgets.QComboBox()
        self.executor.addItems(executor_choices())
        self.executor.setCurrentText(prefs.executor or DEFAULT_EXECUTOR)
        self.executor.setToolTip("The executor a new workflow runs its nodes on (settings.executor)")
        self.image = QtWidgets.QLineEdit(prefs.image or "")
        self.image.setPlaceholderText("e.g. python:3.12-slim")
        self.image.setToolTip("The image a new workflow's docker nodes use (settings.image)")
        self.libraries = QtWidgets.QListWidget()
        self.libraries.addItems(prefs.libraries)
        self.libraries.setToolTip("Folders of operator libraries, shown in the palette and importable by workflows")
        add = QtWidgets.QPushButton("Add…")
        add.clicked.connect(self._add_library)
        remove = QtWidgets.QPushButton("Remove")
        remove.clicked.connect(
            lambda: [self.libraries.takeItem(self.libraries.row(i)) for i in self.libraries.selectedItems()]
        )
        buttons = QtWidgets.QVBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        folders = QtWidgets.QHBoxLayout()
        folders.addWidget(self.libraries, 1)
        folders.addLayout(buttons)
        self.theme = QtWidgets.QComboBox()
        for t in theme.THEMES.values():
            self.theme.addItem(t.title, t.name)
        self.theme.setCurrentIndex(max(0, self.theme.findData(prefs.theme)))
        form = QtWidgets.QFormLayout()
        form.addRow("Default executor", self.executor)
        form.addRow("Default image", self.image)
        form.addRow("Library folders", folders)
        form.addRow("Theme", self.theme)
        box = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(box)
        self.resize(520, 360)

    def _add_library(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Operator library folder")
        if folder and not self.libraries.findItems(folder, QtCore.Qt.MatchExactly):
            self.libraries.addItem(folder)

    def preferences(self) -> Preferences:
        executor = self.executor.currentText()
        return Preferences(
            executor=None if executor == DEFAULT_EXECUTOR else executor,
            image=self.image.text().strip() or None,
            libraries=[self.libraries.item(i).text() for i in range(self.libraries.count())],
            theme=str(self.theme.currentData()),
        )


def new_workflow_settings(prefs: Preferences, settings: object) -> object:
    """A new workflow's settings with the preferred executor and image (nothing when default)."""
    return dataclasses.replace(settings, executor=prefs.executor, image=prefs.image)  # type: ignore[type-var]
