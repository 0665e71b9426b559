"""The ray executor against the local one: per-task overhead and per-line streaming cost.

  chain      in-process: fresh Store in a temp home, Run(...).execute() of a chain of N nodes
             (`command: [true]`, max_parallel 1), on the local executor and on a two-node Ray
             cluster on loopback (head 127.0.0.2, worker 127.0.0.3; tests/raycluster.py), every
             event persisted. The Ray connection is made once, untimed, before the repetitions.
  chain-far  the same chain pinned to the worker node (`resources.custom.worker`)
  wide       W independent `true` nodes: locally with max_parallel 2 (the machine's cores), on
             Ray with max_parallel 4 (both cluster nodes busy: two CPUs each) — throughput
  lines      one task writing L lines of 60 bytes to stdout, each a log line the engine records
  lines-far  the same task pinned to the worker node

Variants alternate within each repetition. Reported: ms per task, µs per line, and the ratios
ray / local (no target: this is what a task on a cluster costs over a local process).
Usage: python bench/ray_executor.py [--nodes N] [--wide W] [--lines L] [--reps R] [--address HOST:PORT]
       (without --address a two-node cluster is started for the benchmark and stopped after it)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import yaml
from _common import REPO, best, engine_in_process, header, median, table, write

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def chain(n: int, executor: str, far: bool = False) -> str:
    node: dict = {"command": ["true"], "executor": executor}
    if far:
        node["resources"] = {"custom": {"worker": 1}}
    nodes = [{"id": f"n{i}", **node} for i in range(n)]
    edges = [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(n - 1)]
    data = {"weft": 1, "name": "chain", "settings": {"max_parallel": 1}, "nodes": nodes, "edges": edges}
    return yaml.safe_dump(data, sort_keys=False)


def wide(n: int, executor: str, parallel: int) -> str:
    nodes = [{"id": f"w{i}", "command": ["true"], "executor": executor} for i in range(n)]
    data = {"weft": 1, "name": "wide", "settings": {"max_parallel": parallel}, "nodes": nodes}
    return yaml.safe_dump(data, sort_keys=False)


def talker(lines: int, executor: str, far: bool = False) -> str:
    code = f"import sys\nw = sys.stdout.write\nfor i in range({lines}): w('line %08d ' % i + 'x' * 45 + '\\n')\n"
    data = {
        "weft": 1,
        "name": "lines",
        "nodes": [{"id": "talk", "command": ["python3", "-c", code], "executor": executor}],
    }
    if far:
        data["nodes"][0]["resources"] = {"custom": {"worker": 1}}
    return yaml.safe_dump(data, sort_keys=False)


def timed(wf: Path, home: Path, executor: object) -> float:
    def prepare(run: object) -> None:
        run._executors["ray"] = executor  # type: ignore[attr-defined]  # connected once, untimed

    elapsed, run, state = engine_in_process(wf, home, prepare)
    if state.value != "succeeded":
        raise SystemExit(f"{wf.name} ended {state.value}: {dict(run.node_state)}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=200)
    ap.add_argument("--wide", type=int, default=1000)
    ap.add_argument("--lines", type=int, default=50_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--address", default=None)
    args = ap.parse_args()
    n, lines, w = args.nodes, args.lines, args.wide

    from engine.executors.ray import RayExecutor

    cluster = None
    if args.address is None:
        from tests.raycluster import ENV, RayCluster

        os.environ.update(ENV)  # this process joins it as a driver: no token authentication
        cluster = RayCluster().start()
    try:
        address = args.address or cluster.address  # type: ignore[union-attr]
        executor = RayExecutor(address)
        executor.connect()
        header(
            f"ray at {address}: chains of {n} `true` nodes, {w} independent ones, one task of {lines} lines;"
            f" {args.reps} repetitions"
        )
        names = ("chain-local", "chain-ray", "chain-far", "wide-local", "wide-ray", "lines-local", "lines-ray")
        times: dict[str, list[float]] = {k: [] for k in (*names, "lines-far")}
        with tempfile.TemporaryDirectory(prefix="weft-bench-ray-") as tmp_name:
            tmp = Path(tmp_name)
            flows = {
                "chain-local": write(tmp / "cl.weft.yaml", chain(n, "local")),
                "chain-ray": write(tmp / "cr.weft.yaml", chain(n, "ray")),
                "chain-far": write(tmp / "cf.weft.yaml", chain(n, "ray", far=True)),
                "lines-local": write(tmp / "ll.weft.yaml", talker(lines, "local")),
                "lines-ray": write(tmp / "lr.weft.yaml", talker(lines, "ray")),
                "lines-far": write(tmp / "lf.weft.yaml", talker(lines, "ray", far=True)),
                "wide-local": write(tmp / "wl.weft.yaml", wide(w, "local", 2)),
                "wide-ray": write(tmp / "wr.weft.yaml", wide(w, "ray", 4)),
            }
            timed(flows["chain-ray"], tmp / "warm-up", executor)  # Ray's workers start once
            timed(flows["chain-far"], tmp / "warm-up", executor)
            for rep in range(args.reps):
                for name, wf in flows.items():
                    times[name].append(timed(wf, tmp / f"home-{name}-{rep}", executor))
    finally:
        if cluster is not None:
            cluster.remove()
    print()
    per_task = {k: 1e3 * best(v) / n for k, v in times.items() if k.startswith("chain")}
    per_task_median = {k: 1e3 * median(v) / n for k, v in times.items() if k.startswith("chain")}
    per_line = {k: 1e6 * best(v) / lines for k, v in times.items() if k.startswith("lines")}
    per_line_median = {k: 1e6 * median(v) / lines for k, v in times.items() if k.startswith("lines")}
    table(
        ["variant", "best s", "median s", "all runs s"],
        [(k, best(v), median(v), " ".join(f"{x:.2f}" for x in v)) for k, v in times.items()],
    )
    print()
    table(
        ["per task / per line", "best", "median", "ray / local (best)", "ray / local (median)"],
        [
            ("chain, local: ms/task", per_task["chain-local"], per_task_median["chain-local"], 1.0, 1.0),
            *(
                (
                    f"{k}: ms/task",
                    per_task[k],
                    per_task_median[k],
                    per_task[k] / per_task["chain-local"],
                    per_task_median[k] / per_task_median["chain-local"],
                )
                for k in ("chain-ray", "chain-far")
            ),
            ("lines, local: µs/line", per_line["lines-local"], per_line_median["lines-local"], 1.0, 1.0),
            *(
                (
                    f"{k}: µs/line",
                    per_line[k],
                    per_line_median[k],
                    per_line[k] / per_line["lines-local"],
                    per_line_median[k] / per_line_median["lines-local"],
                )
                for k in ("lines-ray", "lines-far")
            ),
        ],
    )
    print()
    rate = {k: w / best(times[k]) for k in ("wide-local", "wide-ray")}
    rate_median = {k: w / median(times[k]) for k in ("wide-local", "wide-ray")}
    print(
        f"{w} independent tasks: local (max_parallel 2) {rate['wide-local']:.0f} tasks/s,"
        f" ray (both nodes, max_parallel 4) {rate['wide-ray']:.0f} tasks/s:"
        f" throughput ray / local {rate['wide-ray'] / rate['wide-local']:.2f} (median"
        f" {rate_median['wide-ray'] / rate_median['wide-local']:.2f})"
    )
    far = lines / best(times["lines-far"])
    print(f"lines streamed from a flooding task on the worker node: {far:,.0f} lines/s (best)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
