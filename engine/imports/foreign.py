"""A foreign file (an Argo Workflow, an Elyra pipeline) read with the place of every value.

YAML and JSON are both read by ``engine.workflow.yamlsrc`` (JSON is YAML to it), so every
problem an importer finds has a file, a line and a column, as for Weft's own text. What the
file says is never quoted in a problem beyond a key's name or a short identifier.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path as FsPath
from typing import Any

from engine.errors import InvalidInput, Location, ProblemCollector
from engine.workflow.files import Unreadable, read_bounded
from engine.workflow.yamlsrc import Document, Path, parse_yaml

#: Foreign files are read up to this size (Weft's own are read up to 16 MiB).
MAX_FOREIGN_BYTES = 16 * 1024 * 1024
_SHOWN = re.compile(r"^[A-Za-z0-9_.:/@-]{1,64}$")


def shown(text: Any) -> str:
    """A foreign name as it may appear in a message: short identifiers only."""
    return repr(text) if isinstance(text, str) and _SHOWN.match(text) else "(not shown)"


class Foreign:
    """A parsed foreign document and the problems found in it, each at its place."""

    def __init__(self, doc: Document, problems: ProblemCollector) -> None:
        self.data = doc.data
        self.source = doc.source
        self.problems = problems

    def at(self, path: Path) -> Location:
        return self.source.at(path)

    def error(self, path: Path, message: str, *, key: bool = False) -> None:
        self.problems.add(self.source.key(path) if key else self.source.at(path), message)

    def mapping(self, value: Any, path: Path, what: str) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        if value is not None:
            self.error(path, f"{what} must be a mapping")
        return {}

    def sequence(self, value: Any, path: Path, what: str) -> list[Any]:
        if isinstance(value, list):
            return value
        if value is not None:
            self.error(path, f"{what} must be a list")
        return []

    def text(self, value: Any, path: Path, what: str) -> str | None:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        self.error(path, f"{what} must be a text")
        return None

    def keys(
        self,
        value: Mapping[str, Any],
        path: Path,
        supported: Iterable[str],
        refused: Mapping[str, str] = {},
        ignored: Iterable[str] = (),
    ) -> None:
        """Every key is supported, deliberately ignored, refused with its reason, or unknown.

        A misspelt key (``withParamm``) passes Argo's own schema; here it is an error with a
        "did you mean" hint, so nothing the author wrote is dropped without a word."""
        supported = set(supported)
        known = supported | set(refused) | set(ignored)
        for key in value:
            if key in supported or key in ignored:
                continue
            where = path + (key,)
            if key in refused:
                self.error(where, f"{shown(key)}: {refused[key]}", key=True)
                continue
            close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.75)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.error(where, f"unknown key {shown(key)}{hint}", key=True)


def read_foreign(path: FsPath) -> Foreign:
    """Read and parse a foreign file; an unreadable or unparsable one is one located line."""
    problems = ProblemCollector()
    try:
        text = read_bounded(path, MAX_FOREIGN_BYTES)
    except Unreadable as exc:
        raise InvalidInput(f"{path}: {exc}") from None
    doc = parse_yaml(text, str(path), problems)
    if doc is None:
        problems.raise_if_any()
        raise InvalidInput(f"{path}: cannot be read")  # pragma: no cover - parse_yaml reported it
    return Foreign(doc, problems)
