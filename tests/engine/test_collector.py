"""The cyclic garbage collector stays off the loader's and the run's hot paths, and comes back."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from engine import collector
from engine.workflow.loader import load_text


@pytest.fixture
def clean_collector() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.unfreeze()
    yield
    gc.unfreeze()
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.parametrize("enabled", [True, False])
def test_paused_switches_the_collector_off_and_back_as_it_was(clean_collector: None, enabled: bool) -> None:
    if enabled:
        gc.enable()
    else:
        gc.disable()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled() is enabled


def test_loading_a_workflow_leaves_the_collector_on(clean_collector: None) -> None:
    gc.enable()
    loaded = load_text("weft: 1\nnodes:\n  - {id: a, command: [ls]}\n")
    assert list(loaded.nodes) == ["a"]
    assert gc.isenabled()


def test_a_bad_workflow_leaves_the_collector_on(clean_collector: None) -> None:
    gc.enable()
    with pytest.raises(Exception, match="needs a command"):
        load_text("weft: 1\nnodes:\n  - {id: a}\n")
    assert gc.isenabled()


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_keep_long_lived_freezes_what_lives_and_what_survives_full_collections(clean_collector: None) -> None:
    gc.enable()
    undo = collector.keep_long_lived()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        survivors = [Cycle() for _ in range(1000)]
        gc.collect()  # a full collection: its survivors are frozen too
        assert gc.get_freeze_count() >= frozen + len(survivors)
        garbage = Cycle()
        del garbage
        assert gc.collect() > 0  # a new cycle that is garbage is still found
    finally:
        undo()
    assert gc.get_freeze_count() == 0
    assert not any(getattr(cb, "__name__", "") == "after_full_collection" for cb in gc.callbacks)
    del survivors
    assert gc.collect() >= 1000  # unfrozen, the dropped cycles are collected again
