"""The cache: a fully cached run of 1,000 nodes against running their tasks.

  cached     in-process Run(...).execute() in a home whose cache holds every node's result
             (filled by one untimed run first): no task starts, every result is reused
  uncached   the same, with use_cache=False (`weft run --no-cache`): every task runs

Each node is `python3 task.py` (a stdlib script reporting one output) with `cache: true` from
`settings`, wide (no edges), `max_parallel: 2`. Variants alternate within each repetition; both
persist every event. Target: uncached / cached >= 20 (best of R).
Usage: python bench/cache.py [--nodes N] [--reps R] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

from _common import best, db_count, header, median, table, verdict, write

TASK = "import weft_task as w\nw.output('n', w.params['i'])\n"


def workflow(n: int) -> str:
    lines = ["weft: 1", "name: cache", "settings: {max_parallel: 2, cache: true}", "nodes:"]
    lines += [
        f"  - {{id: n{i}, command: [python3, task.py], params: {{i: {i}}}, outputs: {{n: int}}}}" for i in range(n)
    ]
    return "\n".join(lines) + "\n"


def run_once(wf: Path, home: Path, use_cache: bool, n: int, profile: cProfile.Profile | None = None) -> float:
    from engine.history.store import Store
    from engine.running.run import Run
    from engine.workflow.loader import load_file, read_text

    text, loaded = read_text(wf), load_file(wf)
    t0 = time.perf_counter()
    store = Store(home)
    run = Run(loaded, store, text=text, use_cache=use_cache)
    if profile is not None:
        profile.enable()
    state = asyncio.run(run.execute())
    if profile is not None:
        profile.disable()
    elapsed = time.perf_counter() - t0
    store.close()
    if state.value != "succeeded":
        raise SystemExit(f"run ended {state.value}")
    hits = len(run.cache.hits)
    if hits != (n if use_cache else 0):
        raise SystemExit(f"{'cached' if use_cache else 'uncached'} run: {hits} hits of {n} nodes")
    running = db_count(
        home, "SELECT count(*) FROM events WHERE run=? AND kind='node_state' AND data LIKE ?", (run.id, '%"running"%')
    )
    if running != (0 if use_cache else n):
        raise SystemExit(f"{running} nodes were running in a {'cached' if use_cache else 'uncached'} run")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one more cached run")
    args = ap.parse_args()
    n = args.nodes
    header(f"cache: {n} x python3 task.py, wide, max_parallel 2, {args.reps} alternating repetitions")
    times: dict[str, list[float]] = {"cached": [], "uncached": []}
    with tempfile.TemporaryDirectory(prefix="weft-bench-cache-") as tmp_name:
        tmp = Path(tmp_name)
        wf = write(tmp / "cache.weft.yaml", workflow(n))
        write(tmp / "task.py", TASK)
        home = tmp / "home"
        fill = run_once(wf, home, False, n)
        print(f"  filling the cache: {fill:.2f} s, {db_count(home, 'SELECT count(*) FROM cache')} entries")
        for _rep in range(args.reps):
            times["cached"].append(run_once(wf, home, True, n))
            times["uncached"].append(run_once(wf, home, False, n))
        if args.profile:
            profile = cProfile.Profile()
            run_once(wf, home, True, n, profile)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    print()
    rows = [
        (name, best(xs), median(xs), 1e6 * best(xs) / n, " ".join(f"{x:.3f}" for x in xs)) for name, xs in times.items()
    ]
    table(["variant", "best s", "median s", "best µs/node", "all runs s"], rows)
    c, u = best(times["cached"]), best(times["uncached"])
    cm, um = median(times["cached"]), median(times["uncached"])
    print()
    table(
        ["ratio", "best", "median", "verdict (best)"],
        [("uncached / cached", u / c, um / cm, verdict(u / c, 20, lower_is_better=False))],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
