"""weft_task: the helper for writing Weft task programs in Python.

One file, standard library only, Python 3.8+: copy it anywhere. The engine puts this folder on
``PYTHONPATH`` (containers get it mounted), so a task simply does::

    import weft_task as weft

    text = weft.inputs["text"]
    weft.progress(0.5, message="counting")
    weft.output("counts", {"total": len(text.split())})

The engine writes one JSON start line to the task's stdin and closes it; the task answers with
one JSON object per line on stdout (SPEC.md section 4). The module-level names read the start
line lazily, on first use, so importing this module never blocks. For a quick run by hand,
without the engine, put the start message in the environment instead of on stdin::

    WEFT_TASK_START='{"inputs": {"text": "a b c"}}' python3 ops/count.py

Every message is written as a single line and flushed at once, so the engine shows progress
live, and writes are serialised by a lock, so threads may report progress concurrently.
Arguments are checked here, before anything is written, so a mistake raises a clear
``TypeError`` / ``ValueError`` in the task instead of a protocol error in the engine.
"""

import json
import os
import sys
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing is only for static checkers
    from typing import IO, Any, Dict, Iterable, Optional, Union

__all__ = [
    "PROTOCOL_VERSION",
    "LOG_LEVELS",
    "MAX_LINE_BYTES",
    "START_ENV_VAR",
    "NO_START_MESSAGE",
    "Task",
    "default_task",
    "output",
    "progress",
    "log",
    "add_node",
    "add_edge",
    "promise",
    "mutate",
    "style",
    "ask",
    "path",
    # lazily delegated to the default task (PEP 562):
    "inputs",
    "params",
    "node",
    "run",
    "workspace",
    "attempt",
    "start",
]

PROTOCOL_VERSION = 1
LOG_LEVELS = ("debug", "info", "warning", "error")
# The engine fails a task that writes a line longer than this (SPEC.md section 4); refusing
# here gives the author a useful hint instead.
MAX_LINE_BYTES = 16 * 1024 * 1024
START_ENV_VAR = "WEFT_TASK_START"
NO_START_MESSAGE = "weft_task: no start message on stdin (run this through weft)"

_START_ATTRIBUTES = ("inputs", "params", "node", "run", "workspace", "attempt", "start")


def _is_number(value: object) -> bool:
    # bool is an int subclass, but progress(True) is a mistake, not "100 %".
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_id(value: object, what: str) -> None:
    # Ids are text; a YAML integer id is accepted too, as in the workflow text.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError("weft_task: %s must be a string, got %s" % (what, type(value).__name__))
    if isinstance(value, str) and not value:
        raise ValueError("weft_task: %s must not be empty" % what)


def _check_node(node: object, what: str = "node") -> None:
    if not isinstance(node, dict):
        raise TypeError("weft_task: %s must be a dict, got %s" % (what, type(node).__name__))
    if "id" not in node:
        raise ValueError("weft_task: %s has no 'id': %r" % (what, node))
    _check_id(node["id"], "%s id" % what)


def _check_edge(edge: object, what: str = "edge") -> None:
    if not isinstance(edge, dict):
        raise TypeError("weft_task: %s must be a dict, got %s" % (what, type(edge).__name__))
    for end in ("from", "to"):
        if end not in edge:
            raise ValueError("weft_task: %s has no %r: %r" % (what, end, edge))
        _check_id(edge[end], "%s %r" % (what, end))


def _check_promise(promise: object, what: str = "promise") -> None:
    if not isinstance(promise, dict):
        raise TypeError("weft_task: %s must be a dict, got %s" % (what, type(promise).__name__))
    if not promise:
        raise ValueError(
            "weft_task: %s is empty; say what is promised, e.g. {'no_new_nodes': {}}"
            % what
        )


def _as_list(items: object, what: str) -> list:
    # A lone dict or string is iterable too, but mutate(nodes={...}) is always a mistake.
    if isinstance(items, (dict, str, bytes)):
        raise TypeError(
            "weft_task: %s must be a list of dicts, got a single %s"
            % (what, type(items).__name__)
        )
    try:
        return list(items)
    except TypeError:
        raise TypeError(
            "weft_task: %s must be a list of dicts, got %s"
            % (what, type(items).__name__)
        ) from None


class Task:
    """One running task: the start message it was given and the stream it reports to.

    Most task programs use the module-level names, which delegate to a default ``Task`` built
    from stdin on first use; construct one directly to test a task function in-process or to
    write messages somewhere other than ``sys.stdout``.
    """

    def __init__(self, start: "Dict[str, Any]", stream: "Optional[IO[str]]" = None) -> None:
        """``stream`` defaults to whatever ``sys.stdout`` is at the time of each write."""
        if not isinstance(start, dict):
            raise TypeError(
                "weft_task: the start message must be a dict, got %s"
                % type(start).__name__
            )
        if "weft" in start and start["weft"] != PROTOCOL_VERSION:
            raise ValueError(
                "weft_task: start message speaks protocol version %r; this helper speaks %d"
                % (start["weft"], PROTOCOL_VERSION)
            )
        if "type" in start and start["type"] != "start":
            raise ValueError(
                "weft_task: expected a 'start' message, got type %r"
                % (start["type"],)
            )
        inputs = start.get("inputs")
        params = start.get("params")
        for name, value in (("inputs", inputs), ("params", params)):
            if value is not None and not isinstance(value, dict):
                raise ValueError(
                    "weft_task: start message %r must be an object, got %s"
                    % (name, type(value).__name__)
                )
        attempt = start.get("attempt", 1)
        if isinstance(attempt, bool) or not isinstance(attempt, int):
            raise ValueError(
                "weft_task: start message 'attempt' must be an integer, got %r"
                % (attempt,)
            )
        workspace = start.get("workspace")
        if workspace is None:
            # Only a hand-made start message lacks it; the engine always sends one.
            workspace = os.environ.get("WEFT_WORKSPACE") or os.getcwd()
        if not isinstance(workspace, str) or not workspace:
            raise ValueError(
                "weft_task: start message 'workspace' must be a non-empty string, got %r"
                % (workspace,)
            )

        self.start = start  # type: Dict[str, Any]
        self.inputs = inputs if inputs is not None else {}  # type: Dict[str, Any]
        self.params = params if params is not None else {}  # type: Dict[str, Any]
        self.run = str(start.get("run", ""))
        self.node = str(start.get("node", ""))
        self.workspace = workspace
        self.attempt = attempt
        self._stream = stream
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "<weft_task.Task run=%r node=%r attempt=%d>" % (self.run, self.node, self.attempt)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_stdin(
        cls, stream: "Optional[IO[str]]" = None, output: "Optional[IO[str]]" = None
    ) -> "Task":
        """Read the start line the engine wrote to ``stream`` (default ``sys.stdin``).

        Raises ``RuntimeError`` if there is no start message: empty stdin, a terminal (someone
        ran the script by hand; we refuse instead of waiting for typing), or some other text.
        """
        if stream is None:
            stream = sys.stdin
        if stream is None:  # e.g. pythonw, or a daemon with stdin closed
            raise RuntimeError(NO_START_MESSAGE)
        try:
            interactive = stream.isatty()
        except (AttributeError, ValueError, OSError):
            interactive = False
        if interactive:
            raise RuntimeError(NO_START_MESSAGE)
        line = _read_first_line(stream)
        try:
            start = json.loads(line) if line else None
        except ValueError as exc:
            raise RuntimeError(NO_START_MESSAGE) from exc
        if not isinstance(start, dict) or start.get("type") != "start" or "weft" not in start:
            raise RuntimeError(NO_START_MESSAGE)
        return cls._checked(start, output, "stdin")

    @classmethod
    def from_json(cls, text: str, output: "Optional[IO[str]]" = None) -> "Task":
        """Build a task from start-message JSON text, as given in ``WEFT_TASK_START``.

        For runs by hand, ``"weft"`` and ``"type"`` may be left out, and so may every field;
        missing ones take harmless defaults (empty inputs, the current folder as workspace).
        """
        try:
            start = json.loads(text)
        except ValueError as exc:
            raise RuntimeError(
                "weft_task: %s is not valid JSON: %s"
                % (START_ENV_VAR, exc)
            ) from exc
        if not isinstance(start, dict):
            raise RuntimeError(
                "weft_task: %s must be a JSON object, got %s"
                % (START_ENV_VAR, type(start).__name__)
            )
        return cls._checked(start, output, START_ENV_VAR)

    @classmethod
    def from_environment(cls) -> "Task":
        """The default task: from ``WEFT_TASK_START`` if it is set, otherwise from stdin."""
        text = os.environ.get(START_ENV_VAR)
        if text is not None:
            return cls.from_json(text)
        return cls.from_stdin()

    @classmethod
    def _checked(cls, start: "Dict[str, Any]", output: "Optional[IO[str]]", source: str) -> "Task":
        # A start message the engine (or a person) got wrong is not the caller's ValueError.
        try:
            return cls(start, output)
        except (TypeError, ValueError) as exc:
            raise RuntimeError("%s (from %s)" % (exc, source)) from exc

    # -- messages -----------------------------------------------------------------------------

    def output(self, name: str, value: "Any") -> None:
        """Set output port ``name`` to ``value`` (anything JSON can carry; no NaN/inf)."""
        if not isinstance(name, str):
            raise TypeError("weft_task: output name must be a string, got %s" % type(name).__name__)
        if not name:
            raise ValueError("weft_task: output name must not be empty")
        self._send({"type": "output", "name": name, "value": value}, "output %r value" % (name,))

    def ask(self, prompt: str, fields: "Dict[str, str]") -> None:
        """Ask a person, and end the task: its node waits (no process is held) until someone
        answers with ``weft answer`` or the studio. ``fields`` maps each answer's name to its
        type (``bool``, ``str``, ``int``, ``float``, ``json``, ``str?`` ...); the answer becomes
        the node's outputs. Raises ``SystemExit(0)`` once the question is sent."""
        if not isinstance(prompt, str):
            raise TypeError("weft_task: ask prompt must be a string, got %s" % type(prompt).__name__)
        if not isinstance(fields, dict) or not fields:
            raise ValueError("weft_task: ask fields must be a non-empty dict of NAME: TYPE")
        for name, type_text in fields.items():
            if not isinstance(name, str) or not isinstance(type_text, str):
                raise TypeError("weft_task: ask fields map names to type texts, e.g. {'approve': 'bool'}")
        self._send({"type": "ask", "prompt": prompt, "fields": dict(fields)}, "ask")
        raise SystemExit(0)

    def progress(
        self,
        fraction: "Optional[float]" = None,
        *,
        done: "Optional[Union[int, float]]" = None,
        total: "Optional[Union[int, float]]" = None,
        message: "Optional[str]" = None,
    ) -> None:
        """Report progress as a ``fraction`` in 0..1, as ``done`` of ``total`` items, or both."""
        if total is not None and done is None:
            raise ValueError("weft_task: progress total= needs done= as well")
        if fraction is None and done is None:
            raise ValueError("weft_task: progress() needs a fraction (0..1) or done= (and total=)")
        msg = {"type": "progress"}  # type: Dict[str, Any]
        if fraction is not None:
            if not _is_number(fraction):
                raise TypeError(
                    "weft_task: progress fraction must be a number, got %s"
                    % type(fraction).__name__
                )
            if not 0.0 <= fraction <= 1.0:  # also refuses NaN
                raise ValueError(
                    "weft_task: progress fraction must be between 0 and 1, got %r"
                    % (fraction,)
                )
            msg["fraction"] = fraction
        for key, value in (("done", done), ("total", total)):
            if value is None:
                continue
            if not _is_number(value):
                raise TypeError(
                    "weft_task: progress %s must be a number, got %s"
                    % (key, type(value).__name__)
                )
            if not 0 <= value < float("inf"):
                raise ValueError(
                    "weft_task: progress %s must be a finite number >= 0, got %r"
                    % (key, value)
                )
            msg[key] = value
        if done is not None and total is not None and done > total:
            raise ValueError(
                "weft_task: progress done (%r) is more than total (%r)"
                % (done, total)
            )
        if message is not None:
            msg["message"] = message if isinstance(message, str) else str(message)
        self._send(msg, "progress")

    def log(self, message: "Any", level: str = "info") -> None:
        """A structured log line of this node; ``message`` is converted with ``str()``."""
        if not isinstance(level, str) or level.lower() not in LOG_LEVELS:
            raise ValueError(
                "weft_task: log level must be one of %s, got %r"
                % (", ".join(LOG_LEVELS), level)
            )
        if not isinstance(message, str):
            message = str(message)
        self._send({"type": "log", "level": level.lower(), "message": message}, "log message")

    def add_node(self, node: "Dict[str, Any]") -> None:
        """Create one node, e.g. ``{"id": "m-3", "operator": "square", "params": {"x": 3}}``."""
        _check_node(node)
        self._send({"type": "add_node", "node": node}, "node %r" % (node["id"],))

    def add_edge(self, edge: "Dict[str, Any]") -> None:
        """Create one edge, e.g. ``{"from": "plan", "to": "m-3"}`` (``"node.port"`` for data)."""
        _check_edge(edge)
        self._send({"type": "add_edge", "edge": edge}, "edge")

    def promise(self, promise: "Dict[str, Any]") -> None:
        """Make a runtime promise, e.g. ``{"no_new_nodes": {}}``; it holds until the run ends."""
        _check_promise(promise)
        self._send({"type": "promise", "promise": promise}, "promise")

    def mutate(
        self,
        nodes: "Iterable[Dict[str, Any]]" = (),
        edges: "Iterable[Dict[str, Any]]" = (),
        promises: "Iterable[Dict[str, Any]]" = (),
    ) -> None:
        """One atomic change of the graph: the engine applies all of it or none of it."""
        node_list = _as_list(nodes, "mutate nodes")
        edge_list = _as_list(edges, "mutate edges")
        promise_list = _as_list(promises, "mutate promises")
        for index, node in enumerate(node_list):
            _check_node(node, "mutate nodes[%d]" % index)
        for index, edge in enumerate(edge_list):
            _check_edge(edge, "mutate edges[%d]" % index)
        for index, item in enumerate(promise_list):
            _check_promise(item, "mutate promises[%d]" % index)
        self._send(
            {"type": "mutate", "nodes": node_list, "edges": edge_list, "promises": promise_list},
            "mutation",
        )

    def style(self, node: "Optional[str]" = None, edge: "Any" = None, **style: "Any") -> None:
        """Cosmetic change of one node or edge, e.g. ``style(node="count", color="#3b7")``."""
        if (node is None) == (edge is None):
            raise ValueError("weft_task: style() needs exactly one of node= or edge=")
        if not style:
            raise ValueError(
                "weft_task: style() needs at least one style setting, e.g. color='#3b7'"
            )
        msg = {"type": "style"}  # type: Dict[str, Any]
        if node is not None:
            _check_id(node, "style node")
            msg["node"] = node
        else:
            if isinstance(edge, dict):
                _check_edge(edge, "style edge")
            elif not isinstance(edge, str) or not edge:
                raise TypeError(
                    "weft_task: style edge must be an edge dict like {'from': 'a', 'to': 'b'}"
                )
            msg["edge"] = edge
        msg["style"] = style
        self._send(msg, "style")

    # -- files --------------------------------------------------------------------------------

    def path(self, relative: "Union[str, os.PathLike]") -> str:
        """The absolute path of ``relative`` inside the run's workspace.

        Raises ``ValueError`` if the path would leave the workspace: through ``..``, as an
        absolute path elsewhere, or through a symbolic link that points outside.
        """
        relative = os.fspath(relative)
        if isinstance(relative, bytes):
            raise TypeError("weft_task: path() takes a str path, not bytes")
        root = os.path.abspath(self.workspace)
        candidate = os.path.abspath(os.path.join(root, relative))
        real_root = os.path.realpath(root)
        real = os.path.realpath(candidate)
        if real != real_root and os.path.commonpath([real_root, real]) != real_root:
            raise ValueError("weft_task: path %r leaves the workspace %s" % (relative, root))
        return candidate

    # -- writing ------------------------------------------------------------------------------

    def _send(self, msg: "Dict[str, Any]", what: str) -> None:
        body = {"weft": PROTOCOL_VERSION}  # type: Dict[str, Any]
        body.update(msg)
        # Serialise before taking the lock, so a bad value raises without writing anything.
        try:
            line = json.dumps(body, separators=(",", ":"), allow_nan=False)
        except TypeError as exc:
            raise TypeError("weft_task: %s is not JSON-serialisable: %s" % (what, exc)) from None
        except ValueError as exc:
            raise ValueError("weft_task: %s cannot be sent as JSON: %s" % (what, exc)) from None
        # ensure_ascii (the default) keeps the line pure ASCII, whatever stdout's encoding.
        if len(line) + 1 > MAX_LINE_BYTES:
            raise ValueError(
                "weft_task: %s is %d bytes, over the engine's limit of 16 MiB per message; "
                "write it to a file in the workspace (weft.path) and send the path instead"
                % (what, len(line))
            )
        with self._lock:
            stream = self._stream if self._stream is not None else sys.stdout
            stream.write(line + "\n")
            stream.flush()


def _read_first_line(stream: "IO[str]") -> str:
    """The first non-blank line of ``stream``, decoded as UTF-8 whatever the locale says."""
    raw = getattr(stream, "buffer", None)
    source = raw if raw is not None else stream
    while True:
        line = source.readline()
        if not line:
            return ""
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise RuntimeError(NO_START_MESSAGE) from exc
        line = line.strip()
        if line:
            return line


# -- the module-level convenience ------------------------------------------------------------

_default = None  # type: Optional[Task]
_default_lock = threading.Lock()


def default_task() -> Task:
    """The task this process runs, read from ``WEFT_TASK_START`` or stdin on first use."""
    global _default
    task = _default
    if task is None:
        with _default_lock:
            if _default is None:
                _default = Task.from_environment()
            task = _default
    return task


def __getattr__(name: str) -> "Any":
    # PEP 562: weft.inputs etc. read the start message only when first asked for.
    if name in _START_ATTRIBUTES:
        return getattr(default_task(), name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def __dir__() -> "list":
    return sorted(set(__all__) | {name for name in globals() if not name.startswith("_")})


def output(name: str, value: "Any") -> None:
    """Set output port ``name`` to ``value``."""
    default_task().output(name, value)


def ask(prompt: str, fields: "Dict[str, str]") -> None:
    """Ask a person and end the task (exit 0): the node waits, and the answer, checked
    against ``fields`` (NAME: TYPE), becomes its outputs."""
    default_task().ask(prompt, fields)


def progress(
    fraction: "Optional[float]" = None,
    *,
    done: "Optional[Union[int, float]]" = None,
    total: "Optional[Union[int, float]]" = None,
    message: "Optional[str]" = None,
) -> None:
    """Report progress as a ``fraction`` in 0..1, as ``done`` of ``total``, or both."""
    default_task().progress(fraction, done=done, total=total, message=message)


def log(message: "Any", level: str = "info") -> None:
    """A structured log line; ``level`` is one of debug, info, warning, error."""
    default_task().log(message, level)


def add_node(node: "Dict[str, Any]") -> None:
    """Create one node (the task's node must be ``dynamic``)."""
    default_task().add_node(node)


def add_edge(edge: "Dict[str, Any]") -> None:
    """Create one edge (the task's node must be ``dynamic``)."""
    default_task().add_edge(edge)


def promise(promise: "Dict[str, Any]") -> None:
    """Make a runtime promise about how the graph may still grow."""
    default_task().promise(promise)


def mutate(
    nodes: "Iterable[Dict[str, Any]]" = (),
    edges: "Iterable[Dict[str, Any]]" = (),
    promises: "Iterable[Dict[str, Any]]" = (),
) -> None:
    """One atomic change of the graph."""
    default_task().mutate(nodes, edges, promises)


def style(node: "Optional[str]" = None, edge: "Any" = None, **style: "Any") -> None:
    """Cosmetic change of exactly one node or edge (colour, label, icon)."""
    default_task().style(node, edge, **style)


def path(relative: "Union[str, os.PathLike]") -> str:
    """The absolute path of ``relative`` inside the workspace; refuses paths that leave it."""
    return default_task().path(relative)
