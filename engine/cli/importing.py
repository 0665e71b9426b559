"""`weft import PATH [-o FILE]`: another tool's workflow as Weft workflow text."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.errors import InvalidInput
from engine.imports import import_path
from engine.imports.carried import carried_files, write


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
        write(path, text)
    wf = imported.loaded.workflow
    also = f", {len(carried)} file(s) beside it" if carried else ""
    print(f"{target}: imported from {source} ({len(wf.nodes)} nodes, {len(wf.edges)} edges{also})", file=sys.stderr)
    return 0
