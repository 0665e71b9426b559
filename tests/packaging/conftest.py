"""Packaging fixtures: the wheel built from this checkout, installed into a fresh venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: a workflow whose node runs in the shipped library image ``weft:base``: built from the
#: installed files (its build context), with the task helper mounted from them
LIBRARY_IMAGE_WORKFLOW = """\
weft: 1
settings: {executor: docker}
nodes:
  - id: snippet
    operator: weft:python
    image: weft:base
    params: {code: "import weft_task as w, os; w.output('result', os.environ['LANG'])"}
"""
#: what never goes into a build: the checkout's environments, caches and earlier builds
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".*_cache", ".hypothesis"
)


def build_wheel(out: Path) -> Path:
    """The wheel of this checkout, built offline from a copy of its sources (the checkout gets
    no build/ or egg-info, and whatever lies in resources/ now is what ships)."""
    src = out / "src"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCES)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(out / "dist"), str(src)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (out / "dist").glob("weft-*.whl")
    return wheel


@dataclass
class Installed:
    """A venv outside the checkout with the wheel installed; the dependencies come from the
    test's own environment through a ``.pth`` line (no network), the checkout is not importable."""

    prefix: Path
    env: dict[str, str]
    cwd: Path

    def bin(self, name: str) -> Path:
        return self.prefix / "bin" / name

    def run(self, *args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in args], capture_output=True, text=True, timeout=timeout, cwd=self.cwd, env=self.env
        )

    def python(self, code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.run(self.bin("python"), "-c", code, timeout=timeout)


def install_wheel(wheel: Path, where: Path) -> Installed:
    prefix = where / "venv"
    venv.EnvBuilder(with_pip=False).create(prefix)
    py = prefix / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    # only now (pip must not see the test environment's editable weft): the dependencies
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "zz-test-dependencies.pth").write_text("".join(f"{d}\n" for d in sorted(deps)))
    cwd = where / "elsewhere"
    cwd.mkdir()
    home = where / "weft-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(WEFT_HOME=str(home), HOME=str(where), PATH=f"{prefix / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    return Installed(prefix, env, cwd)


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    where = tmp_path_factory.mktemp("wheel")
    return install_wheel(build_wheel(where), where)
