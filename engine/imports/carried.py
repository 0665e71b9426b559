"""The files a source carries for its workflow's folder (Weft's own Argo export ships the
scripts its commands name): placed beside the imported workflow, checked before any is written,
each written through a temporary file. Used by `weft import -o` and by the studio's Save of an
imported workflow."""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import InvalidInput
from engine.imports.foreign import shown


def carried_files(files: dict[str, str], target: Path, *, force: bool) -> list[tuple[Path, str]]:
    """Where the files a source carries go: beside the imported workflow, at the path relative
    to its folder that they had beside the exported one. Every path is checked before anything
    is written: one that leaves the folder (through ``..`` or a link) is refused, and so is an
    existing file with other content, unless ``force``; one with the same content is left."""
    try:
        return _placed(files, target, force)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a path here"
        raise InvalidInput(f"{target}: cannot place the files the source carries: {reason}") from None


def _placed(files: dict[str, str], target: Path, force: bool) -> list[tuple[Path, str]]:
    folder = target.resolve().parent
    out = []
    for rel, text in files.items():
        path = folder / rel
        named = path if shown(rel) != "(not shown)" else folder / "(not shown)"  # never quote odd text
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(folder) or real == target.resolve():
            raise InvalidInput(f"{target}: the carried file {shown(rel)} would leave the folder of {target.name}")
        if real.is_dir() or any(p.exists() and not p.is_dir() for p in real.parents):
            raise InvalidInput(f"{named}: a folder and a file would have the same path")
        if real.exists():
            try:
                same = real.read_text(encoding="utf-8") == text
            except (OSError, UnicodeDecodeError):
                same = False
            if same:
                continue
            if not force:
                raise InvalidInput(f"{named}: exists already with other content (--force writes over it)")
        out.append((path, text))
    return out


def write(path: Path, text: str) -> None:
    """Through a temporary file, so a half-written file never exists."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"{path}: cannot write: {exc.strerror or exc}") from None


def place(files: dict[str, str], target: Path, *, force: bool = False) -> int:
    """Write ``files`` beside ``target`` (checked first, as ``carried_files`` says); how many."""
    carried = carried_files(files, target, force=force)
    for path, text in carried:
        write(path, text)
    return len(carried)
