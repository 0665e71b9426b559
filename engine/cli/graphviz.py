"""Pictures of a graph: DOT text rendered to SVG or PNG by GraphViz's own `dot` program.

Weft writes DOT itself (``engine.history.replay.to_dot``); GraphViz is an optional system program,
found on PATH when a picture is asked for. ``dot`` is started with an argv list (no shell)
and reads the DOT text from its stdin, so nothing of a workflow's text ever reaches a command
line.
"""

from __future__ import annotations

import shutil
import subprocess

from engine.errors import EngineUnavailable, WeftError

#: formats rendered by GraphViz (``dot`` and ``json`` are Weft's own)
FORMATS = ("svg", "png")
#: formats that are bytes, not text: never written to a terminal
BINARY = ("png",)
TIMEOUT = 120.0  # seconds; a 10,000-node layout takes well under a minute


class GraphvizMissing(EngineUnavailable):
    """`dot` is not installed: exit 2, with what to do instead."""


class GraphvizFailed(WeftError):
    """`dot` ran but did not produce a picture (exit 1: our DOT or GraphViz is at fault)."""


def find_dot() -> str | None:
    """The path of GraphViz's `dot` on PATH, or None."""
    return shutil.which("dot")


def require_dot(fmt: str) -> str:
    dot = find_dot()
    if dot is None:
        raise GraphvizMissing(
            f"--format {fmt} needs GraphViz's `dot` program, which is not on PATH: "
            "install GraphViz (e.g. `apt install graphviz`, `brew install graphviz`) "
            "or use --format dot|json"
        )
    return dot


def render(dot_text: str, fmt: str, dot: str | None = None, timeout: float = TIMEOUT) -> bytes:
    """``dot_text`` laid out and drawn by GraphViz as ``fmt`` (svg or png); the file's bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"not a GraphViz format Weft renders: {fmt}")
    program = dot or require_dot(fmt)
    try:
        proc = subprocess.run(
            [program, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise GraphvizFailed(f"GraphViz's `dot` did not finish within {timeout:g} s") from None
    except OSError as exc:  # vanished between which() and exec, or not executable
        raise GraphvizMissing(
            f"cannot start GraphViz's `dot` ({program}): {exc.strerror or exc}; use --format dot|json"
        ) from None
    if proc.returncode != 0 or not proc.stdout:
        reason = next(
            (line for line in proc.stderr.decode("utf-8", "replace").splitlines() if line.strip()),
            f"exit code {proc.returncode}",
        )
        raise GraphvizFailed(f"GraphViz's `dot` failed: {reason}")
    return proc.stdout
