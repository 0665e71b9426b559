"""The form a waiting node's question becomes: one field per answer, built from its type.

``bool`` is a check box, ``int`` and ``float`` a number field, ``str`` a line of text, and
anything else JSON. The form only collects what a person entered (a bool, or the text they
typed); turning text into values and checking them against the question's types is the
engine's (``engine.running.control``), done by whoever receives ``answered``, which shows its
one-line reason here with ``show_error`` when the answer is refused.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

#: what a number or JSON field says while it is empty
_HINTS = {"int": "a whole number", "float": "a number", "str": "text", "json": 'JSON, e.g. {"key": 1} or [1, 2]'}


def field_kind(type_text: str) -> tuple[str, bool]:
    """(widget kind, optional) for a field's type text: kind is bool, int, float, str or json."""
    text = type_text.strip()
    optional = text.endswith("?")
    base = text.rstrip("?").strip()
    return (base if base in ("bool", "int", "float", "str") else "json"), optional


class QuestionForm(QtWidgets.QGroupBox):
    """A waiting node's question and its answer form; ``answered`` carries (node, entries):
    each field a person filled, as a bool (check box) or the text typed. Optional fields left
    empty are not in it."""

    answered = QtCore.Signal(str, dict)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.node: str | None = None
        self.fields: dict[str, str] = {}
        self.inputs: dict[str, QtWidgets.QWidget] = {}
        self._shown: tuple[str, str, tuple[tuple[str, str], ...]] | None = None
        self.setStyleSheet("QGroupBox { font-weight: bold; }")
        self.prompt = QtWidgets.QLabel()
        self.prompt.setWordWrap(True)
        self.prompt.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.prompt.setStyleSheet("font-weight: normal; font-size: 11pt;")
        self.form = QtWidgets.QFormLayout()
        self.form.setFieldGrowthPolicy(QtWidgets.QFormLayout.AllNonFixedFieldsGrow)
        self.error = QtWidgets.QLabel()
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.error.hide()
        self.button = QtWidgets.QPushButton("Answer")
        self.button.setDefault(True)
        self.button.clicked.connect(lambda _checked=False: self.submit())
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.error, 1)
        buttons.addWidget(self.button, 0, QtCore.Qt.AlignRight | QtCore.Qt.AlignTop)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.prompt)
        layout.addLayout(self.form)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.hide()

    def show_question(self, node: str, question: dict[str, Any]) -> None:
        """Show ``node``'s question ({"prompt", "fields"}); the same one again keeps what was typed."""
        prompt = str(question.get("prompt") or "")
        fields = {str(k): str(v) for k, v in (question.get("fields") or {}).items()}
        shown = (node, prompt, tuple(fields.items()))
        if shown != self._shown:
            self._shown = shown
            self.node, self.fields = node, fields
            self.setTitle(f"{node} asks")
            self.prompt.setText(html.escape(prompt) or "<i>(no prompt)</i>")
            self._build(fields)
            self.error.hide()
            self.button.setEnabled(True)
        self.show()

    def clear(self) -> None:
        self._shown = None
        self.node = None
        self.hide()

    def _build(self, fields: dict[str, str]) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.inputs = {}
        for name, type_text in fields.items():
            kind, optional = field_kind(type_text)
            widget: QtWidgets.QWidget
            if kind == "bool":
                box = QtWidgets.QCheckBox("yes" if not optional else "yes (or leave undecided)")
                box.setTristate(optional)
                if optional:
                    box.setCheckState(QtCore.Qt.PartiallyChecked)
                widget = box
            elif kind == "json":
                edit = QtWidgets.QPlainTextEdit()
                edit.setPlaceholderText(_HINTS["json"] + (" (optional)" if optional else ""))
                edit.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.FixedFont))
                edit.setTabChangesFocus(True)
                edit.setFixedHeight(edit.fontMetrics().lineSpacing() * 3 + 12)
                widget = edit
            else:
                line = QtWidgets.QLineEdit()
                line.setPlaceholderText(_HINTS[kind] + (" (optional)" if optional else ""))
                line.returnPressed.connect(self.submit)
                widget = line
            widget.setObjectName(f"answer-{name}")
            widget.setToolTip(f"{name}: {type_text}")
            label = QtWidgets.QLabel(f"{name} <span style='color: gray'>({html.escape(type_text)})</span>")
            label.setStyleSheet("font-weight: normal;")
            self.form.addRow(label, widget)
            self.inputs[name] = widget

    def entries(self) -> dict[str, bool | str]:
        """What a person entered: a bool per check box that is decided, the text of every
        field that is not empty (a required ``str`` field left empty is the empty text)."""
        out: dict[str, bool | str] = {}
        for name, widget in self.inputs.items():
            if isinstance(widget, QtWidgets.QCheckBox):
                state = widget.checkState()
                if state != QtCore.Qt.PartiallyChecked:
                    out[name] = state == QtCore.Qt.Checked
                continue
            text = widget.toPlainText() if isinstance(widget, QtWidgets.QPlainTextEdit) else widget.text()
            kind, optional = field_kind(self.fields[name])
            if text.strip() or (kind == "str" and not optional):
                out[name] = text
        return out

    def submit(self) -> None:
        if self.node is not None and self.button.isEnabled():
            self.error.hide()
            self.answered.emit(self.node, self.entries())

    def show_error(self, text: str) -> None:
        """The answer was refused: one line, next to the button; nothing was sent."""
        self.error.setStyleSheet("color: #e06666; font-weight: normal;")
        self.error.setText(text)
        self.error.show()

    def show_sent(self, text: str) -> None:
        """The answer went to the run: the form waits for the node to move on."""
        self.error.setStyleSheet("color: gray; font-weight: normal;")
        self.error.setText(text)
        self.error.show()
        self.button.setEnabled(False)
