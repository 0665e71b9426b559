"""Engine test fixtures: run a workflow in-process against a real store."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.history.store import Store
from engine.running.run import Run
from engine.workflow.loader import load_file


@pytest.fixture
def store(home: Path):
    s = Store(home)
    yield s
    s.close()


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write a workflow (dedented YAML) and optional task scripts into a fresh folder."""

    def make(text: str, name: str = "wf.weft.yaml", **scripts: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        for script, body in scripts.items():
            (tmp_path / f"{script}.py").write_text(textwrap.dedent(body), encoding="utf-8")
        return path

    return make


@pytest.fixture
def run_file(store: Store) -> Callable[..., Run]:
    """Run a workflow file to its end in this process; returns the finished Run."""

    def go(path: Path, **kwargs: Any) -> Run:
        loaded = load_file(path)
        run = Run(loaded, store, text=path.read_text(), **kwargs)
        asyncio.run(run.execute())
        return run

    return go


def states(run: Run) -> dict[str, str]:
    return {node: state.value for node, state in run.node_state.items()}
