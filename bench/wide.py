"""10,000 independent /bin/true nodes, max_parallel 2, through the CLI in a subprocess.

Reports wall time, per-node time and the peak RSS of the `weft run` process
(getrusage(RUSAGE_CHILDREN).ru_maxrss once it has ended; this script starts no other child
before it, and the /bin/true grandchildren are far smaller). Target: peak RSS < 300 MB.
Checks that the run succeeded and that the store has every node succeeded.
Usage: python bench/wide.py [--nodes N] [--parallel P]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import TRUE, cli_cmd, db_count, header, succeeded_nodes, table, verdict, workflow_yaml, write


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=10_000)
    ap.add_argument("--parallel", type=int, default=2)
    args = ap.parse_args()
    n = args.nodes
    header(f"wide: {n} independent {TRUE} nodes, max_parallel {args.parallel}, CLI subprocess")
    with tempfile.TemporaryDirectory(prefix="weft-bench-wide-") as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        wf = write(
            tmp / "wide.weft.yaml", workflow_yaml("wide", (f"n{i}" for i in range(n)), max_parallel=args.parallel)
        )
        gen = time.perf_counter() - t0
        home = tmp / "home"
        cmd = cli_cmd(home, wf, "--json")
        print(f"  {' '.join(cmd)}")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_mb = after.ru_maxrss / 1024  # Linux: KiB
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"weft run exited {proc.returncode}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        succeeded = succeeded_nodes(home, result["run"])
        events = db_count(home, "SELECT count(*) FROM events WHERE run=?", (result["run"],))
        started, finished = (
            db_count(home, f"SELECT {c} FROM runs WHERE id=?", (result["run"],)) for c in ("started_at", "finished_at")
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print()
    table(
        ["measure", "value"],
        [
            ("run state", result["state"]),
            ("nodes succeeded (store)", f"{succeeded} / {n}"),
            ("events stored", events),
            ("wall time, s", wall),
            ("  of which the run itself (store timestamps), s", finished - started),
            ("  so start-up + load + summary, s", wall - (finished - started)),
            ("per node, µs (wall)", 1e6 * wall / n),
            ("CPU of weft + tasks (user+sys), s", cpu),
            ("peak RSS of weft run, MB", peak_mb),
            ("(generating the YAML, s)", gen),
        ],
    )
    print()
    print(f"peak RSS {peak_mb:.1f} MB: {verdict(peak_mb, 300)} MB")
    if result["state"] != "succeeded" or succeeded != n:
        print("WARNING: the run did not succeed for every node")
    return 0


if __name__ == "__main__":
    sys.exit(main())
