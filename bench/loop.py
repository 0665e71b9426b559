"""A loop of N iterations of /bin/true against a chain of N /bin/true nodes, in-process.

The loop is one node with a back edge to itself (``when: "true"``) and ``max_iterations: N``:
it runs N iterations, each added by the previous one as one change of structure (checked by
rules 1-3 and the promise keeper, recorded as one event), and its N-th latch fails, as
reaching ``max_iterations`` does. The chain is registered whole. Both run with
``max_parallel: 1``, every event persisted; loading is not timed. Reports best and median wall
time, the engine's per-iteration overhead over the chain (µs) and the ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import TRUE, best, engine_in_process, header, median, table, verdict, workflow_yaml, write  # noqa: E402

TARGET = 1.3  # loop / chain, best of R


def loop_yaml(n: int) -> str:
    return (
        f"weft: 1\nname: loop\nsettings:\n  max_parallel: 1\n  max_iterations: {n}\n"
        f"nodes:\n  - {{id: body, command: [{TRUE}]}}\n"
        'edges:\n  - {from: body, to: body, when: "true"}\n'
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    n = args.nodes
    header(f"loop: {n} iterations against a chain of {n} nodes (/bin/true, max_parallel 1)")
    times: dict[str, list[float]] = {"loop": [], "chain": []}
    with tempfile.TemporaryDirectory(prefix="weft-bench-loop-") as tmp:
        root = Path(tmp)
        loop = write(root / "loop.weft.yaml", loop_yaml(n))
        nodes = [f"n{i}" for i in range(n)]
        chain = write(root / "chain.weft.yaml", workflow_yaml("chain", nodes, zip(nodes, nodes[1:])))
        for rep in range(args.reps):
            for name, path in (("loop", loop), ("chain", chain)):
                home = root / f"home-{name}-{rep}"
                home.mkdir()
                elapsed, run, state = engine_in_process(path, home)
                ran = sum(1 for s in run.node_state.values() if s.value in ("succeeded", "failed"))
                assert ran == n, f"{name}: {ran} of {n} nodes ran ({state})"
                times[name].append(elapsed)
    rows = [(name, best(ts), median(ts), best(ts) / n * 1e6) for name, ts in times.items()]
    table(["run", "best s", "median s", "µs per node"], rows)
    overhead = (best(times["loop"]) - best(times["chain"])) / n * 1e6
    ratio = best(times["loop"]) / best(times["chain"])
    print(f"\nper-iteration overhead of the loop over the chain: {overhead:.0f} µs")
    print(f"loop / chain = {ratio:.2f} ({verdict(ratio, TARGET)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
