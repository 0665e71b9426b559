"""How the CLI shows things: live progress on a terminal, tables, summaries."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import TYPE_CHECKING, Any, TextIO

from engine.events import NodeState, Recorded

if TYPE_CHECKING:
    from engine.run import Run
    from engine.store import Store

_MARK = {"succeeded": "ok", "failed": "FAILED", "skipped": "skipped", "cancelled": "cancelled",
         "running": "running", "pending": "pending", "waiting": "waiting"}


class RunProgress:
    """A live status line on a terminal; plain lines for failures otherwise."""

    def __init__(self, run: "Run", stream: TextIO, show_logs: bool = False) -> None:
        self.run = run
        self.stream = stream
        self.tty = stream.isatty()
        self.show_logs = show_logs
        self.started = time.monotonic()
        self._dirty = False
        self._width = 0

    def on_event(self, rec: Recorded) -> None:
        ev = rec.event
        if ev.kind == "log" and self.show_logs:
            self._clear()
            log_line(ev.data(), self.stream, with_node=True)
        elif ev.kind == "node_state" and ev.state == NodeState.FAILED.value:  # type: ignore[attr-defined]
            self._clear()
            self.stream.write(f"  {ev.node}: failed: {ev.reason}\n")  # type: ignore[attr-defined]
        elif ev.kind == "promise_broken":
            self._clear()
            self.stream.write(f"  promise broken: {ev.reason}\n")  # type: ignore[attr-defined]
        self._dirty = True

    async def tick(self) -> None:
        if not self.tty:
            return
        while True:
            if self._dirty:
                self._draw()
            await asyncio.sleep(0.1)

    def _draw(self) -> None:
        self._dirty = False
        counts = Counter(s.value for s in self.run.node_state.values())
        total = len(self.run.node_state)
        done = sum(counts[s] for s in ("succeeded", "failed", "skipped", "cancelled"))
        running = [n for n, s in self.run.node_state.items() if s is NodeState.RUNNING]
        names = ", ".join(running[:4]) + (f" +{len(running) - 4}" if len(running) > 4 else "")
        extra = "".join(f" · {counts[s]} {s}" for s in ("failed", "skipped") if counts[s])
        text = (f"{self.run.workflow.name} [{done}/{total}] {time.monotonic() - self.started:5.1f}s"
                f"{extra}{' · running: ' + names if running else ''}")
        self._clear()
        self.stream.write(text[:200])
        self._width = min(len(text), 200)
        self.stream.flush()

    def _clear(self) -> None:
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0

    def finish(self) -> None:
        self._clear()
        self.stream.flush()


def summary(run: "Run", store: "Store", out: TextIO) -> None:
    counts = Counter(s.value for s in run.node_state.values())
    row = store.run(run.id)
    took = (row["finished_at"] or time.time()) - row["started_at"]
    parts = ", ".join(f"{counts[s]} {s}" for s in ("succeeded", "failed", "skipped", "cancelled") if counts[s])
    out.write(f"run {run.id} {run.state.value} in {took:.2f} s ({parts or 'no nodes'})\n")
    if run.broken is not None:
        out.write(f"  broken promise: {run.broken.promise}\n  by task: {run.broken.task}\n"
                  f"  reason: {run.broken.reason}\n")
    failed = [n for n, s in run.node_state.items() if s is NodeState.FAILED]
    for node in failed[:20]:
        out.write(f"  {node} failed: see `weft logs {run.id} {node}`\n")


def runs_table(rows: list[dict[str, Any]], out: TextIO) -> None:
    if not rows:
        out.write("no runs yet\n")
        return
    out.write(f"{'RUN':<26} {'STATE':<10} {'STARTED':<20} WORKFLOW\n")
    for r in rows:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["started_at"]))
        out.write(f"{r['id']:<26} {r['state']:<10} {started:<20} {r['workflow']}\n")


def show(data: dict[str, Any], out: TextIO) -> None:
    out.write(f"run {data['run']} ({data['workflow']}): {data['state']}\n")
    if data["broken"]:
        b = data["broken"]
        out.write(f"  broken: {b['promise']} — task {b['task']}: {b['reason']}\n")
    width = max([len(n["id"]) for n in data["nodes"]] + [4])
    for n in data["nodes"]:
        origin = f" (created by {n['created_by']})" if n["created_by"] else ""
        reason = f" — {n['reason']}" if n["reason"] and n["state"] != "succeeded" else ""
        out.write(f"  {n['id']:<{width}}  {_MARK.get(n['state'], n['state']):<9}{origin}{reason}\n")
    for node, values in data["outputs"].items():
        for name, value in values.items():
            text = repr(value) if not isinstance(value, str) else value
            out.write(f"  {node}.{name} = {text[:200]}\n")


def log_line(data: dict[str, Any], out: TextIO, with_node: bool) -> None:
    prefix = f"[{data.get('node') or 'engine'}] " if with_node else ""
    level = data.get("level", "info")
    tag = "" if level == "info" else f"{level}: "
    out.write(f"{prefix}{tag}{data['message']}\n")
