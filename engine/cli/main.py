"""`weft` command line: argument parsing and the error boundary.

Parsing lives here, the commands in ``engine.cli.commands``, presentation in
``engine.cli.render``. Every ``WeftError`` ends here as one line on stderr and its exit code;
no traceback reaches a person for anything they can fix.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from engine import __version__
from engine.errors import WeftError, WorkflowInvalid
from engine.workflow.model import EXECUTORS

EXIT_INVALID = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, as for every bad input
        self.exit(EXIT_INVALID, f"weft: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="weft", description="Run and inspect Weft workflows.")
    parser.add_argument("--version", action="version", version=f"weft {__version__}")
    parser.add_argument(
        "--home", help="folder of the run database and workspaces (default: $WEFT_HOME or the user data folder)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("validate", help="check a workflow file and report every problem")
    p.add_argument("file")
    _library_option(p)
    p.add_argument("--json", action="store_true", help="machine-readable result")

    p = sub.add_parser("import", help="an Argo Workflow or an Elyra pipeline as Weft workflow text")
    p.add_argument("path", help="an Argo Workflow/WorkflowTemplate (.yaml) or an Elyra pipeline (.pipeline)")
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write here (default: standard output); files a weft export carries go beside it",
    )
    p.add_argument(
        "--force", action="store_true", help="write over an existing output file (and carried files that differ)"
    )
    p.add_argument(
        "--image-map",
        action="append",
        default=[],
        metavar="FROM=TO",
        help="use image TO where the source says FROM ('*=TO': every image); repeatable",
    )

    p = sub.add_parser("run", help="run a workflow file")
    p.add_argument("file")
    _library_option(p)
    p.add_argument("--max-parallel", type=_positive, metavar="N", help="tasks at once (default: settings or CPUs)")
    p.add_argument("--executor", choices=EXECUTORS, help="default executor for this run")
    p.add_argument(
        "--ray-address",
        metavar="HOST:PORT",
        help="the Ray cluster of the ray executor (default: settings.ray.address, $RAY_ADDRESS, else a local Ray)",
    )
    p.add_argument("--json", action="store_true", help='print {"run": ID, "state": STATE} at the end')
    p.add_argument("--logs", action="store_true", help="stream task log lines to stderr")
    p.add_argument(
        "--no-cache", action="store_true", help="run every task, reusing no earlier result (results are still stored)"
    )
    p.add_argument(
        "--input",
        dest="inputs",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value of the workflow's inputs:, read as its type wants (true/false, a number, text, JSON)",
    )

    p = sub.add_parser("runs", help="list runs")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=_positive, default=None, help="only the newest N")

    p = sub.add_parser("delete", help="delete runs: their events, cached results and workspaces (not a live run)")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run id, a unique prefix of one, or 'last'")
    p.add_argument("--json", action="store_true", help="what was removed, per run")

    p = sub.add_parser("show", help="a run's state, nodes and edges")
    p.add_argument("run", help="run id, a unique prefix of one, or 'last'")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("logs", help="a run's log lines, of one node or all")
    p.add_argument("run")
    p.add_argument("node", nargs="?")
    p.add_argument("--json", action="store_true", help="one JSON object per line")

    p = sub.add_parser("graph", help="a workflow's or a run's graph as DOT, JSON, SVG or PNG")
    p.add_argument("target", metavar="FILE|RUN")
    _library_option(p)
    p.add_argument("--at", type=int, metavar="N", help="as of event N of a run")
    p.add_argument(
        "--format",
        choices=("dot", "json", "svg", "png"),
        default="dot",
        help="svg and png are drawn by GraphViz's `dot`, which must be installed (default: dot)",
    )
    p.add_argument("-o", "--output", help="write to this file instead of stdout (png needs it on a terminal)")

    p = sub.add_parser("export", help="write a workflow in another tool's format (an Argo Workflow)")
    p.add_argument("file")
    _library_option(p)
    p.add_argument("--to", required=True, choices=("argo",), help="the format: argo (an Argo Workflow, YAML)")
    p.add_argument("-o", "--output", metavar="PATH", help="write to this file instead of stdout")
    p.add_argument(
        "--image",
        help="the image of nodes that name none (default: the workflow's settings.image, else python:3.12-slim)",
    )

    for name, what in (
        ("pause", "no new task starts; running tasks go on (from any terminal)"),
        ("resume", "a paused run goes on; an interrupted one is continued by this process"),
        ("stop", "stop a run's tasks: the run ends cancelled, as with Ctrl+C in its terminal"),
    ):
        p = sub.add_parser(name, help=what)
        p.add_argument("run", help="run id, a unique prefix of one, or 'last'")
        p.add_argument("--json", action="store_true", help='print {"run": ID, "state": STATE} once taken')
        p.set_defaults(command="control", control=name)

    p = sub.add_parser("restart", help="run these nodes and everything downstream again, in the same run")
    p.add_argument("run", help="run id, a unique prefix of one, or 'last'")
    p.add_argument("nodes", nargs="+", metavar="NODE")
    p.add_argument("--json", action="store_true", help='print {"run": ID, "state": STATE} at the end')
    p.add_argument("--logs", action="store_true", help="print task log lines as they come")

    p = sub.add_parser("answer", help="answer a node that waits for a person")
    p.add_argument("run", help="run id, a unique prefix of one, or 'last'")
    p.add_argument("node")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="one field of the answer, read as its type wants (true/false, a number, text, JSON)",
    )
    p.add_argument("--json", dest="json_answer", metavar="OBJECT", help="the answer as a JSON object")
    p = sub.add_parser("cache", help="the results nodes with `cache: true` may reuse")
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    actions.required = True
    p = actions.add_parser("clear", help="forget every stored result: the next runs run every task")
    p.add_argument("--json", action="store_true", help='print {"removed": N}')

    sub.add_parser(
        "doctor",
        help="check this machine: Docker, the default image, the home, GraphViz, Ray (exit 1: a needed one is missing)",
    )
    return parser


def _library_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--library",
        action="append",
        default=[],
        type=_folder,
        metavar="DIR",
        help="a library folder, named by its folder name (LIBRARY:NAME); repeatable",
    )


def _folder(text: str) -> str:
    if not Path(text).expanduser().is_dir():
        raise argparse.ArgumentTypeError(f"'{text}' is not a folder")
    return str(Path(text).expanduser().resolve())


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # --version, --help and bad arguments end here, cheaply
    from engine.cli import commands  # the engine proper: loaded only for a command that needs it

    handler = getattr(commands, f"cmd_{args.command}")
    try:
        return handler(args)
    except WorkflowInvalid as exc:
        count = len(exc.problems)
        _say(
            *(f"{problem.location}: error: {problem.message}" for problem in exc.problems),
            f"{count} error{'s' if count != 1 else ''}",
        )
        return exc.exit_code
    except WeftError as exc:
        _say(f"weft: error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _say("weft: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `weft logs ... | head`
        return 0


def _say(*lines: str) -> None:
    """Error lines on stderr, control characters escaped (they may quote a workflow or a task);
    nothing at all if stderr has gone with its terminal."""
    from engine.cli.render import printable

    try:
        for line in lines:
            print(printable(line), file=sys.stderr)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
