"""The properties panel: the selected node (or wire, or the workflow itself), as a form.

Edits are read back through the engine's own record reader, so the panel accepts exactly
what a workflow file may say and reports problems in the same words; an accepted edit is one
undo command (through the ``Editor``). Nodes a run created, and past runs, are shown read-only.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from PySide6 import QtCore, QtWidgets

from engine.errors import ProblemCollector
from engine.workflow.model import EXECUTORS, NodeSpec, ParamSpec, Settings, Trigger, declared_defaults
from engine.workflow.records import MessageSource, Reader
from engine.workflow.writer import node_data, param_data
from studio.model.document import Document, EdgeKey
from studio.paramform import ParamForm
from studio.preferences import DEFAULT_EXECUTOR, executor_choices

TEXT_FIELDS = ("description", "image", "workdir")
NUMBER_FIELDS = ("retries", "retry_delay", "timeout")
#: the fields of a task, which a `workflow:` node does not have (its workflow's nodes do)
TASK_ONLY = frozenset(
    ("command", "inputs", "outputs", "params", "env", "image", "executor")
    + NUMBER_FIELDS
    + ("dynamic", "trigger", "workdir")
)
#: a node's executor entry that says nothing in the text: the workflow's executor
NODE_DEFAULT_EXECUTOR = "default (the workflow's)"


def _flow(value: Any) -> str:
    """A value as one line of YAML flow text (what the form shows for lists and mappings)."""
    if value is None:
        return ""
    return (
        yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True)
        .strip()
        .removesuffix("...")
        .strip()
    )


def _parse(text: str, what: str) -> tuple[Any, str | None]:
    text = text.strip()
    if not text:
        return None, None
    try:
        return yaml.safe_load(text), None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (column {mark.column + 1})" if mark is not None else ""
        return None, f"{what}: not valid YAML{where}: {getattr(exc, 'problem', exc)}"


class Properties(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: Document | None = None
        self.editor: Any = None
        self.node_id: str | None = None
        self.edge: EdgeKey | None = None
        self.locked = False  # the window says nothing may be edited (a run, a past run)
        self.read_only = False  # what is shown now may not be edited
        self._shown: tuple[str, dict[str, Any] | None, str] | None = None  # a run's node: its spec
        self._loading = False
        self.title = QtWidgets.QLabel()
        self.title.setWordWrap(True)
        self.problems = QtWidgets.QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #e06666")
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self._node_form())
        self.stack.addWidget(self._edge_form())
        self.stack.addWidget(self._workflow_form())
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.stack)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.problems)

    # -- forms ----------------------------------------------------------------------------

    def _line(self, commit: Callable[[], None], tip: str = "") -> QtWidgets.QLineEdit:
        edit = QtWidgets.QLineEdit()
        edit.setToolTip(tip)
        edit.editingFinished.connect(commit)
        return edit

    def _combo(self, items: list[str], commit: Callable[[], None]) -> QtWidgets.QComboBox:
        combo = QtWidgets.QComboBox()
        combo.addItems(items)
        combo.activated.connect(lambda _i: commit())
        return combo

    def _node_form(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        c = self._commit_node
        self.f: dict[str, Any] = {
            "id": self._line(c, "letters, digits, '_' and '-'; renaming rewrites wires and conditions"),
            "operator": QtWidgets.QLabel(),
            "description": self._line(c),
            "command": self._line(c, "an argv list, e.g. [python3, ops/count.py]"),
            "inputs": self._line(c, "ports and types, e.g. {text: str, n: int?}"),
            "outputs": self._line(c, "ports and types, e.g. {counts: 'dict[str, int]'}"),
            "params": self._line(c, "free JSON for the task, e.g. {path: data/words.txt}"),
            "env": self._line(c, "environment, e.g. {LANG: C.UTF-8}"),
            "image": self._line(c, "the container image, for the docker executor"),
            "executor": self._combo([NODE_DEFAULT_EXECUTOR, *EXECUTORS], c),
            "retries": self._line(c, "re-runs after a failure, with backoff"),
            "retry_delay": self._line(c, "seconds before the first retry (doubling)"),
            "timeout": self._line(c, "seconds per attempt"),
            "dynamic": self._combo(["(from operator)", "true", "false"], c),
            "trigger": self._combo(["(all)", *[t.value for t in Trigger if t is not Trigger.ALL]], c),
            "workdir": self._line(c),
            "label": self._line(c, "shown on the canvas instead of the id"),
            "color": self._line(c, "header colour, e.g. #33bb77"),
            "icon": self._line(c),
        }
        self.ports = QtWidgets.QLabel()
        self.ports.setWordWrap(True)
        self.ports.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.param_form = ParamForm()
        self.param_form.edited.connect(c)
        self.param_box = QtWidgets.QGroupBox("Params")
        QtWidgets.QVBoxLayout(self.param_box).addWidget(self.param_form)
        self._node_layout = form
        for name, widget in self.f.items():
            if name == "params":
                form.addRow(self.param_box)
            form.addRow(name.replace("_", " "), widget)
            if name == "outputs":
                form.addRow("ports", self.ports)
        return page

    def _edge_form(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        self.edge_ends = QtWidgets.QLabel()
        self.when = self._line(self._commit_edge, "a condition, e.g. count.total > 10 (empty: always)")
        form.addRow("wire", self.edge_ends)
        form.addRow("when", self.when)
        return page

    def _workflow_form(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        c = self._commit_workflow
        self.w = {
            "name": self._line(c),
            "description": self._line(c),
            "max_parallel": self._line(c, "tasks at once (default: CPU count)"),
            "executor": self._combo(executor_choices(), c),
            "image": self._line(c),
            "fail_fast": self._combo(["false", "true"], c),
            "imports": QtWidgets.QLabel(),
        }
        self.w["imports"].setWordWrap(True)
        for name, widget in self.w.items():
            form.addRow(name.replace("_", " "), widget)
        return page

    # -- showing ----------------------------------------------------------------------------

    def set_document(self, document: Document, editor: Any) -> None:
        if self.document is not None:
            for name in (
                "node_changed",
                "node_renamed",
                "node_removed",
                "workflow_changed",
                "edge_removed",
                "edge_added",
            ):
                getattr(self.document.events, name).disconnect(self.refresh)
        self.document, self.editor = document, editor
        for name in ("node_changed", "node_renamed", "node_removed", "workflow_changed", "edge_removed", "edge_added"):
            getattr(document.events, name).connect(self.refresh)
        self.show_workflow()

    def refresh(self, *args: Any) -> None:
        """Show the current item again (it changed, or the window's lock did)."""
        if len(args) == 2 and args[0] == self.node_id and isinstance(args[1], str):  # renamed
            self.node_id = args[1]
        if self.node_id is not None:
            spec, note = (
                (self._shown[1], self._shown[2]) if self._shown and self._shown[0] == self.node_id else (None, "")
            )
            self.show_node(self.node_id, spec=spec, note=note)
        elif self.edge is not None:
            self.show_edge(self.edge)
        else:
            self.show_workflow()

    def show_node(
        self, node_id: str, read_only: bool = False, spec: dict[str, Any] | None = None, note: str = ""
    ) -> None:
        """A workflow node (editable), or with ``spec`` a node a run created (read-only)."""
        doc = self.document
        node = doc.node(node_id) if doc is not None and spec is None else None
        if node is None and spec is None:
            self.show_workflow()
            return
        self.node_id, self.edge = node_id, None
        self._shown = (node_id, spec, note) if spec is not None else None
        self.read_only = self.locked or read_only or spec is not None
        data = spec if spec is not None else node_data(node)
        self._loading = True
        self.title.setText(f"<b>Node {node_id}</b>" + (f"<br/><i>{note}</i>" if note else ""))
        style = data.get("style") or {}
        schema, defaults = self._declared(data)
        self._show_params(schema, defaults, data.get("params") or {})
        sub = doc.subworkflow(node) if doc is not None and node is not None else None
        for name, widget in self.f.items():
            # a `workflow:` node says only its id, description and style: the rest is its workflow's
            self._node_layout.setRowVisible(widget, sub is None or name not in TASK_ONLY)
            value = style.get(name) if name in ("label", "color", "icon") else data.get(name)
            if name == "dynamic":
                widget.setCurrentIndex(0 if value is None else (1 if value else 2))
            elif name == "trigger":
                widget.setCurrentText(value or "(all)")
            elif name == "executor":
                widget.setCurrentText(value or NODE_DEFAULT_EXECUTOR)
            elif name == "operator":
                widget.setText(value or "(inline: command and ports below)")
                if sub is not None:
                    widget.setText(
                        f"sub-workflow <b>{html.escape(sub.ref)}</b><br/><small>{html.escape(str(sub.path))}</small>"
                    )
            elif name == "params" and schema is not None:
                extra = {k: v for k, v in (value or {}).items() if k not in schema}
                widget.setText(_flow(extra) if extra else "")
            elif name in ("command", "inputs", "outputs", "params", "env"):
                widget.setText(_flow(value))
            else:
                widget.setText("" if value is None else str(value))
            widget.setEnabled(
                not self.read_only and not (data.get("operator") and name in ("command", "inputs", "outputs"))
            )
        inputs, outputs = doc.ports(NodeSpec(**{k: v for k, v in _spec_fields(data).items()})) if doc else ({}, {})
        self.ports.setText(
            "<br/>".join(
                [f"in <b>{n}</b>: {t}" for n, t in inputs.items()]
                + [f"out <b>{n}</b>: {t}" for n, t in outputs.items()]
            )
            or "(no data ports)"
        )
        if sub is not None and sub.problem:
            self.ports.setText(self.ports.text() + f"<br/><font color='#e06666'>{html.escape(sub.problem)}</font>")
        if sub is not None:
            self._node_layout.setRowVisible(self.param_box, False)
        self._loading = False
        self.problems.clear()
        self.stack.setCurrentIndex(0)

    def _declared(self, data: dict[str, Any]) -> tuple[dict[str, ParamSpec] | None, dict[str, Any]]:
        """The params a node's task declares, and what each is when the node leaves it unset:
        the declared default, or the value its operator's ``params`` gives."""
        doc = self.document
        operator = doc.operators().get(data["operator"]) if doc is not None and data.get("operator") else None
        if data.get("operator"):
            if operator is None or operator.params_schema is None:
                return None, {}
            schema, inherited = operator.params_schema, operator.params or {}
        else:
            raw = data.get("params_schema")
            if raw is None:
                return None, {}
            problems = ProblemCollector()
            schema = Reader(MessageSource("params_schema"), problems).params_schema(raw, ()) or {}
            inherited = {}
        defaults = {**(declared_defaults(schema) or {}), **{k: v for k, v in inherited.items() if k in schema}}
        return schema, defaults

    def _show_params(
        self, schema: dict[str, ParamSpec] | None, defaults: dict[str, Any], values: dict[str, Any]
    ) -> None:
        """The declared params as a form; the raw line keeps the params nobody declared."""
        declared = schema is not None
        self._node_layout.setRowVisible(self.param_box, declared)
        label = self._node_layout.labelForField(self.f["params"])
        label.setText("other params" if declared else "params")
        self.f["params"].setToolTip(
            "params the operator does not declare, as free JSON, e.g. {note: text}"
            if declared
            else "free JSON for the task, e.g. {path: data/words.txt}"
        )
        if declared:
            doc = self.document
            folder = doc.workflow.folder if doc is not None else Path.cwd()
            self.param_form.show_params(schema or {}, defaults, values, folder, not self.read_only)

    def show_note(self, title: str, text: str) -> None:
        """Something on the canvas that is not part of the workflow (a ghost, a refused node)."""
        self.node_id, self.edge = None, None
        self.title.setText(f"<b>{title}</b><br/>{text}")
        self.problems.clear()
        self.stack.setCurrentIndex(2)
        for widget in self.w.values():
            widget.setEnabled(False)

    def show_edge(self, key: EdgeKey) -> None:
        doc = self.document
        edge = doc.edge(key) if doc is not None else None
        if edge is None:
            self.show_workflow()
            return
        self.node_id, self.edge = None, key
        self.read_only = self.locked
        self.title.setText(f"<b>Wire</b> {key}")
        self.edge_ends.setText(str(key))
        self.when.setText(edge.when or "")
        self.when.setEnabled(not self.read_only)
        self.problems.clear()
        self.stack.setCurrentIndex(1)

    def show_workflow(self) -> None:
        self.node_id, self.edge = None, None
        doc = self.document
        if doc is None:
            return
        wf = doc.workflow
        self.read_only = self.locked
        for widget in self.w.values():
            widget.setEnabled(not self.read_only)
        self._loading = True
        self.title.setText(f"<b>Workflow {wf.name}</b>")
        self.w["name"].setText(wf.name)
        self.w["description"].setText(wf.description or "")
        self.w["max_parallel"].setText("" if wf.settings.max_parallel is None else str(wf.settings.max_parallel))
        executor = wf.settings.executor
        self.w["executor"].setCurrentText(DEFAULT_EXECUTOR if executor in (None, "local") else executor)
        self.w["image"].setText(wf.settings.image or "")
        self.w["fail_fast"].setCurrentText("true" if wf.settings.fail_fast else "false")
        self.w["imports"].setText("<br/>".join(wf.imports) or "(none)")
        self._loading = False
        self.problems.clear()
        self.stack.setCurrentIndex(2)

    # -- committing -------------------------------------------------------------------------

    def _commit_node(self) -> None:
        if self._loading or self.read_only or self.document is None or self.node_id is None:
            return
        old = self.document.node(self.node_id)
        if old is None:
            return
        data: dict[str, Any] = {"id": self.f["id"].text().strip() or self.node_id}
        if old.operator:
            data["operator"] = old.operator
        errors = []
        if old.workflow:  # its id, description and style: nothing else may be said of it
            data["workflow"] = old.workflow
            if self.f["description"].text().strip():
                data["description"] = self.f["description"].text().strip()
            self._put_style(old, data)
            self._commit_spec(old, data, errors)
            return
        for name in ("command", "inputs", "outputs", "params", "env"):
            if name in ("command", "inputs", "outputs") and old.operator:
                continue
            value, error = _parse(self.f[name].text(), name)
            if error:
                errors.append(error)
            elif value is not None:
                data[name] = value
        if self._node_layout.isRowVisible(self.param_box):  # declared params: the form's, then the rest
            declared, form_errors = self.param_form.values()
            errors += form_errors
            extra = data.pop("params", None)
            if extra is not None and not isinstance(extra, dict):
                data["params"] = extra  # the reader says why it cannot be
            elif declared or extra:
                data["params"] = {**declared, **(extra or {})}
        for name in TEXT_FIELDS:
            if self.f[name].text().strip():
                data[name] = self.f[name].text().strip()
        for name in NUMBER_FIELDS:
            value, error = _parse(self.f[name].text(), name)
            if error:
                errors.append(error)
            elif value is not None:
                data[name] = value
        if self.f["executor"].currentIndex() > 0:
            data["executor"] = self.f["executor"].currentText()
        if self.f["dynamic"].currentIndex() > 0:
            data["dynamic"] = self.f["dynamic"].currentIndex() == 1
        if self.f["trigger"].currentIndex() > 0:
            data["trigger"] = self.f["trigger"].currentText()
        self._put_style(old, data)
        if old.shell is not None and not old.operator:
            data["shell"] = old.shell
        for name in ("resources", "network", "warm", "cache", "build"):
            if getattr(old, name) is not None:
                data[name] = getattr(old, name)
        if old.params_schema is not None and not old.operator:
            data["params_schema"] = {k: param_data(p) for k, p in old.params_schema.items()}
        self._commit_spec(old, data, errors)

    def _put_style(self, old: NodeSpec, data: dict[str, Any]) -> None:
        """The node's style as the fields say it, keeping its place on the canvas."""
        style = {k: v for k, v in (old.style or {}).items() if k == "pos"}
        for name in ("label", "color", "icon"):
            if self.f[name].text().strip():
                style[name] = self.f[name].text().strip()
        if style:
            data["style"] = style

    def _commit_spec(self, old: NodeSpec, data: dict[str, Any], errors: list[str]) -> None:
        problems = ProblemCollector()
        spec = Reader(MessageSource(f"node '{data['id']}'"), problems).node(data, ())
        errors += [str(p) for p in problems.problems]
        if errors or spec is None:
            self.problems.setText("\n".join(errors) or "this node cannot be read")
            return
        if spec == old:
            self.problems.clear()
            return
        problem = self.editor.edit_node(self.node_id, dataclasses.replace(spec, loc=None))
        self.problems.setText(problem or "")

    def _commit_edge(self) -> None:
        if self.read_only or self.document is None or self.edge is None:
            return
        when = self.when.text().strip() or None
        if when is not None:
            from engine.errors import ExpressionError
            from engine.languages import expr

            try:
                expr.parse(when)
            except ExpressionError as exc:
                self.problems.setText(f"when (column {exc.offset + 1}): {exc.message}")
                return
        self.problems.clear()
        self.editor.set_condition(self.edge, when)

    def _commit_workflow(self) -> None:
        if self._loading or self.read_only or self.document is None:
            return
        wf = self.document.workflow
        max_parallel, error = _parse(self.w["max_parallel"].text(), "max parallel")
        if error or (max_parallel is not None and (not isinstance(max_parallel, int) or max_parallel < 1)):
            self.problems.setText(error or "max parallel must be a whole number, at least 1")
            return
        settings = Settings(
            max_parallel=max_parallel,
            executor=(wf.settings.executor if wf.settings.executor == "local" else None)  # as written
            if self.w["executor"].currentIndex() == 0
            else self.w["executor"].currentText(),
            image=self.w["image"].text().strip() or None,
            fail_fast=True
            if self.w["fail_fast"].currentText() == "true"
            else (False if wf.settings.fail_fast is False else None),
            cache=wf.settings.cache,  # not edited here: kept as written
        )
        values: dict[str, Any] = {}
        name = self.w["name"].text().strip() or wf.name
        description = self.w["description"].text().strip() or None
        if name != wf.name:
            values["name"] = name
        if description != wf.description:
            values["description"] = description
        if settings != wf.settings:
            values["settings"] = settings
        self.problems.clear()
        if values:
            self.editor.set_fields("Edit workflow settings", **values)


def _spec_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The NodeSpec fields of a node written as data (for resolving its ports)."""
    names = {f.name for f in dataclasses.fields(NodeSpec)} - {"loc", "trigger", "params_schema"}
    return {k: v for k, v in data.items() if k in names}
