"""Argo's small languages, translated: a step's ``when`` and a DAG task's ``depends``.

A ``when`` is text in which Argo substitutes ``{{...}}`` and then evaluates with govaluate;
here the references are resolved first (to a node's output, or to literal text), and the rest
is tokenized and written as a Weft condition (``engine.languages.expr``): ``&&`` ``||`` ``!``
become ``and or not``, a bare word is a string, as govaluate would compare it.

A ``depends`` is a boolean formula over task results (``A``, ``A.Succeeded``, ``A.Failed``, ...);
only the forms Weft's triggers express faithfully are translated (see docs/import.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine.workflow.records import NODE_ID

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null", "len"}


class Untranslatable(Exception):
    """Why an expression has no faithful Weft form (one line, quoting nothing of the file)."""


@dataclass(frozen=True)
class Ref:
    """A value known at run time: output ``port`` of node ``node``."""

    node: str
    port: str
    hint: str = field(default="", compare=False)  # the name the value had where it is used


def node_ref(ref: Ref) -> str:
    node = ref.node if _IDENT.match(ref.node) and ref.node not in _KEYWORDS else f"`{ref.node}`"
    return f"{node}.{ref.port}"


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>-?\d+(?:\.\d+)?(?![\w.]))
    | (?P<str>'[^'\\]*'|"[^"\\]*")
    | (?P<op>==|!=|<=|>=|&&|\|\||=~|!~|[<>!()])
    | (?P<word>[A-Za-z0-9_][A-Za-z0-9_.:/-]*)
    )""",
    re.VERBOSE,
)
_OPS = {"==": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">=", "&&": "and", "||": "or", "!": "not"}
_OPS.update({"(": "(", ")": ")"})


def _quote(text: str) -> str:
    if "'" not in text and "\\" not in text:
        return f"'{text}'"
    if '"' not in text and "\\" not in text:
        return f'"{text}"'
    raise Untranslatable("a text with both kinds of quotes in a condition")


def translate_when(parts: list[str | Ref]) -> str:
    """A ``when`` whose references are resolved (texts and Refs) as a Weft condition."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, Ref):
            out.append(node_ref(part))
            continue
        pos = 0
        while pos < len(part):
            if part[pos:].strip() == "":
                break
            match = _TOKEN.match(part, pos)
            if not match or match.end() == pos:
                raise Untranslatable("a condition with an operator Weft's conditions do not have")
            pos = match.end()
            if match.group("num") is not None:
                out.append(match.group("num"))
            elif match.group("str") is not None:
                out.append(_quote(match.group("str")[1:-1]))
            elif match.group("op") is not None:
                op = match.group("op")
                if op in ("=~", "!~"):
                    raise Untranslatable("a regular-expression match (=~) has no Weft equivalent")
                out.append(_OPS[op])
            else:
                word = match.group("word")
                out.append(word if word in ("true", "false") else _quote(word))
    if not out:
        raise Untranslatable("an empty condition")
    return " ".join(out).replace("( ", "(").replace(" )", ")")


# -- depends -----------------------------------------------------------------------------------

_DEP_TOKEN = re.compile(r"\s*(?:(?P<op>&&|\|\||[!()])|(?P<name>[A-Za-z0-9][A-Za-z0-9-]*)(?:\.(?P<state>[A-Za-z]+))?)")
_SUCCEEDED = {None, "Succeeded"}


@dataclass(frozen=True)
class Conjunct:
    """One term of a ``depends`` that all must hold: ``kind`` is

    - ``ok``: the task succeeded (``A.Succeeded``; a bare ``A`` also lets a skipped A through);
    - ``settled``: the task ended, succeeded or failed (``A.Succeeded || A.Failed``);
    - ``any``: at least one of the tasks succeeded (``A || B``)."""

    kind: str
    tasks: tuple[str, ...]
    bare: bool = False


def translate_depends(text: str) -> list[Conjunct]:
    tokens: list[tuple[str, str | None]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _DEP_TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise Untranslatable("a depends expression that cannot be read")
        pos = match.end()
        if match.group("op"):
            tokens.append((match.group("op"), None))
        else:
            tokens.append((match.group("name"), match.group("state") or ""))
    if any(tok == "!" for tok, _ in tokens):
        raise Untranslatable("'!' in depends has no Weft trigger")
    terms = _split(tokens, "&&")
    return [_conjunct(term) for term in terms]


def _split(tokens: list[tuple[str, str | None]], op: str) -> list[list[tuple[str, str | None]]]:
    parts: list[list[tuple[str, str | None]]] = [[]]
    depth = 0
    for tok, state in tokens:
        if state is None and tok == "(":
            depth += 1
        elif state is None and tok == ")":
            depth -= 1
            if depth < 0:
                raise Untranslatable("unbalanced parentheses in depends")
        if depth == 0 and state is None and tok == op:
            parts.append([])
        else:
            parts[-1].append((tok, state))
    if depth != 0:
        raise Untranslatable("unbalanced parentheses in depends")
    if any(not part for part in parts):
        raise Untranslatable("a depends expression that cannot be read")
    return parts


def _unwrap(term: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    while len(term) >= 2 and term[0] == ("(", None) and term[-1] == (")", None):
        inner = term[1:-1]
        depth = 0
        balanced = True
        for tok, state in inner:
            if state is None and tok == "(":
                depth += 1
            elif state is None and tok == ")":
                depth -= 1
                if depth < 0:
                    balanced = False
                    break
        if not balanced:
            break
        term = inner
    return term


def _conjunct(term: list[tuple[str, str | None]]) -> Conjunct:
    term = _unwrap(term)
    alternatives = [_unwrap(part) for part in _split(term, "||")]
    atoms: list[tuple[str, str]] = []
    for alt in alternatives:
        if len(alt) != 1 or alt[0][1] is None:
            raise Untranslatable("a depends expression nesting '&&' inside '||' has no Weft trigger")
        name, state = alt[0]
        atoms.append((name, state or ""))
    if len(atoms) == 1:
        name, state = atoms[0]
        if state in ("", "Succeeded"):
            return Conjunct("ok", (name,), bare=state == "")
        raise Untranslatable(f"depends on .{state}: Weft runs a node after its sources' success, or after they end")
    names = {name for name, _ in atoms}
    states = {state for _, state in atoms}
    if len(names) == 1 and states == {"Succeeded", "Failed"}:
        return Conjunct("settled", (atoms[0][0],))
    if states <= {"", "Succeeded"} and len(names) == len(atoms):
        return Conjunct("any", tuple(name for name, _ in atoms), bare="" in states)
    raise Untranslatable("this combination of task results in depends has no Weft trigger")


def valid_id(text: str) -> bool:
    return bool(NODE_ID.match(text))
