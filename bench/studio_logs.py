"""A task writing 100,000 log lines as fast as it can: does the studio's event loop keep going?

One node's task (a stdlib Python script) prints N lines to stdout in one go. The engine runs in
the run's own process, as in the studio; the window (offscreen) shows that node selected, so its live
log view is fed all along. A 10 ms timer on the GUI thread records when it fires: the longest
gap between two ticks is the longest the window stalled. Also reported: how long the run took,
lines per second, and that memory stayed bounded (the ring buffer and the view keep the last
5,000 lines; the store keeps them all).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import db_count, header, table, verdict  # noqa: E402 - after the sys.path line above
from _studio import percentile, watched_run, window  # noqa: E402 - after the sys.path line above

TARGET_MS = 100.0

CHATTY = """\
import sys
n = int(sys.argv[1])
sys.stdin.readline()
write = sys.stdout.write
for i in range(n):
    write(f"line {i} of a task that writes its log as fast as it can\\n")
sys.stdout.flush()
"""


def measure(folder: Path, lines: int) -> dict[str, float]:
    from PySide6 import QtWidgets

    from studio.model.runmodel import LOG_LINES

    (folder / "chatty.py").write_text(CHATTY)
    path = folder / "chatty.weft.yaml"
    path.write_text(
        f"weft: 1\nname: chatty\nnodes:\n  - id: chatty\n    command: [{sys.executable}, chatty.py, '{lines}']\n"
    )
    home = folder / "home"
    home.mkdir()
    win = window(home)
    assert win.open(path)
    win.canvas.select(["chatty"])
    elapsed, watch, model = watched_run(win)
    run = model.nodes["chatty"]
    assert run.log_count == lines, (run.log_count, lines)
    assert len(run.log) == min(lines, LOG_LINES)
    shown = win.run_panel.log.line_count()
    assert shown <= LOG_LINES
    assert (
        win.run_panel.log.toPlainText()
        .rstrip()
        .endswith(f"line {lines - 1} of a task that writes its log as fast as it can")
    )
    stored = db_count(home, "SELECT count(*) FROM events WHERE kind='log' AND node='chatty'")
    gaps = watch.gaps_ms()
    win.undo_stack.setClean()
    win.close()
    win.deleteLater()
    QtWidgets.QApplication.processEvents()
    return {
        "lines": lines,
        "stored": stored,
        "run s": elapsed,
        "lines/s": lines / elapsed,
        "gap max ms": max(gaps),
        "gap p99 ms": percentile(gaps, 0.99),
        "gaps > 50 ms": sum(1 for g in gaps if g > 50),
        "view lines": shown,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    header(f"studio: a task writing {args.lines} log lines")
    rows = []
    for _rep in range(args.reps):
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(measure(Path(tmp), args.lines))
    names = list(rows[0])
    table(["", *names], [[f"run {i + 1}", *(r[n] for n in names)] for i, r in enumerate(rows)])
    worst = max(r["gap max ms"] for r in rows)
    print(
        f"\nlongest stall of the GUI event loop (10 ms timer): {worst:.0f} ms — {verdict(worst, TARGET_MS)} ms"
        f" (load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
