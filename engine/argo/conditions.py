"""``when`` conditions in Argo's words, where the meaning stays the same.

Argo substitutes ``{{tasks.T.outputs.parameters.P}}`` with the text of an output parameter
(the launcher writes every value as JSON text) and evaluates the result with govaluate. So a
condition is translated only where that gives the answer Weft's evaluator would:

- ``and`` / ``or`` / ``not`` and parentheses;
- ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` between numbers (``int``/``float`` ports and
  number literals) and ``==`` / ``!=`` between booleans (``bool`` ports, ``true``/``false``);
- a port or literal on its own, by its truthiness (``!= 0``, ``== true``).

Everything else is refused with the reason: text (``str`` ports: their value is substituted
unescaped into the condition, so a quote in it would change the condition), optional ports
(``null``), ``in``, ``len()``, ``.field`` and ``[index]`` below a port, lists and dicts.

The syntax tree is ``engine.languages.expr``'s own; this module only reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import InvalidInput
from engine.languages import expr
from engine.languages.expr import _Chain, _Compare, _Len, _List, _Literal, _Logic, _Name, _Node, _Not

NUMBER_TYPES = ("int", "float")


class Untranslatable(InvalidInput):
    """Why a condition has no faithful Argo form; ``offset`` is where in its text. The exporter
    places it at the edge (``export.ExportRefused``)."""

    def __init__(self, reason: str, offset: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


@dataclass(frozen=True)
class Port:
    """A port a condition reads, as Argo names its value."""

    reference: str
    type: str


#: node id, port name -> the port as Argo reads it (raises Untranslatable when it cannot)
PortOf = Callable[[str, str, int], Port]


def translate(text: str, port_of: PortOf) -> str:
    """``text`` (a Weft condition) as an Argo ``when``, or Untranslatable."""
    tree = expr.parse(text)._root
    return _Translator(port_of).boolean(tree)


class _Translator:
    def __init__(self, port_of: PortOf) -> None:
        self.port_of = port_of

    def boolean(self, node: _Node) -> str:
        match node:
            case _Logic(op=op, operands=operands):
                joined = f" {'&&' if op == 'and' else '||'} ".join(self.boolean(o) for o in operands)
                return f"({joined})"
            case _Not(operand=operand):
                return f"!({self.boolean(operand)})"
            case _Compare(op=op, left=left, right=right, offset=offset):
                return self.compare(op, left, right, offset)
        text, kind = self.value(node)
        if kind == "bool":
            return f"({text} == true)"
        return f"({text} != 0)"

    def compare(self, op: str, left: _Node, right: _Node, offset: int) -> str:
        if op in ("in", "not in"):
            raise Untranslatable(f"'{op}' has no faithful form in Argo's when", offset)
        (a, kind_a), (b, kind_b) = self.value(left), self.value(right)
        if kind_a != kind_b:
            raise Untranslatable(f"compares a {kind_a} with a {kind_b}", offset)
        if kind_a == "bool" and op not in ("==", "!="):
            raise Untranslatable(f"orders booleans with '{op}'", offset)
        return f"({a} {op} {b})"

    def value(self, node: _Node) -> tuple[str, str]:
        """Argo text of a scalar value and its kind: ``number`` or ``bool``."""
        match node:
            case _Literal(value=value, offset=offset):
                if isinstance(value, bool):
                    return ("true" if value else "false"), "bool"
                if isinstance(value, (int, float)):
                    return repr(value), "number"
                what = "text" if isinstance(value, str) else "null"
                raise Untranslatable(
                    f"{what} values are not exported to Argo's when (it substitutes them unescaped)", offset
                )
            case _Chain(base=_Name(node=name, offset=offset), steps=steps) if len(steps) == 1 and isinstance(
                steps[0].key, str
            ):
                port = self.port_of(name, steps[0].key, offset)
                if port.type in NUMBER_TYPES:
                    return port.reference, "number"
                if port.type == "bool":
                    return port.reference, "bool"
                raise Untranslatable(
                    f"{name}.{steps[0].key} is {port.type}: only int, float and bool ports can be read by Argo's when",
                    offset,
                )
            case _Chain(base=_Name(offset=offset)):
                raise Untranslatable("only a whole port can be read by Argo's when (no .field or [index])", offset)
            case _Name(node=name, offset=offset):
                raise Untranslatable(f"reads all outputs of '{name}': name one int, float or bool port", offset)
            case _Len(offset=offset):
                raise Untranslatable("len() has no faithful form in Argo's when", offset)
            case _List(offset=offset):
                raise Untranslatable("lists have no faithful form in Argo's when", offset)
        raise Untranslatable("this part has no faithful form in Argo's when")
