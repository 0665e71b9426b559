"""The docker executor: per-node cost against the SDK itself, and warm against cold containers.

  engine          in-process: fresh Store in a temp home, Run(...).execute() of a chain of N nodes
                  (`command: [true]`, `executor: docker`, max_parallel 1), every event persisted
  sdk-run         the same N containers started directly, one after another, with the SDK:
                  client.containers.run(image, ["true"], remove=True)
  sdk-run-same    ... and with the options every Weft container has (network none, all
                  capabilities dropped, no-new-privileges, init, no log driver, the three bind
                  mounts), so the only difference left is what the engine does around each one
  cold / warm     the same chain, of a Python task using weft_task (reads its start line,
                  reports one output) and of `true`, with and without `warm: true`

Variants alternate within each repetition. Targets: engine / sdk-run <= 1.15 per node (also
reported against sdk-run-same); cold / warm per-node latency >= 4 for short tasks.
Usage: python bench/docker_executor.py [--nodes N] [--reps R] [--image IMAGE]
       (IMAGE defaults to $WEFT_TEST_IMAGE, else python:3.12-slim; it must have python3)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _common import best, engine_in_process, header, median, table, verdict, write

PY_TASK = ["python3", "-c", "import weft_task as w; w.output('y', w.params['x'] * 2)"]


def chain(name: str, n: int, image: str, command: list[str], warm: bool = False, python: bool = False) -> str:
    operator = {"command": command, "warm": warm}
    if python:
        operator["outputs"] = {"y": "int"}
    nodes = [{"id": f"n{i}", "operator": "op", **({"params": {"x": i}} if python else {})} for i in range(n)]
    edges = [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(n - 1)]
    return yaml.safe_dump(
        {
            "weft": 1,
            "name": name,
            "settings": {"max_parallel": 1, "executor": "docker", "image": image},
            "operators": {"op": operator},
            "nodes": nodes,
            "edges": edges,
        },
        sort_keys=False,
    )


def run_engine(wf: Path, home: Path, n: int) -> float:
    elapsed, run, state = engine_in_process(wf, home)
    if state.value != "succeeded":
        bad = {k: v.value for k, v in run.node_state.items() if v.value != "succeeded"}
        raise SystemExit(f"engine run of {wf.name} ended {state.value}: {list(bad.items())[:3]}")
    if len(run.node_state) != n:
        raise SystemExit("not every node ran")
    return elapsed


def run_sdk(client, image: str, n: int, options: dict) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        client.containers.run(image, ["true"], remove=True, **options)
    return time.perf_counter() - t0


def same_options(client, tmp: Path) -> dict:
    """What every Weft container gets (see engine.executors.docker.DockerExecutor.config)."""
    from engine.executors.base import HELPER_DIR
    from engine.executors.docker import HELPER, WORKFLOW, WORKSPACE

    (tmp / "ws").mkdir(exist_ok=True)
    return {
        "network_mode": "none",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "init": True,
        "log_config": {"type": "none"},
        "volumes": {
            str(tmp / "ws"): {"bind": WORKSPACE, "mode": "rw"},
            str(tmp): {"bind": WORKFLOW, "mode": "ro"},
            str(HELPER_DIR): {"bind": HELPER, "mode": "ro"},
        },
        "working_dir": WORKFLOW,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--image", default=os.environ.get("WEFT_TEST_IMAGE") or "python:3.12-slim")
    args = ap.parse_args()
    n, image = args.nodes, args.image

    from engine.executors.docker import connect

    client = connect()
    client.images.get(image)  # fails loudly here if the image is missing
    header(f"docker: chains of {n} nodes on {image}, max_parallel 1, {args.reps} alternating repetitions")
    names = ["engine", "sdk-run", "sdk-run-same", "cold-python", "warm-python", "cold-true", "warm-true"]
    times: dict[str, list[float]] = {k: [] for k in names}
    with tempfile.TemporaryDirectory(prefix="weft-bench-docker-") as tmp_name:
        tmp = Path(tmp_name)
        flows = {
            "engine": write(tmp / "true.weft.yaml", chain("true", n, image, ["true"])),
            "cold-python": write(tmp / "cold-py.weft.yaml", chain("cold-py", n, image, PY_TASK, python=True)),
            "warm-python": write(tmp / "warm-py.weft.yaml", chain("warm-py", n, image, PY_TASK, True, True)),
            "warm-true": write(tmp / "warm-true.weft.yaml", chain("warm-true", n, image, ["true"], warm=True)),
        }
        options = same_options(client, tmp)
        run_sdk(client, image, 3, {})  # warm up the engine's caches (image layers, networks)
        for rep in range(args.reps):
            for name in names:
                if name == "sdk-run":
                    wall = run_sdk(client, image, n, {})
                elif name == "sdk-run-same":
                    wall = run_sdk(client, image, n, options)
                elif name == "cold-true":
                    wall = times["engine"][-1]  # the same run as "engine": not run twice
                else:
                    wall = run_engine(flows[name], tmp / f"home-{name}-{rep}", n)
                times[name].append(wall)
            leftover = client.containers.list(all=True, filters={"label": "weft.run"})
            if leftover:
                raise SystemExit(f"containers left behind: {[c.name for c in leftover]}")
    print()
    per = {k: 1e3 * best(v) / n for k, v in times.items()}
    per_median = {k: 1e3 * median(v) / n for k, v in times.items()}
    table(
        ["variant", "best s", "median s", "best ms/node", "median ms/node", "all runs s"],
        [
            (k, best(v), median(v), per[k], per_median[k], " ".join(f"{x:.2f}" for x in v))
            for k, v in times.items()
            if k != "cold-true"
        ],
    )
    print()
    table(
        ["ratio (per node)", "best", "median", "verdict (best)"],
        [
            (
                "engine / sdk-run",
                per["engine"] / per["sdk-run"],
                per_median["engine"] / per_median["sdk-run"],
                verdict(per["engine"] / per["sdk-run"], 1.15),
            ),
            (
                "engine / sdk-run-same",
                per["engine"] / per["sdk-run-same"],
                per_median["engine"] / per_median["sdk-run-same"],
                verdict(per["engine"] / per["sdk-run-same"], 1.15),
            ),
            (
                "cold / warm, python task",
                per["cold-python"] / per["warm-python"],
                per_median["cold-python"] / per_median["warm-python"],
                verdict(per["cold-python"] / per["warm-python"], 4, lower_is_better=False),
            ),
            (
                "cold / warm, true",
                per["cold-true"] / per["warm-true"],
                per_median["cold-true"] / per_median["warm-true"],
                verdict(per["cold-true"] / per["warm-true"], 4, lower_is_better=False),
            ),
        ],
    )
    print()
    table(
        ["per-node overhead of the engine", "best ms", "median ms"],
        [
            ("over sdk-run", per["engine"] - per["sdk-run"], per_median["engine"] - per_median["sdk-run"]),
            (
                "over sdk-run-same",
                per["engine"] - per["sdk-run-same"],
                per_median["engine"] - per_median["sdk-run-same"],
            ),
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
