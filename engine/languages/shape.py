"""Shape patterns: their syntax, and whether a region's partial order has their form.

A pattern describes two-terminal series-parallel graphs. Weft compares a region with its
pattern by *order*: ``p -> q`` puts every node of p before every node of q, ``p & q`` puts
them side by side (no path between them), and a node is before another when a path joins
them. Comparing orders is comparing graphs after transitive reduction, so a direct edge
``A -> B`` next to ``A -> M -> B`` changes nothing, as SPEC §5 says.

Two questions are asked of a region:

* ``exact``: is this order one of the pattern's forms? (when the last anchor starts)
* ``lenient``: can some continuation still reach one of them? A continuation only adds
  nodes and edges, so the order can only gain elements and relations. The lenient answer is
  "the order is a sub-order of some form", a question that is closed under taking sub-orders;
  that is what lets a region be checked on a few representatives of each group of
  interchangeable nodes (see ``engine.promises.regions``). Nodes that have started are *frozen*: no
  edge may point into them any more (mutation rule 2), so nothing new comes before them and
  nothing that is not before them now ever will. A form must keep them as they are.

Grammar, loosest first (``p -> q | r`` is ``(p -> q) | r``)::

    alt  := par ('|' par)*
    par  := seq ('&' seq)*
    seq  := post ('->' post)*
    post := prim ('*' | '+' | '?')*
    prim := NAME | 'GLOB' | "GLOB" | '(' ')' | '(' alt ')'

Sets of nodes are Python ints used as bit sets, so sub-orders are cheap to hash and memoise.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from engine.errors import ShapeError
from engine.languages.iterations import SEPARATOR, base_of

#: Search steps a lenient question may take before it is answered "still possible"; a
#: lenient answer only ever delays a refusal to the region's complete check.
BUDGET = 20_000
#: Python frames a match may use: a chain of about a thousand steps under `Loop: "M -> Loop | M"`
DEPTH = 12_000
#: Levels of parentheses and repeats (``((M*)+)``) a pattern may nest. Reading, printing and
#: matching a pattern recurse once per level, so hostile text must not reach Python's limit.
MAX_NESTING = 64
NESTED = f"nested too deeply (more than {MAX_NESTING} levels)"


class Undecided(Exception):
    """The search budget ran out."""


# -- syntax ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Atom:
    name: str
    offset: int
    glob: bool = False
    anchor: bool = False

    def matches(self, node_id: str, operator: str | None) -> bool:
        if SEPARATOR in node_id:  # a loop's later iteration of a node is that node
            node_id = base_of(node_id)
        if self.glob:
            return fnmatchcase(node_id, self.name) or (operator is not None and fnmatchcase(operator, self.name))
        return self.name == node_id or self.name == operator

    def __str__(self) -> str:
        return repr(self.name) if self.glob else self.name


@dataclass(frozen=True, eq=False)
class Empty:
    offset: int

    def __str__(self) -> str:
        return "()"


@dataclass(frozen=True, eq=False)
class Ref:
    name: str
    offset: int

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, eq=False)
class Seq:
    items: tuple[Pattern, ...]

    def __str__(self) -> str:
        return " -> ".join(_wrap(i, (Alt, Par)) for i in self.items)


@dataclass(frozen=True, eq=False)
class Par:
    items: tuple[Pattern, ...]

    def __str__(self) -> str:
        return " & ".join(_wrap(i, (Alt,)) for i in self.items)


@dataclass(frozen=True, eq=False)
class Alt:
    items: tuple[Pattern, ...]

    def __str__(self) -> str:
        return " | ".join(str(i) for i in self.items)


@dataclass(frozen=True, eq=False)
class Repeat:
    item: Pattern
    op: str  # '*', '+' or '?'

    def __str__(self) -> str:
        return _wrap(self.item, (Alt, Par, Seq)) + self.op


Pattern = Atom | Empty | Ref | Seq | Par | Alt | Repeat


def _wrap(p: Pattern, loose: tuple[type, ...]) -> str:
    return f"({p})" if isinstance(p, loose) else str(p)


_TOKEN = re.compile(
    r"""\s*(?:(?P<arrow>->)|(?P<op>[|&*+?()])|(?P<quoted>'[^']*'|"[^"]*")|"""
    r"""(?P<name>[A-Za-z0-9_](?:[A-Za-z0-9_./]|-(?!>))*))"""
)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            start = pos + len(text[pos:]) - len(text[pos:].lstrip())
            if text[start] in "'\"":
                raise ShapeError("a quoted name is not closed", start)
            raise ShapeError(f"unexpected character {text[start]!r}", start)
        kind = m.lastgroup or "?"
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    out.append(("end", "", len(text)))
    return out


def rename_atoms(
    text: str, names: Iterable[str], rename: Callable[[str], str], glob: Callable[[str], str] | None = None
) -> str:
    """``text`` with every unquoted atom (not a name of ``names``, the ``where:`` sub-patterns)
    renamed, and every quoted glob by ``glob`` (kept as written without it); the rest of the
    text stays as written. A workflow inside a workflow prefixes its node ids this way
    (``engine.workflow.nesting``)."""
    refs = frozenset(names)
    out, last = [], 0
    for kind, value, offset in _tokens(text):
        if kind == "name" and value not in refs:
            out += [text[last:offset], rename(value)]
            last = offset + len(value)
        elif kind == "quoted" and glob is not None:
            quote = value[0]
            renamed = glob(value[1:-1])
            if quote in renamed:  # cannot be written in these quotes: the other kind
                quote = "'" if quote == '"' else '"'
            out += [text[last:offset], f"{quote}{renamed}{quote}"]
            last = offset + len(value)
    out.append(text[last:])
    return "".join(out)


class _Parser:
    """Recursive descent; every level of nesting is counted (``levels``: the pattern nodes'
    nesting below and including themselves, by ``id``), so depth is bounded before recursing."""

    def __init__(self, text: str, names: frozenset[str], name: str | None) -> None:
        self.text, self.names, self.name = text, names, name
        self.toks = _tokens(text)
        self.i = 0
        self.open = 0  # parentheses open at this point of the text
        self.levels: dict[int, int] = {}

    def error(self, message: str, offset: int | None = None) -> ShapeError:
        return ShapeError(message, self.toks[self.i][2] if offset is None else offset, self.name)

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Pattern:
        if self.peek()[0] == "end":
            raise self.error("the pattern is empty")
        p = self.alt()
        kind, value, offset = self.peek()
        if kind != "end":
            raise self.error(f"unexpected {value!r}" + (" (a ')' without its '(')" if value == ")" else ""), offset)
        return p

    def _list(self, sub: Callable[[], Pattern], sep: tuple[str, str], cls: type) -> Pattern:
        items = [sub()]
        while self.peek()[:2] == sep:
            self.take()
            items.append(sub())
        if len(items) == 1:
            return items[0]
        joined = cls(tuple(items))
        self.levels[id(joined)] = max(self.levels.get(id(i), 0) for i in items)
        return joined

    def _deeper(self, outer: Pattern, inner: Pattern, offset: int) -> Pattern:
        """``outer`` (``inner`` in parentheses, or repeated) is one level deeper than ``inner``;
        refused past the limit."""
        level = self.levels.get(id(inner), 0) + 1
        if level > MAX_NESTING:
            raise ShapeError(NESTED, offset, self.name)
        self.levels[id(outer)] = level
        return outer

    def alt(self) -> Pattern:
        return self._list(self.par, ("op", "|"), Alt)

    def par(self) -> Pattern:
        return self._list(self.seq, ("op", "&"), Par)

    def seq(self) -> Pattern:
        return self._list(self.post, ("arrow", "->"), Seq)

    def post(self) -> Pattern:
        p = self.prim()
        while self.peek()[0] == "op" and self.peek()[1] in "*+?":
            _kind, op, offset = self.take()
            p = self._deeper(Repeat(p, op), p, offset)
        return p

    def prim(self) -> Pattern:
        kind, value, offset = self.take()
        if kind == "name":
            return Ref(value, offset) if value in self.names else Atom(value, offset)
        if kind == "quoted":
            if len(value) == 2:
                raise ShapeError("a quoted name is empty", offset, self.name)
            return Atom(value[1:-1], offset, glob=True)
        if (kind, value) == ("op", "("):
            if self.peek()[:2] == ("op", ")"):
                self.take()
                return Empty(offset)
            self.open += 1
            if self.open > MAX_NESTING:  # before recursing any deeper
                raise ShapeError(NESTED, offset, self.name)
            p = self.alt()
            if self.peek()[:2] != ("op", ")"):
                raise self.error(f"expected ')' to close the '(' at column {offset + 1}")
            self.take()
            self.open -= 1
            return self._deeper(p, p, offset)
        self.i -= 1
        what = "the end of the pattern" if kind == "end" else repr(value)
        raise self.error(f"expected a node name, a quoted glob or '(' but found {what}")


# -- a compiled shape promise ---------------------------------------------------------------


@dataclass
class Shape:
    """A shape promise's pattern and ``where:`` names, read and checked."""

    text: str
    top: Seq
    defs: dict[str, Pattern]
    first: str = field(init=False)
    last: str = field(init=False)

    def __post_init__(self) -> None:
        first, last = self.anchor_atoms()
        self.first, self.last = first.name, last.name

    def anchor_atoms(self) -> tuple[Atom, Atom]:
        """The first and last atoms of the chain (``compile_shape`` made sure they are atoms)."""
        first, last = self.top.items[0], self.top.items[-1]
        assert isinstance(first, Atom) and isinstance(last, Atom)
        return first, last

    @property
    def anchors(self) -> tuple[str, str]:
        return self.first, self.last

    def atoms(self) -> list[Atom]:
        """Every atom that is not an anchor, once per spelling."""
        seen: dict[tuple[str, bool], Atom] = {}
        visited: set[str] = set()

        def visit(p: Pattern) -> None:  # in the order they are written
            if isinstance(p, Atom) and not p.anchor:
                seen.setdefault((p.name, p.glob), p)
            elif isinstance(p, Ref) and p.name not in visited:
                visited.add(p.name)
                visit(self.defs[p.name])
            elif isinstance(p, (Seq, Par, Alt)):
                for item in p.items:
                    visit(item)
            elif isinstance(p, Repeat):
                visit(p.item)

        visit(self.top)
        return list(seen.values())

    def walk(self) -> Iterator[Pattern]:
        stack: list[Pattern] = [self.top, *self.defs.values()]
        while stack:
            p = stack.pop()
            yield p
            if isinstance(p, (Seq, Par, Alt)):
                stack.extend(p.items)
            elif isinstance(p, Repeat):
                stack.append(p.item)

    def size(self) -> int:
        """Atoms written, anchors included: above this many copies, a group can only be a repeat."""
        return sum(1 for p in self.walk() if isinstance(p, Atom))

    def __str__(self) -> str:
        return self.text


def compile_shape(text: str, where: Mapping[str, str] | None = None) -> Shape:
    """Read a pattern and its ``where:`` names; raise ``ShapeError`` at the first problem."""
    where = dict(where or {})
    names = frozenset(where)
    defs = {name: _Parser(body, names, name).parse() for name, body in where.items()}
    top = _Parser(text, names, None).parse()
    if isinstance(top, (Alt, Par)):
        raise ShapeError(
            "a shape pattern is a chain from one anchor to the other ('A -> ... -> B'); "
            "put '|' and '&' inside parentheses",
            0,
        )
    items = top.items if isinstance(top, Seq) else (top,)
    first, last = items[0], items[-1]
    for end, which in ((first, "start"), (last, "end")):
        if not isinstance(end, Atom) or end.glob:
            offset = _offset(end)
            raise ShapeError(
                f"a shape pattern must {which} with a node id (its {'first' if which == 'start' else 'last'} "
                f"anchor), not {str(end)!r}",
                offset,
            )
    assert isinstance(first, Atom) and isinstance(last, Atom)  # refused just above otherwise
    if len(items) < 2:
        raise ShapeError("a shape pattern needs two anchors: 'first -> ... -> last'", _offset(first))
    if first.name == last.name:
        raise ShapeError(f"the two anchors must be different nodes (both are '{first.name}')", _offset(last))
    anchored = (Atom(first.name, first.offset, anchor=True), *items[1:-1], Atom(last.name, last.offset, anchor=True))
    shape = Shape(text, Seq(anchored), defs)
    _check_names(shape, where)
    return shape


def pattern_problems(pattern: str, where: Mapping[str, str] | None = None) -> list[str]:
    """Problems with a pattern, each with its column; empty when it is valid (for editors)."""
    try:
        compile_shape(pattern, where)
    except ShapeError as exc:
        return [str(exc)]
    return []


def _offset(p: Pattern) -> int:
    while isinstance(p, (Seq, Par, Alt, Repeat)):
        p = p.items[0] if not isinstance(p, Repeat) else p.item
    return p.offset


def _check_names(shape: Shape, where: Mapping[str, str]) -> None:
    used = {p.name for p in shape.walk() if isinstance(p, Ref)}
    for name in where:
        if name not in used:
            raise ShapeError(f"'{name}' is defined in where: but the pattern never uses it", 0, name)
    productive: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, body in shape.defs.items():
            if name not in productive and _productive(body, productive):
                productive.add(name)
                changed = True
    for name in shape.defs:
        if name not in productive:
            raise ShapeError(f"'{name}' never ends: every way through it uses '{name}' again", 0, name)


def _productive(p: Pattern, known: set[str]) -> bool:
    if isinstance(p, Ref):
        return p.name in known
    if isinstance(p, (Seq, Par)):
        return all(_productive(i, known) for i in p.items)
    if isinstance(p, Alt):
        return any(_productive(i, known) for i in p.items)
    if isinstance(p, Repeat):
        return p.op != "+" or _productive(p.item, known)
    return True


# -- matching a partial order ---------------------------------------------------------------


@dataclass
class Order:
    """A partial order on nodes 0..n-1: ``below[i]`` is the bit set of nodes before node i."""

    ids: Sequence[str]
    operators: Sequence[str | None]
    below: Sequence[int]
    above: Sequence[int]
    #: node index -> anchor name, for the region's two anchors
    anchors: Mapping[int, str]
    #: a linear extension (a topological order) of all nodes
    order: Sequence[int]
    #: the frozen nodes: what is below them now is all that ever will be (they have started)
    frozen: int = 0

    @property
    def all(self) -> int:
        return (1 << len(self.ids)) - 1


def order_from_edges(
    ids: Sequence[str],
    operators: Sequence[str | None],
    edges: Sequence[tuple[int, int]],
    anchors: Mapping[int, str],
    topo: Sequence[int],
) -> Order:
    """The reachability order of a DAG whose nodes are 0..n-1, given one topological order."""
    n = len(ids)
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        succs[a].append(b)
        preds[b].append(a)
    below, above = [0] * n, [0] * n
    for i in topo:
        acc = 0
        for p in preds[i]:
            acc |= below[p] | (1 << p)
        below[i] = acc
    for i in reversed(topo):
        acc = 0
        for s in succs[i]:
            acc |= above[s] | (1 << s)
        above[i] = acc
    return Order(ids, operators, below, above, anchors, topo)


def bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class Matcher:
    """Answers ``exact`` and ``lenient`` questions of one shape about one order."""

    def __init__(self, shape: Shape, order: Order, budget: int = BUDGET) -> None:
        self.shape, self.o = shape, order
        self.memo: dict[tuple[int, int, bool], bool] = {}
        self.busy: set[tuple[int, int, bool]] = set()
        self.tainted = False
        self.budget = budget
        self._allowed: dict[int, int] = {}
        self._connected: dict[int, bool] = {}

    def exact(self) -> bool:
        """Is the order one of the forms? A search past the budget answers yes."""
        return self._decide(True)

    def lenient(self) -> bool:
        """May the order still grow into a form? A search past the budget answers yes."""
        return self._decide(False)

    def _decide(self, exact: bool) -> bool:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, DEPTH))  # a long chain under a recursive name recurses deep
        try:
            return self.match(self.shape.top, self.o.all, exact)
        except (Undecided, RecursionError):
            return True
        finally:
            sys.setrecursionlimit(limit)

    # -- the recursion ----------------------------------------------------------------------

    def match(self, p: Pattern, s: int, exact: bool) -> bool:
        if isinstance(p, Ref):
            return self.match(self.shape.defs[p.name], s, exact)
        key = (id(p), s, exact)
        if key in self.memo:
            return self.memo[key]
        if key in self.busy:  # a derivation that comes back to itself adds nothing
            self.tainted = True
            return False
        self.budget -= 1
        if self.budget < 0:
            raise Undecided()
        if s & ~self.allowed(p):
            result = False
        else:
            self.busy.add(key)
            was, self.tainted = self.tainted, False
            try:
                result = self._match(p, s, exact)
            finally:
                self.busy.discard(key)
            tainted, self.tainted = self.tainted, was or self.tainted
            if result or not tainted:
                self.memo[key] = result
            return result
        self.memo[key] = result
        return result

    def _match(self, p: Pattern, s: int, exact: bool) -> bool:
        if isinstance(p, Empty):
            return s == 0
        if isinstance(p, Atom):
            if s == 0:
                return not exact
            return s & (s - 1) == 0 and self._atom(p, s.bit_length() - 1)
        if isinstance(p, Alt):
            return any(self.match(i, s, exact) for i in p.items)
        if isinstance(p, Repeat):
            return self._repeat(p, s, exact)
        if isinstance(p, Par):
            return self._assign(list(p.items), self.components(s), exact)
        if isinstance(p, Seq):
            return self._seq_exact(p.items, s) if exact else self._seq_lenient(p.items, s)
        raise TypeError(p)

    def _atom(self, a: Atom, i: int) -> bool:
        anchor = self.o.anchors.get(i)
        if anchor is not None or a.anchor:
            return a.anchor and anchor == a.name
        return a.matches(self.o.ids[i], self.o.operators[i])

    def _repeat(self, p: Repeat, s: int, exact: bool) -> bool:
        if s == 0:
            return not exact or p.op != "+" or self.match(p.item, 0, True)
        if p.op == "?" or not exact:  # a sub-order of many copies is a sub-order of copies of parts
            if p.op == "?":
                return self.match(p.item, s, exact)
            return all(self.match(p.item, c, False) for c in self.components(s))
        comps = self.components(s)
        if self.connected(p.item):
            return all(self.match(p.item, c, True) for c in comps)
        return self._groups(p.item, comps)

    def _groups(self, item: Pattern, comps: list[int]) -> bool:
        """Can the components be grouped so that each group is one copy of ``item``?"""
        if not comps:
            return True
        first, rest = comps[0], comps[1:]
        for pick in range(1 << len(rest)):
            self._spend()
            group, others = first, []
            for j, c in enumerate(rest):
                if pick >> j & 1:
                    group |= c
                else:
                    others.append(c)
            if self.match(item, group, True) and self._groups(item, others):
                return True
        return False

    def _assign(self, items: list[Pattern], comps: list[int], exact: bool) -> bool:
        """Side by side: give every component to one item, each item's share one of its forms."""
        shares = [0] * len(items)
        allowed = [self.allowed(i) for i in items]

        def place(k: int) -> bool:
            self._spend()
            if k == len(comps):
                return all(self.match(item, share, exact) for item, share in zip(items, shares))
            for j in range(len(items)):
                if comps[k] & ~allowed[j]:
                    continue
                shares[j] |= comps[k]
                if place(k + 1):
                    return True
                shares[j] ^= comps[k]
            return False

        return place(0)

    def _seq_exact(self, items: Sequence[Pattern], s: int) -> bool:
        blocks = self.series_blocks(s)
        memo: dict[tuple[int, int], bool] = {}

        def fit(i: int, b: int) -> bool:
            if i == len(items):
                return b == len(blocks)
            if (i, b) in memo:
                return memo[(i, b)]
            ok, part = False, 0
            ends = range(b, len(blocks) + 1)
            if i == len(items) - 1:  # the last item takes whatever is left
                part, ends = sum(blocks[b:]), range(len(blocks), len(blocks) + 1)
            elif isinstance(items[i], Atom):  # one node: one block
                ends = range(b + 1, min(b + 2, len(blocks) + 1))
                part = 0
            for end in ends:
                if i != len(items) - 1 and end > b:
                    part |= blocks[end - 1]
                if self.match(items[i], part, True) and fit(i + 1, end):
                    ok = True
                    break
            memo[(i, b)] = ok
            return ok

        return fit(0, 0)

    def _seq_lenient(self, items: Sequence[Pattern], s: int) -> bool:
        """One after another, allowing relations a continuation may add: nodes go to items in
        an order-respecting way (x before y: x's item is not after y's).

        A frozen node gains nothing below it: every node placed in an earlier item must be
        below it now, and the earlier items must already be complete (matched exactly)."""
        nodes = [i for i in self.o.order if s >> i & 1]
        allowed = [self.allowed(i) for i in items]
        frozen = self.o.frozen & s
        index: dict[int, int] = {}
        shares = [0] * len(items)

        def place(k: int, floor: int) -> bool:
            """``floor``: the item of the last frozen node placed (nodes placed later are not
            below it, so they may not go into an earlier item)."""
            self._spend()
            if k == len(nodes):
                return all(self.match(item, share, j < floor) for j, (item, share) in enumerate(zip(items, shares)))
            node = nodes[k]
            low = max((index[b] for b in bits(self.o.below[node] & s)), default=0)
            low, high = max(low, floor), len(items) - 1
            if frozen >> node & 1:  # nothing placed so far that is not below it may come before it
                high = min((index[b] for b in index if not self.o.below[node] >> b & 1), default=high)
            for j in range(low, high + 1):
                if not allowed[j] >> node & 1:
                    continue
                index[node] = j
                shares[j] |= 1 << node
                if self.match(items[j], shares[j], False) and place(k + 1, j if frozen >> node & 1 else floor):
                    return True
                shares[j] ^= 1 << node
            index.pop(node, None)
            return False

        return place(0, 0)

    def _spend(self) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise Undecided()

    # -- structure of the order -------------------------------------------------------------

    def components(self, s: int) -> list[int]:
        """Connected components of ``s`` (joined when comparable)."""
        out, rest = [], s
        while rest:
            low = rest & -rest
            comp, frontier = low, low
            while frontier:
                grow = 0
                for i in bits(frontier):
                    grow |= (self.o.below[i] | self.o.above[i]) & s
                frontier = grow & ~comp
                comp |= grow
            out.append(comp)
            rest &= ~comp
        return out

    def series_blocks(self, s: int) -> list[int]:
        """``s`` as B1 -> B2 -> ... (every node of a block before every node of the next)."""
        nodes = [i for i in self.o.order if s >> i & 1]
        if len(nodes) < 2:
            return [s] if s else []
        # cut after position j when every later node has all earlier ones below it
        suffix, acc = [0] * len(nodes), s
        for j in range(len(nodes) - 1, 0, -1):
            acc &= self.o.below[nodes[j]]
            suffix[j] = acc
        blocks, block, prefix = [], 0, 0
        for j, node in enumerate(nodes):
            block |= 1 << node
            prefix |= 1 << node
            if j + 1 < len(nodes) and prefix & ~suffix[j + 1] == 0:
                blocks.append(block)
                block = 0
        blocks.append(block)
        return blocks

    def allowed(self, p: Pattern) -> int:
        """The nodes some atom of ``p`` could stand for."""
        key = id(p)
        if key not in self._allowed:
            self._allowed[key] = 0  # recursion: filled in below
            atoms = [a for a in _reachable_atoms(p, self.shape.defs)]
            mask = 0
            for i in range(len(self.o.ids)):
                if any(self._atom(a, i) for a in atoms):
                    mask |= 1 << i
            self._allowed[key] = mask
        return self._allowed[key]

    def connected(self, p: Pattern) -> bool:
        """Is every non-empty form of ``p`` connected? (then copies are its components)"""
        key = id(p)
        if key not in self._connected:
            self._connected[key] = True  # recursion: assume, as a greatest fixpoint
            if isinstance(p, Ref):
                value = self.connected(self.shape.defs[p.name])
            elif isinstance(p, (Seq, Alt)):
                value = all(self.connected(i) for i in p.items)
            elif isinstance(p, Par):
                value = False
            elif isinstance(p, Repeat):
                value = p.op == "?" and self.connected(p.item)
            else:
                value = True
            self._connected[key] = value
        return self._connected[key]


def _reachable_atoms(p: Pattern, defs: Mapping[str, Pattern]) -> Iterator[Atom]:
    seen: set[str] = set()
    stack = [p]
    while stack:
        q = stack.pop()
        if isinstance(q, Atom):
            yield q
        elif isinstance(q, Ref):
            if q.name not in seen:
                seen.add(q.name)
                stack.append(defs[q.name])
        elif isinstance(q, (Seq, Par, Alt)):
            stack.extend(q.items)
        elif isinstance(q, Repeat):
            stack.append(q.item)
