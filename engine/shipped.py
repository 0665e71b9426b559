"""Where the files Weft ships live: the operator library, the examples, the JSON Schema, the
icons (the folder ``resources/`` of the source tree, installed as the package
``weft_resources``), and the one-file task helper.

Everything is found through :mod:`importlib.resources`, so the same code works from a source
checkout (``pip install -e .``: the package maps to ``resources/`` itself), from an installed
wheel, and from a desktop bundle. Callers get real folders on disk: a Docker build context,
a bind mount and a task's ``PYTHONPATH`` need them. When the package is not on disk (a zip
import), its files are extracted once per process and removed at exit.
"""

from __future__ import annotations

import atexit
import contextlib
from functools import cache
from importlib import resources
from pathlib import Path

PACKAGE = "weft_resources"
_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


@cache
def _on_disk(package: str) -> Path:
    root = resources.files(package)
    if isinstance(root, Path):
        return root
    return _extracted.enter_context(resources.as_file(root))  # pragma: no cover - zip imports only


def root() -> Path:
    """The folder holding ``operators/``, ``examples/``, ``schema/`` and ``icons/``."""
    return _on_disk(PACKAGE)


def operators() -> Path:
    """The operator library Weft ships (the library ``weft:`` and the studio's built-in palette)."""
    return root() / "operators"


def examples() -> Path:
    return root() / "examples"


def schema() -> Path:
    """The JSON Schema of a workflow file."""
    return root() / "schema" / "weft.schema.json"


def icons() -> Path:
    return root() / "icons"


def docs() -> Path:
    """The guides (``docs/`` of the source tree, installed as the package ``weft_docs``)."""
    return _on_disk("weft_docs")


def task_helper() -> Path:
    """The folder holding ``weft_task.py``, put on every task's ``PYTHONPATH``."""
    return _on_disk("engine") / "taskhelper"
