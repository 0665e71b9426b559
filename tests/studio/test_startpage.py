"""First run: the start page, the window's name, version and icon, and Help ▸ Check setup."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtTest, QtWidgets

from engine import __version__, shipped
from tests.studio.conftest import make_window


def item_named(page: Any, name: str) -> Any:
    for i in range(page.examples.count()):
        item = page.examples.item(i)
        if item.text().split("\n")[0] == name:
            return item
    raise AssertionError(f"no example {name}")


def click(widget: Any, item: Any) -> None:
    rect = widget.visualItemRect(item)
    QtTest.QTest.mouseClick(widget.viewport(), QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, rect.center())


def test_the_start_page_lists_every_example_with_its_description_and_a_cached_picture(
    qtbot: Any, window: Any, home: Path
) -> None:
    page = window.show_start_page()
    assert window.pages.currentWidget() is page and not window.canvas.viewer.isVisible()
    names = [page.examples.item(i).text().split("\n")[0] for i in range(page.examples.count())]
    assert sorted(names) == sorted(p.name.removesuffix(".weft.yaml") for p in shipped.examples().glob("*.weft.yaml"))
    assert item_named(page, "word-count").text() == (
        "word-count\nCount the words of a text; report the most common ones if there are more than 10."
    )
    qtbot.waitUntil(page.pictures_done, timeout=30000)
    cached = sorted((home / "cache" / "start-page").glob("*.png"))
    assert any(p.name.startswith("word-count-") for p in cached), cached
    icon = item_named(page, "word-count").icon().pixmap(176, 104).toImage()
    assert icon.width() == 176  # the graph's picture, not the square placeholder
    before = {p: p.stat().st_mtime_ns for p in cached}
    again = make_window(qtbot, window.settings, home).show_start_page()
    qtbot.waitUntil(again.pictures_done, timeout=30000)
    assert {p: p.stat().st_mtime_ns for p in cached} == before  # read from the cache, not drawn again


def test_an_example_opens_from_a_copy_in_the_home_and_becomes_a_recent_file(
    qtbot: Any, window: Any, home: Path, settings: QtCore.QSettings
) -> None:
    page = window.show_start_page()
    click(page.examples, item_named(page, "word-count"))
    copy = home / "examples" / "word-count.weft.yaml"
    assert window.document.path == copy.resolve() or window.document.path == copy
    assert (home / "examples" / "ops" / "count.py").is_file() and (home / "examples" / "data" / "words.txt").is_file()
    assert window.pages.currentIndex() == 0 and window.canvas.viewer.isVisible()
    assert {n.id for n in window.document.nodes} >= {"read", "count", "report"}
    assert settings.value("recent") == [str(window.document.path)]

    # the next start: the recent file is on the page, and opens from there
    later = make_window(qtbot, settings, home)
    page = later.show_start_page()
    assert page.recent.count() == 1 and page.recent.item(0).data(QtCore.Qt.UserRole) == str(window.document.path)
    click(page.recent, page.recent.item(0))
    assert later.document.path == window.document.path and later.pages.currentIndex() == 0


def test_new_workflow_leaves_the_start_page_for_an_empty_canvas(qtbot: Any, window: Any) -> None:
    page = window.show_start_page()
    QtTest.QTest.mouseClick(page.findChild(QtWidgets.QPushButton, "start-new"), QtCore.Qt.LeftButton)
    assert window.pages.currentIndex() == 0 and not window.document.nodes and window.document.path is None


def test_the_window_carries_the_name_the_version_and_the_icon(window: Any, home: Path) -> None:
    from studio import help

    assert window.windowTitle().endswith(f"Weft Studio {__version__}")
    assert not window.windowIcon().isNull()
    out = subprocess.run([sys.executable, "-m", "engine.cli.main", "--version"], capture_output=True, text=True)
    assert out.stdout.strip() == f"weft {help.version()}" == f"weft {__version__}"
    box = help.show_about(window)
    assert f"Weft Studio {__version__}" in box.text() and not box.iconPixmap().isNull()
    box.close()


def test_help_check_setup_shows_the_lines_of_weft_doctor(qtbot: Any, window: Any, home: Path) -> None:
    window.actions.check_setup.trigger()
    dialog = window.findChild(QtCore.QObject, "setup-check")
    qtbot.waitUntil(lambda: bool(dialog.lines), timeout=30000)
    doctor = subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "--home", str(home), "doctor"], capture_output=True, text=True
    )
    assert dialog.lines == doctor.stdout.splitlines()
    assert dialog.text.toPlainText() == doctor.stdout.rstrip("\n")
    assert ("Everything Weft needs is here" in dialog.summary.text()) == (doctor.returncode == 0)
    dialog.close()


def test_an_example_the_user_changed_in_the_home_is_kept_when_opened_again(qtbot: Any, window: Any, home: Path) -> None:
    page = window.show_start_page()
    click(page.examples, item_named(page, "fan-out"))
    mine = home / "examples" / "fan-out.weft.yaml"
    mine.write_text(mine.read_text().replace("name: fan-out", "name: my-fan-out"))
    page = window.show_start_page()
    click(page.examples, item_named(page, "fan-out"))
    assert window.document.workflow.name == "my-fan-out"
    assert (shipped.examples() / "fan-out.weft.yaml").read_text().count("name: fan-out") == 1
