"""The ids of a loop's iterations: ``body`` is the first, ``body@2``, ``body@3``... the next.

A task may not create an id with ``@`` (node ids are letters, digits, ``_`` and ``-``), so an
id of this form is always one the engine made by unrolling a loop, and ``body@7`` is, for
selectors and shape patterns, a ``body``.
"""

from __future__ import annotations

SEPARATOR = "@"


def split(node_id: str) -> tuple[str, int]:
    """(the node the instance copies, its iteration): ``("body", 1)`` for ``body``."""
    if SEPARATOR not in node_id:
        return node_id, 1
    base, _, number = node_id.rpartition(SEPARATOR)
    return (base, int(number)) if number.isdigit() and base else (node_id, 1)


def instance(node_id: str, iteration: int) -> str:
    """The id of ``node_id``'s instance in ``iteration`` (1: the node itself)."""
    return node_id if iteration == 1 else f"{node_id}{SEPARATOR}{iteration}"


def base_of(node_id: str) -> str:
    return split(node_id)[0] if SEPARATOR in node_id else node_id


def is_iteration(node_id: str) -> bool:
    """Whether ``node_id`` names a second or later iteration of a loop's node."""
    return SEPARATOR in node_id and split(node_id)[1] > 1
