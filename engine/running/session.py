"""One task attempt's conversation with the engine: what its lines mean and what they may do.

A ``TaskSession`` turns each line into log lines, progress, type-checked outputs, style changes
or graph mutations (handed to the run's single check point). Anything that must end the task
raises ``TaskFailure`` (``engine.errors``); a broken promise raises ``RunBroken``; both stop the
reading at once.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from engine.errors import ProblemCollector, TaskFailure, ValueTypeError
from engine.events import Event, LogLine, NodeState, OutputSet, Progress, Recorded, StyleChanged
from engine.executors.lines import is_status_line
from engine.promises.graph import RunGraph
from engine.running.control import check_fields
from engine.running.protocol import Message, as_mutation, parse_line
from engine.workflow.records import MessageSource, Reader

MAX_LOG_CHARS = 64 * 1024
MAX_STATUS_CHARS = 200
STATUS_INTERVAL = 0.1  # seconds between two status texts shown from carriage-return lines


class TaskHost(Protocol):
    """What a session needs of its run (``engine.running.run.Run``)."""

    graph: RunGraph
    node_state: dict[str, NodeState]
    workspace: Path

    def emit(self, event: Event) -> Recorded: ...

    def mutate(self, creator: str, raw: dict[str, list[Any]], where: str) -> None:
        """The single door for a task's graph change."""


class TaskSession:
    def __init__(self, run: TaskHost, node: str, attempt: int, task_workspace: str) -> None:
        self.run = run
        self.node = node
        self.attempt = attempt
        self.task_workspace = task_workspace
        self.outputs: dict[str, Any] = {}
        self.mutated = False
        #: what the task asked a person, (prompt, {field: type}); it then ends and its node waits
        self.question: tuple[str, dict[str, str]] | None = None
        #: the graph changes the run accepted from this task, as it sent them, in order (the cache replays them)
        self.mutations: list[dict[str, list[Any]]] = []
        self._messages = 0
        self._declared = run.graph.resolved[node].outputs
        self._pending_status: str | None = None
        self._status_timer: asyncio.TimerHandle | None = None
        self._status_shown = -STATUS_INTERVAL

    def on_line(self, stream: str, line: bytes) -> None:
        if stream == "stderr":
            self._text(line.decode("utf-8", errors="replace").rstrip("\r\n"), "stderr", is_status_line(line))
            return
        try:
            parsed = parse_line(line)
        except Exception as exc:  # ProtocolError, with its one-line reason
            raise TaskFailure(f"malformed message: {exc}") from None
        if isinstance(parsed, str):
            self._text(parsed, "stdout", is_status_line(line))
            return
        self._messages += 1
        self._handle(parsed)

    def _text(self, text: str, stream: str, status: bool) -> None:
        """A plain line is a log line; one ended by a lone carriage return (a redrawn progress
        bar) is also the node's live status, and an empty redraw is nothing at all."""
        if not status:
            self._log(text, stream, "info")
        elif text.strip():
            self._log(text, stream, "info")
            self._status(text[:MAX_STATUS_CHARS])

    def _status(self, text: str) -> None:
        """Show ``text`` as the node's status: at once, or (for a bar redrawn faster than anyone
        reads) the latest text once ``STATUS_INTERVAL`` has passed since the last one shown."""
        self._pending_status = text
        if self._status_timer is not None:
            return
        loop = asyncio.get_running_loop()
        wait = self._status_shown + STATUS_INTERVAL - loop.time()
        if wait <= 0:
            self._show_status()
        else:
            self._status_timer = loop.call_later(wait, self._show_status)

    def _show_status(self) -> None:
        self._status_timer = None
        text, self._pending_status = self._pending_status, None
        if text is not None and self.run.node_state.get(self.node) is NodeState.RUNNING:
            self._status_shown = asyncio.get_running_loop().time()
            self.run.emit(Progress(self.node, message=text))

    def _log(self, text: str, stream: str, level: str) -> None:
        if len(text) > MAX_LOG_CHARS:
            text = text[:MAX_LOG_CHARS] + f" ... ({len(text) - MAX_LOG_CHARS} more characters)"
        self.run.emit(LogLine(self.node, stream, text, level))

    def _handle(self, msg: Message) -> None:
        body = msg.body
        if msg.type == "log":
            self._log(body["message"], "message", body["level"])
        elif msg.type == "progress":
            self.run.emit(
                Progress(self.node, body.get("fraction"), body.get("done"), body.get("total"), body.get("message"))
            )
        elif msg.type == "output":
            self._output(body["name"], body["value"])
        elif msg.type == "style":
            self._style(body)
        elif msg.type == "ask":
            self._ask(body["prompt"], body["fields"])
        else:
            where = f"task '{self.node}' message {self._messages}"
            self.mutated = True
            raw = as_mutation(msg)
            self.run.mutate(self.node, raw, where)
            self.mutations.append(raw)

    def _output(self, name: str, value: Any) -> None:
        if name not in self._declared:
            declared = ", ".join(self._declared) or "none"
            raise TaskFailure(f"output '{name}' is not a declared output of '{self.node}' (outputs: {declared})")
        registry = self.run.graph.registry
        port_type = registry.parse(self._declared[name])
        try:
            registry.check_value(value, port_type)
            value = registry.map_files(value, port_type, self._workspace_relative)
        except ValueTypeError as exc:
            raise TaskFailure(f"output '{name}' ({port_type}): {exc}") from None
        self.outputs[name] = value
        self.run.emit(OutputSet(self.node, name, value))

    def _ask(self, prompt: str, fields: dict[str, Any]) -> None:
        if self.question is not None:
            raise TaskFailure("asked twice: a task asks one question, then ends")
        try:
            checked = check_fields(fields, self._declared, self.run.graph.registry)
        except ValueError as exc:
            raise TaskFailure(f"'ask' message: {exc}") from None
        self.question = (prompt, checked)

    def _workspace_relative(self, path: str) -> str:
        """A file value as a path relative to the workspace, refusing anything outside it."""
        host_ws = self.run.workspace.resolve()
        if os.path.isabs(path):
            inside = PurePosixPath(path)
            base = PurePosixPath(self.task_workspace)
            if inside != base and base not in inside.parents:
                raise ValueTypeError(f"file '{path}' is outside the run's workspace")
            relative = str(inside.relative_to(base))
        else:
            relative = path
        resolved = (host_ws / relative).resolve()
        if resolved != host_ws and host_ws not in resolved.parents:
            raise ValueTypeError(f"file '{path}' leaves the run's workspace")
        return Path(os.path.relpath(resolved, host_ws)).as_posix()

    def _style(self, body: dict[str, Any]) -> None:
        problems = ProblemCollector()
        style = Reader(MessageSource(f"task '{self.node}' style message"), problems).style(body["style"], ("style",))
        if problems:
            raise TaskFailure(str(problems.problems[0]))
        if "node" in body:
            if body["node"] not in self.run.graph.nodes:
                raise TaskFailure(f"style message for unknown node '{body['node']}'")
            self.run.emit(StyleChanged(style or {}, node=body["node"]))
        else:
            edge = (body["edge"]["from"], body["edge"]["to"])
            self.run.emit(StyleChanged(style or {}, edge=edge))
