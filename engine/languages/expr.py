"""Edge conditions (``when:`` expressions): a tiny, safe language over upstream task outputs.

Conditions come from workflow files, which may be written by anyone, so they are never handed
to Python's ``eval``/``compile``/``ast``. Instead a small tokenizer, recursive-descent parser and
tree-walking evaluator implement exactly the grammar below. The evaluator can only read JSON
data (dict/list/str/int/float/bool/None): it never calls ``getattr``, and the only function is
``len()``, so no text can reach a Python object, import a module or run code.

    expr       := or
    or         := and ('or' and)*
    and        := not ('and' not)*
    not        := 'not' not | comparison
    comparison := postfix (('=='|'!='|'<'|'<='|'>'|'>='|'in'|'not' 'in') postfix)?
    postfix    := primary ('.' NAME | '[' expr ']')*
    primary    := NUMBER | STRING | true | false | null | True | False | None
                | '[' (expr (',' expr)*)? ','? ']' | 'len' '(' expr ')'
                | NAME | `QUOTED NAME` | '(' expr ')'

The root name of a postfix chain is a node id; its first ``.field`` is an output port.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ExpressionError

MAX_LENGTH = 10_000
MAX_DEPTH = 64
KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null", "True", "False", "None", "len"})
_LITERALS: dict[str, Any] = {"true": True, "True": True, "false": False, "False": False, "null": None, "None": None}
_ORDERINGS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}
_HINTS = {"=": " (use '==' to compare)", "!": " (use '!=' or 'not')", "&": " (use 'and')", "|": " (use 'or')"}
_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<num>-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*)"
    r"|(?P<op>==|!=|<=|>=|[<>()\[\],.])",
    re.ASCII,
)
_JSON_TYPES = (dict, list, str, int, float, type(None))
_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*", re.ASCII)


def node_reference(node: str) -> str:
    """How an expression names node ``node``: bare where the reader takes it as a name, else in
    backticks (a keyword such as ``None`` or ``len``, or an id that starts with a digit)."""
    return node if _BARE_NAME.fullmatch(node) and node not in KEYWORDS else f"`{node}`"


# ----------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class _Token:
    kind: str  # num | str | name | qname | kw | op | end
    value: Any
    offset: int
    text: str

    def describe(self) -> str:
        """How the token is named in error messages (long literals are shortened)."""
        if self.kind == "end":
            return "end of expression"
        return repr(self.text if len(self.text) <= 20 else self.text[:17] + "...")


def _tokenize(text: str) -> list[_Token]:
    """Split ``text`` into tokens; the whole text is scanned first so lexical errors are exact."""
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch in "'\"":
            value, end = _read_string(text, pos)
            tokens.append(_Token("str", value, pos, text[pos:end]))
            pos = end
            continue
        if ch == "`":
            end = text.find("`", pos + 1)
            if end < 0:
                raise ExpressionError("unterminated `quoted name`", pos)
            if end == pos + 1:
                raise ExpressionError("empty `quoted name`", pos)
            tokens.append(_Token("qname", text[pos + 1 : end], pos, text[pos : end + 1]))
            pos = end + 1
            continue
        found = _TOKEN.match(text, pos)
        if found is None:
            raise ExpressionError(f"unexpected character {ch!r}{_HINTS.get(ch, '')}", pos)
        kind, lexeme = found.lastgroup or "", found.group()
        if kind == "num":
            tokens.append(_Token("num", _number(text, pos, found.end()), pos, lexeme))
        elif kind == "name":
            tokens.append(_Token("kw" if lexeme in KEYWORDS else "name", lexeme, pos, lexeme))
        elif kind == "op":
            tokens.append(_Token("op", lexeme, pos, lexeme))
        pos = found.end()
    tokens.append(_Token("end", None, len(text), ""))
    return tokens


def _number(text: str, start: int, end: int) -> int | float:
    """Convert a NUMBER lexeme, rejecting ``1abc``/``1.out`` (an unquoted digit-led node id)."""
    rest = text[end : end + 2]
    if rest[:1].isalpha() or rest[:1] == "_" or (rest[:1] == "." and (rest[1:].isalpha() or rest[1:] == "_")):
        if text[start:end].lstrip("-").isdigit():
            raise ExpressionError("a node id that starts with a digit must be quoted in backticks, e.g. `1`.out", start)
        raise ExpressionError(f"malformed number {text[start : end + 1]!r}", start)
    lexeme = text[start:end]
    try:
        value: int | float = float(lexeme) if any(c in lexeme for c in ".eE") else int(lexeme)
    except ValueError:  # ints longer than sys.get_int_max_str_digits()
        raise ExpressionError("number is too long", start) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError("number is out of range", start)
    return value


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Read a quoted STRING starting at ``start``; return its value and the offset after it."""
    quote, pos = text[start], start + 1
    out: list[str] = []
    while pos < len(text):
        ch = text[pos]
        if ch == quote:
            return "".join(out), pos + 1
        if ch == "\\":
            escape = text[pos + 1 : pos + 2]
            if not escape:
                break
            if escape not in _ESCAPES:
                raise ExpressionError(f"invalid escape '\\{escape}' in string", pos)
            out.append(_ESCAPES[escape])
            pos += 2
            continue
        out.append(ch)
        pos += 1
    raise ExpressionError("unterminated string", start)


# ----------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class _Literal:
    value: Any
    offset: int


@dataclass(frozen=True)
class _List:
    items: tuple[_Node, ...]
    offset: int


@dataclass(frozen=True)
class _Name:
    node: str
    offset: int


@dataclass(frozen=True)
class _Step:
    """``.name`` (``key`` is that str) or ``[expr]`` (``key`` is a node); ``path`` is the source
    text of what the step is applied to, so errors can name it (``count.counts has no key ...``)."""

    key: str | _Node
    offset: int
    path: str

    @property
    def is_field(self) -> bool:
        return isinstance(self.key, str)


@dataclass(frozen=True)
class _Chain:
    """A postfix chain kept flat (not nested) so long chains never recurse while evaluating."""

    base: _Node
    steps: tuple[_Step, ...]


@dataclass(frozen=True)
class _Len:
    arg: _Node
    offset: int


@dataclass(frozen=True)
class _Not:
    operand: _Node


@dataclass(frozen=True)
class _Logic:
    """``and``/``or`` with all operands in one node: ``a or b or ...`` is evaluated iteratively."""

    op: str
    operands: tuple[_Node, ...]


@dataclass(frozen=True)
class _Compare:
    op: str
    left: _Node
    right: _Node
    offset: int


_Node = _Literal | _List | _Name | _Chain | _Len | _Not | _Logic | _Compare


def _children(node: _Node) -> Iterator[_Node]:
    """Direct sub-expressions of ``node``, in text order."""
    match node:
        case _List(items=items) | _Logic(operands=items):
            yield from items
        case _Chain(base=base, steps=steps):
            yield base
            yield from (s.key for s in steps if not isinstance(s.key, str))
        case _Len(arg=child) | _Not(operand=child):
            yield child
        case _Compare(left=left, right=right):
            yield left
            yield right


# ----------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over the token list. Every recursive re-entry goes through ``_enter``,
    which bounds the nesting depth, so hostile input gives an ExpressionError, never a
    RecursionError (and the evaluator, which follows the tree, is bounded too)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.pos]

    def _at(self, kind: str, value: str | None = None) -> bool:
        return self.tok.kind == kind and (value is None or self.tok.value == value)

    def _advance(self) -> _Token:
        token = self.tok
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return token

    def _expect(self, value: str, what: str = "") -> _Token:
        if not self._at("op", value):
            raise ExpressionError(f"expected {value!r}{what} but found {self.tok.describe()}", self.tok.offset)
        return self._advance()

    def _enter(self, offset: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"expression is nested more than {MAX_DEPTH} levels deep", offset)

    def _nested(self, opener: _Token, close: str) -> _Node:
        """Parse ``expr close`` one nesting level deeper (the level is blamed on ``opener``)."""
        self._enter(opener.offset)
        node = self._or()
        self._expect(close)
        self.depth -= 1
        return node

    def parse(self) -> _Node:
        if self._at("end"):
            raise ExpressionError("empty expression", 0)
        node = self._or()
        if not self._at("end"):
            raise ExpressionError(
                f"expected an operator or end of expression but found {self.tok.describe()}", self.tok.offset
            )
        return node

    def _or(self) -> _Node:
        operands = [self._and()]
        while self._at("kw", "or"):
            self._advance()
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else _Logic("or", tuple(operands))

    def _and(self) -> _Node:
        operands = [self._not()]
        while self._at("kw", "and"):
            self._advance()
            operands.append(self._not())
        return operands[0] if len(operands) == 1 else _Logic("and", tuple(operands))

    def _not(self) -> _Node:
        if not self._at("kw", "not"):
            return self._comparison()
        self._enter(self._advance().offset)
        operand = self._not()
        self.depth -= 1
        return _Not(operand)

    def _comparison_op(self) -> str | None:
        """The comparison operator at the current token (not consumed), if there is one."""
        if self._at("op") and self.tok.value in ("==", "!=", "<", "<=", ">", ">="):
            return str(self.tok.value)
        if self._at("kw", "in"):
            return "in"
        if self._at("kw", "not"):
            after = self.tokens[self.pos + 1]
            if after.kind == "kw" and after.value == "in":
                return "not in"
            raise ExpressionError(f"expected 'in' after 'not' but found {after.describe()}", after.offset)
        return None

    def _comparison(self) -> _Node:
        left = self._postfix()
        op = self._comparison_op()
        if op is None:
            return left
        offset = self._advance().offset
        if op == "not in":
            self._advance()
        right = self._postfix()
        if self._comparison_op() is not None:
            raise ExpressionError("comparisons cannot be chained; combine them with 'and'", self.tok.offset)
        return _Compare(op, left, right, offset)

    def _postfix(self) -> _Node:
        start = self.tok.offset
        base = self._primary()
        steps: list[_Step] = []
        while self._at("op", ".") or self._at("op", "["):
            mark = self._advance()
            path = self.text[start : mark.offset].rstrip()
            if mark.value == ".":
                name = self.tok
                if name.kind not in ("name", "qname", "kw"):
                    raise ExpressionError(f"expected a name after '.' but found {name.describe()}", name.offset)
                steps.append(_Step(str(self._advance().value), name.offset, path))
            else:
                key_offset = self.tok.offset
                steps.append(_Step(self._nested(mark, "]"), key_offset, path))
        return _Chain(base, tuple(steps)) if steps else base

    def _primary(self) -> _Node:
        token = self.tok
        if token.kind in ("num", "str"):
            return _Literal(self._advance().value, token.offset)
        if token.kind == "kw" and token.value in _LITERALS:
            return _Literal(_LITERALS[self._advance().value], token.offset)
        if token.kind == "kw" and token.value == "len":
            self._advance()
            self._expect("(", " after 'len'")
            arg_offset = self.tok.offset
            return _Len(self._nested(token, ")"), arg_offset)
        if token.kind in ("name", "qname"):
            self._advance()
            if token.kind == "name" and self._at("op", "("):
                raise ExpressionError(f"unknown function '{token.value}' (only len() exists)", token.offset)
            return _Name(str(token.value), token.offset)
        if self._at("op", "("):
            return self._nested(self._advance(), ")")
        if self._at("op", "["):
            self._enter(self._advance().offset)
            items: list[_Node] = []
            while not self._at("op", "]"):
                items.append(self._or())
                if self._at("op", ","):
                    self._advance()
                elif not self._at("op", "]"):
                    raise ExpressionError(f"expected ',' or ']' but found {self.tok.describe()}", self.tok.offset)
            self._advance()
            self.depth -= 1
            return _List(tuple(items), token.offset)
        raise ExpressionError(f"expected a value but found {token.describe()}", token.offset)


# ----------------------------------------------------------------------------- evaluation


def truthy(value: Any) -> bool:
    """JSON truthiness: null, false, 0, "", [] and {} are false; every other value is true."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    return True


def _kind(value: Any) -> str:
    """The JSON-ish type name used in messages (``bool`` before ``int``: bool is an int in Python)."""
    if value is None:
        return "null"
    for t in (bool, int, float, str, list, dict):
        if isinstance(value, t):
            return t.__name__
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    """Structural JSON equality where a bool never equals a number (Python says ``1 == True``).

    Iterative so deeply nested data cannot overflow the stack; never calls ``__eq__`` of
    anything that is not JSON data (such values are simply unequal)."""
    pending = [(a, b)]
    while pending:
        x, y = pending.pop()
        if isinstance(x, bool) or isinstance(y, bool) or x is None or y is None:
            same = x is y
        elif _is_number(x) and _is_number(y) or isinstance(x, str) and isinstance(y, str):
            same = x == y
        elif isinstance(x, list) and isinstance(y, list):
            same = len(x) == len(y)
            pending.extend(zip(x, y))
        elif isinstance(x, dict) and isinstance(y, dict):
            same = x.keys() == y.keys()
            pending.extend((x[k], y[k]) for k in x if k in y)
        else:
            same = False
        if not same:
            return False
    return True


def _compare(op: str, a: Any, b: Any, offset: int) -> bool:
    if op in ("==", "!="):
        return _equal(a, b) == (op == "==")
    if op in ("in", "not in"):
        return _contains(b, a, offset) == (op == "in")
    if _is_number(a) and _is_number(b) or isinstance(a, str) and isinstance(b, str):
        return bool(_ORDERINGS[op](a, b))
    raise ExpressionError(f"cannot compare {_kind(a)} with {_kind(b)}", offset)


def _contains(container: Any, item: Any, offset: int) -> bool:
    if isinstance(container, list):
        return any(_equal(item, element) for element in container)
    if isinstance(container, (str, dict)):
        if not isinstance(item, str):
            what = "a str" if isinstance(container, str) else "the keys of a dict"
            raise ExpressionError(f"cannot look for {_kind(item)} in {what}", offset)
        return item in container
    raise ExpressionError(f"'in' needs a list, str or dict on its right, not {_kind(container)}", offset)


def _checked(value: Any, path: str, offset: int) -> Any:
    """Refuse non-JSON values so no expression can walk into an arbitrary Python object."""
    if not isinstance(value, _JSON_TYPES):
        raise ExpressionError(f"{path} holds a Python {type(value).__name__}, not JSON data", offset)
    return value


def _path(step: _Step, key: Any) -> str:
    """The path a lookup arrived at, e.g. ``count.counts`` or ``count.items[3]``."""
    return f"{step.path}.{key}" if step.is_field else f"{step.path}[{key!r}]"


class _Evaluator:
    """One evaluation: holds ``outputs_of`` so the tree walk need not thread it through."""

    def __init__(self, outputs_of: Callable[[str], Mapping[str, Any]]) -> None:
        self.outputs_of = outputs_of

    def outputs(self, name: _Name) -> Mapping[str, Any]:
        try:
            return self.outputs_of(name.node)
        except KeyError:
            raise ExpressionError(f"unknown node {name.node!r}", name.offset) from None

    def walk(self, node: _Node) -> Any:
        match node:
            case _Literal(value=value):
                return value
            case _List(items=items):
                return [self.walk(item) for item in items]
            case _Name():
                return dict(self.outputs(node))
            case _Chain():
                return self.chain(node)
            case _Len(arg=arg, offset=offset):
                value = self.walk(arg)
                if isinstance(value, (str, list, dict)):
                    return len(value)
                raise ExpressionError(f"len() needs a str, list or dict, not {_kind(value)}", offset)
            case _Not(operand=operand):
                return not truthy(self.walk(operand))
            case _Logic(op="and", operands=operands):
                return all(truthy(self.walk(o)) for o in operands)  # generators short-circuit
            case _Logic(operands=operands):
                return any(truthy(self.walk(o)) for o in operands)
            case _Compare(op=op, left=left, right=right, offset=offset):
                return _compare(op, self.walk(left), self.walk(right), offset)
        raise AssertionError(f"unknown syntax node {node!r}")

    def chain(self, chain: _Chain) -> Any:
        steps = list(chain.steps)
        if isinstance(chain.base, _Name):  # first step selects an output port of the node
            name, first = chain.base, steps.pop(0)
            outputs = self.outputs(name)
            port = self.key(first)
            if not isinstance(port, str):
                message = f"outputs of node {name.node!r} are named by strings, not {_kind(port)}"
                raise ExpressionError(message, first.offset)
            if port not in outputs:
                raise ExpressionError(f"node {name.node!r} has no output {port!r}", first.offset)
            value = _checked(outputs[port], _path(first, port), first.offset)
        else:
            value = self.walk(chain.base)
        for step in steps:
            key = self.key(step)
            value = _checked(self.step(value, key, step), _path(step, key), step.offset)
        return value

    def key(self, step: _Step) -> Any:
        return step.key if isinstance(step.key, str) else self.walk(step.key)

    @staticmethod
    def step(value: Any, key: Any, step: _Step) -> Any:
        """One ``.field`` or ``[key]`` lookup; only dicts and lists can be looked into."""
        path = step.path
        if isinstance(value, dict):
            if not isinstance(key, str):
                raise ExpressionError(f"{path} is a dict; its keys are strings, not {_kind(key)}", step.offset)
            if key not in value:
                raise ExpressionError(f"{path} has no key {key!r}", step.offset)
            return value[key]
        if step.is_field:
            raise ExpressionError(f"{path} is {_kind(value)}, not a dict, so it has no field {key!r}", step.offset)
        if not isinstance(value, list):
            raise ExpressionError(f"{path} is {_kind(value)}; only lists and dicts can be indexed", step.offset)
        if not isinstance(key, int) or isinstance(key, bool):
            raise ExpressionError(f"{path} is a list; its index must be an int, not {_kind(key)}", step.offset)
        if not -len(value) <= key < len(value):
            raise ExpressionError(f"{path} has no index {key} (length {len(value)})", step.offset)
        return value[key]


# ----------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class Reference:
    """One use of a node id in an expression; ``port`` is None when the node is used bare
    (or its output is selected dynamically, as in ``node[key]``)."""

    node: str
    port: str | None
    offset: int


@dataclass(frozen=True)
class Expression:
    """A parsed ``when`` condition: immutable, reusable, equal to another when the text is."""

    text: str
    _root: _Node = field(repr=False, compare=False)

    def references(self) -> list[Reference]:
        """Every use of a node id, in text order (so validators can check nodes and ports)."""
        found: list[Reference] = []
        pending: list[_Node] = [self._root]
        while pending:
            node = pending.pop()
            if isinstance(node, _Name):
                found.append(Reference(node.node, None, node.offset))
                continue
            if isinstance(node, _Chain) and isinstance(node.base, _Name):
                first = node.steps[0]
                port = first.key if isinstance(first.key, str) else None
                found.append(Reference(node.base.node, port, node.base.offset))
                pending.extend(list(_children(node))[1:])  # the index keys, not the root again
                continue
            pending.extend(_children(node))
        return sorted(found, key=lambda r: r.offset)

    def evaluate(self, outputs_of: Callable[[str], Mapping[str, Any]]) -> Any:
        """The value of the expression; ``outputs_of(node_id)`` gives a node's ``{port: value}``
        and may raise KeyError for an unknown node. ``and``/``or``/``not`` give bools."""
        try:
            return _Evaluator(outputs_of).walk(self._root)
        except RecursionError:  # the tree is at most MAX_DEPTH deep; only a nearly full stack gets here
            raise ExpressionError("expression is nested too deeply for the available stack", 0) from None

    def test(self, outputs_of: Callable[[str], Mapping[str, Any]]) -> bool:
        """Whether the condition holds (truthiness of ``evaluate``)."""
        return truthy(self.evaluate(outputs_of))


def parse(text: str) -> Expression:
    """Parse ``text`` into an Expression, or raise ExpressionError with the offending offset."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    try:
        return Expression(text, _Parser(text).parse())
    except RecursionError:  # only if the caller's own stack is already nearly full
        raise ExpressionError("expression is nested too deeply for the available stack", 0) from None
