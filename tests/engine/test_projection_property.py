"""Property tests of promises and projection over generated dynamic workflows, run for real.

Hypothesis draws a workflow `A -> plan -> B` whose `plan` runs `grow.py` (a task that sends the
messages listed in its params) and the messages themselves: mutations that create 0-3 nodes of
operators `M`, `X` (``true``) or `planner` (dynamic, with messages of its own, two levels deep),
edges into the new nodes (and from `plan`'s new nodes into `B`), and sometimes promises;
plus 0-2 promises in the workflow. Each scenario runs through ``engine.running.run.Run`` with the local
executor and a real SQLite store. Then:

* **promises**: an oracle written from docs/promises.md (not from ``engine.promises.keeper``) replays
  the messages in the order the engine applied them (read from the run's events) and must
  find none that breaks a promise; the one the engine refused, if any, must break one. A run
  that is refused ends ``broken`` with the sender named and none of that message's nodes in
  the store, so none of them ran; a run that is not has every node its tasks asked for.
* **consistency**: at every event N (the registration is event 1) the run folded from its
  events (``engine.history.fold``) is a state the run really had: every edge's ends exist, the
  workflow's promises are there from the start, every task-made promise with its mutation.
* **soundness**: at every event N (and before the run, from the file), every node of the final
  graph is real at N or covered by a ghost at N (see ``uncovered``).
* **precision**: with no dynamic node, or under `static`, no event has a ghost.
* **replay**: the projection replayed at event N (``engine.history.replay.at_event``) has exactly the
  ghosts the run itself projected when it emitted event N.

What the property found (three engine bugs, fixed since) is pinned down by the tests at the end.

To add a promise kind (e.g. ``shape``): add its strategy to ``PROMISE_STRATEGIES`` and its meaning
to ``Oracle.CHECKS`` (and to ``STATE_KINDS`` if it constrains everything created, not only what
comes after it).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.events import (
    GraphChanged,
    NodeState,
    NodeStateChanged,
    PromiseBroken,
    Recorded,
    RunStarted,
    RunStateChanged,
    Structure,
)
from engine.history.fold import RunSnapshot
from engine.history.replay import at_event, from_workflow
from engine.history.store import Store
from engine.promises.projection import Ghost, ghosts
from engine.running.run import Run
from engine.workflow.loader import load_file

GROW = Path(__file__).parent / "workflows" / "grow.py"
#: scenarios per test run; WEFT_PROPERTY_EXAMPLES=1000 for a longer hunt
EXAMPLES = int(os.environ.get("WEFT_PROPERTY_EXAMPLES", "40"))

# -- the scenario generator ----------------------------------------------------------------------

PREFIX = {"M": "m", "X": "x", "planner": "p"}
MAX_DEPTH = 2  # plan's planners may create planners; theirs create only M and X
MAX_PLANNERS = 3  # created planner tasks per scenario: keeps a run under a second or two
#: max_parallel of the runs: 1 runs one task at a time; more lets created nodes start beside
#: their creator where promises allow it
PARALLEL = [1, 1, 2, 3]
RUN_TIMEOUT = 60.0  # seconds; a run that takes longer is stuck
#: A projection: a run as of some event, and its ghosts then.
View = tuple[RunSnapshot, list[Ghost]]

SELECTOR = st.sampled_from(["plan", "planner", "p*", "M", "X", "m*", "x*", "A", "B", "*", "none"])
BY = st.one_of(st.none(), st.sampled_from(["plan", "planner", "p*", "m*", ["plan", "p1"]]))


def _args(**maybe: Any) -> dict[str, Any]:
    return {k: v for k, v in maybe.items() if v is not None}


#: one strategy per promise kind, each drawing a promise as written in a workflow or a message
PROMISE_STRATEGIES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "static": st.just({"static": {}}),
    "no_new_nodes": st.builds(lambda by: {"no_new_nodes": _args(by=by)}, BY),
    "no_new_edges": st.builds(
        lambda by, src, dst: {"no_new_edges": _args(by=by, **{"from": src, "to": dst})},
        BY,
        st.none() | SELECTOR,
        st.none() | SELECTOR,
    ),
    "only_nodes": st.builds(
        lambda by, match: {"only_nodes": _args(by=by, match=match)},
        BY,
        st.lists(SELECTOR, min_size=1, max_size=3, unique=True),
    ),
    "only_edges": st.builds(
        lambda by, pairs: {"only_edges": _args(by=by, pairs=pairs)},
        BY,
        st.lists(st.lists(SELECTOR, min_size=2, max_size=2), max_size=3),
    ),
    "max_nodes": st.builds(lambda by, most: {"max_nodes": _args(by=by, max=most)}, BY, st.integers(0, 6)),
}
PROMISE = st.one_of(list(PROMISE_STRATEGIES.values()))


@dataclass
class Scenario:
    root: str  # plan's operator: planner (dynamic), worker (sends messages, not dynamic), M (no task)
    promises: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    max_parallel: int = 1

    def behaviours(self) -> dict[str, list[dict[str, Any]]]:
        """Every task that sends messages, with its messages: plan and each created planner."""
        out = {"plan": self.messages}
        work = list(self.messages)
        while work:
            for node in work.pop()["nodes"]:
                if node["operator"] == "planner":
                    out[node["id"]] = node["params"]["messages"]
                    work.extend(node["params"]["messages"])
        return out


@st.composite
def _messages(draw: Callable, creator: str, depth: int, count: list[int]) -> list[dict[str, Any]]:
    own: list[str] = []
    messages = []
    for _ in range(draw(st.integers(1, 3) if depth == 0 else st.integers(0, 2))):
        new: list[dict[str, Any]] = []
        for _ in range(draw(st.integers(0, 3))):
            ops = ["M", "X"] + (["planner"] * 2 if depth < MAX_DEPTH and count[1] < MAX_PLANNERS else [])
            op = draw(st.sampled_from(ops))
            count[0] += 1
            node: dict[str, Any] = {"id": f"{PREFIX[op]}{count[0]}", "operator": op}
            if op == "planner":
                count[1] += 1
                node["params"] = {"messages": draw(_messages(node["id"], depth + 1, count))}
            new.append(node)
        # edges only into nodes that cannot have started: this message's own, and B (plan's only)
        edges: set[tuple[str, str]] = set()
        for i, node in enumerate(new):
            sources = [creator, "A", *own, *(n["id"] for n in new[:i])]
            for source in draw(st.lists(st.sampled_from(sources), max_size=2, unique=True)):
                edges.add((source, node["id"]))
            if depth == 0 and draw(st.booleans()):
                edges.add((node["id"], "B"))
        promises = draw(st.lists(PROMISE, max_size=1))
        messages.append(
            {
                "type": "mutate",
                "nodes": new,
                "edges": [{"from": s, "to": t} for s, t in sorted(edges)],
                "promises": promises,
            }
        )
        own += [n["id"] for n in new]
    return messages


@st.composite
def scenarios(draw: Callable) -> Scenario:
    root = draw(st.sampled_from(["planner"] * 4 + ["worker", "M"]))
    registered = draw(st.lists(PROMISE, max_size=2))
    messages = draw(_messages("plan", 0, [0, 0])) if root != "M" else []
    return Scenario(root, registered, messages, draw(st.sampled_from(PARALLEL)))


def write_workflow(folder: Path, scenario: Scenario) -> Path:
    shutil.copy(GROW, folder / "grow.py")
    grow = [sys.executable, "grow.py"]
    data = {
        "weft": 1,
        "name": "property",
        "settings": {"max_parallel": scenario.max_parallel},
        "operators": {
            "planner": {"command": grow, "dynamic": True},
            "worker": {"command": grow},
            "M": {"command": ["true"]},
            "X": {"command": ["true"]},
        },
        "nodes": [
            {"id": "plan", "operator": scenario.root, "params": {"messages": scenario.messages}},
            {"id": "A", "command": ["true"]},
            {"id": "B", "command": ["true"]},
        ],
        "edges": [{"from": "A", "to": "plan"}, {"from": "plan", "to": "B"}],
    }
    if scenario.promises:
        data["promises"] = scenario.promises
    path = folder / "wf.weft.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# -- the oracle: promises as docs/promises.md states them ------------------------------------------


def selects(selectors: Any, node: str, operator: str | None) -> bool:
    """Selectors name node ids or operator names, or globs of either; none: everything."""
    if selectors is None:
        return True
    patterns = [selectors] if isinstance(selectors, str) else selectors
    return any(fnmatchcase(node, p) or (operator is not None and fnmatchcase(operator, p)) for p in patterns)


@dataclass
class Promise:
    kind: str
    args: dict[str, Any]

    @staticmethod
    def of(written: dict[str, Any]) -> Promise:
        kind = next(k for k in written if k != "id")
        return Promise(kind, dict(written[kind] or {}))


@dataclass
class Change:
    creator: str
    nodes: list[dict[str, Any]]
    edges: list[tuple[str, str]]
    promises: list[Promise]


#: kinds about everything their tasks created (so one made at run time may be false when made)
STATE_KINDS = ("only_nodes", "only_edges", "max_nodes")


@dataclass
class Oracle:
    operator: dict[str, str | None]  # every node so far
    dynamic: dict[str, bool]
    creator: dict[str, str | None] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (creator, from, to) created by tasks
    promises: list[Promise] = field(default_factory=list)

    def op(self, node: str, change: Change) -> str | None:
        return next((n["operator"] for n in change.nodes if n["id"] == node), None) or self.operator.get(node)

    def breaks(self, p: Promise, change: Change, growth: bool) -> bool:
        return self.CHECKS[p.kind](self, p, change, growth)

    def _static(self, p: Promise, c: Change, growth: bool) -> bool:
        return growth and bool(c.nodes or c.edges)

    def _no_new_nodes(self, p: Promise, c: Change, growth: bool) -> bool:
        return growth and bool(c.nodes)

    def _no_new_edges(self, p: Promise, c: Change, growth: bool) -> bool:
        return growth and any(
            selects(p.args.get("from"), s, self.op(s, c)) and selects(p.args.get("to"), t, self.op(t, c))
            for s, t in c.edges
        )

    def _only_nodes(self, p: Promise, c: Change, growth: bool) -> bool:
        return any(not selects(p.args["match"], n["id"], n["operator"]) for n in c.nodes)

    def _only_edges(self, p: Promise, c: Change, growth: bool) -> bool:
        return any(
            not any(selects(a, s, self.op(s, c)) and selects(b, t, self.op(t, c)) for a, b in p.args["pairs"])
            for s, t in c.edges
        )

    def _max_nodes(self, p: Promise, c: Change, growth: bool) -> bool:
        before = sum(1 for n, by in self.creator.items() if by is not None and self.binds(p, by))
        return before + len(c.nodes) > p.args["max"]

    CHECKS: ClassVar[dict[str, Callable[[Oracle, Promise, Change, bool], bool]]] = {
        "static": _static,
        "no_new_nodes": _no_new_nodes,
        "no_new_edges": _no_new_edges,
        "only_nodes": _only_nodes,
        "only_edges": _only_edges,
        "max_nodes": _max_nodes,
    }

    def binds(self, p: Promise, task: str) -> bool:
        return selects(p.args.get("by"), task, self.operator.get(task))

    def violation(self, c: Change) -> str | None:
        """Which rule ``c`` breaks, given everything before it; None if it keeps them all."""
        if not self.dynamic[c.creator] and (c.nodes or c.edges or c.promises):
            return "implicit"
        for p in self.promises:
            if self.binds(p, c.creator) and self.breaks(p, c, growth=True):
                return p.kind
        for q in c.promises:  # a state promise must hold for all that its tasks created, this change included
            if q.kind not in STATE_KINDS:
                continue
            nodes = [
                {"id": n, "operator": self.operator[n]}
                for n, by in self.creator.items()
                if by is not None and self.binds(q, by)
            ]
            edges = [(s, t) for by, s, t in self.edges if self.binds(q, by)]
            if self.binds(q, c.creator):
                nodes, edges = nodes + c.nodes, edges + c.edges
            so_far = Change(c.creator, nodes, edges, [])
            if len(nodes) > q.args["max"] if q.kind == "max_nodes" else self.breaks(q, so_far, growth=False):
                return f"{q.kind} (false when made)"
        return None

    def apply(self, c: Change) -> None:
        for n in c.nodes:
            self.operator[n["id"]] = n["operator"]
            self.dynamic[n["id"]] = n["operator"] == "planner"
            self.creator[n["id"]] = c.creator
        self.edges.extend((c.creator, s, t) for s, t in c.edges)
        self.promises.extend(c.promises)


def change_of(creator: str, message: dict[str, Any]) -> Change:
    return Change(
        creator,
        message["nodes"],
        [(e["from"], e["to"]) for e in message["edges"]],
        [Promise.of(p) for p in message["promises"]],
    )


# -- soundness ---------------------------------------------------------------------------------


def chain(node: str, created_by: dict[str, str | None]) -> list[str]:
    """``node``'s creators, nearest first."""
    out = []
    while created_by.get(node) is not None:
        node = created_by[node]  # type: ignore[assignment]  # not None: the loop condition says so
        out.append(node)
    return out


def uncovered(projection: View, final: RunSnapshot) -> list[str]:
    """What in ``final`` the projection ``view`` does not account for; empty when it is sound.

    A node X of the final graph that is not real in ``view`` was created, directly or through
    nodes created after ``view``, by R: the nearest of its creators that is real in ``view``.
    X is covered when R has a ghost and X's id or operator matches the ghost's ``match`` (if it
    has one), and a ghost with ``max`` covers at most ``max`` such nodes: a ghost stands for
    everything that may appear through its owner, what the owner's new nodes create included.
    """
    view, view_ghosts = projection
    created_by = {n: v.created_by for n, v in final.nodes.items()}
    by_owner: dict[str, Ghost] = {g.owner: g for g in view_ghosts}
    counted: dict[str, list[str]] = {}
    problems = []
    for node, data in final.nodes.items():
        if node in view.nodes:
            continue
        real = next((c for c in chain(node, created_by) if c in view.nodes), None)
        ghost = by_owner.get(real) if real is not None else None
        if ghost is None:
            problems.append(f"{node} (created via {real}) has no ghost")
        elif ghost.match is not None and not selects(list(ghost.match), node, data.operator):
            problems.append(f"{node} ({data.operator}) does not match ghost {ghost.label!r} of {real}")
        else:
            counted.setdefault(ghost.owner, []).append(node)
    for owner, nodes in counted.items():
        limit = by_owner[owner].max
        if limit is not None and len(nodes) > limit:
            problems.append(f"ghost {by_owner[owner].label!r} of {owner} stands for {limit}, but {nodes} appeared")
    return problems


def consistent(view: RunSnapshot, workflow_promises: list[dict[str, Any]]) -> list[str]:
    """What makes ``view`` a state no run ever had: an edge whose ends do not exist, a missing
    promise of the workflow, a promise of a task that is not there."""
    problems = [
        f"edge {e.source} -> {e.target} has an end missing"
        for e in view.edges
        if not {e.source, e.target} <= set(view.nodes)
    ]
    registered = [spec for spec, creator in view.promises if creator is None]
    if registered != workflow_promises:
        problems.append(f"the workflow's promises are {registered}, not {workflow_promises}")
    problems += [f"a promise of {c}, which is not in the graph" for _p, c in view.promises if c and c not in view.nodes]
    return problems


# -- the property ------------------------------------------------------------------------------


def execute(folder: Path, scenario: Scenario, live: dict[int, list[Ghost]] | None = None) -> tuple[Run, Store]:
    """Run ``scenario``; with ``live``, record there the ghosts the run projects at each event."""
    path = write_workflow(folder, scenario)
    store = Store(folder / "home")
    run = Run(load_file(path), store, text=path.read_text())
    if live is not None:

        def project(rec: Recorded) -> None:
            live[rec.seq] = [] if run.state.is_terminal else ghosts(run.keeper, run.node_state)

        run.subscribe(project)
    try:
        asyncio.run(asyncio.wait_for(run.execute(), RUN_TIMEOUT))
    except TimeoutError:
        store.close()
        raise AssertionError(f"the run did not end within {RUN_TIMEOUT:g} s: {run.node_state}") from None
    return run, store


@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(scenarios())
def test_promises_are_kept_exactly_and_every_projection_is_sound(scenario: Scenario) -> None:
    with tempfile.TemporaryDirectory(prefix="weft-prop-") as tmp:
        folder = Path(tmp)
        live: dict[int, list[Ghost]] = {}
        run, store = execute(folder, scenario, live)
        try:
            check(folder, scenario, run, store, live)
        finally:
            store.close()
        event(f"run {run.state.value}" + (f": {run.broken.promise.split(' ')[0]}" if run.broken else ""))
        event(
            f"created nodes: {len(run.graph.nodes) - 3}, created planners: "
            f"{sum(1 for n in run.graph.nodes.values() if n.operator == 'planner') - (scenario.root == 'planner')}"
        )


def changes(message: dict[str, Any]) -> bool:
    return bool(message["nodes"] or message["edges"] or message["promises"])


def applied_order(
    events: list[Recorded], behaviours: dict[str, list[dict[str, Any]]]
) -> tuple[list[tuple[str, int]], tuple[str, int] | None]:
    """The messages the engine applied, in its order, and the one it refused (if any).

    Each applied mutation is one ``GraphChanged`` event holding exactly the message's nodes,
    edges and promises. A message that changes nothing leaves no trace and is skipped (it keeps
    every promise).
    """
    queue = {task: [i for i, m in enumerate(messages) if changes(m)] for task, messages in behaviours.items()}
    order: list[tuple[str, int]] = []
    for rec in events:
        event = rec.event
        if isinstance(event, PromiseBroken):
            assert event.task is not None
            return order, (event.task, queue[event.task][0])
        if isinstance(event, GraphChanged):
            task = event.created_by
            index = queue[task].pop(0)
            message = behaviours[task][index]
            assert [n.id for n in event.nodes] == [n["id"] for n in message["nodes"]], (task, index)
            assert [(e.source, e.target) for e in event.edges] == [(e["from"], e["to"]) for e in message["edges"]]
            assert len(event.promises) == len(message["promises"]), (task, index)
            order.append((task, index))
    return order, None


def check(folder: Path, scenario: Scenario, run: Run, store: Store, live: dict[int, list[Ghost]]) -> None:
    behaviours = scenario.behaviours()
    events = list(store.events(run.id))
    end = next(r.seq for r in events if isinstance(r.event, RunStateChanged) and r.event.state.is_terminal)
    after = [r for r in events[end:] if isinstance(r.event, (Structure, PromiseBroken))]
    assert not after, "changed after the end"
    events_to_end = events[:end]
    started = [
        r.event.node for r in events if isinstance(r.event, NodeStateChanged) and r.event.state is NodeState.RUNNING
    ]
    state = {n.id: n.state for n in at_event(store, run.id)[0].nodes.values()}
    existed = [n.id for r in events_to_end if isinstance(r.event, Structure) for n in r.event.nodes]
    broken = next((r.event for r in events_to_end if isinstance(r.event, PromiseBroken)), None)

    # -- promises: the oracle replays the messages in the order the engine received them ----------
    oracle = Oracle(
        {"plan": scenario.root, "A": None, "B": None},
        {"plan": scenario.root == "planner", "A": False, "B": False},
        promises=[Promise.of(p) for p in scenario.promises],
    )
    applied, refused = applied_order(events_to_end, behaviours)
    for task, index in applied:
        change = change_of(task, behaviours[task][index])
        why = oracle.violation(change)
        assert why is None, f"{task}'s message {index} breaks {why}, but it was applied"
        oracle.apply(change)
    assert set(existed) == set(oracle.operator), "every node of every applied message exists, and no other"
    if refused is None:
        assert broken is None and run.state.value == "succeeded", (run.state, broken)
        assert all(state[n] == "succeeded" for n in existed)
        assert all(t in started for t in behaviours if t in existed), "every task ran"
        unsent = {
            t: [i for i, m in enumerate(behaviours[t]) if (t, i) not in applied and changes(m)]
            for t in behaviours
            if t in existed
        }
        assert not any(unsent.values()), f"messages never applied: {unsent}"
    else:
        task, index = refused
        why = oracle.violation(change_of(task, behaviours[task][index]))
        assert why is not None, f"{task}'s message {index} was refused ({broken}), but it keeps every promise"
        assert run.state.value == "broken" and broken is not None and broken.task == task
        offending = {n["id"] for n in behaviours[task][index]["nodes"]}
        assert not offending & set(state), "nothing of the refused mutation exists, so none of it ran"
        assert state[task] == "failed"
        assert all(state[n] in ("succeeded", "failed", "cancelled") for n in existed)

    # -- consistency, soundness, precision, and replay against the run's own projection ----------
    final, final_ghosts = at_event(store, run.id, end)
    assert list(final.nodes) == existed and not final_ghosts
    assert isinstance(events[0].event, RunStarted) and events[0].seq == 1, "the registration is the first event"
    workflow_promises = list(events[0].event.promises)
    static_from = next(
        (r.seq for r in events if isinstance(r.event, Structure) and any("static" in p for p in r.event.promises)),
        None,
    )
    no_dynamic = scenario.root != "planner"
    before = from_workflow(load_file(folder / "wf.weft.yaml"))
    assert uncovered(before, final) == [], "registration-time projection"
    assert not (before[1] and (no_dynamic or any("static" in p for p in scenario.promises)))
    for n in range(1, end + 1):
        view, view_ghosts = at_event(store, run.id, n)
        assert consistent(view, workflow_promises) == [], f"event {n} of {end} is no state the run had"
        assert uncovered((view, view_ghosts), final) == [], f"projection at event {n} of {end}"
        assert view_ghosts == live[n], f"replay at event {n} differs from what the run projected then"
        if no_dynamic or (static_from is not None and n >= static_from):
            assert view_ghosts == [], f"ghosts at event {n} under static / without a dynamic node"


# -- what the property found, pinned down ----------------------------------------------------------


def _one_write_task(folder: Path, messages: list[dict[str, Any]]) -> list[str]:
    """A task that writes all ``messages`` in one write, so the engine reads them in one go."""
    script = folder / "burst.py"
    lines = "".join(json.dumps({"weft": 1, **m}) + "\n" for m in messages)
    script.write_text(f"import sys\nsys.stdout.write({lines!r})\nsys.stdout.flush()\n", encoding="utf-8")
    return [sys.executable, str(script)]


def test_a_run_broken_right_after_a_node_was_started_ends(tmp_path: Path) -> None:
    """`static` lets `free` start at once; the next message, read in the same chunk, breaks the run.

    Found by the property: ``Run._halt`` cancelled the asyncio task of a node that ``_start``
    had created in the same step, before its first step, so ``_run_node``'s ``finally`` never
    ran and the run waited for that node for ever (now ``Run._reap`` settles it).
    """
    command = _one_write_task(
        tmp_path,
        [
            {"type": "mutate", "nodes": [{"id": "free", "command": ["true"]}], "promises": [{"static": {}}]},
            {"type": "mutate", "nodes": [{"id": "late", "command": ["true"]}]},
        ],
    )
    path = tmp_path / "wf.weft.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "weft": 1,
                "name": "halt",
                "settings": {"max_parallel": 2},
                "nodes": [{"id": "plan", "command": command, "dynamic": True}],
            }
        )
    )
    store = Store(tmp_path / "home")
    run = Run(load_file(path), store)
    try:
        state = asyncio.run(asyncio.wait_for(run.execute(), 5))
    except TimeoutError:
        raise AssertionError(f"the run hangs: {run.node_state}, still running: {list(run._running)}") from None
    finally:
        store.close()
    assert state.value == "broken" and run.node_state["free"].value == "cancelled"


@pytest.mark.parametrize(
    "promise",
    [{"only_nodes": {"by": "plan", "match": ["planner"]}}, {"max_nodes": {"by": "plan", "max": 1}}],
    ids=["only_nodes", "max_nodes"],
)
def test_a_ghost_narrowed_for_its_owner_only_also_stands_for_its_descendants(tmp_path: Path, promise) -> None:
    """plan may create only planners (or one node); the planner it creates makes two M nodes.

    Found by the property: the ghost of `plan` said "0+ nodes matching planner" (or "up to 1
    more nodes") though the promise binds only `plan`, not the planner it creates. A ghost is
    now narrowed only by promises that bind every task.
    """
    grandchildren = [
        {
            "type": "mutate",
            "nodes": [{"id": "m2", "operator": "M"}, {"id": "m3", "operator": "M"}],
            "edges": [],
            "promises": [],
        }
    ]
    child = {"id": "p1", "operator": "planner", "params": {"messages": grandchildren}}
    scenario = Scenario("planner", [promise], [{"type": "mutate", "nodes": [child], "edges": [], "promises": []}])
    run, store = execute(tmp_path, scenario)
    try:
        final = at_event(store, run.id)[0]
    finally:
        store.close()
    assert run.state.value == "succeeded" and {"p1", "m2", "m3"} <= set(final.nodes)
    before = from_workflow(load_file(tmp_path / "wf.weft.yaml"))  # plan's ghost: "0+ nodes matching planner"
    assert uncovered(before, final) == []


def test_a_task_being_stopped_after_the_run_ended_changes_nothing(tmp_path: Path) -> None:
    """`a` breaks the run; `b`, stopped with SIGTERM, sends a mutation as it goes.

    Found by the property (as a flaky failure): ``Run.mutate`` did not check that the run had
    ended, so such a mutation was applied after the run ended (its nodes left `pending`), or
    broke the run a second time and replaced ``Run.broken``.
    """
    (tmp_path / "breaks.py").write_text(
        textwrap.dedent("""
        import json, time
        time.sleep(0.5)
        print(json.dumps({"weft": 1, "type": "mutate", "nodes": [{"id": "x", "command": ["true"]}]}), flush=True)
        time.sleep(30)
    """)
    )
    (tmp_path / "last_words.py").write_text(
        textwrap.dedent("""
        import json, signal, sys, time
        def last_words(*_):
            print(json.dumps({"weft": 1, "type": "mutate", "nodes": [{"id": "late", "command": ["true"]}]}),
                  flush=True)
            sys.exit(0)
        signal.signal(signal.SIGTERM, last_words)
        time.sleep(30)
    """)
    )
    path = tmp_path / "wf.weft.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "weft": 1,
                "name": "late",
                "settings": {"max_parallel": 2},
                "nodes": [
                    {"id": "a", "command": [sys.executable, "breaks.py"], "dynamic": True},
                    {"id": "b", "command": [sys.executable, "last_words.py"], "dynamic": True},
                ],
                "promises": [{"no_new_nodes": {"by": "a"}}, {"no_new_edges": {}}],
            }
        )
    )
    store = Store(tmp_path / "home")
    run = Run(load_file(path), store)
    try:
        state = asyncio.run(asyncio.wait_for(run.execute(), 30))
        events = list(store.events(run.id))
    finally:
        store.close()
    assert state.value == "broken" and run.broken is not None and run.broken.task == "a"
    ended = next(r.seq for r in events if isinstance(r.event, RunStateChanged) and r.event.state == "broken")
    changed = [r for r in events if r.seq > ended and isinstance(r.event, Structure)]
    assert not changed, "the graph changed after the run ended"
    assert "late" not in run.graph.nodes
