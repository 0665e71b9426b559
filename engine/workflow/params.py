"""Declared params (``params_schema``): whether a value fits its declaration.

An operator says which params its task reads, of what type, with which default, so a wrong
value is a located error when the workflow is loaded (or when a task creates the node), not a
traceback deep inside the task. Pure: the one check that needs the disk, a ``file`` param
leaving the workflow's folder, is ``validate.outside_folder``'s.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from engine.workflow.model import ParamSpec


def value_problem(spec: ParamSpec, value: Any) -> str | None:
    """Why ``value`` does not fit ``spec`` (words that follow "param 'x'"), or None if it does.

    That a ``file`` value stays inside the workflow's folder is checked where the folder is
    known (``validate.outside_folder``)."""
    kind = spec.type
    if kind == "json":
        return None
    if kind in ("str", "file") and not isinstance(value, str):
        return f"must be {'a path' if kind == 'file' else 'text'}, not {describe(value)}"
    if kind == "bool" and not isinstance(value, bool):
        return f"must be true or false, not {describe(value)}"
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"must be a whole number, not {describe(value)}"
    if kind == "float" and (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)):
        return f"must be a number, not {describe(value)}"
    if kind in ("int", "float"):
        if spec.min is not None and value < spec.min:
            return f"must be at least {spec.min}, not {value}"
        if spec.max is not None and value > spec.max:
            return f"must be at most {spec.max}, not {value}"
    if kind == "choice" and not any(type(value) is type(c) and value == c for c in spec.choices or []):
        hint = ""
        if isinstance(value, str):
            close = difflib.get_close_matches(value, [str(c) for c in spec.choices or []], n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"must be one of {', '.join(map(str, spec.choices or []))}, not {value!r}{hint}"
    if kind == "file" and not value:
        return "must be a path, not empty text"
    return None


def describe(value: Any) -> str:
    """A value in a few words, for a message."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"text ('{value[:40]}')"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
