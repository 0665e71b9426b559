"""The cost of keeping `A -> M* -> B` while A creates 10,000 copies of M, one mutation each.

Every mutation creates one M with its edges A -> m and m -> B, and passes the shape check of
its region (engine/promises/regions.py) before it is applied. The engine runs in-process; Run.mutate is
timed per call (see mutations.py). Target: µs per mutation near 10,000 copies / near 1,000
copies <= 1.5. A second figure compares it with the same run without the shape promise.
Usage: python bench/shape_map.py [--nodes N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import TRUE, engine_in_process, header, table, verdict, write
from mutations import Call, timing, window

TASK = r"""
import json, sys
n = int(sys.argv[1])
out = sys.stdout
for i in range(n):
    out.write(json.dumps({"weft": 1, "type": "mutate", "nodes": [{"id": f"m-{i}", "operator": "M"}],
                          "edges": [{"from": "A", "to": f"m-{i}"}, {"from": f"m-{i}", "to": "B"}]}) + "\n")
out.flush()
"""


def workflow(task: Path, n: int, shape: bool) -> str:
    command = json.dumps([sys.executable, str(task), str(n)])
    promise = '\npromises:\n  - shape: "A -> M* -> B"\n' if shape else "\n"
    return (
        "weft: 1\nname: shape-map\nsettings:\n  max_parallel: 2\n"
        f"operators:\n  M: {{command: [{TRUE}]}}\n"
        f"nodes:\n  - {{id: A, dynamic: true, command: {command}}}\n  - {{id: B, command: [{TRUE}]}}\n"
        "edges:\n  - {from: A, to: B}" + promise
    )


def measure(tmp: Path, task: Path, n: int, shape: bool) -> dict[str, Any]:
    name = "shape" if shape else "plain"
    wf = write(tmp / f"{name}.weft.yaml", workflow(task, n, shape))
    calls: list[Call] = []

    total, run, state = engine_in_process(wf, tmp / f"home-{name}", timing(calls))
    return {"calls": calls, "total": total, "state": state.value, "nodes": len(run.graph.nodes)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=10_000)
    n = ap.parse_args().nodes
    header(f"shape map: A creates {n} copies of M under `A -> M* -> B`, one mutation each; engine in-process")
    with tempfile.TemporaryDirectory(prefix="weft-bench-shape-") as tmp_name:
        tmp = Path(tmp_name)
        task = write(tmp / "create.py", TASK)
        shaped = measure(tmp, task, n, shape=True)
        plain = measure(tmp, task, n, shape=False)
    rows, ratios = [], {}
    lo1, hi1, lo2, hi2 = n // 20, (3 * n) // 20, (9 * n) // 10, n
    for label, result in (("with the shape promise", shaped), ("without a promise", plain)):
        calls = result["calls"]
        if len(calls) < n:
            print(f"{label}: only {len(calls)} mutate calls ({result['state']}); no figures")
            return 1
        small, large = window(calls, lo1, hi1), window(calls, lo2, hi2)
        ratios[label] = large[0] / small[0]
        rows.append(
            (
                label,
                result["state"],
                result["nodes"],
                small[0],
                large[0],
                large[0] / small[0],
                statistics.fmean(c[0] / 1000 for c in calls),
            )
        )
    print()
    table(["run", "state", "nodes", f"µs/mutation near {n // 10}", f"µs near {n}", "growth", "mean µs"], rows)
    ratio = ratios["with the shape promise"]
    cost = rows[0][6] / rows[1][6]
    print()
    print(f"growth near {n} / near {n // 10} copies with the shape check: {ratio:.2f} ({verdict(ratio, 1.5)})")
    print(f"shape check overhead per mutation: {cost:.2f}x the same mutation with no promise")
    return 0


if __name__ == "__main__":
    sys.exit(main())
