"""The promises panel: the workflow's promises, a form per kind, shape patterns checked as typed.

What the form builds is read back by the engine's record reader (the same that reads files),
so a promise the panel accepts is one the engine accepts. Shape patterns are checked on every
keystroke by the engine's shape reader, whose problems name the column.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtWidgets

from engine.errors import ProblemCollector
from engine.workflow.model import PromiseSpec
from engine.workflow.records import PROMISE_KINDS, MessageSource, Reader
from studio.model.document import Document
from studio.model.regions import pattern_problems

FIELDS: dict[str, tuple[str, ...]] = {
    "static": (),
    "no_new_nodes": ("by",),
    "no_new_edges": ("by", "from", "to"),
    "only_nodes": ("by", "match"),
    "only_edges": ("by", "pairs"),
    "max_nodes": ("by", "max"),
    "shape": ("pattern", "where", "by"),
}
HINTS = {
    "by": "whose mutations it binds: node ids, operator names or globs, comma separated (empty: every task)",
    "from": "no edge from these nodes (comma separated)",
    "to": "no edge into these nodes (comma separated)",
    "match": "created nodes must match one of these selectors (comma separated)",
    "pairs": "one allowed pair per line: from -> to",
    "max": "at most this many created nodes",
    "pattern": "e.g. A -> M* -> B   (anchors first and last)",
    "where": "one name per line: Name: pattern   (e.g. Loop: M -> Loop | M)",
}


def describe(spec: PromiseSpec) -> str:
    if spec.kind == "shape":
        text = f"shape {spec.args!r}"
    else:
        args = ", ".join(f"{k}: {v}" for k, v in (spec.args or {}).items())
        text = f"{spec.kind} {{{args}}}"
    return f"{spec.id}: {text}" if spec.id else text


def _selectors(text: str) -> Any:
    items = [s.strip() for s in text.split(",") if s.strip()]
    return None if not items else (items[0] if len(items) == 1 else items)


def _selector_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else ", ".join(map(str, value))


class PromisesPanel(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: Document | None = None
        self.editor: Any = None
        self.read_only = False
        self.index: int | None = None  # the promise being edited; None: a new one
        self.kind = "static"
        self.list = QtWidgets.QListWidget()
        self.list.currentRowChanged.connect(self._selected)
        add = QtWidgets.QToolButton(text="Add")
        add.setPopupMode(QtWidgets.QToolButton.InstantPopup)
        menu = QtWidgets.QMenu(add)
        for kind in PROMISE_KINDS:
            menu.addAction(kind, lambda k=kind: self.new_promise(k))
        add.setMenu(menu)
        self.remove = QtWidgets.QToolButton(text="Remove")
        self.remove.clicked.connect(self._remove)
        self.add_button = add
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(self.remove)
        buttons.addStretch(1)
        self.form_title = QtWidgets.QLabel()
        self.inputs: dict[str, QtWidgets.QWidget] = {"id": QtWidgets.QLineEdit()}
        self.inputs["id"].setToolTip("optional: how reports name this promise")
        for name in ("by", "from", "to", "match", "max", "pattern"):
            edit = QtWidgets.QLineEdit()
            edit.setToolTip(HINTS[name])
            edit.setPlaceholderText(HINTS[name])
            self.inputs[name] = edit
        for name in ("pairs", "where"):
            edit = QtWidgets.QPlainTextEdit()
            edit.setPlaceholderText(HINTS[name])
            edit.setMaximumHeight(70)
            self.inputs[name] = edit
        self.inputs["pattern"].textChanged.connect(self.check_shape)
        self.inputs["where"].textChanged.connect(self.check_shape)
        form_widget = QtWidgets.QWidget()
        self.form = QtWidgets.QFormLayout(form_widget)
        for name, widget in self.inputs.items():
            self.form.addRow(name, widget)
        self.check = QtWidgets.QLabel()
        self.check.setWordWrap(True)
        self.region = QtWidgets.QLabel()
        self.region.setWordWrap(True)
        self.apply_button = QtWidgets.QPushButton("Apply")
        self.apply_button.clicked.connect(self.apply)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.form_title)
        layout.addWidget(form_widget)
        layout.addWidget(self.check)
        layout.addWidget(self.region)
        layout.addWidget(self.apply_button)
        self._show_form(None)

    def set_document(self, document: Document, editor: Any) -> None:
        if self.document is not None:
            self.document.events.promises_changed.disconnect(self.rebuild)
        self.document, self.editor = document, editor
        document.events.promises_changed.connect(self.rebuild)
        self.rebuild()

    def set_read_only(self, read_only: bool) -> None:
        self.read_only = read_only
        for widget in (self.add_button, self.remove, self.apply_button):
            widget.setEnabled(not read_only)

    def rebuild(self) -> None:
        row = self.list.currentRow()
        self.list.clear()
        for spec in self.document.promises if self.document else []:
            self.list.addItem(describe(spec))
        if 0 <= row < self.list.count():
            self.list.setCurrentRow(row)
        else:
            self._show_form(None)

    # -- the form ---------------------------------------------------------------------------

    def new_promise(self, kind: str) -> None:
        self.list.clearSelection()
        self.index = None
        self._show_form(PromiseSpec(kind=kind, args="" if kind == "shape" else {}))

    def _selected(self, row: int) -> None:
        if self.document is None or not 0 <= row < len(self.document.promises):
            return
        self.index = row
        self._show_form(self.document.promises[row])

    def _show_form(self, spec: PromiseSpec | None) -> None:
        for name, widget in self.inputs.items():
            shown = spec is not None and (name == "id" or name in FIELDS[spec.kind])
            widget.setVisible(shown)
            self.form.labelForField(widget).setVisible(shown)
            if isinstance(widget, QtWidgets.QLineEdit):
                widget.blockSignals(True)
                widget.clear()
                widget.blockSignals(False)
            else:
                widget.blockSignals(True)
                widget.setPlainText("")
                widget.blockSignals(False)
        self.check.clear()
        self.region.clear()
        self.apply_button.setVisible(spec is not None)
        if spec is None:
            self.form_title.setText("Select a promise, or add one.")
            return
        self.kind = spec.kind
        self.form_title.setText(f"<b>{'New' if self.index is None else 'Edit'} {spec.kind}</b>")
        self.inputs["id"].setText(spec.id or "")
        if spec.kind == "shape":
            self.inputs["pattern"].setText(spec.args or "")
            self.inputs["where"].setPlainText("\n".join(f"{k}: {v}" for k, v in (spec.where or {}).items()))
            self.inputs["by"].setText(_selector_text(spec.by))
            self.check_shape()
            self._show_region()
        else:
            args = spec.args or {}
            for name in ("by", "from", "to", "match"):
                self.inputs[name].setText(_selector_text(args.get(name)))
            self.inputs["max"].setText("" if args.get("max") is None else str(args["max"]))
            self.inputs["pairs"].setPlainText("\n".join(f"{a} -> {b}" for a, b in args.get("pairs", [])))

    def _where(self) -> dict[str, str]:
        where = {}
        for line in self.inputs["where"].toPlainText().splitlines():
            name, sep, pattern = line.partition(":")
            if sep and name.strip():
                where[name.strip()] = pattern.strip()
        return where

    def check_shape(self) -> list[str]:
        """Check the pattern as typed; the problems (each naming its column) show under it."""
        if self.kind != "shape":
            return []
        pattern = self.inputs["pattern"].text()
        problems = pattern_problems(pattern, self._where()) if pattern.strip() else []
        if problems:
            self.check.setStyleSheet("color: #e06666")
            self.check.setText("\n".join(problems))
        else:
            self.check.setStyleSheet("color: #6aa84f")
            self.check.setText("pattern OK" if pattern.strip() else "")
        return problems

    def _show_region(self) -> None:
        if self.document is None or self.index is None:
            return
        region = next((r for r in self.document.regions() if r.promise == self.index), None)
        if region is not None:
            members = ", ".join(sorted(region.members)) or "(none yet)"
            self.region.setText(f"region: {members}" + (f"  ({region.problem})" if region.problem else ""))

    def data(self) -> dict[str, Any]:
        kind = self.kind
        data: dict[str, Any] = {}
        if self.inputs["id"].text().strip():
            data["id"] = self.inputs["id"].text().strip()
        if kind == "shape":
            data["shape"] = self.inputs["pattern"].text().strip()
            if self._where():
                data["where"] = self._where()
            if _selectors(self.inputs["by"].text()) is not None:
                data["by"] = _selectors(self.inputs["by"].text())
            return data
        args: dict[str, Any] = {}
        for name in ("by", "from", "to", "match"):
            if name in FIELDS[kind] and _selectors(self.inputs[name].text()) is not None:
                args[name] = _selectors(self.inputs[name].text())
        if kind == "only_nodes" and isinstance(args.get("match"), str):
            args["match"] = [args["match"]]
        if kind == "max_nodes":
            text = self.inputs["max"].text().strip()
            args["max"] = int(text) if text.isdigit() else text
        if kind == "only_edges":
            args["pairs"] = [
                [a.strip(), b.strip()]
                for line in self.inputs["pairs"].toPlainText().splitlines()
                if "->" in line
                for a, b in [line.split("->", 1)]
            ]
        data[kind] = args
        return data

    def apply(self) -> str | None:
        """Add or change the promise in the form; returns (and shows) why not, if it cannot."""
        if self.read_only or self.document is None:
            return "read-only"
        if self.kind == "shape" and self.check_shape():
            return self.check.text()
        problems = ProblemCollector()
        spec = Reader(MessageSource("promise"), problems).promise(self.data(), ())
        if spec is None or problems:
            text = "\n".join(str(p) for p in problems.problems) or "this promise cannot be read"
            self.check.setStyleSheet("color: #e06666")
            self.check.setText(text)
            return text
        spec.loc = None
        if self.index is None:
            self.editor.add_promise(spec)
            self.list.setCurrentRow(len(self.document.promises) - 1)
        else:
            self.editor.edit_promise(self.index, spec)
        return None

    def _remove(self) -> None:
        if self.read_only or self.document is None or self.index is None:
            return
        if 0 <= self.index < len(self.document.promises):
            self.editor.remove_promise(self.index)
