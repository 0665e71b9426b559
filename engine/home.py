"""Where Weft keeps what it keeps for a person: the run database, runs' workspaces, libraries."""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path


def default_home() -> Path:
    """$WEFT_HOME, else the platform's per-user data folder (where the CLI and the studio keep runs)."""
    if os.environ.get("WEFT_HOME"):
        return Path(os.environ["WEFT_HOME"]).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "weft"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "weft"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "weft"


def remove_inside(path: Path, home: Path) -> bool:
    """Remove the folder ``path`` (a run's workspace) if it lies inside ``home``; whether
    anything was removed. Never follows a link out of the home: a folder on the way that is a
    link leading elsewhere leaves ``path`` alone, ``path`` itself being a link is unlinked (not
    its target), and ``shutil.rmtree`` removes links met inside without following them. A
    folder a task left without write or search permission is opened for its owner first.
    Raises ``OSError`` if what lies there cannot be removed."""
    if path.name in ("", ".", ".."):
        return False
    root = home.resolve()
    parent = path.parent.resolve()
    if parent != root and root not in parent.parents:
        return False
    target = parent / path.name
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        target.unlink()
        return True
    if not target.is_dir():
        return False
    try:
        shutil.rmtree(target)
    except OSError:
        _open_folders(target)
        shutil.rmtree(target)
    return True


def _open_folders(top: Path) -> None:
    """Give the owner read, write and search permission on every folder under ``top`` (top
    first, so a closed folder can be entered), never through a link."""
    folders = [str(top)]
    while folders:
        folder = folders.pop()
        if os.path.islink(folder):
            continue
        try:
            os.chmod(folder, stat.S_IMODE(os.lstat(folder).st_mode) | stat.S_IRWXU)
            with os.scandir(folder) as entries:
                folders.extend(e.path for e in entries if e.is_dir(follow_symlinks=False))
        except OSError:
            continue
