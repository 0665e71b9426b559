"""The properties form for declared params: an editor per type, defaults shown, undoable edits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6 import QtWidgets

from studio.model.library import BUILTIN_FOLDER
from studio.paramform import _JsonEdit
from tests.studio.conftest import WORKFLOWS, drop_operator

TEXT = BUILTIN_FOLDER / "text.weft.yaml"
BASIC = BUILTIN_FOLDER / "basic.weft.yaml"


def editor(window: Any, name: str) -> Any:
    return window.properties.param_form.rows[name].editor


def kind_of(widget: QtWidgets.QWidget) -> type:
    kinds = (QtWidgets.QCheckBox, QtWidgets.QSpinBox, QtWidgets.QDoubleSpinBox, QtWidgets.QComboBox)
    return next(k for k in (*kinds, QtWidgets.QLineEdit, _JsonEdit) if isinstance(widget, k))


def reset(window: Any, name: str) -> QtWidgets.QToolButton:
    return window.properties.param_form.rows[name].reset


def test_library_operators_get_an_editor_for_each_declared_type(qtbot: Any, window: Any) -> None:
    for operator, library, pos in (
        ("read", TEXT, (0, 0)),
        ("count", TEXT, (320, 0)),
        ("constant", BASIC, (0, 220)),
        ("sleep", BASIC, (320, 220)),
        ("show", BASIC, (640, 220)),
    ):
        drop_operator(window, operator, library, pos)
    props = window.properties
    kinds = {}
    for node in ("read", "count", "constant", "sleep"):
        window.canvas.select([node])
        assert not props.param_box.isHidden(), node
        kinds.update({f"{node}.{n}": kind_of(r.editor) for n, r in props.param_form.rows.items()})
    assert kinds == {
        "read.path": QtWidgets.QLineEdit,
        "count.case": QtWidgets.QComboBox,
        "count.min_length": QtWidgets.QSpinBox,
        "count.strip_punctuation": QtWidgets.QCheckBox,
        "constant.value": _JsonEdit,
        "sleep.seconds": QtWidgets.QDoubleSpinBox,
    }
    window.canvas.select(["count"])  # defaults are shown, marked, and the help is the tooltip
    assert editor(window, "case").currentText() == "lower"
    assert editor(window, "min_length").value() == 1 and editor(window, "min_length").minimum() == 1
    assert editor(window, "min_length").maximum() == 100
    assert reset(window, "case").text() == "default" and not reset(window, "case").isEnabled()
    assert "Shorter words are not counted" in editor(window, "min_length").toolTip()
    assert "Default: 1" in editor(window, "min_length").toolTip()
    window.canvas.select(["read"])
    assert editor(window, "path").text() == "" and editor(window, "path").placeholderText() == "data/words.txt"
    assert props.param_form.findChild(QtWidgets.QToolButton, "pick-path") is not None
    window.canvas.select(["show"])  # declares none: an empty form, and the raw line for extras
    assert not props.param_box.isHidden() and props.param_form.rows == {}
    assert props._node_layout.labelForField(props.f["params"]).text() == "other params"


def test_editing_the_form_sets_the_nodes_params_and_undo_restores_them(qtbot: Any, window: Any) -> None:
    drop_operator(window, "count", TEXT, (0, 0))
    doc = window.document
    window.canvas.select(["count"])
    assert doc.node("count").params is None
    editor(window, "min_length").setValue(3)  # the spin box commits on a new value
    assert doc.node("count").params == {"min_length": 3}
    assert reset(window, "min_length").text() == "↺" and reset(window, "min_length").isEnabled()
    combo = editor(window, "case")
    combo.setCurrentIndex(combo.findText("keep"))
    combo.activated.emit(combo.currentIndex())
    editor(window, "strip_punctuation").setChecked(True)
    assert doc.node("count").params == {"min_length": 3, "case": "keep", "strip_punctuation": True}
    window.undo_stack.undo()
    assert doc.node("count").params == {"min_length": 3, "case": "keep"}
    assert not editor(window, "strip_punctuation").isChecked()
    assert reset(window, "strip_punctuation").text() == "default"
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert doc.node("count").params is None
    assert editor(window, "min_length").value() == 1  # the default again
    window.undo_stack.redo()
    assert doc.node("count").params == {"min_length": 3}
    reset(window, "min_length").click()  # clearing returns to the default
    assert doc.node("count").params is None
    assert reset(window, "min_length").text() == "default"


def test_every_kind_with_files_json_extras_and_refusals(qtbot: Any, window: Any, monkeypatch: Any) -> None:
    assert window.open(WORKFLOWS / "params.weft.yaml")
    doc = window.document
    props = window.properties
    window.canvas.select(["render"])
    form = props.param_form
    assert list(form.rows) == ["template", "title", "pages", "scale", "format", "draft", "options", "author"]
    assert editor(window, "pages").value() == 7 and editor(window, "author").text() == "Ada"
    assert props.f["params"].text() == "{note: kept as it is}"  # only what is not declared
    assert editor(window, "title").placeholderText() == "Report"
    assert editor(window, "options").placeholderText() == '{"toc": true}'
    # a file chosen in the picker is stored relative to the workflow's folder
    chosen = str(WORKFLOWS / "params-data" / "in.txt")
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (chosen, "")))
    form.findChild(QtWidgets.QToolButton, "pick-template").click()
    assert doc.node("render").params["template"] == "params-data/in.txt"
    # ... and one outside it is refused, with the reason, and nothing changes
    steps = window.undo_stack.count()
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: ("/etc/passwd", "")))
    form.findChild(QtWidgets.QToolButton, "pick-template").click()
    assert "leaves the workflow's folder" in props.problems.text()
    assert window.undo_stack.count() == steps and doc.node("render").params["template"] == "params-data/in.txt"
    editor(window, "template").setText("params-data/in.txt")
    # JSON: bad text is refused with its place, good text is stored as a value
    options = editor(window, "options")
    options.setPlainText('{"toc": false, "depth":')
    options.editingFinished.emit()
    assert "param 'options': not valid JSON (line 1" in props.problems.text()
    options.setPlainText('{"toc": false, "depth": 2}')
    options.editingFinished.emit()
    assert doc.node("render").params["options"] == {"toc": False, "depth": 2}
    # a float, the extras line, and a required param cleared
    editor(window, "scale").setValue(2.25)
    props.f["params"].setText("{note: changed, more: 1}")
    props.f["params"].editingFinished.emit()
    params = doc.node("render").params
    assert params["scale"] == 2.25 and params["note"] == "changed" and params["more"] == 1
    assert params["author"] == "Ada" and params["pages"] == 7
    author = editor(window, "author")
    author.setText("")
    author.editingFinished.emit()
    assert "param 'author' is required" in props.problems.text()
    assert doc.node("render").params["author"] == "Ada"


def test_inspector_screenshot_with_every_kind(qtbot: Any, window: Any) -> None:
    window.resize(1400, 900)
    assert window.open(WORKFLOWS / "params.weft.yaml")
    window.canvas.select(["render"])
    editor(window, "format").setCurrentIndex(1)
    editor(window, "format").activated.emit(1)
    qtbot.wait(50)
    out = Path("test-artifacts")
    out.mkdir(exist_ok=True)
    window.grab().save(str(out / "params-inspector-window.png"))
    window.docks["inspector"].grab().save(str(out / "params-inspector.png"))
    assert window.document.node("render").params["format"] == "pdf"
    assert (out / "params-inspector.png").stat().st_size > 10_000


def test_a_locked_window_shows_the_form_read_only(qtbot: Any, window: Any) -> None:
    assert window.open(WORKFLOWS / "params.weft.yaml")
    props = window.properties
    props.locked = True
    window.canvas.select(["render"])
    props.refresh()
    assert all(not row.editor.isEnabled() for row in props.param_form.rows.values())
    assert not reset(window, "pages").isEnabled()
