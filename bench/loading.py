"""Loading a workflow file: time and memory per node at 1,000, 10,000 and 100,000 nodes.

Each workflow is a chain of /bin/true nodes (`n_i -> n_i+1`: one node and one edge per step,
written in flow style as a generated file would be). For each size:
  - `engine.workflow.loader.load_file` (read, YAML with places, records, validation), best of --reps,
    wall and CPU time of this process, in µs per node;
  - reference: `yaml.load` of the same file with PyYAML's C loader (plain data, no places, no
    checks): what any loader of YAML text pays at least;
  - memory, traced with tracemalloc in a second pass: what the `Loaded` result keeps, and the
    peak while loading, in bytes per node;
  - the peak RSS of a fresh process that loads the file, minus one that only imports the loader
    (peak RSS growth).
Target: <= 50 µs per node (CPU) at every size.
Usage: python bench/loading.py [--sizes 1000,10000,100000] [--reps R]
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from _common import REPO, TRUE, header, table, verdict, workflow_yaml, write

# VmHWM, not ru_maxrss: that one counts the pages of the parent this child was forked from.
PEAK_RSS = """
import importlib.util, sys
if importlib.util.find_spec("engine") is None:  # not installed: this checkout's
    sys.path.insert(0, {repo!r})
from engine.workflow.loader import load_file
if sys.argv[1] != "-":
    loaded = load_file(sys.argv[1])
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def chain_file(folder: Path, n: int) -> Path:
    nodes = [f"n{i}" for i in range(n)]
    return write(folder / f"chain-{n}.weft.yaml", workflow_yaml("chain", nodes, zip(nodes, nodes[1:])))


def timed(fn: Callable[[], object], reps: int) -> tuple[float, float]:
    """Best wall and best CPU seconds of ``fn()`` over ``reps`` calls."""
    walls, cpus = [], []
    for _ in range(reps):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def traced(path: Path) -> tuple[int, int]:
    """(bytes the result keeps, peak bytes while loading), as tracemalloc sees them."""
    from engine.workflow.loader import load_file

    tracemalloc.start()
    try:
        loaded = load_file(path)
        kept, peak = tracemalloc.get_traced_memory()
        del loaded
    finally:
        tracemalloc.stop()
    return kept, peak


def peak_rss_kib(path: Path | None) -> int:
    code = PEAK_RSS.format(repo=str(REPO))
    out = subprocess.run(  # in the file's folder, so the current one does not shadow the measured `engine`
        [sys.executable, "-c", code, str(path) if path else "-"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
    )
    return int(out.stdout.strip())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    header(f"loading: chains of {', '.join(f'{n:,}' for n in sizes)} {TRUE} nodes (one edge per node)")
    import yaml

    from engine.workflow.loader import load_file

    rows, memory = [], []
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="weft-bench-load-") as tmp_name:
        tmp = Path(tmp_name)
        base_rss = peak_rss_kib(None)
        for n in sizes:
            path = chain_file(tmp, n)
            reps = args.reps if n <= 10_000 else max(1, args.reps - 1)
            wall, cpu = timed(functools.partial(load_file, path), reps)
            text = path.read_text(encoding="utf-8")
            ref_wall, ref_cpu = timed(functools.partial(yaml.load, text, Loader=yaml.CSafeLoader), reps)
            kept, peak = traced(path)
            rss = peak_rss_kib(path) - base_rss
            worst = max(worst, 1e6 * cpu / n)
            rows.append((f"{n:,}", 1e6 * wall / n, 1e6 * cpu / n, 1e6 * ref_cpu / n, cpu / ref_cpu))
            memory.append((f"{n:,}", path.stat().st_size / n, kept / n, peak / n, 1024 * rss / n))
    print()
    table(["nodes", "load µs/node", "load CPU µs/node", "yaml.load CPU µs/node", "load / yaml.load"], rows)
    print()
    table(["nodes", "file bytes/node", "kept bytes/node", "peak bytes/node", "peak RSS growth bytes/node"], memory)
    print()
    print(f"worst CPU per node {worst:.1f} µs: {verdict(worst, 50)} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
