"""A run that creates 10,000 nodes in the studio: spawn to visible, the longest stall, memory.

A dynamic node ``A`` creates N ``/bin/true`` nodes ``M-i`` (K per `mutate` message, default
1,000), each wired ``A -> M-i -> B`` under ``shape: 'A -> M* -> B'``; then they all run
(`max_parallel` 32 by default). The window is a real main window (offscreen); the engine runs in
the run's own process, as in the studio. Measured: for every created node, its `graph` event's
timestamp (the engine's) to the moment the canvas shows it (its own item, or the stack that
stands for it); a 10 ms timer's longest gap on the GUI thread (the longest stall); the window
process's memory (VmRSS before the run and after it, VmHWM after the run and after expanding);
what the canvas holds at the end (items, wires), then the time to expand the stack (10,000
items and 20,000 wires drawn) and to collapse it again.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import header, table, verdict  # noqa: E402 - after the sys.path line above
from _studio import percentile, watched_run, window  # noqa: E402 - after the sys.path line above

from engine.events import GraphChanged  # noqa: E402 - after the sys.path line above

VISIBLE_TARGET = 0.5  # seconds from spawn event to canvas
STALL_TARGET = 100.0  # ms

FANOUT = """\
import json, sys
n, k = int(sys.argv[1]), int(sys.argv[2])
sys.stdin.readline()
for start in range(0, n, k):
    ids = [f"M-{i:05d}" for i in range(start, min(n, start + k))]
    print(json.dumps({"weft": 1, "type": "mutate",
                      "nodes": [{"id": i, "operator": "M"} for i in ids],
                      "edges": [{"from": "A", "to": i} for i in ids] + [{"from": i, "to": "B"} for i in ids]}),
          flush=True)
"""


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure(folder: Path, nodes: int, per_message: int, parallel: int) -> dict[str, float]:
    from PySide6 import QtWidgets

    (folder / "fanout.py").write_text(FANOUT)
    path = folder / "fanout.weft.yaml"
    path.write_text(
        f"weft: 1\nname: fanout\nsettings: {{max_parallel: {parallel}}}\n"
        "operators:\n  M: {command: [/bin/true]}\n"
        f"nodes:\n  - {{id: A, dynamic: true, command: [{sys.executable}, fanout.py, '{nodes}', '{per_message}']}}\n"
        "  - {id: B, command: [/bin/true]}\nedges:\n  - {from: A, to: B}\npromises:\n  - shape: 'A -> M* -> B'\n"
    )
    home = folder / "home"
    home.mkdir()
    win = window(home)
    assert win.open(path)
    spawned: dict[str, float] = {}
    shown: dict[str, float] = {}
    original_push = win.runs.bridge.push

    def push(item) -> None:
        event = getattr(item, "event", None)
        if isinstance(event, GraphChanged):
            for node in event.nodes:
                spawned[node.id] = item.ts  # the engine stamps every event when it happens
        original_push(item)

    win.runs.bridge.push = push  # the runner's reader thread pushes each item of the run's frames
    win.canvas.run_layer.shown_hooks.append(lambda node, when: shown.setdefault(node, when))
    rss_before = status_kb("VmRSS")
    elapsed, watch, model = watched_run(win)
    rss_after, hwm_run = status_kb("VmRSS"), status_kb("VmHWM")
    created = [n for n in spawned if n.startswith("M-")]
    missing = [n for n in created if n not in shown]
    assert not missing, f"{len(missing)} created nodes never appeared on the canvas"
    latencies = [shown[n] - spawned[n] for n in created]
    last = sorted(created, key=spawned.__getitem__)[-per_message:]  # the last message's nodes
    layer = win.canvas.run_layer
    items, wires = len(layer.items), len(layer.edges)
    stack = next(i for i in layer.items.values() if i.kind == "stack")
    t0 = time.perf_counter()
    layer.toggle(stack.weft_id)
    layer.flush()
    QtWidgets.QApplication.processEvents()
    t1 = time.perf_counter()
    layer.toggle(next(iter(layer.group_of)))
    QtWidgets.QApplication.processEvents()
    t2 = time.perf_counter()
    win.undo_stack.setClean()
    win.close()
    win.deleteLater()
    QtWidgets.QApplication.processEvents()
    return {
        "created": len(created),
        "visible max s": max(latencies),
        "visible p99 s": percentile(latencies, 0.99),
        "last msg max s": max(shown[n] - spawned[n] for n in last),
        "stall max ms": max(watch.gaps_ms()),
        "stall p99 ms": percentile(watch.gaps_ms(), 0.99),
        "run s": elapsed,
        "items": items,
        "wires": wires,
        "RSS before MB": rss_before / 1024,
        "RSS after MB": rss_after / 1024,
        "HWM run MB": hwm_run / 1024,
        "HWM expanded MB": status_kb("VmHWM") / 1024,
        "expand s": t1 - t0,
        "collapse s": t2 - t1,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10000)
    parser.add_argument("--per-message", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=32)
    args = parser.parse_args()
    header(f"studio: a run creating {args.nodes} nodes")
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(Path(tmp), args.nodes, args.per_message, args.parallel)
    table(["measure", "value"], [[k, v] for k, v in result.items()])
    visible = result["visible max s"]
    print(
        f"\nspawn to visible, max {visible:.3f} s — {verdict(visible, VISIBLE_TARGET)} s;"
        f" longest GUI stall {result['stall max ms']:.0f} ms — {verdict(result['stall max ms'], STALL_TARGET)} ms"
        f" (load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
