"""Workflows inside workflows: what expanding 1,000 `workflow:` nodes costs.

A sub-workflow of 3 `/bin/true` nodes with one typed input and one output is used by 1,000
nodes of a chain (each reads the previous one's output). Measured, best of ``--reps``:
loading the file (the sub-workflow is read once), the expansion alone (`nesting.expand`:
3,000 prefixed nodes, rewired edges), and registration as a run does it (expansion, the
run graph's `apply`, the promise keeper's `register`), against the same 3,000 nodes written
flat in one file. Nothing runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts this checkout on sys.path when not installed)

from engine.promises.graph import Mutation, RunGraph
from engine.promises.keeper import PromiseKeeper
from engine.workflow.loader import Loaded, load_file
from engine.workflow.nesting import expand

SUB = """\
weft: 1
name: step
inputs: {x: str}
outputs: {y: c.y}
nodes:
  - {id: a, command: [/bin/true], inputs: {x: str}, outputs: {y: str}}
  - {id: b, command: [/bin/true], inputs: {x: str}, outputs: {y: str}}
  - {id: c, command: [/bin/true], inputs: {x: str}, outputs: {y: str}}
edges:
  - {from: inputs.x, to: a.x}
  - {from: a.y, to: b.x}
  - {from: b.y, to: c.x}
promises:
  - static: {}
"""


def nested_text(n: int) -> str:
    lines = ["weft: 1", "name: nested", "nodes:", "  - {id: s, command: [/bin/true], outputs: {y: str}}"]
    lines += [f"  - {{id: w{i}, workflow: step.weft.yaml}}" for i in range(n)]
    lines.append("edges:")
    lines += [f"  - {{from: {'s' if i == 0 else f'w{i - 1}'}.y, to: w{i}.x}}" for i in range(n)]
    return "\n".join(lines) + "\n"


def flat_text(n: int) -> str:
    lines = ["weft: 1", "name: flat", "nodes:", "  - {id: s, command: [/bin/true], outputs: {y: str}}"]
    for i in range(n):
        lines += [f"  - {{id: w{i}-{k}, command: [/bin/true], inputs: {{x: str}}, outputs: {{y: str}}}}" for k in "abc"]
    lines.append("edges:")
    for i in range(n):
        lines.append(f"  - {{from: {'s' if i == 0 else f'w{i - 1}-c'}.y, to: w{i}-a.x}}")
        lines += [f"  - {{from: w{i}-a.y, to: w{i}-b.x}}", f"  - {{from: w{i}-b.y, to: w{i}-c.x}}"]
    return "\n".join(lines) + "\n"


def register(loaded: Loaded) -> int:
    ex = expand(loaded)
    graph = RunGraph(loaded.workflow, loaded.registry)
    m = Mutation(None, list(ex.nodes), list(ex.edges), list(ex.promises))
    graph.apply(m, ex.resolved)
    PromiseKeeper(graph).register(m.promises)
    return len(graph.nodes)


def best(reps: int, fn):  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(reps):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=1000, help="workflow: nodes (default 1,000)")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    n = args.nodes
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "step.weft.yaml").write_text(SUB)
        (folder / "nested.weft.yaml").write_text(nested_text(n))
        (folder / "flat.weft.yaml").write_text(flat_text(n))
        load_nested, loaded = best(args.reps, lambda: load_file(folder / "nested.weft.yaml"))
        expand_only, ex = best(args.reps, lambda: expand(loaded))
        registration, count = best(args.reps, lambda: register(loaded))
        load_flat, flat = best(args.reps, lambda: load_file(folder / "flat.weft.yaml"))
        registration_flat, flat_count = best(args.reps, lambda: register(flat))
    assert count == flat_count == 3 * n + 1, (count, flat_count)
    assert len(ex.groups) == n and len(ex.promises) == 2 * n
    total = load_nested + registration
    total_flat = load_flat + registration_flat
    print(f"{n:,} workflow: nodes of a 3-node sub-workflow ({count:,} run nodes), best of {args.reps}")
    print(f"{'':28} {'nested':>10} {'flat':>10}")
    print(f"{'load (s)':28} {load_nested:>10.3f} {load_flat:>10.3f}")
    print(f"{'expansion alone (s)':28} {expand_only:>10.3f} {'-':>10}")
    print(f"{'registration (s)':28} {registration:>10.3f} {registration_flat:>10.3f}")
    print(f"{'load + registration (s)':28} {total:>10.3f} {total_flat:>10.3f}")
    print(f"expansion per workflow: node: {expand_only / n * 1e6:.0f} µs")
    print(f"load + registration, nested / flat: {total / total_flat:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
