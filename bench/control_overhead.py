"""What tending a run costs: the control poll and the lease, on the 500-node chain of chain.py.

While a run lives, ``Run._tend`` takes the controls other processes asked of it
(``_take_controls``, one SELECT every ``CONTROL_POLL`` s) and renews its lease
(``Store.renew_lease``, one write transaction every ``LEASE / 5`` s). Two variants of the
in-process engine (fresh Store in a temp home, ``Run(...).execute()``, every event persisted),
alternating, the order swapped every repetition, one untimed run of each first:

  tended     the engine as it is
  untended   a ``Run`` subclass, in this benchmark only, whose ``_tend`` waits forever (no poll,
             no lease; cancelled at the run's end like the real one)
  tended-2   the engine as it is again: tended / tended-2 shows how far two identical series
             differ on this machine now, the resolution of the ratio above

The three rotate in order every repetition. Reports best and median wall time and CPU time of
this process (the tasks are not counted) and the ratios tended / untended, also as the median of
the ratios within each repetition (neighbours in time). Target: <= 1.02 (verdict on the CPU
median of paired ratios). Then the cost of one ``_take_controls`` and one
``renew_lease`` on a real store (a home holding these runs), and what they add up to per second
of a run and per chain run, analytically.
Usage: python bench/control_overhead.py [--nodes N] [--reps R]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    TRUE,
    best,
    cpu_seconds,
    db_count,
    engine_in_process,
    header,
    median,
    table,
    verdict,
    workflow_yaml,
    write,
)


def untended_class() -> type:
    from engine.running.run import Run

    class Untended(Run):
        async def _tend(self) -> None:
            await asyncio.Event().wait()  # neither controls nor the lease: the run's end cancels it

    return Untended


def run_once(wf: Path, home: Path, n: int, run_class: type | None) -> tuple[float, float, Any]:
    gc.collect()
    wall, run, state = engine_in_process(wf, home, run_class=run_class)
    if state.value != "succeeded":
        raise SystemExit(f"run ended {state.value}")
    states = db_count(home, "SELECT count(*) FROM events WHERE run=? AND kind='node_state'", (run.id,))
    if states < 2 * n:
        raise SystemExit(f"the store holds {states} node_state events, not {2 * n}")
    return wall, cpu_seconds(), run.id


def per_call(fn: Any, calls: int) -> tuple[float, float]:
    """(best, median) µs per call of ``fn`` over 5 rounds of ``calls`` calls."""
    rounds = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        rounds.append(1e6 * (time.perf_counter() - t0) / calls)
    return best(rounds), median(rounds)


def micro(wf: Path, home: Path, run_id: str) -> dict[str, tuple[float, float]]:
    """One _take_controls and one renew_lease, on the store the runs were written to."""
    from engine.history.store import LEASE, Store
    from engine.running.run import Run
    from engine.workflow.loader import load_file, read_text

    store = Store(home)
    try:
        run = Run(load_file(wf), store, text=read_text(wf), run_id=run_id)
        for other in range(100):  # a controls table that is not empty: others' taken controls
            number = store.add_control(f"r-other-{other}", "pause")
            store.conn.execute("UPDATE controls SET taken=1 WHERE id=?", (number,))
        return {
            "_take_controls (nothing asked)": per_call(run._take_controls, 20_000),
            "renew_lease": per_call(lambda: store.renew_lease(run_id, time.time() + LEASE), 2_000),
        }
    finally:
        store.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=500)
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()
    n = args.nodes
    from engine.history.store import LEASE
    from engine.running.run import CONTROL_POLL

    header(f"control overhead: chain of {n} x {TRUE}, max_parallel 1, in-process, {args.reps} alternating repetitions")
    variants: dict[str, type | None] = {"tended": None, "untended": untended_class(), "tended-2": None}
    walls: dict[str, list[float]] = {k: [] for k in variants}
    cpus: dict[str, list[float]] = {k: [] for k in variants}
    with tempfile.TemporaryDirectory(prefix="weft-bench-control-") as tmp_name:
        tmp = Path(tmp_name)
        ids = [f"n{i}" for i in range(n)]
        wf = write(tmp / "chain.weft.yaml", workflow_yaml("chain", ids, zip(ids, ids[1:]), max_parallel=1))
        home = tmp / "home"  # one home, as a user's: the runs accumulate in it
        for cls in variants.values():  # warm-up, untimed
            run_once(wf, home, n, cls)
        last = ""
        for rep in range(args.reps):
            order = list(variants.items())
            order = order[rep % len(order) :] + order[: rep % len(order)]
            for name, cls in order:
                wall, cpu, last = run_once(wf, home, n, cls)
                walls[name].append(wall)
                cpus[name].append(cpu)
            print(
                f"  [rep {rep}] "
                + ", ".join(f"{k} {walls[k][-1]:.3f} s wall / {cpus[k][-1]:.3f} s CPU" for k in variants),
                flush=True,
            )
        costs = micro(wf, home, last)

    print()
    table(
        ["variant", "best wall s", "median wall s", "best CPU s", "median CPU s", "all wall s"],
        [
            (
                k,
                best(walls[k]),
                median(walls[k]),
                best(cpus[k]),
                median(cpus[k]),
                " ".join(f"{x:.3f}" for x in walls[k]),
            )
            for k in variants
        ],
    )
    print("  (CPU: this process's user+sys; the tasks are not counted)")

    def ratios(t: str, u: str) -> dict[str, float]:
        return {
            "wall, best": best(walls[t]) / best(walls[u]),
            "wall, median": median(walls[t]) / median(walls[u]),
            "CPU, best": best(cpus[t]) / best(cpus[u]),
            "CPU, median": median(cpus[t]) / median(cpus[u]),
            # the runs of one repetition are neighbours in time: their ratio cancels slow drifts
            "wall, median of paired ratios": median([a / b for a, b in zip(walls[t], walls[u])]),
            "CPU, median of paired ratios": median([a / b for a, b in zip(cpus[t], cpus[u])]),
        }

    measured, noise = ratios("tended", "untended"), ratios("tended", "tended-2")
    print()
    table(
        ["ratio", "tended / untended", "verdict", "tended / tended-2 (noise)"],
        [(k, v, verdict(v, 1.02), noise[k]) for k, v in measured.items()],
    )

    tc = costs["_take_controls (nothing asked)"][0]
    rl = costs["renew_lease"][0]
    per_second = tc / CONTROL_POLL + rl / (LEASE / 5)
    run_s = median(walls["tended"])
    polls, renewals = int(run_s / CONTROL_POLL), int(run_s / (LEASE / 5))
    print()
    table(["one call (real store)", "best µs", "median µs"], [(k, *v) for k, v in costs.items()])
    print()
    table(
        ["analytically", "value"],
        [
            (f"per second of a run: {1 / CONTROL_POLL:g} polls + {1 / (LEASE / 5):g} renewals, µs", per_second),
            ("  as a share of the run's time", f"{per_second / 1e4:.4f} %"),
            (f"per chain run ({run_s:.2f} s): {polls} polls + {renewals} renewals, µs", polls * tc + renewals * rl),
            ("  as a share of that run", f"{(polls * tc + renewals * rl) / (run_s * 1e4):.4f} %"),
        ],
    )
    print()
    paired, share = measured["CPU, median of paired ratios"], (polls * tc + renewals * rl) / (run_s * 1e6)
    print(
        f"tended / untended, CPU median of paired ratios {paired:.3f}: {verdict(paired, 1.02)} "
        f"(two identical series differ by {abs(noise['CPU, median of paired ratios'] - 1):.1%} here); "
        f"analytically {1 + share:.5f}: {verdict(1 + share, 1.02)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
