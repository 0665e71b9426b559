"""A run that creates 1,000 nodes: how long until each is on the canvas after its spawn event.

One dynamic node's task (a stdlib Python script) creates N `/bin/true` nodes as fast as it can,
K nodes per `mutate` message (default 1: N messages), each wired after the creator; then they
all run. The engine runs in the run's own process, as in the studio; the window is offscreen. For every
created node: the time between the `graph` event that added it (the engine's timestamp) and the moment
its item is on the canvas. Also the longest stall of the GUI's event loop during the run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import header, table, verdict  # noqa: E402 - after the sys.path line above
from _studio import percentile, watched_run, window  # noqa: E402 - after the sys.path line above

from engine.events import GraphChanged  # noqa: E402 - after the sys.path line above

TARGET = 1.0  # seconds from spawn event to canvas, for every node

SPAWNER = """\
import json, sys
n, k = int(sys.argv[1]), int(sys.argv[2])
sys.stdin.readline()
out = sys.stdout
for start in range(0, n, k):
    ids = [f"t{i}" for i in range(start, min(n, start + k))]
    nodes = [{"id": i, "command": ["/bin/true"]} for i in ids]
    edges = [{"from": "spawner", "to": i} for i in ids]
    out.write(json.dumps({"weft": 1, "type": "mutate", "nodes": nodes, "edges": edges}) + "\\n")
out.flush()
"""


def measure(folder: Path, nodes: int, per_message: int, parallel: int) -> dict[str, float]:
    from PySide6 import QtWidgets

    (folder / "spawner.py").write_text(SPAWNER)
    path = folder / "spawn.weft.yaml"
    path.write_text(
        f"weft: 1\nname: spawn\nsettings: {{max_parallel: {parallel}}}\nnodes:\n"
        f"  - id: spawner\n    dynamic: true\n"
        f"    command: [{sys.executable}, spawner.py, '{nodes}', '{per_message}']\n"
    )
    home = folder / "home"
    home.mkdir()
    win = window(home)
    assert win.open(path)
    spawned: dict[str, float] = {}
    shown: dict[str, float] = {}

    def on_batch(changes, model) -> None:
        for node in changes.new_nodes:
            run = model.nodes[node]
            if run.created_by is not None:
                spawned.setdefault(node, 0.0)

    def on_shown(node: str, when: float) -> None:
        shown[node] = when

    # the spawn event's own timestamp: the engine stamps every event when it happens
    def stamp(item) -> None:
        event = getattr(item, "event", None)
        if isinstance(event, GraphChanged):
            for node in event.nodes:
                spawned[node.id] = item.ts

    original_push = win.runs.bridge.push

    def push(item) -> None:
        stamp(item)
        original_push(item)

    win.runs.bridge.push = push  # the runner's reader thread pushes each item of the run's frames
    win.runs.batch_hooks.append(on_batch)
    win.canvas.run_layer.shown_hooks.append(on_shown)
    elapsed, watch, model = watched_run(win)
    latencies = [shown[n] - spawned[n] for n in spawned if n in shown]
    missing = [n for n in spawned if n not in shown]
    assert not missing, f"{len(missing)} created nodes never appeared on the canvas"
    assert len(latencies) == nodes
    on_canvas = sum(1 for n in win.canvas.run_layer.nodes if n.startswith("t"))
    win.undo_stack.setClean()
    win.close()
    win.deleteLater()
    QtWidgets.QApplication.processEvents()
    return {
        "nodes": on_canvas,
        "max": max(latencies),
        "p99": percentile(latencies, 0.99),
        "median": percentile(latencies, 0.5),
        "run": elapsed,
        "loop gap max": max(watch.gaps_ms()) / 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args()
    header(f"studio: a run creating {args.nodes} nodes")
    rows = []
    for per_message in (1, 10, args.nodes):
        with tempfile.TemporaryDirectory() as tmp:
            result = measure(Path(tmp), args.nodes, per_message, args.parallel)
        rows.append([f"{per_message} per message", *result.values()])
        names = list(result)
    table(["seconds", *names], rows)
    worst = max(r[2] for r in rows)
    print(
        f"\nevery created node on the canvas within {worst:.3f} s of its spawn event — {verdict(worst, TARGET)} s"
        f" (load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
