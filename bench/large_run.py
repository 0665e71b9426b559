"""Peak memory of `weft run` on a large static workflow: 100,000 /bin/true nodes by default.

The workflow is wide (independent nodes) or a chain (`n_i -> n_i+1`); no node is dynamic. The
run is the CLI in a child process, end to end (start-up, load, registration, every node run,
the summary). While it runs, its /proc status is sampled every 20 ms: VmHWM (the peak resident
set so far) when its first task starts, i.e. after loading and registering every node, and at
the end; the final peak is `getrusage(RUSAGE_CHILDREN).ru_maxrss` once it has ended (this
script starts no other child before it; the /bin/true tasks are far smaller). Checks that the
run succeeded and that the store has every node succeeded. Target: peak RSS < 300 MB.
Usage: python bench/large_run.py [--nodes N] [--shape wide|chain] [--parallel P]
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


def status_kib(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def has_child(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return bool(f.read().strip())
    except OSError:
        return False


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--shape", choices=("wide", "chain"), default="wide")
    ap.add_argument("--parallel", type=int, default=2)
    args = ap.parse_args()
    n = args.nodes
    header(f"large run: {n} static {TRUE} nodes ({args.shape}), max_parallel {args.parallel}, `weft run` as a child")
    with tempfile.TemporaryDirectory(prefix="weft-bench-large-") as tmp_name:
        tmp = Path(tmp_name)
        nodes = [f"n{i}" for i in range(n)]
        edges = list(zip(nodes, nodes[1:])) if args.shape == "chain" else []
        wf = write(tmp / "large.weft.yaml", workflow_yaml("large", nodes, edges, max_parallel=args.parallel))
        size_mb = wf.stat().st_size / 1e6
        home = tmp / "home"
        cmd = cli_cmd(home, wf, "--json")
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp)
        first_task_at: float | None = None
        hwm_at_first_task: int | None = None
        while proc.poll() is None:
            if first_task_at is None and has_child(proc.pid):
                first_task_at = time.perf_counter() - t0
                hwm_at_first_task = status_kib(proc.pid, "VmHWM")
            time.sleep(0.02)
        stdout, stderr = proc.communicate()
        wall = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB
        if proc.returncode != 0:
            print(stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"weft run exited {proc.returncode}")
        result = json.loads(stdout.strip().splitlines()[-1])
        run = result["run"]
        succeeded = succeeded_nodes(home, run)
        started, finished = (
            db_count(home, f"SELECT {c} FROM runs WHERE id=?", (run,)) for c in ("started_at", "finished_at")
        )
    before_mb = hwm_at_first_task / 1024 if hwm_at_first_task is not None else float("nan")
    print()
    table(
        ["measure", "value"],
        [
            ("workflow file, MB", size_mb),
            ("run state", result["state"]),
            ("nodes succeeded (store)", f"{succeeded} / {n}"),
            ("wall time, s", wall),
            ("  of which the run itself (store timestamps), s", finished - started),
            ("  first task started after, s", first_task_at if first_task_at is not None else float("nan")),
            ("peak RSS when the first task started (start-up, load, registration), MB", before_mb),
            ("peak RSS of the whole run, MB", peak_mb),
            ("  per node, KB", 1000 * peak_mb / n),
        ],
    )
    print()
    print(f"peak RSS {peak_mb:.1f} MB for {n} nodes: {verdict(peak_mb, 300)} MB")
    if result["state"] != "succeeded" or succeeded != n:
        print("WARNING: the run did not succeed for every node")
    return 0


if __name__ == "__main__":
    sys.exit(main())
