"""A form for the params an operator declares (``params_schema``): one editor per param.

Each param gets the editor its type calls for (a check box, a spin box, a list of choices, a
file picker, a JSON editor, a line). A param the node does not set shows its default, greyed,
with a "default" mark; editing it sets it, and the mark turns into a button that clears it back
to the default. The form never writes the document itself: it says ``edited``, and the
properties panel turns the form's ``values()`` into one undoable edit of the node's params.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from engine.workflow.model import ParamSpec
from engine.workflow.params import value_problem
from engine.workflow.validate import outside_folder

#: The spin box's bounds when a number param declares none.
_UNBOUNDED = 1_000_000_000
_DEFAULT_STYLE = "color: palette(placeholder-text); font-style: italic;"


def _text(value: Any) -> str:
    """A value as one line of JSON (what a default looks like in a hint)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class _JsonEdit(QtWidgets.QPlainTextEdit):
    """A multi-line editor that says when the person leaves it, as a line edit does."""

    editingFinished = QtCore.Signal()

    def focusOutEvent(self, event: QtGui.QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.editingFinished.emit()


class _NumberBox(QtWidgets.QDoubleSpinBox):
    """A float spin box that keeps six decimals but shows a number as people write it (1.5,
    not 1.500000), so a default reads like the text that declared it."""

    def textFromValue(self, value: float) -> str:
        return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


class _Row:
    """One declared param: its editor, its default mark/clear button, and whether it is set."""

    def __init__(self, name: str, spec: ParamSpec, default: Any, editor: QtWidgets.QWidget) -> None:
        self.name, self.spec, self.default, self.editor = name, spec, default, editor
        self.set = False
        self.reset = QtWidgets.QToolButton()
        self.reset.setAutoRaise(True)
        self.reset.setObjectName(f"reset-{name}")
        # as wide as its widest text, so every editor of the form ends at the same place
        self.reset.setFixedWidth(self.reset.fontMetrics().horizontalAdvance("required") + 12)


class ParamForm(QtWidgets.QWidget):
    """The declared params of one node. ``show_params`` fills it; ``values()`` reads it back."""

    edited = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = Path.cwd()
        self.rows: dict[str, _Row] = {}
        self._schema: dict[str, ParamSpec] | None = None
        self._defaults: dict[str, Any] = {}
        self._loading = False
        self.form = QtWidgets.QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setFieldGrowthPolicy(QtWidgets.QFormLayout.AllNonFixedFieldsGrow)
        self.empty = QtWidgets.QLabel("(this operator takes no params)")
        self.empty.setStyleSheet(_DEFAULT_STYLE)

    # -- showing ------------------------------------------------------------------------------

    def show_params(
        self,
        schema: dict[str, ParamSpec],
        defaults: dict[str, Any],
        values: dict[str, Any],
        folder: Path,
        editable: bool,
    ) -> None:
        """Show ``values`` (what the node sets) over ``defaults`` (what it would get otherwise).

        The editors are built again only when the declaration changes, so an edit that comes
        back from the document never destroys the editor it came from."""
        self.folder = folder
        if schema != self._schema or defaults != self._defaults or set(schema) != set(self.rows):
            self._build(schema, defaults)
        self._loading = True
        for name, row in self.rows.items():
            row.set = name in values
            self._put(row, values[name] if row.set else row.default)
            row.editor.setEnabled(editable)
            self._mark(row, editable)
        self._loading = False

    def _build(self, schema: dict[str, ParamSpec], defaults: dict[str, Any]) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.rows = {}
        self._schema, self._defaults = dict(schema), dict(defaults)
        if not schema:
            self.empty = QtWidgets.QLabel("(this operator takes no params)")
            self.empty.setStyleSheet(_DEFAULT_STYLE)
            self.form.addRow(self.empty)
            return
        for name, spec in schema.items():
            row = _Row(name, spec, defaults.get(name), self._editor(spec, defaults.get(name) is None))
            row.editor.setObjectName(f"param-{name}")
            tip = self._tip(name, spec, row.default)
            row.editor.setToolTip(tip)
            row.reset.clicked.connect(lambda _checked=False, r=row: self._clear(r))
            line = QtWidgets.QWidget()
            box = QtWidgets.QHBoxLayout(line)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(2)
            box.addWidget(row.editor, 1)
            if spec.type == "file":
                pick = QtWidgets.QToolButton()
                pick.setText("…")
                pick.setObjectName(f"pick-{name}")
                pick.setToolTip("Choose a file inside the workflow's folder")
                pick.clicked.connect(lambda _checked=False, r=row: self._pick(r))
                box.addWidget(pick)
                row.pick = pick  # type: ignore[attr-defined]
            box.addWidget(row.reset, 0, QtCore.Qt.AlignTop if spec.type == "json" else QtCore.Qt.AlignVCenter)
            label = QtWidgets.QLabel(name + (" *" if spec.is_required else ""))
            label.setToolTip(tip)
            self.form.addRow(label, line)
            self.rows[name] = row

    def _tip(self, name: str, spec: ParamSpec, default: Any) -> str:
        kind = spec.type
        if kind == "choice":
            kind += f" of {', '.join(map(str, spec.choices or []))}"
        if spec.min is not None or spec.max is not None:
            lo = "" if spec.min is None else f"{spec.min} ≤ "
            hi = "" if spec.max is None else f" ≤ {spec.max}"
            kind += f", {lo}{name}{hi}"
        if kind.startswith("file"):
            kind += ", relative to the workflow's folder"
        lines = [f"<b>{name}</b> ({kind})"]
        if spec.help:
            lines.append(spec.help)
        if spec.is_required:
            lines.append("Required: every node must set it.")
        elif default is not None:
            lines.append(f"Default: {_text(default)}")
        return "<br/>".join(lines)

    def _editor(self, spec: ParamSpec, no_default: bool) -> QtWidgets.QWidget:
        """The editor for one param. A number without a default gets a value below its range
        that reads "not set", so a spin box can say that the node gives no value."""
        kind = spec.type
        if kind == "bool":
            box = QtWidgets.QCheckBox()
            box.toggled.connect(lambda _on: self._changed(box))
            return box
        if kind in ("int", "float"):
            spin: QtWidgets.QAbstractSpinBox
            if kind == "int":
                spin = QtWidgets.QSpinBox()
                lo = -_UNBOUNDED if spec.min is None else int(spec.min)
                hi = _UNBOUNDED if spec.max is None else int(spec.max)
                spin.setRange(lo - 1 if no_default else lo, hi)
            else:
                spin = _NumberBox()
                spin.setDecimals(6)
                lo = -_UNBOUNDED if spec.min is None else float(spec.min)
                hi = _UNBOUNDED if spec.max is None else float(spec.max)
                spin.setSingleStep(_step(lo, hi))
                spin.setRange(lo - spin.singleStep() if no_default else lo, hi)
            spin.setKeyboardTracking(False)  # one edit per value typed, not per keystroke
            if no_default:
                spin.setSpecialValueText("required" if spec.is_required else "not set")
            spin.valueChanged.connect(lambda _v: self._changed(spin))
            return spin
        if kind == "choice":
            combo = QtWidgets.QComboBox()
            for choice in spec.choices or []:
                combo.addItem(str(choice), choice)
            combo.activated.connect(lambda _i: self._changed(combo))
            return combo
        if kind == "json":
            edit = _JsonEdit()
            edit.setTabChangesFocus(True)
            font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.FixedFont)
            edit.setFont(font)
            edit.setFixedHeight(QtGui.QFontMetrics(font).lineSpacing() * 4 + 12)
            edit.editingFinished.connect(lambda: self._changed(edit))
            return edit
        line = QtWidgets.QLineEdit()
        line.editingFinished.connect(lambda: self._changed(line))
        return line

    def _put(self, row: _Row, value: Any) -> None:
        """Show ``value`` in the row's editor (a missing value shows as empty)."""
        editor = row.editor
        if isinstance(editor, QtWidgets.QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QtWidgets.QSpinBox):
            editor.setValue(value if isinstance(value, int) and not isinstance(value, bool) else editor.minimum())
        elif isinstance(editor, QtWidgets.QDoubleSpinBox):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            editor.setValue(float(value) if ok else editor.minimum())
        elif isinstance(editor, QtWidgets.QComboBox):
            index = next((i for i in range(editor.count()) if editor.itemData(i) == value), -1)
            editor.setCurrentIndex(index)
        elif isinstance(editor, _JsonEdit):
            text = "" if not row.set else json.dumps(value, indent=2, ensure_ascii=False)
            editor.setPlainText(text)
            editor.setPlaceholderText("" if row.default is None else json.dumps(row.default, ensure_ascii=False))
        elif isinstance(editor, QtWidgets.QLineEdit):
            editor.setText(_text(value) if row.set and value is not None else "")
            hint = "required" if row.spec.is_required else ("" if row.default is None else _text(row.default))
            editor.setPlaceholderText(hint)

    def _mark(self, row: _Row, editable: bool) -> None:
        """A set param gets a clear button; an unset one a greyed editor and a "default" mark."""
        greyed = not row.set and not isinstance(row.editor, (QtWidgets.QLineEdit, _JsonEdit))
        row.editor.setStyleSheet(_DEFAULT_STYLE if greyed else "")
        if row.set:
            row.reset.setText("↺")
            row.reset.setToolTip(
                "Clear: use the default" + (f" ({_text(row.default)})" if row.default is not None else "")
            )
            row.reset.setEnabled(editable)
            row.reset.setStyleSheet("")
        else:
            row.reset.setText("required" if row.spec.is_required else ("default" if row.default is not None else ""))
            row.reset.setToolTip("The node does not set this param")
            row.reset.setEnabled(False)
            row.reset.setStyleSheet(_DEFAULT_STYLE)

    # -- editing ------------------------------------------------------------------------------

    def _changed(self, editor: QtWidgets.QWidget) -> None:
        if self._loading:
            return
        row = next((r for r in self.rows.values() if r.editor is editor), None)
        if row is None:
            return
        if isinstance(editor, (QtWidgets.QLineEdit, _JsonEdit)):
            text = editor.text() if isinstance(editor, QtWidgets.QLineEdit) else editor.toPlainText()
            if not text.strip() and not row.set:
                return  # left an empty field empty: nothing was edited
            row.set = bool(text.strip())
        elif isinstance(editor, (QtWidgets.QSpinBox, QtWidgets.QDoubleSpinBox)) and editor.specialValueText():
            row.set = editor.value() != editor.minimum()  # "not set" chosen: back to no value
        else:
            row.set = True
        self.edited.emit()

    def _clear(self, row: _Row) -> None:
        row.set = False
        self.edited.emit()

    def _pick(self, row: _Row) -> None:
        current = self._raw(row)
        start = self.folder / current if isinstance(current, str) and current else self.folder
        chosen, _filter = QtWidgets.QFileDialog.getOpenFileName(self, f"Choose {row.name}", str(start))
        if chosen:
            self.set_file(row.name, chosen)

    def set_file(self, name: str, chosen: str) -> None:
        """Put a chosen file into param ``name``, written relative to the workflow's folder."""
        row = self.rows[name]
        relative = os.path.relpath(chosen, self.folder).replace(os.sep, "/")
        assert isinstance(row.editor, QtWidgets.QLineEdit)
        row.editor.setText(relative)  # a path outside the folder is refused by values(), with why
        row.set = True
        self.edited.emit()

    # -- reading back -------------------------------------------------------------------------

    def _raw(self, row: _Row) -> Any:
        editor = row.editor
        if isinstance(editor, QtWidgets.QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QtWidgets.QSpinBox):
            return editor.value()
        if isinstance(editor, QtWidgets.QDoubleSpinBox):
            value = editor.value()
            return int(value) if value.is_integer() and row.spec.type == "int" else value
        if isinstance(editor, QtWidgets.QComboBox):
            return editor.currentData()
        if isinstance(editor, _JsonEdit):
            return editor.toPlainText()
        assert isinstance(editor, QtWidgets.QLineEdit)
        return editor.text().strip()

    def values(self) -> tuple[dict[str, Any], list[str]]:
        """The params the node sets through the form, and what is wrong with them."""
        out: dict[str, Any] = {}
        errors: list[str] = []
        for name, row in self.rows.items():
            if not row.set:
                if row.spec.is_required and row.default is None:
                    errors.append(f"param '{name}' is required: the node must set it")
                continue
            value = self._raw(row)
            if row.spec.type == "json":
                try:
                    value = json.loads(value)
                except json.JSONDecodeError as exc:
                    errors.append(f"param '{name}': not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}")
                    continue
            problem = value_problem(row.spec, value)
            if problem is None and row.spec.type == "file":
                reason = outside_folder(value, self.folder, "path")
                problem = f"'{value}' {reason}" if reason else None
            if problem is not None:
                errors.append(f"param '{name}' {problem}")
                continue
            out[name] = value
        return out, errors


def _step(lo: float, hi: float) -> float:
    """A spin step that suits the range: a tenth of a small range, else 1."""
    span = hi - lo
    return 0.1 if span <= 10 else 1.0
