"""Port types: parsing type texts, wire assignability, checking reported values.

Nodes declare ports with short type texts (``str``, ``list[Sample]``, ``dict[str, int]?``). The
engine parses the same texts for thousands of nodes, so each ``TypeRegistry`` caches parsed
types, assignability answers and compiled value checkers; types are frozen, hashable
dataclasses so they can be those caches' keys.
"""

from __future__ import annotations

import difflib
import re
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import TypeSyntaxError, ValueTypeError

BUILTIN_NAMES = ("str", "int", "float", "bool", "json", "file")
# A record named list or dict could never be written in a type text, so those are reserved too.
_RESERVED = BUILTIN_NAMES + ("list", "dict")
_TOKEN = re.compile(r"\s*(?:([^\W\d]\w*)|(\S))")
#: Levels of list[...] / dict[str, ...] a type may nest: parsing, printing, checking and
#: comparing types recurse once per level, so hostile text must not reach Python's limit.
MAX_NESTING = 64
Problem = tuple[str, "str | None", str]
Checker = Callable[[Any], None]


class PortType:
    """Base of every port type; ``str()`` of a type is its canonical text."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Primitive(PortType):
    name: str  # one of BUILTIN_NAMES

    def __post_init__(self) -> None:
        if self.name not in BUILTIN_NAMES:  # catches code that builds types by hand wrongly
            raise ValueError(f"not a builtin type: {self.name!r}")

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class ListOf(PortType):
    item: PortType

    def __str__(self) -> str:
        return f"list[{self.item}]"


@dataclass(frozen=True, slots=True)
class DictOf(PortType):
    value: PortType  # keys are always str (JSON objects), so only the value type varies

    def __str__(self) -> str:
        return f"dict[str, {self.value}]"


@dataclass(frozen=True, slots=True)
class Optional(PortType):
    inner: PortType  # never itself Optional: T?? would mean nothing more than T?

    def __post_init__(self) -> None:
        if isinstance(self.inner, Optional):
            raise ValueError(f"a type cannot be optional twice: {self.inner}?")

    def __str__(self) -> str:
        return f"{self.inner}?"


@dataclass(frozen=True, slots=True)
class RecordRef(PortType):
    name: str  # records are nominal, so the name is all a reference needs

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class RecordType:
    name: str
    fields: tuple[tuple[str, PortType], ...]


STR, INT, FLOAT, BOOL, JSON, FILE = (Primitive(n) for n in BUILTIN_NAMES)
Mismatch = tuple[PortType, PortType, str]  # innermost failing pair, note (may be "")

# Per primitive: the exact classes the checking loops accept at a glance, and a slower test
# for subclasses. bool is an int subclass in Python but never an int or float here.
_PRIMS: dict[str, tuple[frozenset[type], Callable[[Any], bool]]] = {
    "str": (frozenset({str}), lambda v: isinstance(v, str)),
    "file": (frozenset({str}), lambda v: isinstance(v, str)),
    "int": (frozenset({int}), lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "float": (frozenset({int, float}), lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    "bool": (frozenset({bool}), lambda v: False),
}
_JSON_NAMES = (
    (type(None), "null"),
    (bool, "bool"),
    (int, "int"),
    (float, "float"),
    (str, "str"),
    (list, "list"),
    (dict, "object"),
)


def _json_name(value: Any) -> str:
    """Messages speak JSON, since that is what task authors produce."""
    return next((n for cls, n in _JSON_NAMES if isinstance(value, cls)), type(value).__name__)


def _hint(name: str, candidates: list[str]) -> str:
    same_but_case = [c for c in candidates if c.lower() == name.lower()]
    close = same_but_case or difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _child(t: PortType) -> PortType | None:
    if isinstance(t, ListOf):
        return t.item
    if isinstance(t, DictOf):
        return t.value
    return t.inner if isinstance(t, Optional) else None


def _item(t: ListOf | DictOf) -> PortType:
    """What a list or dict holds."""
    return t.item if isinstance(t, ListOf) else t.value


def _base(t: PortType) -> PortType:
    """The innermost type: every constructor has one child, so a type is a chain down to it."""
    while (child := _child(t)) is not None:
        t = child
    return t


class _Mismatch(Exception):
    """Internal: a value mismatch. Containers add their path segment while it unwinds, so no
    path text is ever built for values that are fine."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.path: list[str] = []  # innermost segment first

    @classmethod
    def expected(cls, what: Any, value: Any, segment: str | None = None) -> _Mismatch:
        m = cls(f"expected {what}, got {_json_name(value)}")
        m.path += [segment] if segment is not None else []
        return m


def _check_json(value: Any) -> None:
    if value is None or isinstance(value, (str, int, float)):  # bool is an int
        return
    if not isinstance(value, (list, dict)):
        raise _Mismatch.expected("JSON data", value)
    key: Any = None
    try:
        for key, item in enumerate(value) if isinstance(value, list) else value.items():
            if not isinstance(key, str) and isinstance(value, dict):
                raise _Mismatch(f"object keys must be str, got {_json_name(key)}")
            _check_json(item)
    except _Mismatch as m:
        m.path.append(f"[{key!r}]")
        raise


class _Parser:
    """Recursive descent over name tokens and one-character tokens."""

    def __init__(self, text: str, records: Mapping[str, RecordType]) -> None:
        self.text, self.records, self.i = text, records, 0
        self.depth = 0
        self.tokens = [
            (m[m.lastindex or 0], m.start(m.lastindex or 0), m[1] is not None) for m in _TOKEN.finditer(text)
        ] + [("", len(text), False)]

    def next(self) -> tuple[str, int, bool]:
        token = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def expect(self, char: str) -> None:
        value, start, _ = self.next()
        if value != char:
            raise TypeSyntaxError(f"expected '{char}' after '{self.text[:start].rstrip()}'")

    def parse(self) -> PortType:
        if not self.text.strip():
            raise TypeSyntaxError("empty type text")
        type_ = self.type()
        value, start, _ = self.tokens[self.i]
        if value:
            raise TypeSyntaxError(f"unexpected '{value}' after '{self.text[:start].rstrip()}'")
        return type_

    def type(self) -> PortType:
        value, start, is_name = self.next()
        type_: PortType
        if not is_name:
            before = self.text[:start].rstrip()
            where = f"after '{before}'" if before else f"at the start of '{self.text}'"
            raise TypeSyntaxError(f"expected a type {where}")
        if value in ("list", "dict"):
            self.expect("[")
            self.depth += 1
            if self.depth > MAX_NESTING:  # before recursing any deeper
                raise TypeSyntaxError(f"nested too deeply (more than {MAX_NESTING} levels)")
            type_ = self.type()
            if value == "dict":
                if type_ != STR:
                    raise TypeSyntaxError("dict keys must be str")
                self.expect(",")
                type_ = DictOf(self.type())
            else:
                type_ = ListOf(type_)
            self.expect("]")
            self.depth -= 1
        elif value in BUILTIN_NAMES:
            type_ = Primitive(value)
        elif value in self.records:
            type_ = RecordRef(value)
        else:
            hint = _hint(value, list(_RESERVED) + sorted(self.records))
            raise TypeSyntaxError(f"unknown type '{value}'{hint}")
        if self.tokens[self.i][0] == "?":
            self.i += 1
            if self.tokens[self.i][0] == "?":
                raise TypeSyntaxError(f"a type cannot be optional twice: '{self.text.strip()}'")
            type_ = Optional(type_)
        return type_


class TypeRegistry:
    """The named record types of one workflow; resolves RecordRef names."""

    def __init__(self, records: Mapping[str, RecordType] | None = None) -> None:
        self._records: dict[str, RecordType] = dict(records or {})
        self._parsed: dict[str, PortType] = {}
        self._mismatches: dict[tuple[PortType, PortType], Mismatch | None] = {}
        self._checkers: dict[PortType, Checker] = {}
        self._has_file_cache: dict[PortType, bool] = {}

    @classmethod
    def from_definitions(
        cls, defs: Mapping[str, Mapping[str, str]]
    ) -> tuple[TypeRegistry, list[tuple[str, str | None, str]]]:
        """Build the registry from ``{Record: {field: type text}}``, collecting every problem.

        A field whose type text is bad stays in its record as ``json`` so later checks do not
        pile follow-on errors onto a workflow that is invalid anyway.
        """
        problems: list[Problem] = []
        valid: dict[str, Mapping[str, str]] = {}
        for name, fields in defs.items():
            if not isinstance(name, str) or not name.isidentifier():
                message = f"record type name {name!r} is not an identifier"
                problems.append((str(name), None, message))
            elif name in _RESERVED:
                problems.append((name, None, f"record type name '{name}' is a builtin type name"))
            elif not isinstance(fields, Mapping):
                problems.append((name, None, f"record type {name} must map field names to types"))
                valid[name] = {}
            else:
                valid[name] = fields
        names_only = cls({name: RecordType(name, ()) for name in valid})  # forward references
        records: dict[str, RecordType] = {}
        for name, fields in valid.items():
            parsed: list[tuple[str, PortType]] = []
            for field, text in fields.items():
                if not isinstance(field, str) or not field:
                    message = f"field name {field!r} is not a non-empty string"
                    problems.append((name, str(field), message))
                    continue
                try:
                    parsed.append((field, names_only.parse(text)))
                except TypeSyntaxError as e:
                    problems.append((name, field, str(e)))
                    parsed.append((field, JSON))
            records[name] = RecordType(name, tuple(parsed))
        return cls(records), problems + _cycle_problems(records)

    def names(self) -> list[str]:
        return sorted(self._records)

    def record(self, name: str) -> RecordType:
        return self._records[name]

    def parse(self, text: str) -> PortType:
        """Parse a type text; cached, since the engine parses the same texts over and over."""
        if not isinstance(text, str):
            raise TypeSyntaxError(f"a type must be a string, got {_json_name(text)}")
        type_ = self._parsed.get(text)
        if type_ is None:
            type_ = self._parsed[text] = _Parser(text, self._records).parse()
        return type_

    def assignable(self, source: PortType, target: PortType) -> bool:
        return self._mismatch(source, target) is None

    def why_not_assignable(self, source: PortType, target: PortType) -> str | None:
        leaf = self._mismatch(source, target)
        if leaf is None:
            return None
        inner_source, inner_target, note = leaf
        if (inner_source, inner_target) != (source, target):
            note = f"{inner_source} is not assignable to {inner_target}" + (note and f": {note}")
        return f"{source} is not assignable to {target}" + (f" ({note})" if note else "")

    def _mismatch(self, s: PortType, t: PortType) -> Mismatch | None:
        """None when assignable, else why not; cached, as the same wires recur in big graphs."""
        key = (s, t)
        if key not in self._mismatches:
            if s == t or t == JSON or (s == INT and t == FLOAT):
                found = None
            elif isinstance(t, Optional):
                found = self._mismatch(s.inner if isinstance(s, Optional) else s, t.inner)
            elif isinstance(s, Optional):
                found = self._mismatch(s.inner, t) or (s, t, "it may be null")
            elif type(s) is type(t) and isinstance(s, (ListOf, DictOf)) and isinstance(t, (ListOf, DictOf)):
                found = self._mismatch(_item(s), _item(t))
            else:
                found = (s, t, "file and str are kept distinct" if {s, t} == {STR, FILE} else "")
            self._mismatches[key] = found
        return self._mismatches[key]

    def check_value(self, value: Any, type_: PortType, *, path: str = "") -> None:
        """Raise ValueTypeError naming where inside ``value`` it departs from ``type_``.

        ``path`` (e.g. a port name) prefixes the location. The error also carries ``.path``
        and ``.reason`` so callers can reformat it.
        """
        try:
            self._checker(type_)(value)
        except _Mismatch as m:
            where = "".join(reversed(m.path))
            where = path + where if path else where.removeprefix(".")
            error = ValueTypeError(f"{where}: {m.message}" if where else m.message)
            error.path, error.reason = where, m.message
            raise error from None

    def _checker(self, t: PortType) -> Checker:
        """A closure per type, built once, so big values cost one tight loop and no dispatch."""
        if t in self._checkers:
            return self._checkers[t]
        check: Checker
        child = _child(t)
        if t == JSON:
            check = _check_json
        elif isinstance(t, Primitive):
            ok, slow = _PRIMS[t.name]

            def check(v: Any) -> None:
                if type(v) not in ok and not slow(v):
                    raise _Mismatch.expected(t, v)
        elif isinstance(t, Optional):
            inner = self._checker(t.inner)

            def check(v: Any) -> None:
                if v is not None:
                    inner(v)
        elif isinstance(t, ListOf) and isinstance(child, Primitive) and child != JSON:
            ok, slow = _PRIMS[child.name]

            def check(v: Any) -> None:  # the common big case: no call per item
                if not isinstance(v, list):
                    raise _Mismatch.expected(t, v)
                for i, x in enumerate(v):
                    if type(x) not in ok and not slow(x):
                        raise _Mismatch.expected(child, x, f"[{i}]")
        elif isinstance(t, (ListOf, DictOf)):
            item, is_list = self._checker(_item(t)), isinstance(t, ListOf)

            def check(v: Any) -> None:
                if not isinstance(v, list if is_list else dict):
                    raise _Mismatch.expected(t, v)
                k: Any = None
                try:
                    for k, x in enumerate(v) if isinstance(v, list) else v.items():
                        if not is_list and not isinstance(k, str):
                            raise _Mismatch(f"dict keys must be str, got {_json_name(k)}")
                        item(x)
                except _Mismatch as m:
                    m.path.append(f"[{k!r}]")
                    raise
        elif isinstance(t, RecordRef):
            check = self._record_checker(t)
        else:
            raise TypeError(f"not a port type: {t!r}")
        self._checkers[t] = check
        return check

    def _record_checker(self, t: RecordRef) -> Checker:
        if t.name not in self._records:
            raise TypeSyntaxError(f"unknown type '{t.name}'")
        fields = self._records[t.name].fields
        required = [f for f, ft in fields if not isinstance(ft, Optional)]
        checkers: dict[str, Checker] = {}

        def check(v: Any) -> None:
            if not isinstance(v, dict):
                raise _Mismatch.expected(f"{t} (an object)", v)
            field: Any = None
            try:
                for field, x in v.items():
                    if field not in checkers:
                        hint = _hint(field, list(checkers)) if isinstance(field, str) else ""
                        raise _Mismatch(f"unexpected field {field!r} in {t}{hint}")
                    checkers[field](x)
            except _Mismatch as m:
                if field in checkers:  # a field's value failed, not the record's own keys
                    m.path.append(f".{field}" if field.isidentifier() else f"[{field!r}]")
                raise
            for field in required:
                if field not in v:
                    raise _Mismatch(f"missing field '{field}' of {t}")

        # Registered before its fields compile, so a (reported, invalid) cycle cannot recurse.
        self._checkers[t] = check
        checkers.update((f, self._checker(ft)) for f, ft in fields)
        return check

    def map_files(self, value: Any, type_: PortType, fn: Callable[[str], str]) -> Any:
        """Apply ``fn`` to every string in a file position; values under json are left alone.

        Containers on the way to a file are rebuilt; subtrees that cannot hold a file are
        shared with ``value``, not copied (values are treated as immutable data).
        """
        if value is None or not self._has_file(type_):
            return value
        t = type_.inner if isinstance(type_, Optional) else type_
        if t == FILE:
            return fn(value)
        if isinstance(t, ListOf):
            return [self.map_files(x, t.item, fn) for x in value]
        if isinstance(t, DictOf):
            return {k: self.map_files(x, t.value, fn) for k, x in value.items()}
        assert isinstance(t, RecordRef), t  # a file inside a primitive is FILE itself, above
        fields = dict(self._records[t.name].fields)
        return {k: self.map_files(x, fields[k], fn) if k in fields else x for k, x in value.items()}

    def has_file(self, t: PortType) -> bool:
        """Does a value of type ``t`` hold a ``file`` anywhere?"""
        return self._has_file(t)

    def _has_file(self, t: PortType, visiting: frozenset[str] = frozenset()) -> bool:
        if t in self._has_file_cache:
            return self._has_file_cache[t]
        inner = _base(t)
        if isinstance(inner, RecordRef):
            if inner.name in visiting:  # a cycle (already a definition problem)
                return False
            seen = visiting | {inner.name}
            result = any(self._has_file(ft, seen) for _, ft in self._records[inner.name].fields)
        else:
            result = inner == FILE
        if not visiting:  # answers found inside a cycle walk may be partial: cache top level only
            self._has_file_cache[t] = result
        return result


def _cycle_problems(records: Mapping[str, RecordType]) -> list[Problem]:
    """One problem per distinct reference cycle (shortest one found), at its first record."""
    edges = {
        name: [(f, b.name) for f, ft in rec.fields if isinstance(b := _base(ft), RecordRef) and b.name in records]
        for name, rec in records.items()
    }
    problems: list[Problem] = []
    seen: set[frozenset[str]] = set()
    for start in records:
        parent: dict[str, tuple[str, str]] = {}  # node -> (previous node, field followed)
        queue, last = deque([start]), None
        while queue and last is None:
            node = queue.popleft()
            for field, ref in edges[node]:
                if ref == start:
                    last = (node, field)
                    break
                if ref not in parent:
                    parent[ref] = (node, field)
                    queue.append(ref)
        if last is None:
            continue
        (node, first_field), chain = last, [start]
        while node != start:
            chain.insert(1, node)
            node, first_field = parent[node]
        if frozenset(chain) not in seen:
            seen.add(frozenset(chain))
            path = " -> ".join(chain + [start])
            problems.append((start, first_field, f"record type {start} refers to itself: {path}"))
    return problems
