"""Acceptance: a real window (X11 under Xvfb) with a finished map run, saved as a PNG to look at.

The studio runs as its own process (``weft-studio --screenshot``), on the xcb platform, so this
also checks that the application starts and draws outside the offscreen test platform. The
picture is written to ``test-artifacts/`` at the top of the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.history.fold import snapshot
from engine.history.store import Store
from tests.conftest import EXAMPLES, ROOT

ARTIFACTS = ROOT / "test-artifacts"


def _free_display() -> int:
    for number in range(90, 140):
        if not Path(f"/tmp/.X{number}-lock").exists() and not Path(f"/tmp/.X11-unix/X{number}").exists():
            return number
    raise RuntimeError("no free X display number")


@pytest.fixture
def xvfb() -> Iterator[str]:
    if shutil.which("Xvfb") is None:
        if os.environ.get("WEFT_REQUIRE_XVFB") == "1":
            pytest.fail("Xvfb is required (WEFT_REQUIRE_XVFB=1) but not installed")
        pytest.skip("Xvfb is not installed (apt-get install xvfb); set WEFT_REQUIRE_XVFB=1 to fail instead")
    number = _free_display()
    proc = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    socket_path = Path(f"/tmp/.X11-unix/X{number}")
    deadline = time.monotonic() + 10
    while not socket_path.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if proc.poll() is not None or not socket_path.exists():
        proc.kill()
        pytest.fail(f"Xvfb did not start: {proc.stderr.read().decode(errors='replace') if proc.stderr else ''}")
    try:
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


def _created(home: Path) -> int:
    store = Store(home)
    try:
        view = snapshot(store, store.resolve_run("last"))
    finally:
        store.close()
    return sum(1 for n in view.nodes.values() if n.created_by is not None)


def test_screenshot_of_a_finished_map_run(xvfb: str, tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLES, examples)
    workflow = examples / "random-map.weft.yaml"
    if not workflow.exists():  # the map example arrived later than the studio
        workflow = examples / "fan-out.weft.yaml"
    home = tmp_path / "home"
    ARTIFACTS.mkdir(exist_ok=True)
    picture = ARTIFACTS / "studio-map-run.png"
    picture.unlink(missing_ok=True)
    env = {**os.environ, "DISPLAY": xvfb, "QT_QPA_PLATFORM": "xcb", "WEFT_HOME": str(home)}
    env.pop("WAYLAND_DISPLAY", None)
    for _attempt in range(6):  # the map has a random size: show one with at least one M
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "studio.app",
                "--settings",
                str(tmp_path / "studio.ini"),
                "--screenshot",
                str(picture),
                str(workflow),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            env=env,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr, proc.stderr
        if _created(home) > 0:
            break
    data = picture.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    from PySide6 import QtGui

    image = QtGui.QImage(str(picture))
    assert image.width() >= 800 and image.height() >= 500
    colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 29)}
    assert len(colours) > 20, "the picture is not blank"
    print(f"\nscreenshot of the studio: {picture}")


def _shoot(xvfb: str, tmp_path: Path, workflow: Path, picture: Path, theme: str) -> None:
    """A real studio window on X, themed, that runs ``workflow`` and saves itself as ``picture``."""
    settings = tmp_path / f"studio-{theme}.ini"
    settings.write_text(f"[preferences]\ntheme={theme}\n")
    env = {**os.environ, "DISPLAY": xvfb, "QT_QPA_PLATFORM": "xcb", "WEFT_HOME": str(tmp_path / "home")}
    env.pop("WAYLAND_DISPLAY", None)
    picture.unlink(missing_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "studio.app", "--settings", str(settings), "--screenshot", str(picture), str(workflow)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_screenshots_of_word_count_and_a_2000_node_run_in_both_themes(xvfb: str, tmp_path: Path, theme: str) -> None:
    from PySide6 import QtGui

    from tests.studio.test_bigrun import fanout

    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLES, examples)
    big = tmp_path / "big"
    big.mkdir()
    ARTIFACTS.mkdir(exist_ok=True)
    backgrounds = []
    for name, workflow in (("word-count", examples / "word-count.weft.yaml"), ("2000-nodes", fanout(big, 2000, 500))):
        picture = ARTIFACTS / f"studio-{name}-{theme}.png"
        _shoot(xvfb, tmp_path, workflow, picture, theme)
        image = QtGui.QImage(str(picture))
        assert image.width() >= 800 and image.height() >= 500
        colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 29)}
        assert len(colours) > 20, f"{picture} is blank"
        backgrounds.append(QtGui.QColor(image.pixel(image.width() // 2, 60)).lightness())
    if theme == "light":  # the panels follow the theme: the top of the window is light
        assert min(backgrounds) > 128, backgrounds
    else:
        assert max(backgrounds) < 128, backgrounds
