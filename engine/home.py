"""Where Weft keeps what it keeps for a person: the run database, runs' workspaces, libraries."""

from __future__ import annotations

import os
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
