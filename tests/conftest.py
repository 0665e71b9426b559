"""Fixtures shared by every test package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "resources" / "examples"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh WEFT_HOME: its own database and workspaces."""
    path = tmp_path / "weft-home"
    path.mkdir()
    return path


@pytest.fixture
def weft(home: Path):
    """Run the real `weft` command line in a subprocess against the test's home."""

    def call(*args: str, timeout: float = 120, cwd: Path | None = None, **kwargs: Any) -> CliResult:
        env = dict(os.environ, WEFT_HOME=str(home))
        proc = subprocess.run([sys.executable, "-m", "engine.cli.main", *map(str, args)], capture_output=True,
                              text=True, timeout=timeout, cwd=cwd or home, env=env, **kwargs)
        assert "Traceback" not in proc.stderr, proc.stderr
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return call
