"""The projection of a real 10,000-node run: folding its event log, and `weft graph RUN` end to end.

A dynamic node `creator` (a stdlib Python task) grows a map-reduce chain of N nodes in
N / 100 mutate messages: each batch is 99 `/bin/true` workers and one `/bin/true` join, with
an edge from every worker into its join and from the previous join into every worker
(so about 2 N edges). Two workflow promises bind it (`only_nodes`, `no_new_edges {to: creator}`),
so replay also rebuilds the promise keeper. The run executes for real (in-process, every event
in SQLite; the created nodes run after the creator, `max_parallel` = CPUs), then:

  at_event(last)   `engine.history.replay.at_event(store, run, None)`: the projection at the last event
  at_event(grown)  at the event that added the last node, while `creator` still ran (with a ghost)
  to_json, to_dot  the view as `weft graph` prints it (after at_event(last))
  weft graph json  `python -m engine.cli.main graph RUN --format json` as a subprocess, wall time
  weft --version   the same interpreter start-up and imports without the projection, for reference

Each measurement is repeated (best and median of --reps, default 5). Target: at_event at the last
event < 0.5 s. `--profile` prints the top of a cProfile of one at_event(last).
Usage: python bench/projection.py [--nodes N] [--reps R] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import TRUE, best, db_count, engine_in_process, header, median, run_view, table, verdict, write

BATCH = 100

TASK = (
    r"""
import json, sys
n, batch = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout
true = %r
join = None
for start in range(0, n, batch):
    size = min(batch, n - start)
    b = start // batch
    workers = [f"w-{b}-{j}" for j in range(size - 1)]
    nodes = [{"id": w, "command": [true]} for w in workers] + [{"id": f"j-{b}", "command": [true]}]
    edges = [{"from": w, "to": f"j-{b}"} for w in workers]
    if join is not None:
        edges += [{"from": join, "to": w} for w in workers]
    join = f"j-{b}"
    out.write(json.dumps({"weft": 1, "type": "mutate", "nodes": nodes, "edges": edges}) + "\n")
out.flush()
"""
    % TRUE
)


def workflow(task: Path, n: int) -> str:
    command = json.dumps([sys.executable, str(task), str(n), str(BATCH)])
    return (
        "weft: 1\nname: projection\nsettings:\n"
        f"  max_parallel: {os.cpu_count() or 1}\nnodes:\n"
        f"  - {{id: creator, dynamic: true, command: {command}}}\n"
        "promises:\n"
        '  - only_nodes: {by: creator, match: ["w-*", "j-*"]}\n'
        "  - no_new_edges: {to: creator}\n"
    )


def timed(fn: Callable[[], Any], reps: int) -> tuple[list[float], Any]:
    times, value = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return times, value


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one at_event(last)")
    args = ap.parse_args()
    n = args.nodes
    header(f"projection: a real run whose dynamic node creates {n} nodes in batches of {BATCH}")

    from engine.history.replay import at_event, to_dot, to_json
    from engine.history.store import Store

    with tempfile.TemporaryDirectory(prefix="weft-bench-proj-") as tmp_name:
        tmp = Path(tmp_name)
        task = write(tmp / "grow.py", TASK)
        wf = write(tmp / "projection.weft.yaml", workflow(task, n))
        home = tmp / "home"
        print("  running the workflow (the created /bin/true nodes run too) ...", flush=True)
        took, run, state = engine_in_process(wf, home)
        final = run_view(home, run.id)
        nodes, edges = len(final.nodes), len(final.edges)
        events = db_count(home, "SELECT count(*) FROM events WHERE run=?", (run.id,))
        grown = db_count(home, "SELECT max(seq) FROM events WHERE run=? AND kind='graph'", (run.id,))
        print(f"  run {run.id}: {state.value} in {took:.1f} s; {nodes} nodes, {edges} edges, {events} events")
        if state.value != "succeeded" or nodes != n + 1:
            print("WARNING: the run did not create and run every node")

        store = Store(home)
        last_times, (view, ghosts) = timed(lambda: at_event(store, run.id, None), args.reps)
        grown_times, (_grown_view, grown_ghosts) = timed(lambda: at_event(store, run.id, grown), args.reps)
        json_times, _ = timed(lambda: json.dumps(to_json(view, ghosts, view.at), indent=2), args.reps)
        dot_times, _ = timed(lambda: to_dot(view, ghosts, run.id), args.reps)
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(at_event, store, run.id, None)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
        store.close()

        cmd = [sys.executable, "-m", "engine.cli.main", "--home", str(home), "graph", run.id, "--format", "json"]
        cli_times, out = timed(
            lambda: subprocess.run(cmd, capture_output=True, text=True, cwd=tmp, check=True), args.reps
        )
        printed = json.loads(out.stdout)
        version = [sys.executable, "-m", "engine.cli.main", "--version"]
        start_times, _ = timed(lambda: subprocess.run(version, capture_output=True, cwd=tmp, check=True), args.reps)

    print()
    table(
        ["measure", "best s", "median s"],
        [
            (
                f"at_event(last), event {view.at}: {len(view.nodes)} nodes, {len(view.edges)} edges, "
                f"{len(ghosts)} ghosts",
                best(last_times),
                median(last_times),
            ),
            (
                f"at_event({grown}), creator running: {len(grown_ghosts)} ghost(s)",
                best(grown_times),
                median(grown_times),
            ),
            ("to_json + json.dumps", best(json_times), median(json_times)),
            ("to_dot", best(dot_times), median(dot_times)),
            (
                f"weft graph RUN --format json (subprocess, {len(printed['nodes'])} nodes printed)",
                best(cli_times),
                median(cli_times),
            ),
            ("  of which interpreter start-up + imports (weft --version)", best(start_times), median(start_times)),
        ],
    )
    print()
    print(f"at_event at the last event, best {best(last_times):.3f} s: {verdict(best(last_times), 0.5)} s")
    if len(printed["nodes"]) != n + 1 or grown_ghosts == [] or ghosts != []:
        print("WARNING: unexpected projection (nodes printed, or ghosts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
