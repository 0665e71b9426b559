#!/usr/bin/env python3
"""Build Weft's desktop bundle with PyInstaller, then check it.

    pip install -e '.[packaging]'
    python packaging/build_bundle.py            # -> dist/weft/ and dist/weft-VERSION-PLATFORM.tar.gz

The bundle is one folder with the executables `weft-studio` and `weft`, their own Python
runtime and Qt, the files Weft ships (operators, examples, schema, icons), the app icon as
SVG and PNG (16-512 px, drawn here from resources/icons/weft.svg with Qt's SVG renderer),
a .desktop entry and `install-desktop-entry.sh` (Linux: adds the entry and icons for the
current user). The checks at the end run the bundled `weft` with an environment that has no
Python on PATH and no PYTHONPATH, from outside the checkout; the build fails if one fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "resources" / "icons" / "weft.svg"  # shipped as icons/weft.svg
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
EXE = ".exe" if sys.platform == "win32" else ""

DESKTOP = """\
[Desktop Entry]
Type=Application
Name=Weft Studio
GenericName=Workflow Editor
Comment=Design workflows whose shape may grow while they run, and watch them run
Exec={exec} %f
Icon=weft-studio
Terminal=false
Categories=Development;IDE;
MimeType=application/x-weft-workflow;
StartupWMClass=weft-studio
Version=1.5
"""

INSTALL = """\
#!/bin/sh
# Adds Weft Studio to this user's application menu: its .desktop entry and its icons.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$data/applications"
sed "s|^Exec=.*|Exec=\\"$here/weft-studio\\" %f|" "$here/share/applications/weft-studio.desktop" \\
  > "$data/applications/weft-studio.desktop"
cp -R "$here/share/icons" "$data/"
echo "Weft Studio added to the application menu ($data/applications/weft-studio.desktop)"
"""


#: a workflow the bundle's own operator library must make valid
LIBRARY_CHECK = """\
weft: 1
nodes:
  - {id: read, operator: "weft:read", params: {path: data.txt}}
  - {id: lines, operator: "weft:lines"}
edges:
  - {from: read.text, to: lines.text}
"""


def version() -> str:
    sys.path.insert(0, str(ROOT))
    from engine import __version__

    return __version__


def draw_icons(out: Path) -> dict[int, Path]:
    """PNGs of the SVG icon at every size, drawn by Qt (no other image tool needed)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore, QtGui, QtSvg

    app = QtGui.QGuiApplication.instance() or QtGui.QGuiApplication([])
    renderer = QtSvg.QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"build_bundle: {SVG} is not a valid SVG")
    out.mkdir(parents=True, exist_ok=True)
    drawn = {}
    for size in SIZES:
        image = QtGui.QImage(size, size, QtGui.QImage.Format_ARGB32_Premultiplied)
        image.fill(QtCore.Qt.transparent)
        painter = QtGui.QPainter(image)
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        renderer.render(painter)
        painter.end()
        drawn[size] = out / f"weft-studio-{size}.png"
        if not image.save(str(drawn[size]), "PNG"):
            raise SystemExit(f"build_bundle: cannot write {drawn[size]}")
    del app
    return drawn


def pyinstaller(work: Path, dist: Path, icon: Path) -> Path:
    env = dict(os.environ, WEFT_BUNDLE_ICON=str(icon))
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
    cmd += ["--workpath", str(work), "--distpath", str(dist), str(ROOT / "packaging" / "weft.spec")]
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)
    return dist / "weft"


def add_desktop_files(bundle: Path, icons: dict[int, Path]) -> None:
    share = bundle / "share"
    for size, png in icons.items():
        target = share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "weft-studio.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(png, target)
    scalable = share / "icons" / "hicolor" / "scalable" / "apps" / "weft-studio.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(SVG, scalable)
    shutil.copy2(SVG, bundle / "weft-studio.svg")
    shutil.copy2(icons[256], bundle / "weft-studio.png")
    (share / "applications").mkdir(parents=True, exist_ok=True)
    (share / "applications" / "weft-studio.desktop").write_text(DESKTOP.format(exec="weft-studio"))
    script = bundle / "install-desktop-entry.sh"
    script.write_text(INSTALL)
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def no_python_env(home: Path) -> dict[str, str]:
    """An environment as on a machine without Python: no python on PATH, no PYTHON* variables."""
    keep = ("HOME", "LANG", "LC_ALL", "DISPLAY", "XAUTHORITY", "DOCKER_HOST", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["PATH"] = str(home / "bin")  # empty: no interpreter to find
    env["WEFT_HOME"] = str(home / "weft-home")
    return env


def check(bundle: Path, want_version: str, scratch: Path) -> list[str]:
    """What is wrong with the bundle, one line each (nothing: it is good)."""
    problems: list[str] = []
    for name in ("weft", "weft-studio"):
        exe = bundle / f"{name}{EXE}"
        if not exe.is_file() or not os.access(exe, os.X_OK):
            problems.append(f"{exe} is missing or not executable")
    if sys.platform.startswith("linux"):
        for size in SIZES:
            png = bundle / "share" / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "weft-studio.png"
            if not png.is_file() or _png_size(png) != (size, size):
                problems.append(f"{png}: not a {size}x{size} PNG")
        desktop = bundle / "share" / "applications" / "weft-studio.desktop"
        if "Icon=weft-studio" not in desktop.read_text():
            problems.append(f"{desktop} names no icon")
        if shutil.which("desktop-file-validate"):
            done = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
            if done.returncode:
                problems.append(f"{desktop}: {done.stdout.strip() or done.stderr.strip()}")
    if problems:
        return problems
    (scratch / "bin").mkdir(parents=True, exist_ok=True)
    env = no_python_env(scratch)
    weft = str(bundle / f"weft{EXE}")

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*args], capture_output=True, text=True, env=env, cwd=scratch, timeout=timeout)

    done = run(weft, "--version")
    if done.stdout.strip() != f"weft {want_version}":
        problems.append(
            f"`weft --version` says {done.stdout.strip() or done.stderr.strip()!r}, not weft {want_version}"
        )
    where = run(weft, "-c", "from engine import shipped; import engine; print(shipped.root()); print(engine.__file__)")
    lines = where.stdout.split()
    if (
        where.returncode
        or len(lines) != 2
        or not all(Path(p).resolve().is_relative_to(bundle.resolve()) for p in lines)
    ):
        problems.append(
            f"the bundle reads its files from outside itself: {where.stdout.strip()} {where.stderr.strip()}"
        )
    shipped = Path(lines[0]) if lines else bundle / "missing"
    for part in (
        "operators/basic.weft.yaml",
        "examples/word-count.weft.yaml",
        "schema/weft.schema.json",
        "icons/weft.svg",
    ):
        if not (shipped / part).is_file():
            problems.append(f"the bundle has no {part}")
    done = run(weft, "validate", str(shipped / "examples" / "word-count.weft.yaml"))
    if done.returncode:
        problems.append(f"`weft validate` of a bundled example failed: {done.stderr.strip()}")
    (scratch / "library.weft.yaml").write_text(LIBRARY_CHECK)
    done = run(weft, "validate", str(scratch / "library.weft.yaml"))
    if done.returncode:
        problems.append(f"a workflow using the shipped library does not validate: {done.stderr.strip()}")
    done = run(str(bundle / f"weft-studio{EXE}"), "--help")
    if done.returncode or "weft-studio" not in done.stdout:
        problems.append(f"`weft-studio --help` failed: {done.stderr.strip()}")
    return problems


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def archive(bundle: Path, out: Path, want_version: str) -> Path:
    machine = platform.machine().lower() or "unknown"
    target = out / f"weft-{want_version}-{sys.platform}-{machine}.tar.gz"
    with tarfile.open(target, "w:gz") as tar:
        tar.add(bundle, arcname=f"weft-{want_version}")
    return target


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="where the bundle goes (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bundle", help="PyInstaller's work folder")
    parser.add_argument("--no-archive", action="store_true", help="leave the folder, make no .tar.gz")
    parser.add_argument("--check-only", action="store_true", help="check an existing OUT/weft, build nothing")
    args = parser.parse_args(argv)
    want = version()
    out, work = args.out.resolve(), args.work.resolve()
    bundle = out / "weft"
    started = time.monotonic()
    if not args.check_only:
        icons = draw_icons(work / "icons")
        bundle = pyinstaller(work / "pyinstaller", out, icons[256])
        add_desktop_files(bundle, icons)
    scratch = work / "check"
    shutil.rmtree(scratch, ignore_errors=True)
    problems = check(bundle, want, scratch)
    for problem in problems:
        print(f"build_bundle: check failed: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"bundle: {bundle} ({folder_size(bundle) / 2**20:.0f} MiB), checked")
    if not args.no_archive and not args.check_only:
        tar = archive(bundle, out, want)
        print(f"archive: {tar} ({tar.stat().st_size / 2**20:.0f} MiB)")
    print(f"took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
