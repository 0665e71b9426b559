"""A 500-node chain of /bin/true: the engine's per-node overhead against two baselines.

  engine        in-process: fresh Store in a temp home, Run(...).execute() (every event persisted)
  engine-cli    `python -m engine.cli.main --home H run FILE` as a subprocess (reference only)
  bare-asyncio  create_subprocess_exec + start line on stdin + read stdout/stderr to EOF + wait
  paradag       paradag.dag_run with SequentialProcessor; subprocess.run(['/bin/true']) per vertex

Variants alternate within each repetition. Targets: engine/bare <= 1.2, engine/paradag <= 1.5.
Usage: python bench/chain.py [--nodes N] [--reps R]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    TRUE,
    best,
    cli_cmd,
    cpu_of,
    cpu_seconds,
    db_count,
    engine_cli,
    engine_in_process,
    header,
    median,
    start_line,
    table,
    verdict,
    workflow_yaml,
    write,
)


def chain_ids(n: int) -> list[str]:
    return [f"n{i}" for i in range(n)]


def run_engine(wf: Path, tmp: Path, rep: int, n: int) -> tuple[float, float]:
    home = tmp / f"home-engine-{rep}"
    elapsed, run, state = engine_in_process(wf, home)
    if state.value != "succeeded":
        raise SystemExit(f"engine run ended {state.value}")
    states = db_count(home, "SELECT count(*) FROM events WHERE run=? AND kind='node_state'", (run.id,))
    total = db_count(home, "SELECT count(*) FROM events WHERE run=?", (run.id,))
    last = db_count(home, "SELECT last_seq FROM runs WHERE id=?", (run.id,))
    ok = states >= 2 * n and total == last == run._seq
    print(
        f"  [engine rep {rep}] node_state events {states} (need >= {2 * n}), events {total}, "
        f"last_seq {last}, emitted {run._seq}: {'ok' if ok else 'MISSING EVENTS'}"
    )
    if not ok:
        raise SystemExit("the store does not hold every event")
    return elapsed, cpu_seconds()


def run_cli(wf: Path, tmp: Path, rep: int) -> float:
    elapsed, proc = engine_cli(wf, tmp / f"home-cli-{rep}")
    if proc.returncode != 0:
        raise SystemExit(f"CLI run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed


async def _bare(ids: list[str]) -> None:
    pipe = asyncio.subprocess.PIPE
    for node in ids:  # a chain: each node starts after the previous one ended
        proc = await asyncio.create_subprocess_exec(TRUE, stdin=pipe, stdout=pipe, stderr=pipe)
        assert proc.stdin and proc.stdout and proc.stderr
        try:
            proc.stdin.write(start_line(node))
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass
        proc.stdin.close()
        await asyncio.gather(proc.stdout.read(), proc.stderr.read())
        if await proc.wait() != 0:
            raise SystemExit(f"bare: {node} failed")


def run_bare(ids: list[str]) -> float:
    t0 = time.perf_counter()
    asyncio.run(_bare(ids))
    return time.perf_counter() - t0


class TrueExecutor:
    """A paradag executor: each vertex runs /bin/true."""

    def param(self, vertex: str) -> str:
        return vertex

    def execute(self, vertex: str) -> int:
        return subprocess.run([TRUE], check=True).returncode


def run_paradag(ids: list[str]) -> float:
    import paradag

    t0 = time.perf_counter()
    dag = paradag.DAG()
    dag.add_vertex(*ids)
    for a, b in zip(ids, ids[1:]):
        dag.add_edge(a, b)
    done = paradag.dag_run(dag, processor=paradag.SequentialProcessor(), executor=TrueExecutor())
    elapsed = time.perf_counter() - t0
    if len(done) != len(ids):
        raise SystemExit("paradag did not run every vertex")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=500)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    n = args.nodes
    ids = chain_ids(n)
    header(f"chain: {n} x {TRUE}, max_parallel 1, {args.reps} alternating repetitions")
    times: dict[str, list[float]] = {"engine": [], "engine-cli": [], "bare-asyncio": [], "paradag": []}
    cpu: dict[str, list[float]] = {k: [] for k in times}  # this process only: not the tasks, not the CLI
    with tempfile.TemporaryDirectory(prefix="weft-bench-chain-") as tmp_name:
        tmp = Path(tmp_name)
        wf = write(tmp / "chain.weft.yaml", workflow_yaml("chain", ids, zip(ids, ids[1:]), max_parallel=1))
        print(f"  CLI: {' '.join(cli_cmd(tmp / 'home-cli-N', wf))}")
        for rep in range(args.reps):
            for name, fn in (
                ("engine", lambda rep=rep: run_engine(wf, tmp, rep, n)),
                ("engine-cli", lambda rep=rep: (run_cli(wf, tmp, rep), float("nan"))),
                ("bare-asyncio", lambda: cpu_of(lambda: run_bare(ids))),
                ("paradag", lambda: cpu_of(lambda: run_paradag(ids))),
            ):
                wall, used = fn()
                times[name].append(wall)
                cpu[name].append(used)
    print()
    rows = []
    for name, xs in times.items():
        rows.append(
            (
                name,
                best(xs),
                median(xs),
                1e6 * best(xs) / n,
                1e6 * median(cpu[name]) / n,
                " ".join(f"{x:.3f}" for x in xs),
            )
        )
    table(["variant", "best s", "median s", "best µs/node", "CPU µs/node", "all runs s"], rows)
    print("  (CPU: this process's user+sys, median; tasks and the CLI subprocess not included)")

    e, b, p = (best(times[k]) for k in ("engine", "bare-asyncio", "paradag"))
    em, bm, pm = (median(times[k]) for k in ("engine", "bare-asyncio", "paradag"))
    print()
    table(
        ["ratio", "best", "median", "verdict (best)"],
        [
            ("engine / bare-asyncio", e / b, em / bm, verdict(e / b, 1.2)),
            ("engine / paradag", e / p, em / pm, verdict(e / p, 1.5)),
            ("engine-cli / engine", best(times["engine-cli"]) / e, median(times["engine-cli"]) / em, "reference"),
            ("bare-asyncio / paradag", b / p, bm / pm, "floor of engine/paradag for any asyncio engine"),
            (
                "engine / bare-asyncio, CPU time",
                "-",
                median(cpu["engine"]) / median(cpu["bare-asyncio"]),
                "less sensitive to a busy machine",
            ),
        ],
    )
    print()
    table(
        ["per-node overhead of the engine", "best µs", "median µs"],
        [
            ("over bare-asyncio", 1e6 * (e - b) / n, 1e6 * (em - bm) / n),
            ("over paradag", 1e6 * (e - p) / n, 1e6 * (em - pm) / n),
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
