"""File ▸ Import…: an Argo Workflow or an Elyra pipeline opens as a new, unsaved document."""

from __future__ import annotations

from typing import Any

from PySide6 import QtWidgets

from tests.engine.test_import import ARGO, ELYRA


def _file_action(window: Any, text: str) -> Any:
    [menu] = [a.menu() for a in window.menuBar().actions() if a.text() == "&File"]
    [action] = [a for a in menu.actions() if a.text() == text]
    return action


def test_file_import_opens_an_elyra_pipeline_where_elyra_drew_it(window, qtbot, monkeypatch):
    source = ELYRA / "generic_basic_pipeline_with_scripts.pipeline"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(source), ""))
    _file_action(window, "&Import…").trigger()
    doc = window.document
    assert [n.id for n in doc.nodes] == ["notebookA", "notebookB", "notebookC", "untitled1"]
    assert doc.path is None and not window.undo_stack.isClean()  # unsaved: closing asks
    assert window.import_target == source.parent / "generic_basic_pipeline_with_scripts.weft.yaml"
    assert "unsaved" in window.windowTitle()
    assert tuple(window.canvas.item("notebookA").xy_pos) == (182.0, 141.0)
    assert tuple(window.canvas.item("untitled1").xy_pos) == (680.0, 150.0)


def test_an_argo_workflow_is_laid_out_by_the_studio(window, qtbot):
    assert window.import_file(ARGO / "dag-diamond.yaml")
    assert {e.source + ">" + e.target for e in window.document.edges} == {"A>B", "A>C", "B>D", "C>D"}
    places = {tuple(window.canvas.item(n).xy_pos) for n in "ABCD"}
    assert len(places) == 4  # laid out, not stacked on one point


def test_a_refused_import_lists_its_problems_and_keeps_the_document(window, qtbot):
    assert window.import_file(ARGO / "dag-diamond.yaml")
    before = window.document
    window.undo_stack.setClean()
    assert not window.import_file(ARGO / "coinflip-recursive.yaml")
    assert window.document is before
    [message] = window.problems.messages()
    assert message.startswith(f"{ARGO / 'coinflip-recursive.yaml'}:21:19: recursion")


def test_a_weft_export_imported_and_saved_gets_the_scripts_it_carries(window, qtbot, monkeypatch, tmp_path):
    """Weft's own Argo export carries the scripts its commands name: the studio's first save of
    the imported workflow writes them beside it (as `weft import -o` does), so it runs there."""
    from engine.argo.export import export, to_yaml
    from engine.workflow.loader import load_file
    from tests.conftest import EXAMPLES

    exported = tmp_path / "wc.argo.yaml"
    exported.write_text(to_yaml(export(load_file(EXAMPLES / "word-count.weft.yaml"))))
    assert window.import_file(exported)
    target = tmp_path / "elsewhere" / "wc.weft.yaml"
    target.parent.mkdir()
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert window.save_as()
    assert (target.parent / "ops" / "read.py").read_text() == (EXAMPLES / "ops" / "read.py").read_text()
    assert [n.id for n in load_file(target).workflow.nodes] == ["read", "count", "report", "too-short"]
    assert window.import_files == {}  # written once; the next save writes the workflow only
