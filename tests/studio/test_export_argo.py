"""File ▸ Export ▸ Argo Workflow… writes what `weft export --to argo` writes; a workflow Argo
cannot run is refused with the located reason before any file is asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from PySide6 import QtWidgets

from tests.engine.argo.pods import schema_errors


def argo_action(window: Any) -> Any:
    file_menu = window.menuBar().actions()[0].menu()
    export_menu = next(a.menu() for a in file_menu.actions() if a.menu() and a.text().replace("&", "") == "Export")
    return next(a for a in export_menu.actions() if a.text().replace("&", "") == "Argo Workflow…")


def test_export_argo_from_the_file_menu_writes_a_workflow_argo_accepts(
    qtbot: Any, window: Any, examples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert window.open(examples / "word-count.weft.yaml")
    target = tmp_path / "out" / "word-count.argo.yaml"
    target.parent.mkdir()
    asked: list[str] = []

    def save_as(parent: Any, title: str, suggested: str, name_filter: str) -> tuple[str, str]:
        asked.append(suggested)
        return str(target), name_filter

    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", staticmethod(save_as))
    argo_action(window).trigger()
    assert asked == [str(examples / "word-count.argo.yaml")]
    document = yaml.safe_load(target.read_text("utf-8"))
    assert schema_errors(document) == []
    assert [t["name"] for t in document["spec"]["templates"][0]["dag"]["tasks"]] == [
        "read",
        "count",
        "report",
        "too-short",
    ]


def test_export_argo_refuses_a_dynamic_workflow_with_the_reason(
    qtbot: Any, window: Any, examples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert window.open(examples / "fan-out.weft.yaml")
    warnings: list[str] = []
    monkeypatch.setattr(
        QtWidgets.QMessageBox, "warning", staticmethod(lambda parent, title, text: warnings.append(text))
    )
    argo_action(window).trigger()  # no file is asked for (the fixture fails any file dialog)
    assert len(warnings) == 1
    assert f"{examples / 'fan-out.weft.yaml'}:15:5: error: node 'plan' is dynamic" in warnings[0]
