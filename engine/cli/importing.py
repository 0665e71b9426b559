"""`weft import PATH [-o FILE]`: another tool's workflow as Weft workflow text."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from engine.errors import InvalidInput
from engine.imports import import_path


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
        return 0
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        partial.write_text(imported.text, encoding="utf-8")
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"{target}: cannot write: {exc.strerror or exc}") from None
    wf = imported.loaded.workflow
    print(f"{target}: imported from {source} ({len(wf.nodes)} nodes, {len(wf.edges)} edges)", file=sys.stderr)
    return 0
