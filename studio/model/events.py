"""A tiny, Qt-free event emitter for the studio's models.

The document and the run model are plain Python so they can be tested (and reasoned about)
without a GUI; views subscribe to them with ordinary callables, as napari's views subscribe
to its layers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Emitter:
    """Calls every connected callable with the emitted arguments, in connection order."""

    __slots__ = ("_callbacks", "_blocked")

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []
        self._blocked = 0

    def connect(self, callback: Callable[..., Any]) -> None:
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., Any]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        if self._blocked:
            return
        for callback in list(self._callbacks):
            callback(*args)


class Events:
    """A named group of emitters: ``events.node_added.connect(...)``."""

    def __init__(self, *names: str) -> None:
        for name in names:
            setattr(self, name, Emitter())
