"""The wheel carries what a person needs: built from this checkout, installed into a fresh
venv outside it, it runs the shipped examples, builds a shipped library image for Docker,
and the studio's palette lists the shipped operators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine import __version__
from tests.packaging.conftest import LIBRARY_IMAGE_WORKFLOW, ROOT, Installed

pytestmark = pytest.mark.slow


def test_the_installed_wheel_imports_nothing_from_the_checkout(installed_wheel: Installed) -> None:
    done = installed_wheel.python(
        "import engine, studio, weft_resources, json; from engine import shipped;"
        "print(json.dumps([engine.__file__, studio.__file__, str(shipped.root()), str(shipped.task_helper())]))"
    )
    assert done.returncode == 0, done.stderr
    for path in json.loads(done.stdout):
        assert Path(path).is_relative_to(installed_wheel.prefix), path
        assert not Path(path).is_relative_to(ROOT), path


def test_the_wheel_ships_every_file_under_resources(installed_wheel: Installed) -> None:
    done = installed_wheel.python("from engine import shipped; print(shipped.root())")
    shipped = Path(done.stdout.strip())
    wanted = {
        p.relative_to(ROOT / "resources")
        for p in (ROOT / "resources").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    have = {p.relative_to(shipped) for p in shipped.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert wanted <= have, sorted(wanted - have)
    assert (shipped / "schema" / "weft.schema.json").is_file() and (shipped / "icons" / "weft.svg").is_file()
    assert (installed_wheel.prefix / "bin" / "weft-studio").is_file()


def test_version_agrees_with_the_package_metadata(installed_wheel: Installed) -> None:
    done = installed_wheel.run("weft", "--version")
    assert done.stdout.strip() == f"weft {__version__}", done
    meta = installed_wheel.python("from importlib import metadata; print(metadata.version('weft'))")
    assert meta.stdout.strip() == __version__


def test_an_installed_example_runs(installed_wheel: Installed) -> None:
    where = installed_wheel.python("from engine import shipped; print(shipped.examples())").stdout.strip()
    example = Path(where) / "word-count.weft.yaml"
    done = installed_wheel.run("weft", "run", example, "--json", timeout=180)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "succeeded"
    shown = installed_wheel.run("weft", "show", "last")
    assert "report" in shown.stdout


@pytest.mark.docker
def test_a_shipped_library_image_builds_from_the_installed_wheel(
    installed_wheel: Installed, docker_image: str, docker_client: Any
) -> None:
    """The image's build context and the task helper's bind mount are folders of the install."""
    (installed_wheel.cwd / "image.weft.yaml").write_text(LIBRARY_IMAGE_WORKFLOW)
    installed_wheel.env["WEFT_DOCKER_IMAGE"] = docker_image
    done = installed_wheel.run("weft", "run", "image.weft.yaml", "--json", timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "succeeded"
    assert "C.UTF-8" in installed_wheel.run("weft", "show", "last").stdout


PALETTE = """
import os, sys, json
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from pathlib import Path
from PySide6 import QtCore, QtWidgets
app = QtWidgets.QApplication([])
from studio.mainwindow import MainWindow
home = Path(os.environ["WEFT_HOME"])
window = MainWindow(QtCore.QSettings(str(home / "studio.ini"), QtCore.QSettings.IniFormat), home, home / "operators")
window.show()
app.processEvents()
from engine import shipped
text = shipped.operators() / "text.weft.yaml"
print(json.dumps([name for name in ("read", "lines", "join") if window.palette.find(name, text) is not None]))
from studio.help import GUIDES
print(json.dumps([text for text, path in GUIDES]))
window.undo_stack.setClean()
window.close()
"""


def test_the_installed_studio_palette_offers_the_shipped_operators(installed_wheel: Installed) -> None:
    done = installed_wheel.python(PALETTE, timeout=120)
    assert done.returncode == 0, done.stderr
    names, guides = (json.loads(line) for line in done.stdout.strip().splitlines()[-2:])
    assert names == ["read", "lines", "join"], names
    assert guides == [
        "&Studio Guide",
        "&Workflow Text",
        "&Promises",
        "&Import from Argo and Elyra",
        "Export to &Argo",
    ], guides  # Help opens them installed
