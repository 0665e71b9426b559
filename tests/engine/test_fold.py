"""The one fold and the one codec: every stored event reads back typed, and every event number
is a state the run really had."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engine.events import (
    AddedEdge,
    AddedNode,
    Event,
    GraphChanged,
    LogLine,
    NodeState,
    NodeStateChanged,
    OutputSet,
    Progress,
    PromiseBroken,
    RunStarted,
    RunState,
    RunStateChanged,
    StyleChanged,
)
from engine.history.codec import KINDS, decode, encode
from engine.history.fold import snapshot
from engine.history.replay import at_event
from engine.history.store import DB_NAME, Store
from tests.conftest import EXAMPLES

EVERY_KIND: list[Event] = [
    RunStarted(
        (AddedNode("a", {"id": "a", "command": ["true"]}, dynamic=True),),
        (AddedEdge("a", "b", {"from": "a.out", "to": "b.in", "when": "a.out > 1"}),),
        ({"id": "p", "static": {}},),
        workflow="w",
        settings={"max_parallel": 2},
    ),
    GraphChanged((AddedNode("c", {"id": "c", "operator": "M"}),), (), (), created_by="a"),
    RunStateChanged(RunState.PAUSED, "paused"),
    NodeStateChanged("a", NodeState.FAILED, 2, "exited with code 3", 3),
    Progress("a", 0.5, 1, 2, "half"),
    LogLine("a", "stderr", "ünïcode \x1b[31m", "warning"),
    LogLine(None, "engine", "the run's own line"),
    OutputSet("a", "out", {"nested": [1, 2.5, None, "x"]}),
    StyleChanged({"color": "#ff0000"}, edge=("a", "b")),
    PromiseBroken("p", None, "why", {"nodes": [{"id": "x"}]}, ("a", "b"), before="b"),
]


@pytest.mark.parametrize("event", EVERY_KIND, ids=[f"{i}-{type(e).__name__}" for i, e in enumerate(EVERY_KIND)])
def test_every_kind_of_event_reads_back_as_it_was_written(event: Event) -> None:
    kind, _node, text = encode(event)
    assert kind == KINDS[type(event)]
    back = decode(kind, text)
    assert back == event and type(back) is type(event)
    if isinstance(back, NodeStateChanged):  # states are enums, never strings that look like them
        assert type(back.state) is NodeState
    if isinstance(back, RunStateChanged):
        assert type(back.state) is RunState


def _run(weft: Any, example: str) -> str:
    result = weft("run", EXAMPLES / example, "--json")
    assert result.code in (0, 1), result.err
    return result.json()["run"]


@pytest.mark.parametrize("example", ["random-branch.weft.yaml", "fan-out.weft.yaml", "random-map.weft.yaml"])
def test_every_event_number_is_a_state_the_run_really_had(weft: Any, home: Path, example: str) -> None:
    """`weft graph RUN --at N` for every N: the registration is one event, each mutation is one
    event, so no moment shows a node without its edges or the workflow without its promises."""
    run_id = _run(weft, example)
    store = Store(home)
    try:
        last = store.last_seq(run_id)
        final, _ = at_event(store, run_id)
        workflow_promises = [p for p, creator in final.promises if creator is None]
        assert workflow_promises or example != "random-branch.weft.yaml"
        created_at: dict[str, int] = {}
        for n in range(1, last + 1):
            view, ghosts = at_event(store, run_id, n)
            assert view.at == n
            nodes = set(view.nodes)
            assert {"start", "end"} <= nodes or example != "random-branch.weft.yaml", n
            for edge in view.edges:
                assert {edge.source, edge.target} <= nodes, f"event {n}: edge {edge.source} -> {edge.target}"
            assert [p for p, c in view.promises if c is None] == workflow_promises, f"event {n}"
            for g in ghosts:
                assert g.owner in nodes and not (view.nodes[g.owner].state or NodeState.PENDING).is_terminal
            for node in nodes - set(created_at):
                created_at[node] = n
        # a created node appears with its edges in the same event: never alone
        for node, n in created_at.items():
            if final.nodes[node].created_by is not None:
                view, _ = at_event(store, run_id, n)
                assert any(node in (e.source, e.target) for e in view.edges), f"{node} alone at event {n}"
    finally:
        store.close()
    early = weft("graph", run_id, "--at", "1", "--format", "json").json()
    ids = {n["id"] for n in early["nodes"]}
    assert early["at"] == 1 and all({e["from"], e["to"]} <= ids for e in early["edges"])


def test_random_branch_at_its_first_event_has_its_promise_and_its_ghost(weft: Any, home: Path) -> None:
    run_id = _run(weft, "random-branch.weft.yaml")
    first = weft("graph", run_id, "--at", "1", "--format", "json").json()
    real = {n["id"]: n for n in first["nodes"] if not n["ghost"]}
    ghosts = [n for n in first["nodes"] if n["ghost"]]
    assert set(real) == {"start", "end"} and real["start"]["state"] == "pending"
    assert [(g["owner"], g["label"]) for g in ghosts] == [("start", "one of left | right")]
    assert {"from": "start", "to": "end", "ghost": False} in first["edges"]


def test_show_is_the_fold_of_the_events(weft: Any, home: Path) -> None:
    run_id = _run(weft, "fan-out.weft.yaml")
    shown = weft("show", run_id, "--json").json()
    store = Store(home)
    try:
        view = snapshot(store, run_id)
    finally:
        store.close()
    assert [n["id"] for n in shown["nodes"]] == list(view.nodes)
    assert {n["id"]: n["state"] for n in shown["nodes"]} == {n.id: n.state for n in view.nodes.values()}
    assert shown["outputs"]["sum"] == view.nodes["sum"].outputs and shown["events"] == view.at


def test_a_damaged_event_is_said_in_one_line(weft: Any, home: Path) -> None:
    run_id = _run(weft, "four-nodes.weft.yaml")
    with sqlite3.connect(home / DB_NAME) as conn:
        conn.execute("UPDATE events SET data='{\"node\": 3' WHERE run=? AND seq=2", (run_id,))
    result = weft("show", run_id)
    assert result.code == 2 and "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and f"event 2 of run {run_id} is damaged" in lines[0], result.err


def test_the_last_lines_of_each_node_and_how_many_it_wrote(write: Any, run_file: Any, store: Store) -> None:
    """``Store.recent_lines``: a view that keeps a bounded buffer per node reads the last lines
    of each node (in the run's order) and the count of all, not every line of a chatty run."""
    path = write(
        """\
        weft: 1
        name: chatty
        nodes:
          - {id: a, command: [python3, -c, "for i in range(30): print('a', i)"]}
          - {id: b, command: [python3, -c, "for i in range(3): print('b', i)"]}
        """
    )
    run = run_file(path)
    lines, counts = store.recent_lines(run.id, 5)
    said = [(r.event.node, r.event.message) for r in lines]
    assert [m for n, m in said if n == "a"] == [f"a {i}" for i in range(25, 30)]
    assert [m for n, m in said if n == "b"] == ["b 0", "b 1", "b 2"]
    assert [r.seq for r in lines] == sorted(r.seq for r in lines)
    assert counts["a"] == 30 and counts["b"] == 3
