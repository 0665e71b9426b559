"""A burst of events (registering a large workflow) is written as it comes, never held whole."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pytest

from engine.history.store import DB_NAME, CacheRow, Store
from engine.running import run as run_module
from engine.running.run import Run
from engine.workflow.loader import load_text


def test_registration_is_written_in_bounded_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_module, "FLUSH_EVENTS", 7)
    monkeypatch.setattr(run_module, "FLUSH_DELAY", 600.0)  # only the bound writes (a slow machine's timer must not)
    nodes = "".join(f"  - {{id: n{i}, command: [/bin/true]}}\n" for i in range(40))
    edges = "".join(f"  - {{from: n{i}, to: n{i + 1}}}\n" for i in range(39))
    loaded = load_text(f"weft: 1\nsettings: {{max_parallel: 1}}\nnodes:\n{nodes}edges:\n{edges}")
    store = Store(tmp_path / "home")
    batches: list[int] = []
    append = store.append

    def counted(batch: list[run_module.Recorded], cache_rows: Iterable[CacheRow] = ()) -> None:
        batches.append(len(batch))
        append(batch, cache_rows)

    monkeypatch.setattr(store, "append", counted)
    run = Run(loaded, store)
    assert asyncio.run(run.execute()).value == "succeeded"
    store.close()
    assert max(batches) <= 7 + 1  # the one that reached the bound, plus at most one queued meanwhile
    assert batches[0] == 7  # the first events did not wait for the timer
    conn = sqlite3.connect(tmp_path / "home" / DB_NAME)
    seqs = [s for (s,) in conn.execute("SELECT seq FROM events WHERE run=? ORDER BY seq", (run.id,))]
    conn.close()
    assert seqs == list(range(1, run._seq + 1))  # gap-free, every event
