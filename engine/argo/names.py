"""Argo names for Weft ids: DAG task and template names are DNS-ish labels.

Argo wants a task name of letters, digits and ``-`` that starts with a letter or digit (and,
with ``depends``, not with a digit), at most 63 characters here so it also fits a Kubernetes
label. A Weft id may hold ``_`` and ``/`` (``left/square`` after nesting) or be ``1``; such
an id is mangled (``left-square``, ``n-1``) and the exported workflow keeps every task's
original id in its ``weft/node-ids`` annotation, so an importer rebuilds the same graph.
"""

from __future__ import annotations

import re

MAX_NAME = 63
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9-]+")


class Names:
    """Gives each id a distinct Argo name, the same one every time it is asked."""

    def __init__(self, reserved: tuple[str, ...] = ()) -> None:
        self._given: dict[str, str] = {}
        self._taken: set[str] = set(reserved)

    def __call__(self, original: str) -> str:
        if original in self._given:
            return self._given[original]
        name = self._given[original] = self.fresh(original)
        return name

    def fresh(self, original: str) -> str:
        """A name never given before, from ``original`` (not remembered for it)."""
        base = mangled(original)
        name, n = base, 2
        while name in self._taken:
            suffix = f"-{n}"
            name, n = base[: MAX_NAME - len(suffix)] + suffix, n + 1
        self._taken.add(name)
        return name

    def given(self) -> dict[str, str]:
        """Argo name -> the id it stands for."""
        return {name: original for original, name in self._given.items()}


def mangled(original: str) -> str:
    """``original`` as a task name: other characters become ``-``, a name not starting with a
    letter gets ``n-`` in front, and it is cut to 63 characters."""
    name = _NOT_ALLOWED.sub("-", original).strip("-") or "node"
    if not name[0].isalpha():
        name = f"n-{name}"
    return name[:MAX_NAME].rstrip("-")
