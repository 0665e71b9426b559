"""YAML text to plain data plus a table of where every value came from.

We compose the YAML node graph ourselves instead of using ``safe_load`` for three reasons:
every value keeps its line and column (so each error points at the right place), duplicate
keys are reported instead of silently keeping the last, and only JSON-like scalars come out
(no dates, no sets, no tags), so what a workflow file says is what a task receives.
"""

from __future__ import annotations

import re
import sys
from array import array
from dataclasses import dataclass
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


#: Places of values this many levels deep or less (a top-level key, one node, one edge) are
#: kept when a text is parsed; deeper ones are found again from the text when first asked for,
#: so a 100,000-node workflow does not keep a million locations it will never report.
SHALLOW = 2
_LINE = 32  # a place is packed into one int: line << _LINE | column (both 1-based)
_COLUMN = (1 << _LINE) - 1


class SourceMap:
    """Where each value (and each mapping key) of a parsed document stands in its text."""

    def __init__(self, file: str, text: str = "") -> None:
        self.file = file
        #: The parsed text, so ``within`` can place a character of a quoted or multi-line value
        #: (and deeper places can be found again).
        self.text = text
        self._values: dict[Path, int] = {}
        self._keys: dict[Path, int] = {}
        #: the places of the items of a top-level list (one node, one edge), in item order
        self._items: dict[str | int, array[int]] = {}
        self._complete = not text  # False: only places up to SHALLOW levels are known yet

    def __repr__(self) -> str:
        return f"SourceMap({self.file!r})"

    def _location(self, packed: int) -> Location:
        return Location(self.file, packed >> _LINE, packed & _COLUMN)

    def _deep(self, path: Path) -> None:
        """Know every place before answering for a path deeper than SHALLOW."""
        if len(path) > SHALLOW and not self._complete:
            self._complete = True
            self._values, self._keys, self._items = {}, {}, {}
            _build_document(self.text, self, ProblemCollector(), every_place=True)

    def at(self, path: Path) -> Location:
        """The location of the value at ``path``, or of its nearest located ancestor."""
        if len(path) > SHALLOW and not self._complete:
            self._deep(path)
        while True:
            packed = self._values.get(path)
            if len(path) == 2 and type(path[1]) is int:
                items = self._items.get(path[0])
                if items is not None and path[1] < len(items):
                    packed = items[path[1]]
            if packed is not None:
                return self._location(packed)
            if not path:
                return Location(self.file, 1, 1)
            path = path[:-1]

    def key(self, path: Path) -> Location:
        """The location of the key that introduces ``path`` (falls back to the value)."""
        self._deep(path)
        packed = self._keys.get(path)
        return self._location(packed) if packed is not None else self.at(path)

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


def _loc(file: str, mark: Any) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"
_QUOTED = ("'", '"')
#: Texts up to this long are shared: an id named by every edge, a command in every node.
_SHARED = 100


def _scalar(text: str, style: str | None, tag: str) -> Any:
    """Resolve a scalar the way JSON would see it; anything else stays a string."""
    if style in ("'", '"', "|", ">"):
        return text
    if tag == _NULL or text in ("", "~", "null", "Null", "NULL"):
        return None
    if tag == _BOOL:
        return text.lower() in ("true", "yes", "on")
    if tag == _INT_TAG and _INT.match(text):
        return int(text.replace("_", ""))
    if tag == _FLOAT_TAG:
        if text.lower() in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[text.lower()]
        if _FLOAT.match(text):
            return float(text.replace("_", ""))
    return text


def parse_yaml(text: str, file: str, problems: ProblemCollector) -> Document | None:
    """Parse one YAML document. Syntax errors go into ``problems`` and give ``None``."""
    source = SourceMap(file, text=text)
    found = ProblemCollector()  # kept only if the whole text parses, as when composing first
    try:
        data, empty = _build_document(text, source, found, every_place=False)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        problems.add(where, f"YAML syntax: {reason}")
        return None
    except yaml.YAMLError as exc:
        problems.add(Location(file, 1, 1), f"YAML: {exc}")
        return None
    problems.problems.extend(found.problems)
    return Document(None if empty else data, source)


def _build_document(text: str, source: SourceMap, problems: ProblemCollector, every_place: bool) -> tuple[Any, bool]:
    """The data of the one document in ``text`` (and whether there is none), its places in ``source``.

    Built from the parser's events as they come, never from a composed node tree: that tree
    (two marks per value) would take several times the memory of the data it describes.
    """
    loader = _Loader(text)
    try:
        # Aliases repeat values; without aliases a document has fewer values than characters,
        # so that bound stops an alias bomb ("billion laughs") without limiting any honest file.
        builder = _Builder(loader, source, problems, len(text) + 1000, every_place)
        return builder.document()
    finally:
        loader.dispose()


class _Anchored:
    """The events of an anchored value, as read so far (``open``: collections not yet ended)."""

    __slots__ = ("events", "open")

    def __init__(self, event: Any) -> None:
        self.events = [event]
        self.open = 1 if isinstance(event, _STARTS) else 0


_STARTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_ALIAS = yaml.AliasEvent
_SCALAR = yaml.ScalarEvent


class _Builder:
    """Values from a stream of parser events, with their places; aliases replay their anchor's events.

    It sees what a composer would give: an alias is its anchored value again (placed where the
    anchor is), an alias inside its own anchor is reported instead of followed, and values
    a problem drops (duplicate keys, too deep, past the alias budget) are read past without
    being built, yet still define their anchors and refuse undefined aliases.
    """

    def __init__(self, loader: Any, source: SourceMap, problems: ProblemCollector, budget: int, every_place: bool):
        self.loader = loader
        self.file = source.file
        self.values = source._values
        self.keys = source._keys
        self.items = source._items
        self.problems = problems
        self.budget = budget
        self.shallow = -1 if every_place else SHALLOW
        self.depth = 0
        self.anchors: dict[str, _Anchored] = {}
        self.recording: list[_Anchored] = []  # anchored values whose events are still coming
        self.replaying: list[Any] = []  # iterators over an anchor's events, innermost last
        self.walking: set[str] = set()  # anchors whose value is being built (an alias to one is a loop)
        first = getattr(loader, "yaml_implicit_resolvers", {})
        self.resolvers = {k: v for k, v in first.items() if k is not None}
        self.wildcard = first.get(None, [])

    def document(self) -> tuple[Any, bool]:
        self.next()  # the stream's start
        event = self.next()
        if isinstance(event, yaml.StreamEndEvent):
            return None, True
        root = self.next()
        data = self.value((), root)
        self.next()  # the document's end
        event = self.next()
        if not isinstance(event, yaml.StreamEndEvent):
            raise yaml.composer.ComposerError(
                "expected a single document in the stream",
                root.start_mark,
                "but found another document",
                event.start_mark,
            )
        return data, False

    def next(self) -> Any:
        if self.replaying:
            return next(self.replaying[-1])
        event = self.loader.get_event()
        kind = type(event)
        if self.recording:
            step = 1 if kind in _STARTS else -1 if kind in _ENDS else 0
            for anchored in self.recording:
                anchored.events.append(event)
                anchored.open += step
            if step < 0:
                self.recording = [a for a in self.recording if a.open]
        if kind is _ALIAS:
            if event.anchor not in self.anchors:
                raise yaml.composer.ComposerError(None, None, "found undefined alias", event.start_mark)
        elif (kind is _SCALAR or kind in _STARTS) and event.anchor is not None:
            if event.anchor in self.anchors:
                raise yaml.composer.ComposerError(
                    "found duplicate anchor; first occurrence",
                    self.anchors[event.anchor].events[0].start_mark,
                    "second occurrence",
                    event.start_mark,
                )
            anchored = self.anchors[event.anchor] = _Anchored(event)
            if anchored.open:
                self.recording.append(anchored)
        return event

    def skip(self, event: Any) -> None:
        """Read past the rest of the value that starts with ``event``."""
        depth = 1 if type(event) in _STARTS else 0
        while depth:
            kind = type(self.next())
            if kind in _STARTS:
                depth += 1
            elif kind in _ENDS:
                depth -= 1

    def tag(self, event: Any) -> str:
        tag = event.tag
        if tag is not None and tag != "!":
            return tag
        value = event.value
        if event.implicit[0]:  # as PyYAML's resolver: by the first character, then by pattern
            for tag, pattern in self.resolvers.get(value[:1], []) + self.wildcard:
                if pattern.match(value):
                    return tag
        return _STR

    def place(self, store: dict[Path, int], path: Path, mark: Any, shift: int = 0) -> None:
        if len(path) <= self.shallow or self.shallow < 0:  # deeper places: found again when asked for
            packed = (mark.line + 1) << _LINE | (mark.column + 1 + shift)
            if store is self.values and len(path) == 2 and type(path[1]) is int:
                items = self.items.get(path[0])
                if items is None:
                    items = self.items[path[0]] = array("q")
                if len(items) == path[1]:  # items come in order: a list of numbers, not a dict of paths
                    items.append(packed)
                    return
            store[path] = packed

    def value(self, path: Path, event: Any) -> Any:
        kind = type(event)
        if kind is _SCALAR:
            if len(path) <= self.shallow or self.shallow < 0:
                self.place(self.values, path, event.start_mark, 1 if event.style in _QUOTED else 0)
            value = _scalar(event.value, event.style, self.tag(event))
            if type(value) is str and len(value) <= _SHARED:
                return sys.intern(value)  # one object for a text repeated in every node and edge
            return value
        if kind is _ALIAS:
            anchored = self.anchors[event.anchor]
            start = anchored.events[0]
            if event.anchor in self.walking:
                self.place(self.values, path, start.start_mark)
                self.problems.add(_loc(self.file, start.start_mark), "a YAML alias refers to a value that contains it")
                return None
            self.replaying.append(iter(anchored.events))
            try:
                return self.value(path, self.next())
            finally:
                self.replaying.pop()
        self.place(self.values, path, event.start_mark)
        anchor = event.anchor
        if anchor is not None and anchor in self.walking:  # met again inside its own replay
            self.problems.add(_loc(self.file, event.start_mark), "a YAML alias refers to a value that contains it")
            self.skip(event)
            return None
        if self.depth >= MAX_DEPTH:
            self.problems.add(_loc(self.file, event.start_mark), f"nested more than {MAX_DEPTH} levels deep")
            self.skip(event)
            return None
        if anchor is not None:
            self.walking.add(anchor)
        self.depth += 1
        try:
            if kind is yaml.SequenceStartEvent:
                return self.sequence(path, event)
            return self.mapping(path, event)
        finally:
            self.depth -= 1
            if anchor is not None:
                self.walking.discard(anchor)

    def spent(self, start: Any, event: Any) -> None:
        """The alias budget is spent: report it (once) and read past the rest of this collection."""
        if self.budget == -1:
            self.problems.add(
                _loc(self.file, start.start_mark), "YAML aliases expand to far more values than the file holds"
            )
        self.skip(event)
        self.skip(start)

    def sequence(self, path: Path, start: Any) -> list[Any] | None:
        out: list[Any] = []
        event = self.next()
        while type(event) is not yaml.SequenceEndEvent:
            self.budget -= 1
            if self.budget < 0:
                self.spent(start, event)
                return None
            out.append(self.value(path + (len(out),), event))
            event = self.next()
        return out

    def mapping(self, path: Path, start: Any) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        event = self.next()
        while type(event) is not yaml.MappingEndEvent:
            self.budget -= 1
            if self.budget < 0:
                self.spent(start, event)
                return None
            key_event = event
            if type(event) is _ALIAS:  # an alias as key: its anchored value is the key
                key_event = self.anchors[event.anchor].events[0]
            elif type(event) is not _SCALAR:
                self.skip(event)  # a collection as key: read past it
            key = self.key(key_event, path, out)
            if key is None:
                self.skip(self.next())
            else:
                self.place(self.keys, path + (key,), key_event.start_mark)
                out[key] = self.value(path + (key,), self.next())
            event = self.next()
        return out

    def key(self, event: Any, path: Path, out: dict[str, Any]) -> str | None:
        """The text of a mapping key, or None (with a problem) when its value is to be dropped."""
        if type(event) is _SCALAR and self.tag(event) == _MERGE:
            self.problems.add(_loc(self.file, event.start_mark), "YAML merge keys ('<<') are not supported")
            return None
        if type(event) is not _SCALAR:
            self.problems.add(_loc(self.file, event.start_mark), "a mapping key must be a plain value")
            return None
        key: str = sys.intern(event.value)  # keys are always text: `1:` means the key "1"
        if key in out:
            self.problems.add(_loc(self.file, event.start_mark), f"duplicate key '{key}'")
            return None
        return key


def scalar_text(node_value: Any) -> str:
    """The text of an id-like scalar: a YAML integer id is its text (``1`` -> ``"1"``)."""
    if isinstance(node_value, bool):
        return str(node_value).lower()
    return str(node_value)
