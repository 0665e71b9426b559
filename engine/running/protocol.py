"""The task protocol (JSON lines over stdio): the start message and parsing what tasks say.

A stdout line that is a JSON object with a ``"weft"`` key is a message; anything else on
stdout, and everything on stderr, is a log line. A message that is malformed raises
``ProtocolError`` with a one-line reason; the caller fails the task, never the engine.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from engine.errors import ProtocolError

PROTOCOL_VERSION = 1
MAX_DEPTH = 200  # levels of nested lists and objects in one message
LOG_LEVELS = ("debug", "info", "warning", "error")
MESSAGE_TYPES = ("log", "progress", "output", "mutate", "add_node", "add_edge", "promise", "style", "ask")


@dataclass(frozen=True)
class Message:
    type: str
    body: dict[str, Any]


def start_message(
    run: str, node: str, inputs: dict[str, Any], params: dict[str, Any], workspace: str, attempt: int
) -> bytes:
    msg = {
        "weft": PROTOCOL_VERSION,
        "type": "start",
        "run": run,
        "node": node,
        "inputs": inputs,
        "params": params,
        "workspace": workspace,
        "attempt": attempt,
    }
    return (json.dumps(msg, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def parse_line(line: bytes) -> Message | str:
    """A message, or the line's text when it is a plain log line."""
    text = line.decode("utf-8", errors="replace").rstrip("\r\n")
    stripped = text.lstrip()
    if not stripped.startswith("{") or '"weft"' not in stripped:
        return text
    try:
        data = json.loads(stripped, parse_constant=_no_constant, parse_float=_finite_float)
    except _NotJson as exc:
        # Python's parser would take NaN / Infinity / 1e999, which are not JSON and cannot be
        # stored: a message saying them is malformed; any other such line is a log line.
        try:
            lenient = json.loads(stripped)
        except ValueError:
            return text
        except RecursionError:
            raise ProtocolError(f"a JSON line nested more than {MAX_DEPTH} levels deep") from None
        if isinstance(lenient, dict) and "weft" in lenient:
            raise ProtocolError(f"message is not valid JSON: {exc}") from None
        return text
    except ValueError:
        return text  # looks a bit like JSON, is not: a log line like any other
    except RecursionError:
        raise ProtocolError(f"a JSON line nested more than {MAX_DEPTH} levels deep") from None
    if not isinstance(data, dict) or "weft" not in data:
        return text
    if stripped.count("[") + stripped.count("{") > MAX_DEPTH and _too_deep(data):
        # the engine (events, type checks) walks values recursively: keep them well in reach
        raise ProtocolError(f"message nested more than {MAX_DEPTH} levels deep")
    return _check(data, _SURROGATE_ESCAPE.search(stripped) is not None)


def _too_deep(value: Any) -> bool:
    """Do lists and objects nest more than MAX_DEPTH levels in ``value``? (No recursion, and
    memory in proportion to the depth, not the size.)"""
    stack = [iter([value])]
    while stack:
        for item in stack[-1]:
            if isinstance(item, (list, dict)):
                if len(stack) > MAX_DEPTH:
                    return True
                stack.append(iter(item.values() if isinstance(item, dict) else item))
                break
        else:
            stack.pop()
    return False


class _NotJson(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson(f"{text} is out of range for a JSON number")
    return value


# A \uD800-\uDFFF escape; json.loads joins proper pairs, so what remains is a lone surrogate,
# which is not text: SQLite (UTF-8) cannot store it.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid_text(value: Any, kind: str, replace: bool) -> Any:
    """``value`` without lone surrogates: replaced (log text) or refused (anything else)."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        if found is None:
            return value
        if replace:
            return _SURROGATE.sub("\ufffd", value)
        raise ProtocolError(
            f"'{kind}' message holds text that is not valid Unicode (a lone surrogate \\u{ord(found.group()):04x})"
        )
    if isinstance(value, list):
        return [_valid_text(v, kind, replace) for v in value]
    if isinstance(value, dict):
        return {_valid_text(k, kind, replace): _valid_text(v, kind, replace) for k, v in value.items()}
    return value


def _check(data: dict[str, Any], surrogates: bool = False) -> Message:
    if data.get("weft") != PROTOCOL_VERSION or isinstance(data.get("weft"), bool):
        raise ProtocolError(f"message with unsupported protocol version weft={data.get('weft')!r} (expected 1)")
    kind = data.get("type")
    if kind not in MESSAGE_TYPES:
        raise ProtocolError(f"unknown message type {kind!r} (one of {', '.join(MESSAGE_TYPES)})")
    body = {k: v for k, v in data.items() if k not in ("weft", "type")}
    if surrogates:
        body = _valid_text(body, kind, replace=kind in ("log", "progress"))
    checker = _CHECKS[kind]
    checker(body)
    return Message(kind, body)


def _need(body: dict[str, Any], kind: str, key: str, types: type | tuple[type, ...], what: str) -> Any:
    if key not in body:
        raise ProtocolError(f"'{kind}' message without '{key}'")
    value = body[key]
    if (
        not isinstance(value, types)
        or isinstance(value, bool)
        and bool not in (types if isinstance(types, tuple) else (types,))
    ):
        raise ProtocolError(f"'{kind}' message: '{key}' must be {what}")
    return value


def _number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProtocolError(f"'progress' message: '{key}' must be a number")
    return value


def _log(body: dict[str, Any]) -> None:
    _need(body, "log", "message", str, "text")
    level = body.setdefault("level", "info")
    if level not in LOG_LEVELS:
        raise ProtocolError(f"'log' message: level must be one of {', '.join(LOG_LEVELS)}")


def _progress(body: dict[str, Any]) -> None:
    fraction, done, total = _number(body, "fraction"), _number(body, "done"), _number(body, "total")
    if fraction is None and done is None:
        raise ProtocolError("'progress' message needs 'fraction' or 'done'")
    if fraction is not None and not 0 <= fraction <= 1:
        raise ProtocolError(f"'progress' message: fraction {fraction} is not between 0 and 1")
    if total is not None and total < 0 or done is not None and done < 0:
        raise ProtocolError("'progress' message: done and total must not be negative")
    if body.get("message") is not None and not isinstance(body["message"], str):
        raise ProtocolError("'progress' message: 'message' must be text")


def _output(body: dict[str, Any]) -> None:
    _need(body, "output", "name", str, "text")
    if "value" not in body:
        raise ProtocolError("'output' message without 'value'")


def _mutate(body: dict[str, Any]) -> None:
    for key in body:
        if key not in ("nodes", "edges", "promises"):
            raise ProtocolError(f"'mutate' message: unknown key '{key}' (nodes, edges, promises)")
        if not isinstance(body[key], list):
            raise ProtocolError(f"'mutate' message: '{key}' must be a list")


def _single(kind: str, key: str) -> Any:
    def check(body: dict[str, Any]) -> None:
        if key not in body:
            raise ProtocolError(f"'{kind}' message without '{key}'")
        if not isinstance(body[key], dict):
            raise ProtocolError(f"'{kind}' message: '{key}' must be an object")

    return check


def _style(body: dict[str, Any]) -> None:
    has_node, has_edge = "node" in body, "edge" in body
    if has_node == has_edge:
        raise ProtocolError("'style' message names exactly one of 'node' or 'edge'")
    if has_node and not isinstance(body["node"], str):
        raise ProtocolError("'style' message: 'node' must be a node id")
    if has_edge and not (
        isinstance(body["edge"], dict)
        and isinstance(body["edge"].get("from"), str)
        and isinstance(body["edge"].get("to"), str)
    ):
        raise ProtocolError("'style' message: 'edge' must be {\"from\": ..., \"to\": ...}")
    _need(body, "style", "style", dict, "an object")


def _ask(body: dict[str, Any]) -> None:
    _need(body, "ask", "prompt", str, "text")
    fields = _need(body, "ask", "fields", dict, "an object of NAME: TYPE")
    for name, text in fields.items():
        if not isinstance(text, str):
            raise ProtocolError(f"'ask' message: the type of field '{name}' must be a type text")


_CHECKS = {
    "log": _log,
    "progress": _progress,
    "output": _output,
    "mutate": _mutate,
    "add_node": _single("add_node", "node"),
    "add_edge": _single("add_edge", "edge"),
    "promise": _single("promise", "promise"),
    "style": _style,
    "ask": _ask,
}


def as_mutation(message: Message) -> dict[str, list[Any]]:
    """Shorthand messages as the one-item ``mutate`` they stand for."""
    body = message.body
    if message.type == "mutate":
        return {"nodes": body.get("nodes", []), "edges": body.get("edges", []), "promises": body.get("promises", [])}
    key = {"add_node": "nodes", "add_edge": "edges", "promise": "promises"}[message.type]
    single = {"add_node": "node", "add_edge": "edge", "promise": "promise"}[message.type]
    return {"nodes": [], "edges": [], "promises": [], key: [body[single]]}
