"""The entry point of both executables of the desktop bundle (`weft` and `weft-studio`).

The bundle has no ``python``: where Weft starts a Python child process with
``sys.executable`` (a studio run's host process, ``-m studio.runhost``; the step that gives
a nested workflow its inputs, ``-c CODE``), ``sys.executable`` is this executable, so it
answers ``-m MODULE ARGS`` and ``-c CODE ARGS`` as ``python`` would, with ``$PYTHONPATH`` on
``sys.path`` (the task helper's folder). Anything else goes to the command its file is
named after.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path


def _as_python(flag: str, target: str, rest: list[str]) -> int:
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:0] = extra
    if flag == "-m":
        sys.argv = [target, *rest]
        runpy.run_module(target, run_name="__main__", alter_sys=True)
        return 0
    sys.argv = ["-c", *rest]
    exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102 - Weft's own code
    return 0


def main() -> int:
    if len(sys.argv) >= 3 and sys.argv[1] in ("-m", "-c"):
        return _as_python(sys.argv[1], sys.argv[2], sys.argv[3:])
    name = Path(sys.executable).stem
    if name == "weft-studio":
        from studio.app import main as studio

        return studio()
    from engine.cli.main import main as weft

    return weft()


if __name__ == "__main__":
    sys.exit(main())
