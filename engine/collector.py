"""How the engine keeps Python's cyclic garbage collector off its hot paths.

A workflow of 100,000 nodes is a few million small objects that live as long as the run.
Every full (generation 2) collection walks all of them, and the collector starts one each time
the objects created since the last grow past a quarter of the survivors: while a file is read
(the objects pile up and none is garbage) and while a run grows its graph. Reference counting
frees almost everything the engine drops; the cyclic collector only has to find cycles, and
those are not made in bulk.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block (loading a file builds objects and drops none)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def keep_long_lived() -> Callable[[], None]:
    """Stop walking what already lives (a registered run), and what survives each full
    collection from now on; returns the function that undoes it (call it when the run ends).

    Frozen objects are still freed by reference counting; only a cycle among them waits until
    the undo puts them back in the collector's oldest generation.
    """

    def after_full_collection(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info.get("generation") == 2:
            gc.freeze()  # what survived a full collection is reachable, not garbage

    gc.freeze()
    gc.callbacks.append(after_full_collection)

    def undo() -> None:
        if after_full_collection in gc.callbacks:
            gc.callbacks.remove(after_full_collection)
        gc.unfreeze()

    return undo
