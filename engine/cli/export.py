"""``weft export FILE --to argo [-o PATH]``: a workflow in another tool's format.

A workflow that cannot be said faithfully is refused with one located line on stderr and exit
2, and nothing is written: ``-o PATH`` is written only once the whole export succeeded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.argo.export import ExportRefused, export, to_yaml
from engine.errors import InvalidInput
from engine.promises.registered import checked
from engine.workflow.loader import load_file


def export_command(args: argparse.Namespace) -> int:
    loaded = checked(load_file(Path(args.file), args.library))
    try:
        text = to_yaml(export(loaded, image=args.image))
    except ExportRefused as exc:
        from engine.cli.render import printable

        print(printable(str(exc)), file=sys.stderr)
        return exc.exit_code
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0
