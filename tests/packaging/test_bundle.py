"""The desktop bundle: built by packaging/build_bundle.py (which checks its own output), it
starts under Xvfb with an example and runs it (the run's host process is the bundle itself),
and its `weft` runs workflows locally and in Docker; no Python from this environment is on
PATH or PYTHONPATH for any of it. Also measures the cold start to a drawn window against
`weft-studio` from this venv (printed; see packaging/README.md)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.history.fold import snapshot
from engine.history.store import Store
from tests.conftest import EXAMPLES, ROOT
from tests.packaging.conftest import LIBRARY_IMAGE_WORKFLOW
from tests.studio.test_screenshot import ARTIFACTS, xvfb  # noqa: F401 - the fixture, shared

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle, built once per test session (about two minutes on two cores)."""
    if importlib.util.find_spec("PyInstaller") is None:
        if os.environ.get("WEFT_REQUIRE_BUNDLE") == "1":
            pytest.fail("PyInstaller is not installed (pip install -e '.[packaging]'), and WEFT_REQUIRE_BUNDLE=1")
        pytest.skip("PyInstaller is not installed (pip install -e '.[packaging]'); WEFT_REQUIRE_BUNDLE=1 fails instead")
    where = tmp_path_factory.mktemp("bundle")
    done = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "build_bundle.py"), "--out", str(where / "dist"),
         "--work", str(where / "build"), "--no-archive"],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "checked" in done.stdout
    print(f"\n{done.stdout.strip()}")
    return where / "dist" / "weft"


def no_python_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This environment without its Python: no venv on PATH, no PYTHON* variables."""
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    env["WEFT_HOME"] = str(tmp_path / "home")
    env.pop("WAYLAND_DISPLAY", None)
    env.update(extra)
    return env


def last_run(home: Path) -> Any:
    store = Store(home)
    try:
        return snapshot(store, store.resolve_run("last"))
    finally:
        store.close()


def test_the_bundled_studio_opens_an_example_runs_it_and_draws_it(bundle: Path, xvfb: str, tmp_path: Path) -> None:  # noqa: F811
    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLES, examples)
    ARTIFACTS.mkdir(exist_ok=True)
    picture = ARTIFACTS / "bundle-word-count.png"
    picture.unlink(missing_ok=True)
    env = no_python_env(tmp_path, DISPLAY=xvfb, QT_QPA_PLATFORM="xcb")
    done = subprocess.run(
        [str(bundle / "weft-studio"), "--settings", str(tmp_path / "studio.ini"), "--screenshot", str(picture),
         str(examples / "word-count.weft.yaml")],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert last_run(tmp_path / "home").state.value == "succeeded"
    from PySide6 import QtGui

    image = QtGui.QImage(str(picture))
    assert image.width() >= 800 and image.height() >= 500
    colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 29)}
    assert len(colours) > 20, "the picture is not blank"
    print(f"\nscreenshot of the bundled studio: {picture}")


def test_the_bundled_weft_runs_a_workflow_locally_and_in_docker(
    bundle: Path, tmp_path: Path, docker_image: str, docker_client: Any
) -> None:
    env = no_python_env(tmp_path, WEFT_DOCKER_IMAGE=docker_image)
    weft = str(bundle / "weft")
    assert subprocess.run([weft, "--version"], capture_output=True, text=True, env=env).stdout.startswith("weft ")
    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLES, examples)
    done = subprocess.run(
        [weft, "run", str(examples / "word-count.weft.yaml"), "--json"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "succeeded"

    # a shipped library image built from the bundle's files, the task helper mounted from it
    (tmp_path / "image.weft.yaml").write_text(LIBRARY_IMAGE_WORKFLOW)
    done = subprocess.run(
        [weft, "run", "image.weft.yaml", "--json"], capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "succeeded"
    doctor = subprocess.run([weft, "doctor"], capture_output=True, text=True, env=env, timeout=60)
    assert doctor.stdout.splitlines()[0].startswith("ok       Docker: engine "), doctor.stdout


def test_cold_start_to_a_drawn_window_bundle_and_venv(bundle: Path, xvfb: str, tmp_path: Path) -> None:  # noqa: F811
    """Seconds from process start to the first painted frame of the start page (best of 3)."""
    env = no_python_env(tmp_path, DISPLAY=xvfb, QT_QPA_PLATFORM="xcb")
    venv_env = dict(os.environ, DISPLAY=xvfb, QT_QPA_PLATFORM="xcb", WEFT_HOME=str(tmp_path / "home"))
    venv_studio = shutil.which("weft-studio", path=str(Path(sys.executable).parent)) or "weft-studio"
    times: dict[str, list[float]] = {"bundle": [], "venv": []}
    for _ in range(3):
        for name, exe, environment in (
            ("bundle", str(bundle / "weft-studio"), env),
            ("venv", venv_studio, venv_env),
        ):
            done = subprocess.run(
                [exe, "--settings", str(tmp_path / f"{name}.ini"), "--exit-when-drawn"],
                capture_output=True, text=True, timeout=120, env=environment, cwd=tmp_path,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            (line,) = [x for x in done.stdout.splitlines() if x.startswith("drawn ")]
            times[name].append(float(line.split()[1]))
    best = {name: min(values) for name, values in times.items()}
    print(f"\ncold start to a drawn window, best of 3: bundle {best['bundle']:.2f} s, venv {best['venv']:.2f} s")
    assert best["bundle"] < 30 and best["venv"] < 30
