"""Operator libraries the palette offers: the built-in one, the user's folder, the open workflow.

A library is an ordinary operator library file (``weft``, ``types``, ``operators``, ``imports``)
that a workflow can list under ``imports:``. Reading one goes through the engine's loader, so
the studio offers exactly what a run would find.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from engine import shipped
from engine.errors import Problem
from engine.workflow.libraries import workflow_files
from engine.workflow.loader import LIBRARY_SUFFIX as ENGINE_SUFFIX
from engine.workflow.loader import import_target, libraries, load_library
from engine.workflow.model import OperatorSpec

#: The operator library that ships with Weft.
BUILTIN_FOLDER = shipped.operators()
LIBRARY_SUFFIX = ENGINE_SUFFIX


@dataclass
class LibraryFile:
    path: Path
    operators: dict[str, OperatorSpec] = field(default_factory=dict)
    types: dict[str, dict[str, str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.path.name.removesuffix(LIBRARY_SUFFIX)


def read_library(path: Path) -> LibraryFile:
    operators, types, problems = load_library(path)
    return LibraryFile(Path(path).resolve(), operators, types, problems)


def library_files(folder: Path | None) -> list[LibraryFile]:
    """Every library file directly in ``folder`` (none if it does not exist), by name."""
    if folder is None or not folder.is_dir():
        return []
    workflows = set(workflow_files(folder))
    return [read_library(p) for p in sorted(folder.glob("*" + LIBRARY_SUFFIX)) if p.is_file() and p not in workflows]


def library_workflows(folder: Path | None) -> list[tuple[str, Path]]:
    """The workflows of library folder ``folder`` as a node names them (``lab:stats``), with
    their files; none when the folder is no library a run would find (it could not be named)."""
    if folder is None or not folder.is_dir():
        return []
    real = folder.resolve()
    name = next((n for n, f in libraries().items() if f == real), None)
    if name is None:
        return []
    return [(f"{name}:{p.name.removesuffix(LIBRARY_SUFFIX)}", p) for p in workflow_files(real)]


def import_text(library: Path, workflow: Path | None) -> str:
    """How a workflow at ``workflow`` names ``library`` under ``imports:``: ``LIBRARY:NAME``
    for a file of a library folder (portable: no path into wherever Weft is installed),
    else a path relative to the workflow when it is saved."""
    library = library.resolve()
    for name, folder in libraries().items():
        if library.parent == folder and library.name.endswith(LIBRARY_SUFFIX):
            return f"{name}:{library.name.removesuffix(LIBRARY_SUFFIX)}"
    if workflow is None:
        return str(library)
    try:
        return Path(os.path.relpath(library, workflow.resolve().parent)).as_posix()
    except ValueError:  # another drive on Windows
        return str(library)


def import_path(text: str, workflow: Path | None) -> Path:
    """The library file an ``imports:`` entry of a workflow at ``workflow`` names."""
    base = workflow.resolve().parent if workflow is not None else Path.cwd()
    return import_target(text, base, [])[0]


def rebase_import(text: str, old: Path | None, new: Path) -> str:
    """An ``imports:`` entry written for a workflow at ``old``, rewritten for one at ``new``."""
    return import_text(import_path(text, old), new)
