"""`weft import PATH [-o FILE]`: another tool's workflow as Weft workflow text."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from engine.errors import InvalidInput
from engine.imports import import_path
from engine.imports.foreign import shown


def image_map(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source or not target:
            raise InvalidInput(f"--image-map wants FROM=TO (or '*=TO'), not {pair!r}")
        mapping[source] = target
    return mapping


def import_command(args: argparse.Namespace) -> int:
    source = Path(args.path)
    target = Path(args.output) if args.output and args.output != "-" else None
    if target is not None and target.exists() and not args.force:
        raise InvalidInput(f"{target}: exists already (--force writes over it)")
    imported = import_path(source, target, image_map(args.image_map))
    if target is None:
        sys.stdout.write(imported.text)
        if imported.files:
            print(
                f"{source}: carries {len(imported.files)} file(s) the workflow's commands name; "
                "-o FILE writes them beside FILE",
                file=sys.stderr,
            )
        return 0
    carried = carried_files(imported.files, target, force=args.force)
    for path, text in [*carried, (target, imported.text)]:
        _write(path, text)
    wf = imported.loaded.workflow
    also = f", {len(carried)} file(s) beside it" if carried else ""
    print(f"{target}: imported from {source} ({len(wf.nodes)} nodes, {len(wf.edges)} edges{also})", file=sys.stderr)
    return 0


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


def _write(path: Path, text: str) -> None:
    """Through a temporary file, so a half-written file never exists."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"{path}: cannot write: {exc.strerror or exc}") from None
