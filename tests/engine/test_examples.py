"""The promise examples in resources/examples, run for real: forms, randomness, ghosts, breakers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import networkx as nx
import pytest

from engine.events import NodeState, NodeStateChanged, PromiseBroken
from engine.history.fold import NodeRecord, snapshot
from engine.history.replay import at_event
from tests.conftest import EXAMPLES

BREAKERS = sorted(EXAMPLES.glob("breaker-*.weft.yaml"))


def final_form(store, run) -> set[tuple[str, str]]:
    """The run's final graph without skipped nodes, after transitive reduction."""
    g = nx.DiGraph()
    view = snapshot(store, run.id)
    g.add_nodes_from(view.nodes)
    g.add_edges_from((e.source, e.target) for e in view.edges)
    return set(nx.transitive_reduction(g).edges)


def state_of(node: NodeRecord | None) -> NodeState | None:
    return node.state if node is not None else None


def ghost_labels(store, run) -> list[tuple[int, list[str]]]:
    """(event, ghost labels) at every event of the run."""
    last = store.last_seq(run.id)
    return [(n, [g.label for g in at_event(store, run.id, n)[1]]) for n in range(last + 1)]


def test_pre_determined_is_the_same_graph_every_time_and_has_no_ghosts(run_file, store):
    forms = set()
    for i in range(30):
        run = run_file(EXAMPLES / "pre-determined.weft.yaml")
        assert run.state.value == "succeeded"
        forms.add(frozenset(final_form(store, run)))
        if i == 0:
            assert all(labels == [] for _n, labels in ghost_labels(store, run))
    assert forms == {frozenset({("fetch", "clean"), ("fetch", "check"), ("clean", "report"), ("check", "report")})}


def test_random_branch_takes_one_branch_and_both_happen(run_file, store):
    seen = Counter()
    for _ in range(30):
        run = run_file(EXAMPLES / "random-branch.weft.yaml")
        assert run.state.value == "succeeded", run.broken
        form = final_form(store, run)
        assert form in ({("start", "left"), ("left", "end")}, {("start", "right"), ("right", "end")}), form
        seen["left" if ("start", "left") in form else "right"] += 1
    assert set(seen) == {"left", "right"}, seen
    labels = [labels for _n, labels in ghost_labels(store, run)]
    assert ["one of left | right"] in labels  # before the choice ...
    assert labels[-1] == []  # ... and nothing once it is made and start is done


def test_random_map_has_the_map_form_with_varying_counts(run_file, store):
    counts = Counter()
    for _ in range(30):
        run = run_file(EXAMPLES / "random-map.weft.yaml")
        assert run.state.value == "succeeded", run.broken
        form = final_form(store, run)
        ms = sorted(n for n in run.graph.nodes if n.startswith("m-"))
        expected = {("A", m) for m in ms} | {(m, "B") for m in ms} if ms else {("A", "B")}
        assert form == expected
        assert all(run.graph.nodes[m].operator == "M" for m in ms)
        counts[len(ms)] += 1
    assert len(counts) >= 3 and 0 in counts, counts
    labels = ghost_labels(store, run)
    running_a = [
        lab for n, lab in labels if getattr(snapshot(store, run.id, n).nodes.get("A"), "state", None) == "running"
    ]
    assert running_a and all(lab == ["0+ more M"] for lab in running_a)
    assert labels[-1][1] == []


def test_subgraph_is_one_of_its_two_chains(run_file, store):
    forms = set()
    for _ in range(12):
        run = run_file(EXAMPLES / "subgraph.weft.yaml")
        assert run.state.value == "succeeded", run.broken
        forms.add(frozenset(final_form(store, run)))
    allowed = {frozenset({("A", "N"), ("N", "M"), ("M", "B")}), frozenset({("A", "J"), ("J", "K"), ("K", "B")})}
    assert forms <= allowed and forms


def test_serial_loop_is_one_chain_grown_by_its_own_steps(run_file, store):
    run = run_file(EXAMPLES / "serial-loop.weft.yaml")
    assert run.state.value == "succeeded", run.broken
    steps = ["halve-1", "halve-2", "halve-3", "halve-4"]  # 10 -> 5 -> 2.5 -> 1.25 -> 0.625
    chain = ["begin", *steps, "done"]
    assert final_form(store, run) == set(zip(chain, chain[1:]))
    assert [run.graph.created_by[s] for s in steps] == [None, "halve-1", "halve-2", "halve-3"]
    labels = [lab for _n, lab in ghost_labels(store, run)]
    assert ["0+ more halve"] in labels and labels[-1] == []


@pytest.mark.parametrize("path", BREAKERS, ids=[p.name.split(".")[0] for p in BREAKERS])
def test_every_breaker_ends_broken_and_nothing_it_made_runs(path: Path, run_file, store):
    run = run_file(path)
    assert run.state.value == "broken" and run.state.exit_code == 3
    events = list(store.events(run.id))
    broken_at, broken = next((r.seq, r.event) for r in events if isinstance(r.event, PromiseBroken))
    refused = {n["id"] for n in broken.mutation.get("nodes", [])}
    assert refused.isdisjoint(run.graph.nodes)  # the refused mutation was not applied
    started_after = [
        r.event.node
        for r in events
        if isinstance(r.event, NodeStateChanged) and r.event.state is NodeState.RUNNING and r.seq > broken_at
    ]
    assert started_after == []  # nothing starts once a promise is broken
    assert broken.reason and broken.promise


def test_breakers_cover_every_kind():
    import yaml

    kinds = set()
    for path in BREAKERS:
        data = yaml.safe_load(path.read_text())
        for p in data.get("promises", []):
            kinds.update(k for k in p if k not in ("id", "by", "where"))
        for n in data["nodes"]:
            for m in n.get("params", {}).get("messages", []):
                for p in m.get("promises", []):
                    kinds.update(k for k in p if k not in ("id", "by", "where"))
    assert kinds >= {"static", "no_new_nodes", "no_new_edges", "only_nodes", "only_edges", "max_nodes", "shape"}
