"""The engine never imports Qt, NodeGraphQt or the studio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

BLOCKER = r"""
import importlib.abc, pkgutil, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"PySide6", "PyQt5", "PyQt6", "NodeGraphQt", "Qt", "shiboken6", "studio"}:
            raise ImportError(f"{name} is not installed here")
        return None

sys.meta_path.insert(0, Refuse())
import engine
for module in pkgutil.walk_packages(engine.__path__, "engine."):
    __import__(module.name)
print("imported", sorted(m for m in sys.modules if m.startswith("engine")).__len__())
"""


def test_every_engine_module_imports_without_qt():
    proc = subprocess.run([sys.executable, "-c", BLOCKER], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[1]) > 15


def test_weft_cli_runs_without_qt(tmp_path):
    code = BLOCKER.replace(
        'print("imported"',
        'from engine.cli.main import main; sys.exit(main(["validate", '
        f'r"{ROOT / "resources/examples/word-count.weft.yaml"}"])) or print("imported"',
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout


def test_import_linter_contract_holds():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml")], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # layers, the export to Argo reading workflows only, the engine and the studio models Qt-free, the fence, no cycles
    assert "6 kept, 0 broken" in proc.stdout
