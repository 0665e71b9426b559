"""What every command pays before it does anything: start-up of `weft` against bare Python.

  python        `python -c pass` (the floor: an interpreter that starts and ends)
  version       `weft --version` (parsing arguments only: the engine is not imported)
  validate      `weft validate` of a one-node workflow
  run           `weft run` of a one-node workflow running /bin/true (a fresh home each time)

Each is run --reps times, alternating, as a subprocess from the venv's `weft` entry point, after
one untimed round; reports the median and best wall time. Targets: version <= 4x python, run
<= 0.15 s. As an installed package is (pip compiles it), modules are timed with their bytecode
cached: $PYTHONDONTWRITEBYTECODE, set on some machines, is left out of the commands' environment.
Usage: python bench/startup.py [--reps N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import TRUE, header, table, verdict, write


def weft_command() -> list[str]:
    found = shutil.which("weft", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "engine.cli.main"]


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, env=ENV)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return took


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    header("startup: one command's cost before it does anything")
    weft = weft_command()
    times: dict[str, list[float]] = {"python": [], "version": [], "validate": [], "run": []}
    with tempfile.TemporaryDirectory(prefix="weft-bench-startup-") as tmp_name:
        tmp = Path(tmp_name)
        wf = write(tmp / "one.weft.yaml", f"weft: 1\nname: one\nnodes:\n  - {{id: a, command: [{TRUE}]}}\n")
        for rep in range(-1, args.reps):  # round -1 writes the bytecode caches and is not counted
            if rep == 0:
                times = {name: [] for name in times}
            times["python"].append(timed([sys.executable, "-c", "pass"], tmp))
            times["version"].append(timed([*weft, "--version"], tmp))
            times["validate"].append(timed([*weft, "validate", str(wf)], tmp))
            times["run"].append(timed([*weft, "--home", str(tmp / f"home-{rep}"), "run", str(wf)], tmp))
    print(f"  weft: {' '.join(weft)}")
    table(
        ["command", "median s", "best s", "median / python"],
        [
            (name, statistics.median(ts), min(ts), statistics.median(ts) / statistics.median(times["python"]))
            for name, ts in times.items()
        ],
    )
    ratio = statistics.median(times["version"]) / statistics.median(times["python"])
    print(f"\nweft --version / python -c pass: {ratio:.2f} ({verdict(ratio, 4)})")
    run = statistics.median(times["run"])
    print(f"weft run of one node: {run:.3f} s ({verdict(run, 0.15)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
