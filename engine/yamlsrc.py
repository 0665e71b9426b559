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
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path = tuple[str | int, ...]

_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL_FLOATS = {".inf": float("inf"), "-.inf": float("-inf"), "+.inf": float("inf"), ".nan": float("nan")}


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a parsed document stands in its text."""

    file: str
    values: dict[Path, Location] = field(default_factory=dict)
    keys: dict[Path, Location] = field(default_factory=dict)

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
    source = SourceMap(file)
    if root is None:
        return Document(None, source)
    data = _build(root, (), source, problems)
    return Document(data, source)


def _build(node: yaml.Node, path: Path, source: SourceMap, problems: ProblemCollector) -> Any:
    # Iterative for deep documents would be nicer, but YAML nesting is bounded by the parser's
    # own recursion; anchors/aliases repeat nodes, which is fine for read-only data.
    loc = _loc(source.file, node)
    if isinstance(node, yaml.ScalarNode) and node.style in ("'", '"'):
        loc = loc.shifted(1)  # point at the text, not its opening quote
    source.values[path] = loc
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), source, problems) for i, item in enumerate(node.value)]
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
            out[key] = _build(value_node, path + (key,), source, problems)
        return out
    problems.add(_loc(source.file, node), "unsupported YAML node")  # pragma: no cover
    return None


def scalar_text(node_value: Any) -> str:
    """The text of an id-like scalar: a YAML integer id is its text (``1`` -> ``"1"``)."""
    if isinstance(node_value, bool):
        return str(node_value).lower()
    return str(node_value)
