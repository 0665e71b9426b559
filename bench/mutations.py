"""The engine's cost per graph mutation as the graph grows to 10,000 nodes.

One dynamic node runs a stdlib-only Python task that creates N /bin/true nodes
  (a) as one mutate message of N nodes,
  (b) as N mutate messages of one node each.
The engine runs in-process; Run.mutate of the Run instance is wrapped to record the time of
every call and the graph size when it was made. The created nodes run after the creator ends
(max_parallel 2). Target: µs per mutation near 10,000 nodes / near 1,000 nodes <= 1.5.
With --create-only the run is cancelled as soon as the last node is created (the created nodes
do not run): the mutations are measured the same, in a fraction of the time at 100,000 nodes.
Usage: python bench/mutations.py [--nodes N] [--create-only]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import TRUE, db_count, engine_in_process, header, succeeded_nodes, table, verdict, write

TASK = (
    r"""
import json, sys
mode, n = sys.argv[1], int(sys.argv[2])
node = lambda i: {"id": f"t{i}", "command": ["%s"]}
out = sys.stdout
if mode == "one":
    out.write(json.dumps({"weft": 1, "type": "mutate", "nodes": [node(i) for i in range(n)], "edges": []}) + "\n")
else:
    for i in range(n):
        out.write(json.dumps({"weft": 1, "type": "mutate", "nodes": [node(i)], "edges": []}) + "\n")
out.flush()
"""
    % TRUE
)


def workflow(task: Path, mode: str, n: int) -> str:
    command = json.dumps([sys.executable, str(task), mode, str(n)])
    return (
        "weft: 1\nname: mutations\nsettings:\n  max_parallel: 2\nnodes:\n"
        f"  - {{id: creator, dynamic: true, command: {command}}}\n"
    )


class GcClock:
    """Total time spent in the cyclic garbage collector (gc.callbacks), and full collections."""

    def __init__(self) -> None:
        self.ns = self.full = self._t0 = self.longest = 0
        gc.callbacks.insert(0, self)  # first: the time of the engine's own callbacks counts too

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter_ns()
        else:
            took = time.perf_counter_ns() - self._t0
            self.ns += took
            self.longest = max(self.longest, took)
            self.full += info["generation"] == 2


GC = GcClock()
Call = tuple[int, int, int, int, int]  # (ns, graph size before, nodes in message, GC ns, full GCs)


def timing(calls: list[Call], stop_after: int | None = None) -> Any:
    """A ``prepare`` hook that wraps the run's ``mutate`` to record every call in ``calls``
    (and cancels the run after ``stop_after`` calls)."""

    def prepare(run: Any) -> None:
        inner = run.mutate  # the bound method; the session looks `run.mutate` up on the instance

        def timed(creator: str, raw: dict[str, Any], where: str) -> None:
            size, gc_ns, full = len(run.graph.nodes), GC.ns, GC.full
            t0 = time.perf_counter_ns()
            try:
                inner(creator, raw, where)
            finally:
                calls.append(
                    (time.perf_counter_ns() - t0, size, len(raw.get("nodes", ())), GC.ns - gc_ns, GC.full - full)
                )
                if len(calls) == stop_after:
                    asyncio.get_running_loop().call_soon(run.cancel, "every node is created (--create-only)")

        run.mutate = timed

    return prepare


def measure(tmp: Path, task: Path, mode: str, n: int, create_only: bool) -> dict[str, Any]:
    wf = write(tmp / f"mutations-{mode}.weft.yaml", workflow(task, mode, n))
    home = tmp / f"home-{mode}"
    calls: list[Call] = []

    prepare = timing(calls, (1 if mode == "one" else n) if create_only else None)

    GC.longest = 0
    total, run, state = engine_in_process(wf, home, prepare)
    sql = "SELECT ts FROM events WHERE run=? AND kind='node_state' AND node='creator' AND data LIKE ? ORDER BY seq"
    started = db_count(home, sql, (run.id, '%"running"%'))
    # cancelled before it ended (--create-only): up to its last state change
    last = sql.replace("ORDER BY seq", "ORDER BY seq DESC")
    ended = db_count(home, last, (run.id, "%" if create_only else '%"succeeded"%'))
    ok = succeeded_nodes(home, run.id)
    return {
        "calls": calls,
        "total": total,
        "creator": ended - started,
        "state": state.value,
        "succeeded": ok,
        "nodes": len(run.graph.nodes),
        "longest_gc": GC.longest,
    }


def window(calls: list[Call], lo: int, hi: int) -> tuple[float, float, int, int, float, int]:
    part = calls[lo:hi]
    us = [c[0] / 1000 for c in part]
    no_gc = statistics.fmean((c[0] - c[3]) / 1000 for c in part)
    return statistics.fmean(us), statistics.median(us), part[0][1], part[-1][1], no_gc, sum(c[4] for c in part)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=10_000)
    ap.add_argument("--create-only", action="store_true", help="cancel the run once every node is created")
    args = ap.parse_args()
    n = args.nodes
    header(f"mutations: one dynamic node creates {n} {TRUE} nodes; engine in-process, max_parallel 2")
    with tempfile.TemporaryDirectory(prefix="weft-bench-mut-") as tmp_name:
        tmp = Path(tmp_name)
        task = write(tmp / "create.py", TASK)
        one = measure(tmp, task, "one", n, args.create_only)
        many = measure(tmp, task, "many", n, args.create_only)

    print()
    table(
        ["run", "state", "succeeded", "mutate calls", "creator s", "whole run s"],
        [
            (
                f"(a) 1 message x {n} nodes",
                one["state"],
                one["succeeded"],
                len(one["calls"]),
                one["creator"],
                one["total"],
            ),
            (
                f"(b) {n} messages x 1 node",
                many["state"],
                many["succeeded"],
                len(many["calls"]),
                many["creator"],
                many["total"],
            ),
        ],
    )
    single = one["calls"][0][0] / 1000 if one["calls"] else float("nan")
    print()
    print(f"(a) the single mutation: {single / 1000:.3f} ms in all, {single / max(1, n):.1f} µs per node")

    calls = many["calls"]
    if len(calls) < n:
        print(f"(b) only {len(calls)} mutate calls were made; no per-size figures")
        return 0
    lo1, hi1 = n // 20, (3 * n) // 20  # 500-1,500 for 10,000
    lo2, hi2 = (9 * n) // 10, n  # 9,000-10,000
    small, large = window(calls, lo1, hi1), window(calls, lo2, hi2)
    everything = statistics.fmean(c[0] / 1000 for c in calls)
    print()
    table(
        ["(b) calls", "graph size", "mean µs/mutation", "median µs", "mean µs without GC", "full GCs"],
        [
            (f"{lo1}-{hi1}", f"{small[2]}-{small[3]}", small[0], small[1], small[4], small[5]),
            (f"{lo2}-{hi2}", f"{large[2]}-{large[3]}", large[0], large[1], large[4], large[5]),
            (
                f"all {len(calls)}",
                f"1-{calls[-1][1]}",
                everything,
                statistics.median(c[0] / 1000 for c in calls),
                statistics.fmean((c[0] - c[3]) / 1000 for c in calls),
                sum(c[4] for c in calls),
            ),
        ],
    )
    ratio, ratio_med, ratio_gc = large[0] / small[0], large[1] / small[1], large[4] / small[4]
    print()
    print(
        f"ratio near {n} / near {n // 10} nodes: mean {ratio:.2f} ({verdict(ratio, 1.5)}); "
        f"median {ratio_med:.2f}; mean without GC pauses {ratio_gc:.2f}"
    )
    print(
        "  (a full GC, gen 2, costs time in proportion to everything alive, so a window that catches one "
        "pays a pause that grows with the graph)"
    )
    print(f"sum of all mutate calls: {sum(c[0] for c in calls) / 1e9:.3f} s of {many['creator']:.3f} s the creator ran")
    for label, run in (("(a)", one), ("(b)", many)):
        spent = sum(c[0] for c in run["calls"])
        in_gc = sum(c[3] for c in run["calls"])
        print(
            f"{label} in the cyclic collector during mutate calls: {in_gc / 1e6:.1f} ms of {spent / 1e6:.1f} ms "
            f"({100 * in_gc / max(1, spent):.0f}%), {sum(c[4] for c in run['calls'])} full collections; "
            f"longest collection in the whole run {run['longest_gc'] / 1e6:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
