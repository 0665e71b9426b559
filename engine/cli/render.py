"""How the CLI shows things: live progress on a terminal, tables, summaries."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from engine.cli.streams import TextOut
from engine.events import Asked, LogLine, NodeState, NodeStateChanged, PromiseBroken, Recorded
from engine.promises.keeper import breached_by
from engine.running.control import how_to_answer

if TYPE_CHECKING:
    from engine.history.store import Store
    from engine.running.run import Run

_MARK = {
    "succeeded": "ok",
    "failed": "FAILED",
    "skipped": "skipped",
    "cancelled": "cancelled",
    "running": "running",
    "pending": "pending",
    "waiting": "waiting",
    "retired": "retired",
}
#: Control characters (C0 but tab, DEL, C1): a terminal obeys them, so task text must not carry them raw.
_CONTROL = re.compile(r"\r\n|[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\r\n": "\\r\\n"}


def printable(text: object, *, lines: bool = False) -> str:
    """``text`` safe to write to a terminal: control characters shown escaped (``\\x1b``).

    Log lines, outputs, reasons and even node ids come from tasks and workflow files. Raw, an
    escape sequence in them could retitle the window, write the clipboard (OSC 52), clear the
    screen or hide what came before (a lone ``\\r``), so a person would not see what happened.
    Every human-readable CLI path prints through this; ``--json`` output stays exact. Tabs stay;
    line breaks are escaped too unless ``lines`` (a multi-line log message, such as a traceback).
    """

    def escape(m: re.Match[str]) -> str:
        if lines and m[0] in ("\n", "\r\n"):
            return "\n"
        return _NAMED.get(m[0]) or f"\\x{ord(m[0]):02x}"

    return _CONTROL.sub(escape, str(text))


class RunProgress:
    """A live status line on a terminal; plain lines for failures otherwise."""

    def __init__(self, run: Run, stream: TextOut, show_logs: bool = False) -> None:
        self.run = run
        self.stream = stream
        self.tty = stream.isatty()
        self.show_logs = show_logs
        self.started = time.monotonic()
        self._dirty = False
        self._width = 0

    def on_event(self, rec: Recorded) -> None:
        ev = rec.event
        if isinstance(ev, LogLine):
            if self.show_logs:
                self._clear()
                log_line(ev, self.stream, with_node=True)
        elif isinstance(ev, NodeStateChanged) and ev.state is NodeState.FAILED:
            self._clear()
            self.stream.write(f"  {printable(ev.node)}: failed: {printable(ev.reason)}\n")
        elif isinstance(ev, PromiseBroken):
            self._clear()
            self.stream.write(f"  promise broken: {printable(ev.reason)}\n")
        elif isinstance(ev, Asked):
            self._clear()
            self.stream.write(
                printable(f"  {ev.node} asks: {ev.prompt}") + "\n"
                f"    answer with: {printable(how_to_answer(self.run.id, ev.node, ev.fields))}\n"
            )
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
        counts = Counter(self.run.node_state.values())
        total = len(self.run.node_state) - counts[NodeState.RETIRED]
        done = sum(n for s, n in counts.items() if s.is_terminal) - counts[NodeState.RETIRED]
        running = [n for n, s in self.run.node_state.items() if s is NodeState.RUNNING]
        names = ", ".join(running[:4]) + (f" +{len(running) - 4}" if len(running) > 4 else "")
        shown = (NodeState.FAILED, NodeState.SKIPPED, NodeState.WAITING)
        extra = "".join(f" · {counts[s]} {s.value}" for s in shown if counts[s])
        text = printable(
            f"{self.run.workflow.name} [{done}/{total}] {time.monotonic() - self.started:5.1f}s"
            f"{extra}{' · running: ' + names if running else ''}"
        )
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


def summary(run: Run, store: Store, out: TextOut) -> None:
    counts = Counter(run.node_state.values())
    row = store.run(run.id)
    took = (row["finished_at"] or time.time()) - row["started_at"]
    parts = ", ".join(f"{counts[s]} {s.value}" for s in NodeState if s.is_terminal and counts[s])
    cached = sum(1 for n in run.cache.hits if run.node_state.get(n) is NodeState.SUCCEEDED)
    if cached:
        parts += f", {cached} {'of them ' if counts[NodeState.SUCCEEDED] == cached else ''}from the cache"
    out.write(f"run {run.id} {run.state.value} in {took:.2f} s ({parts or 'no nodes'})\n")
    if run.broken is not None:
        who = breached_by(run.broken.task, run.broken.before)
        out.write(
            f"  broken promise: {printable(run.broken.promise)}\n  {printable(who)}\n"
            f"  reason: {printable(run.broken.reason)}\n"
        )
    failed = [n for n, s in run.node_state.items() if s is NodeState.FAILED]
    for node in failed[:20]:
        out.write(f"  {printable(node)} failed: see `weft logs {run.id} {printable(node)}`\n")


def runs_table(rows: list[dict[str, Any]], out: TextOut) -> None:
    if not rows:
        out.write("no runs yet\n")
        return
    out.write(f"{'RUN':<26} {'STATE':<10} {'STARTED':<20} WORKFLOW\n")
    for r in rows:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["started_at"]))
        out.write(f"{printable(r['id']):<26} {printable(r['state']):<10} {started:<20} {printable(r['workflow'])}\n")


def show(data: dict[str, Any], out: TextOut) -> None:
    out.write(printable(f"run {data['run']} ({data['workflow']}): {data['state']}") + "\n")
    if data["broken"]:
        b = data["broken"]
        who = breached_by(b["task"], b.get("before"))
        out.write(printable(f"  broken: {b['promise']} — {who}: {b['reason']}") + "\n")
    ids = {n["id"]: printable(n["id"]) for n in data["nodes"]}
    width = max([len(i) for i in ids.values()] + [4])
    for n in data["nodes"]:
        origin = f" (created by {printable(n['created_by'])})" if n["created_by"] else ""
        reason = f" — {printable(n['reason'])}" if n["reason"] and n["state"] != "succeeded" else ""
        cached = f" (cached from {printable(n['cached_from'])})" if n.get("cached_from") else ""
        mark = printable(_MARK.get(n["state"], n["state"]))
        members = f" (workflow: {len(n['members'])} nodes)" if "members" in n else ""
        out.write(f"  {ids[n['id']]:<{width}}  {mark:<9}{members}{cached}{origin}{reason}\n")
        question = n.get("question")
        if question is not None and n["state"] == "waiting":
            out.write(printable(f"  {'':<{width}}  asks: {question['prompt']}") + "\n")
            how = how_to_answer(data["run"], n["id"], question["fields"])
            out.write(f"  {'':<{width}}  answer with: {printable(how)}\n")
    for node, values in data["outputs"].items():
        for name, value in values.items():
            text = repr(value) if not isinstance(value, str) else value
            out.write(printable(f"  {node}.{name} = {text[:200]}") + "\n")


def log_line(line: LogLine, out: TextOut, with_node: bool) -> None:
    prefix = f"[{line.node or 'engine'}] " if with_node else ""
    tag = "" if line.level == "info" else f"{line.level}: "
    out.write(printable(f"{prefix}{tag}{line.message}", lines=True) + "\n")
