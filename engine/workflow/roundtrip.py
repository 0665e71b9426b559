"""Writing a workflow back over the text it came from, keeping what people wrote.

A workflow file is read by people: its comments (the ``$schema`` line editors use, notes on why
a node is there), its key order and its flow or block style are theirs. Regenerating the text
from the model (``engine.workflow.writer``) would drop all of that at the first save. So the new data is
merged into the old text's round-trip tree (ruamel.yaml): parts that did not change keep their
text exactly; changed values are replaced in place; new keys and items are added where the
canonical order puts them; removed ones go, with their comments.

List items are matched by identity, not position: a node by its ``id``, an edge by its ends, a
promise by its ``id`` or its content, so deleting one node leaves every other node's text as it
was. Text that does not parse falls back to the canonical writer. One known respelling: a
float of 17 significant digits may come back with a different last digit that reads as the
same number (ruamel.yaml rebuilds float text from the value).
"""

from __future__ import annotations

import io
import re
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarfloat import ScalarFloat
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString


def _yaml(text: str) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 100
    offset = _dash_offset(text)
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    yaml.representer.add_representer(float, _represent_float)
    yaml.representer.add_representer(ScalarFloat, _represent_float)
    return yaml


def _represent_float(representer: Any, value: float) -> Any:
    """A float as text that reads back as the same number. A float read from the old text keeps
    its spelling (``0.50``) where ruamel.yaml can rebuild it exactly; otherwise, and for new
    floats, it is written as PyYAML writes it (the shortest text that reads back the same):
    ruamel.yaml's own rebuilding can lose the last digit of a long float."""
    if isinstance(value, ScalarFloat):
        node = RoundTripRepresenter.represent_scalar_float(representer, value)
        try:
            if float(node.value) == float(value):
                return node
        except ValueError:  # .inf, .nan: spelled as YAML spells them, nothing to lose
            return node
    text = pyyaml.safe_dump(float(value)).split("\n", 1)[0]
    return representer.represent_scalar("tag:yaml.org,2002:float", text)


def _dash_offset(text: str) -> int:
    """How far the file indents a block list's dashes under their key (0 or 2, as written)."""
    lines = text.splitlines()
    for above, line in zip(lines, lines[1:]):
        key = re.match(r"""^( *)(?:'(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|[^\s#'"-][^:#]*):\s*(#.*)?$""", above)
        dash = re.match(r"^( *)- ", line)
        if key and dash:
            return max(0, len(dash.group(1)) - len(key.group(1)))
    return 2


def merge_text(old_text: str, data: dict[str, Any]) -> str | None:
    """``data`` written over ``old_text``, keeping its comments, order and style where nothing
    changed; None when the old text cannot serve (not a YAML mapping)."""
    writer = _yaml(old_text)
    try:
        tree = writer.load(old_text)
    except YAMLError:
        return None
    if not isinstance(tree, CommentedMap):
        return None
    try:
        _merge_map(tree, data)
    except _Unwritable:
        return None  # rare: the canonical writer spells every character safely
    out = io.StringIO()
    writer.dump(tree, out)
    return out.getvalue()


def _same(old: Any, new: Any) -> bool:
    """Does the old text's value say ``new``? A number written where the model keeps text (a
    node id ``1`` is the id "1") says the same."""
    if isinstance(old, dict) and isinstance(new, dict):
        return len(old) == len(new) and all(
            any(str(k) == key for k in old) and _same(old[next(k for k in old if str(k) == key)], value)
            for key, value in new.items()
        )
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(_same(a, b) for a, b in zip(old, new))
    if isinstance(new, str) and isinstance(old, (int, float)) and not isinstance(old, bool):
        return str(old) == new
    return bool(_plain(old) == new)


def _plain(value: Any) -> Any:
    """A round-trip value as plain Python, to compare with the model's data."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def _merge_map(tree: CommentedMap, new: dict[str, Any]) -> None:
    for key in [k for k in tree if str(k) not in new]:
        del tree[key]
    for position, (key, value) in enumerate(new.items()):
        match = next((k for k in tree if str(k) == key), None)
        if match is None:
            tree.insert(min(position, len(tree)), _scalar(key), _fresh(value, tree))
            continue
        old = tree[match]
        if _same(old, value):
            continue
        if isinstance(old, CommentedMap) and isinstance(value, dict):
            _merge_map(old, value)
        elif isinstance(old, CommentedSeq) and isinstance(value, list):
            _merge_seq(old, value)
        else:
            tree[match] = _fresh(value, tree)


def _merge_seq(tree: CommentedSeq, new: list[Any]) -> None:
    """Items keep their text when an item of the same identity is still there."""
    olds = list(tree)
    used: set[int] = set()
    merged: list[Any] = []
    for item in new:
        at = _find(olds, item, used)
        if at is None:
            merged.append(_fresh(item, tree))
            continue
        used.add(at)
        old = olds[at]
        if not _same(old, item):
            if isinstance(old, CommentedMap) and isinstance(item, dict):
                _merge_map(old, item)
            elif isinstance(old, CommentedSeq) and isinstance(item, list):
                _merge_seq(old, item)
            else:
                old = _fresh(item, tree)
        merged.append(old)
    if merged == olds and all(a is b for a, b in zip(merged, olds)):
        return
    # comments attached to positions must follow their items: rebuild keeping each item's own
    comments = {i: tree.ca.items[i] for i in list(tree.ca.items)}
    del tree[:]
    tree.ca.items.clear()
    for item in merged:
        tree.append(item)
    for i, item in enumerate(merged):
        for j, old in enumerate(olds):
            if old is item and j in comments:
                tree.ca.items[i] = comments[j]


def _identity(item: Any) -> Any:
    if isinstance(item, dict):
        plain = {str(k): v for k, v in item.items()}
        if "id" in plain:
            return ("id", str(plain["id"]))
        if "from" in plain and "to" in plain:
            return ("edge", str(plain["from"]), str(plain["to"]))

    return None


def _find(olds: list[Any], item: Any, used: set[int]) -> int | None:
    """The old item ``item`` is a new version of: equal, or of the same identity."""
    for i, old in enumerate(olds):
        if i not in used and _same(old, item):
            return i
    identity = _identity(item)
    if identity is None:
        return None
    for i, old in enumerate(olds):
        if i not in used and _identity(old) == identity:
            return i
    return None


class _Unwritable(Exception):
    """A new string with a character ruamel.yaml would write raw where PyYAML reads it as
    something else (NEL, the Unicode line and paragraph separators, a BOM, other controls)."""


_UNWRITABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")


def _scalar(value: Any) -> Any:
    """A new string as the engine's reader (PyYAML, YAML 1.1) will read it back: quoted wherever
    PyYAML would quote it in a flow collection (the stricter place). ruamel.yaml follows YAML
    1.2, where ``yes``, ``on`` or ``:x`` may stand bare; PyYAML would read a bool or fail."""
    if not isinstance(value, str):
        return value
    if _UNWRITABLE.search(value):
        raise _Unwritable()
    written = pyyaml.safe_dump([value], default_flow_style=True, width=1 << 30, allow_unicode=True).strip()[1:-1]
    if written.startswith("'"):
        return SingleQuotedScalarString(value)
    if written.startswith('"'):
        return DoubleQuotedScalarString(value)
    return value


def _fresh(value: Any, parent: Any) -> Any:
    """A new value to put into ``parent``: in flow style inside a flow collection (YAML allows
    nothing else there), short collections in flow style as the canonical writer does."""
    in_flow = getattr(getattr(parent, "fa", None), "flow_style", False) is True
    if isinstance(value, dict):
        out = CommentedMap()
        for k, v in value.items():
            out[_scalar(k)] = _fresh(v, out)
        if in_flow or all(not isinstance(v, (dict, list)) for v in value.values()):
            out.fa.set_flow_style()
        return out
    if isinstance(value, list):
        seq = CommentedSeq()
        for v in value:
            seq.append(_fresh(v, seq))
        if in_flow or all(not isinstance(v, (dict, list)) for v in value):
            seq.fa.set_flow_style()
        return seq
    return _scalar(value)
