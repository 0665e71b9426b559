"""Resume of a 10,000-node run killed half-way: the fold, `weft resume`, and a fresh run of the rest.

Each repetition makes a new interrupted run: `weft run` (a subprocess, `python -m
engine.cli.main --home H run FILE`) of N `/bin/true` nodes, `max_parallel` 2, is killed with
SIGKILL once half of its nodes are `succeeded` in the store (polled), and so are the tasks it
left (found by their `WEFT_RUN`). Then:

  fold            `Run.resuming(store, run)` in this process: read the log, rebuild the run
                  (graph, keeper, node states, outputs); repeated --fold-reps times. Next to it,
                  for reference: `load_text` of the workflow alone and `fold.snapshot` alone
  weft resume     `python -m engine.cli.main --home H resume RUN` as a subprocess: launch to the
                  run's `resumed` event, to the first new task start (the first `running`
                  node_state stored after the kill), to the run's end (finished_at), and to exit
  fresh           `weft run` of a workflow of only the nodes that had not succeeded (and the
                  edges among them), the same `max_parallel`: the same times

Resume and fresh alternate in order between repetitions. Ratio: resume / fresh, total wall
time (the overhead of resuming over running the remaining nodes). Target: fold < 1 s for
10,000 nodes. `--shape mix` makes chains of 10 nodes side by side instead of independent nodes.
`--profile` prints a cProfile of one Run.resuming (of the last repetition's run).
Usage: python bench/resume.py [--nodes N] [--reps R] [--fold-reps F] [--shape wide|mix] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import TRUE, best, cli_cmd, db_count, header, median, table, verdict, workflow_yaml, write

CHAIN = 10  # nodes per chain with --shape mix
POLL = 0.05  # seconds between two looks at the store while waiting for half the nodes
SUCCEEDED = "SELECT count(*) FROM events WHERE run=? AND kind='node_state' AND json_extract(data, '$.state')=?"


def shape(n: int, kind: str) -> tuple[list[str], list[tuple[str, str]]]:
    ids = [f"n{i}" for i in range(n)]
    if kind == "wide":
        return ids, []
    return ids, [(ids[i], ids[i + 1]) for i in range(n - 1) if (i + 1) % CHAIN]


def weft(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "engine.cli.main", "--home", str(home), *args]


def run_id_of(home: Path) -> str | None:
    if not (home / "weft.db").exists():
        return None
    try:
        row = db_row(home, "SELECT id FROM runs ORDER BY started_at DESC LIMIT 1")
    except Exception:  # the database is being created: not there yet
        return None
    return row[0] if row else None


def db_row(home: Path, sql: str, args: tuple[Any, ...] = ()) -> Any:
    import sqlite3

    conn = sqlite3.connect(home / "weft.db", timeout=5)
    try:
        return conn.execute(sql, args).fetchone()
    finally:
        conn.close()


def interrupt(tmp: Path, rep: int, wf: Path, n: int, log: Any) -> tuple[Path, str, dict[str, Any]]:
    """A `weft run` of ``wf`` killed with SIGKILL once half its nodes succeeded."""
    from engine.executors.local import tasks_of

    home = tmp / f"home-{rep}"
    proc = subprocess.Popen(
        cli_cmd(home, wf, "--json"), stdout=log, stderr=log, cwd=tmp, start_new_session=True, text=True
    )
    t0 = time.perf_counter()
    run_id = None
    done = 0
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"weft run ended ({proc.returncode}) before it was killed; see {log.name}")
            run_id = run_id or run_id_of(home)
            if run_id is not None:
                try:
                    done = db_count(home, SUCCEEDED, (run_id, "succeeded"))
                except Exception:  # locked for a moment: look again
                    pass
                if done >= n // 2:
                    break
            time.sleep(POLL)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    ran = time.perf_counter() - t0
    leftovers = tasks_of(run_id)
    for pid in leftovers:
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except OSError:
            pass
    assert run_id is not None
    info = {
        "ran": ran,
        "seen": done,
        "succeeded": db_count(home, SUCCEEDED, (run_id, "succeeded")),
        "events": db_count(home, "SELECT count(*) FROM events WHERE run=?", (run_id,)),
        "last_seq": db_count(home, "SELECT last_seq FROM runs WHERE id=?", (run_id,)),
        "leftover_tasks": len(leftovers),
    }
    return home, run_id, info


def timed(fn: Callable[[], Any], reps: int) -> tuple[list[float], Any]:
    times, value = [], None
    for _ in range(reps):
        gc.collect()
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return times, value


def fold(home: Path, run_id: str, reps: int) -> dict[str, Any]:
    """Time Run.resuming (and, for reference, its parts) on the interrupted run."""
    from engine.history.fold import snapshot
    from engine.history.store import Store
    from engine.running.run import Run
    from engine.workflow.loader import load_text

    store = Store(home)
    try:
        row = store.run(run_id)
        if row["state"] != "interrupted":
            raise SystemExit(f"run {run_id} is {row['state']}, not interrupted")
        resuming, run = timed(lambda: Run.resuming(store, run_id), reps)
        states: dict[str, int] = {}
        for s in run.node_state.values():
            states[s.value] = states.get(s.value, 0) + 1
        remaining = sorted(n for n, s in run.node_state.items() if s.value != "succeeded")
        del run
        loading, _ = timed(lambda: load_text(row["text"], row["path"], Path(row["path"])), reps)
        snap, _ = timed(lambda: snapshot(store, run_id), reps)
    finally:
        store.close()
    return {"resuming": resuming, "load_text": loading, "snapshot": snap, "states": states, "remaining": remaining}


def profile_resuming(home: Path, run_id: str) -> None:
    from engine.history.store import Store
    from engine.running.run import Run

    store = Store(home)
    try:
        profile = cProfile.Profile()
        profile.runcall(Run.resuming, store, run_id)
    finally:
        store.close()
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)


def timeline(home: Path, run_id: str, after: int, launched: float, ended: float) -> dict[str, float]:
    """Seconds from ``launched`` (time.time()) to the run's marks stored after event ``after``."""
    first_run = db_row(
        home,
        "SELECT min(ts), count(*) FROM events WHERE run=? AND seq>? AND kind='node_state'"
        " AND json_extract(data, '$.state')='running'",
        (run_id, after),
    )
    took_over = db_row(home, "SELECT min(ts) FROM events WHERE run=? AND seq>? AND kind='run_state'", (run_id, after))
    finished = db_row(home, "SELECT finished_at FROM runs WHERE id=?", (run_id,))[0]
    nan = float("nan")
    return {
        "took_over": (took_over[0] - launched) if took_over and took_over[0] and after else nan,
        "first_start": first_run[0] - launched if first_run[0] else nan,
        "started": first_run[1],
        "finished": (finished - launched) if finished else nan,
        "total": ended - launched,
    }


def resume(home: Path, run_id: str, tmp: Path, last_seq: int) -> dict[str, float]:
    launched = time.time()
    proc = subprocess.run(weft(home, "resume", run_id, "--json"), capture_output=True, text=True, cwd=tmp)
    ended = time.time()
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"weft resume exited {proc.returncode}")
    state = json.loads(proc.stdout.strip().splitlines()[-1])["state"]
    out = timeline(home, run_id, last_seq, launched, ended)
    out["succeeded"] = state == "succeeded"
    return out


def fresh(tmp: Path, rep: int, ids: list[str], edges: list[tuple[str, str]], parallel: int) -> dict[str, float]:
    keep = set(ids)
    wf = write(
        tmp / f"rest-{rep}.weft.yaml",
        workflow_yaml("rest", ids, [(a, b) for a, b in edges if a in keep and b in keep], max_parallel=parallel),
    )
    home = tmp / f"home-fresh-{rep}"
    launched = time.time()
    proc = subprocess.run(cli_cmd(home, wf, "--json"), capture_output=True, text=True, cwd=tmp)
    ended = time.time()
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"fresh weft run exited {proc.returncode}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    out = timeline(home, result["run"], 0, launched, ended)
    out["succeeded"] = result["state"] == "succeeded"
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=3, help="interrupted runs (each is made anew)")
    ap.add_argument("--fold-reps", type=int, default=5, help="Run.resuming timings per interrupted run")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--shape", choices=("wide", "mix"), default="wide")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one Run.resuming")
    args = ap.parse_args()
    n = args.nodes
    what = "independent" if args.shape == "wide" else f"(chains of {CHAIN})"
    header(f"resume: {n} {what} {TRUE} nodes, max_parallel {args.parallel}, killed at half, {args.reps} repetitions")
    ids, edges = shape(n, args.shape)
    folds: dict[str, list[float]] = {"resuming": [], "load_text": [], "snapshot": []}
    resumed: list[dict[str, float]] = []
    fresh_runs: list[dict[str, float]] = []
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="weft-bench-resume-") as tmp_name:
        tmp = Path(tmp_name)
        wf = write(tmp / "wide.weft.yaml", workflow_yaml("resume", ids, edges, max_parallel=args.parallel))
        print(f"  {' '.join(cli_cmd(tmp / 'home-R', wf, '--json'))}  (killed at {n // 2} succeeded)")
        home = run_id = None
        for rep in range(args.reps):
            with open(tmp / f"run-{rep}.log", "w") as log:
                home, run_id, info = interrupt(tmp, rep, wf, n, log)
            f = fold(home, run_id, args.fold_reps)
            for key in folds:
                folds[key] += f[key]
            remaining = f["remaining"]
            print(
                f"  [rep {rep}] {run_id}: killed after {info['ran']:.1f} s; {info['succeeded']} succeeded "
                f"in the store, {info['events']} events (last_seq {info['last_seq']}), "
                f"{info['leftover_tasks']} task(s) left over and killed; folded: {f['states']}; "
                f"Run.resuming {' '.join(f'{x:.3f}' for x in f['resuming'])} s",
                flush=True,
            )
            for name in ("fresh", "resume") if rep % 2 else ("resume", "fresh"):
                if name == "resume":
                    out = resume(home, run_id, tmp, info["last_seq"])
                else:
                    out = fresh(tmp, rep, remaining, edges, args.parallel)
                (resumed if name == "resume" else fresh_runs).append(out)
                print(
                    f"    {name}: {out['started']} tasks started, first after {out['first_start']:.3f} s, "
                    f"run ended after {out['finished']:.2f} s, exit after {out['total']:.2f} s",
                    flush=True,
                )
                if not out["succeeded"]:
                    problems.append(f"rep {rep}: the {name} run did not succeed")
                if out["started"] != len(remaining):
                    problems.append(f"rep {rep}: {name} started {out['started']} tasks, {len(remaining)} remained")
        if args.profile and home is not None and run_id is not None:
            print("\ncProfile of one Run.resuming:")
            profile_resuming(home, run_id)

    def bm(xs: list[float]) -> tuple[float, float]:
        return best(xs), median(xs)

    print()
    table(
        ["fold (in-process)", "best s", "median s", "all runs s"],
        [(k, *bm(v), " ".join(f"{x:.3f}" for x in v)) for k, v in folds.items()],
    )
    print("  (load_text and snapshot are parts of, or comparable to, Run.resuming: for reference)")
    print()
    rows = []
    for key, label in (
        ("took_over", "launch -> `resumed` event"),
        ("first_start", "launch -> first task start"),
        ("finished", "launch -> run finished"),
        ("total", "launch -> process exit (total)"),
    ):
        r = [x[key] for x in resumed]
        fr = [x[key] for x in fresh_runs]
        rows.append((label, *bm(r), *bm(fr), best(r) - best(fr), median(r) - median(fr)))
    table(["CLI, s", "resume best", "resume median", "fresh best", "fresh median", "diff best", "diff median"], rows)
    tot_r = [x["total"] for x in resumed]
    tot_f = [x["total"] for x in fresh_runs]
    per_rep = [r / f for r, f in zip(tot_r, tot_f)]
    print()
    table(
        ["ratio", "best", "median", "per repetition"],
        [
            ("resume / fresh, total", best(tot_r) / best(tot_f), median(tot_r) / median(tot_f),
             " ".join(f"{x:.3f}" for x in per_rep)),
        ],
    )  # fmt: skip
    print()
    b = best(folds["resuming"])
    print(f"fold (Run.resuming) of {n} nodes, best {b:.3f} s, median {median(folds['resuming']):.3f} s: "
          f"{verdict(b, 1.0)} s")  # fmt: skip
    for p in problems:
        print(f"WARNING: {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
