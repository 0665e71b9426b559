"""Shared helpers for the benchmarks: workflow generation, engine runners, timing, tables.

Benchmarks are measurements, not tests: they print what they measured and the targets, and
exit non-zero only when something crashes.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if importlib.util.find_spec("engine") is None:  # not installed: use this checkout's
    sys.path.insert(0, str(REPO))

TRUE = "/bin/true"


# -- workflows ------------------------------------------------------------------------------


def workflow_yaml(
    name: str, nodes: Iterable[str], edges: Iterable[tuple[str, str]] = (), max_parallel: int = 1, extra_nodes: str = ""
) -> str:
    """A workflow text: every node in ``nodes`` runs /bin/true; ``edges`` are runs-after edges."""
    lines = ["weft: 1", f"name: {name}", "settings:", f"  max_parallel: {max_parallel}", "nodes:"]
    lines += [f"  - {{id: {n}, command: [{TRUE}]}}" for n in nodes]
    if extra_nodes:
        lines.append(extra_nodes.rstrip("\n"))
    edge_lines = [f"  - {{from: {a}, to: {b}}}" for a, b in edges]
    if edge_lines:
        lines += ["edges:"] + edge_lines
    return "\n".join(lines) + "\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- running the engine -----------------------------------------------------------------------


def engine_in_process(
    wf_path: Path,
    home: Path,
    prepare: Callable[[Any], None] | None = None,
    run_class: type | None = None,
) -> tuple[float, Any, Any]:
    """Load (untimed), then time a fresh Store + Run + execute. Returns (seconds, run, state);
    ``cpu_seconds()`` covers the same span (this process only, not the tasks).

    ``prepare(run)`` is called on the Run before it executes (e.g. to wrap methods);
    ``run_class`` replaces ``Run`` (a subclass that changes one behaviour, to measure it)."""
    from engine.history.store import Store
    from engine.running.run import Run
    from engine.workflow.loader import load_file, read_text

    text = read_text(wf_path)
    loaded = load_file(wf_path)
    c0, t0 = _cpu(), time.perf_counter()
    store = Store(home)
    run = (run_class or Run)(loaded, store, text=text)
    if prepare is not None:
        prepare(run)
    state = asyncio.run(run.execute())
    elapsed = time.perf_counter() - t0
    _last_cpu[0] = _cpu() - c0
    store.close()
    return elapsed, run, state


_last_cpu = [0.0]


def _cpu() -> float:
    # user + system of this process, to the nanosecond (os.times counts 10 ms clock ticks: 2% of
    # a 0.5 s run)
    return time.process_time()


def cpu_seconds() -> float:
    """CPU time (user + system) of this process during the last engine_in_process run."""
    return _last_cpu[0]


def cpu_of(fn: Callable[[], float]) -> tuple[float, float]:
    """(what fn returns, CPU seconds of this process while it ran)."""
    c0 = _cpu()
    value = fn()
    return value, _cpu() - c0


def cli_cmd(home: Path, wf_path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "engine.cli.main", "--home", str(home), "run", str(wf_path), *extra]


def engine_cli(wf_path: Path, home: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()  # cwd: the workflow's folder, so `engine` is the installed one (or PYTHONPATH's)
    proc = subprocess.run(cli_cmd(home, wf_path, "--json"), capture_output=True, text=True, cwd=wf_path.parent)
    return time.perf_counter() - t0, proc


def db_count(home: Path, sql: str, args: Sequence[Any] = ()) -> int:
    conn = sqlite3.connect(home / "weft.db")
    try:
        return conn.execute(sql, args).fetchone()[0]
    finally:
        conn.close()


def run_view(home: Path, run_id: str) -> Any:
    """The run as the CLI shows it: ``engine.history.fold.snapshot`` of its stored events."""
    from engine.history.fold import snapshot
    from engine.history.store import Store

    store = Store(home)
    try:
        return snapshot(store, run_id)
    finally:
        store.close()


def succeeded_nodes(home: Path, run_id: str) -> int:
    return sum(1 for n in run_view(home, run_id).nodes.values() if n.state == "succeeded")


def start_line(node: str) -> bytes:
    msg = {
        "weft": 1,
        "type": "start",
        "run": "bench",
        "node": node,
        "inputs": {},
        "params": {},
        "workspace": "/tmp",
        "attempt": 1,
    }
    return (json.dumps(msg, separators=(",", ":")) + "\n").encode()


# -- statistics and output --------------------------------------------------------------------


def best(xs: Sequence[float]) -> float:
    return min(xs)


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    cells = [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN: not measured
            return "-"
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def verdict(value: float, target: float, lower_is_better: bool = True) -> str:
    ok = value <= target if lower_is_better else value >= target
    return f"{'meets' if ok else 'MISSES'} target {'<=' if lower_is_better else '>='} {target:g}"


def header(title: str) -> None:
    print(f"\n== {title} ==  (python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
