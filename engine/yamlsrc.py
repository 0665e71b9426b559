"""YAML text to plain data plus a table of where every value came from.

We compose the YAML node graph ourselves instead of using ``safe_load`` for three reasons:
every value keeps its line and column (so each error points at the right place), duplicate
keys are reported instead of silently keeping the last, and only JSON-like scalars come out
(no dates, no sets, no tags), so what a workflow file says is what a task receives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from engine.errors import Location, ProblemCollector

try:  # the C composer is several times faster on large files
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader

Path = tuple[str | int, ...]

_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL_FLOATS = {".inf": float("inf"), "-.inf": float("-inf"), "+.inf": float("inf"), ".nan": float("nan")}
#: Deeper documents are refused with a location (instead of exhausting Python's stack later).
MAX_DEPTH = 200
_WS = " \t\r\n"


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a parsed document stands in its text."""

    file: str
    values: dict[Path, Location] = field(default_factory=dict)
    keys: dict[Path, Location] = field(default_factory=dict)
    #: The parsed text, so ``within`` can place a character of a quoted or multi-line value.
    text: str = field(default="", repr=False)

    def at(self, path: Path) -> Location:
        """The location of the value at ``path``, or of its nearest located ancestor."""
        while True:
            loc = self.values.get(path)
            if loc is not None:
                return loc
            if not path:
                return Location(self.file, 1, 1)
            path = path[:-1]

    def key(self, path: Path) -> Location:
        """The location of the key that introduces ``path`` (falls back to the value)."""
        return self.keys.get(path) or self.at(path)

    def within(self, path: Path, value: str, offset: int) -> Location:
        """Where character ``offset`` of the text ``value`` at ``path`` stands in the file.

        ``at(path).shifted(offset)`` is right only for a one-line value without escapes; this
        walks the source through quotes, escapes, folded lines and block scalars (| and >).
        """
        loc = self.at(path)
        text = self.text
        if not text or loc.line == 0:
            return loc.shifted(offset)
        j = 0
        for _ in range(loc.line - 1):
            j = text.find("\n", j) + 1
        j += loc.column - 1
        if not 0 <= j < len(text):
            return loc.shifted(offset)
        quote = text[j - 1] if j > 0 and text[j - 1] in "'\"" else ""
        if not quote and text[j] in "|>":  # a block scalar starts on the line after its header
            j = text.find("\n", j) + 1 or len(text)
            while j < len(text) and text[j] in _WS:
                j += 1
        i = 0
        while i < offset and i < len(value) and j < len(text):
            ch = text[j]
            if quote == '"' and ch == "\\":
                if text[j + 1 : j + 2] in ("\n", "\r"):  # an escaped line break adds nothing
                    j += 2
                    while j < len(text) and text[j] in _WS:
                        j += 1
                    continue
                j += {"x": 4, "u": 6, "U": 10}.get(text[j + 1 : j + 2], 2)
                i += 1
            elif quote == "'" and text.startswith("''", j):
                j += 2
                i += 1
            elif ch in _WS:  # spaces, line breaks and indentation fold into the value's spaces
                while i < offset and value[i] in _WS:
                    i += 1
                if i >= len(value):
                    break
                while j < len(text) and text[j] in _WS:
                    j += 1
            else:
                i += 1
                j += 1
        line = text.count("\n", 0, j) + 1
        return Location(loc.file, line, j - (text.rfind("\n", 0, j) + 1) + 1, loc.path)


@dataclass
class Document:
    data: Any
    source: SourceMap


def _loc(file: str, node: yaml.Node) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _scalar(node: yaml.ScalarNode) -> Any:
    """Resolve a scalar the way JSON would see it; anything else stays a string."""
    text = node.value
    if node.style in ("'", '"', "|", ">"):
        return text
    if node.tag == "tag:yaml.org,2002:null" or text in ("", "~", "null", "Null", "NULL"):
        return None
    if node.tag == "tag:yaml.org,2002:bool":
        return text.lower() in ("true", "yes", "on")
    if node.tag == "tag:yaml.org,2002:int" and _INT.match(text):
        return int(text.replace("_", ""))
    if node.tag == "tag:yaml.org,2002:float":
        if text.lower() in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[text.lower()]
        if _FLOAT.match(text):
            return float(text.replace("_", ""))
    return text


def parse_yaml(text: str, file: str, problems: ProblemCollector) -> Document | None:
    """Parse one YAML document. Syntax errors go into ``problems`` and give ``None``."""
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        problems.add(where, f"YAML syntax: {reason}")
        return None
    except yaml.YAMLError as exc:
        problems.add(Location(file, 1, 1), f"YAML: {exc}")
        return None
    except RecursionError:  # the pure-Python composer recurses per level (libyaml stops at 1000)
        problems.add(Location(file, 1, 1), f"YAML syntax: nested too deeply (more than {MAX_DEPTH} levels)")
        return None
    source = SourceMap(file, text=text)
    if root is None:
        return Document(None, source)
    # Aliases repeat nodes; without aliases a document has fewer values than characters, so
    # that bound stops an alias bomb ("billion laughs") without limiting any honest file.
    data = _build(root, (), source, problems, _Guard(len(text) + 1000))
    return Document(data, source)


class _Guard:
    """What ``_build`` watches while it walks: depth, the nodes open above, the values left."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.open: set[int] = set()
        self.depth = 0


def _build(node: yaml.Node, path: Path, source: SourceMap, problems: ProblemCollector, guard: _Guard) -> Any:
    loc = _loc(source.file, node)
    if isinstance(node, yaml.ScalarNode) and node.style in ("'", '"'):
        loc = loc.shifted(1)  # point at the text, not its opening quote
    source.values[path] = loc
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if id(node) in guard.open:
        problems.add(loc, "a YAML alias refers to a value that contains it")
        return None
    if guard.depth >= MAX_DEPTH:
        problems.add(loc, f"nested more than {MAX_DEPTH} levels deep")
        return None
    guard.budget -= len(node.value)
    if guard.budget < 0:
        if guard.budget + len(node.value) >= 0:  # report once
            problems.add(loc, "YAML aliases expand to far more values than the file holds")
        return None
    guard.open.add(id(node))
    guard.depth += 1
    try:
        return _build_collection(node, path, source, problems, guard)
    finally:
        guard.open.discard(id(node))
        guard.depth -= 1


def _build_collection(node: yaml.Node, path: Path, source: SourceMap, problems: ProblemCollector, guard: _Guard) -> Any:
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), source, problems, guard) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.add(_loc(source.file, key_node), "YAML merge keys ('<<') are not supported")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                problems.add(_loc(source.file, key_node), "a mapping key must be a plain value")
                continue
            key = key_node.value  # keys are always text: `1:` means the key "1"
            if key in out:
                problems.add(_loc(source.file, key_node), f"duplicate key '{key}'")
                continue
            source.keys[path + (key,)] = _loc(source.file, key_node)
            out[key] = _build(value_node, path + (key,), source, problems, guard)
        return out
    problems.add(_loc(source.file, node), "unsupported YAML node")  # pragma: no cover
    return None


def scalar_text(node_value: Any) -> str:
    """The text of an id-like scalar: a YAML integer id is its text (``1`` -> ``"1"``)."""
    if isinstance(node_value, bool):
        return str(node_value).lower()
    return str(node_value)
