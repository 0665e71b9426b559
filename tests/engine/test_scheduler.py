"""Readiness, parallelism, conditions, triggers and the dynamic-hold rule, on real processes."""

from __future__ import annotations

import itertools

import networkx as nx
import pytest

from engine.events import LogLine
from engine.history.fold import snapshot
from engine.history.store import Store
from tests.conftest import EXAMPLES
from tests.engine.conftest import states

FOUR = EXAMPLES / "four-nodes.weft.yaml"


def _intervals(store: Store, run_id: str) -> dict[str, tuple[float, float]]:
    spans = {}
    for n in snapshot(store, run_id).nodes.values():
        assert n.started_at is not None and n.finished_at is not None, n
        spans[n.id] = (n.started_at, n.finished_at)
    return spans


def _max_overlap(intervals: dict[str, tuple[float, float]]) -> int:
    points = sorted(
        itertools.chain.from_iterable(((s, 1), (f, -1)) for s, f in intervals.values()), key=lambda p: (p[0], p[1])
    )  # a finish sorts before a start at the same instant
    level = peak = 0
    for _, delta in points:
        level += delta
        peak = max(peak, level)
    return peak


def test_four_nodes_strictly_sequential_thirty_times(weft, home):
    graph = nx.DiGraph([("start", "1"), ("start", "2"), ("2", "end")])
    store = Store(home)
    orders = set()
    for _ in range(30):
        result = weft("run", FOUR, "--max-parallel", "1", "--json")
        assert result.code == 0, result.err
        run_id = result.json()["run"]
        assert result.json()["state"] == "succeeded"
        intervals = _intervals(store, run_id)
        order = [n for n, _ in sorted(intervals.items(), key=lambda kv: kv[1][0])]
        position = {n: i for i, n in enumerate(order)}
        assert all(position[u] < position[v] for u, v in graph.edges), order
        assert _max_overlap(intervals) == 1, intervals
        spans = sorted(intervals.values())
        assert all(prev[1] <= nxt[0] for prev, nxt in zip(spans, spans[1:]))
        orders.add(tuple(order))
    assert orders <= {("start", "1", "2", "end"), ("start", "2", "1", "end"), ("start", "2", "end", "1")}


def test_four_nodes_with_two_at_once_never_exceeds_two(weft, home):
    store = Store(home)
    peaks = []
    for _ in range(5):
        result = weft("run", FOUR, "--max-parallel", "2", "--json")
        assert result.code == 0, result.err
        peaks.append(_max_overlap(_intervals(store, result.json()["run"])))
    assert max(peaks) <= 2
    assert max(peaks) == 2  # 1 and 2 are independent: with two slots they do overlap


def test_max_parallel_from_settings_is_respected(write, run_file, store):
    nodes = "".join(f"  - {{id: n{i}, command: [python3, -c, 'import time; time.sleep(0.2)']}}\n" for i in range(8))
    path = write("weft: 1\nname: wide\nsettings: {max_parallel: 3}\nnodes:\n" + nodes)
    run = run_file(path)
    assert run.state.value == "succeeded"
    assert run.max_parallel == 3
    assert _max_overlap(_intervals(store, run.id)) == 3


def test_when_conditions_choose_a_branch_and_skip_propagates(write, run_file, store):
    path = write(
        """
        weft: 1
        name: branch
        nodes:
          - {id: pick, command: [python3, pick.py], outputs: {n: int}}
          - {id: big, command: [python3, -c, "print('big')"]}
          - {id: small, command: [python3, -c, "print('small')"]}
          - {id: after-small, command: [python3, -c, "print('after')"]}
          - {id: join, command: [python3, -c, "print('join')"], trigger: any}
          - {id: cleanup, command: [python3, -c, "print('cleanup')"], trigger: always}
        edges:
          - {from: pick, to: big, when: "pick.n > 10"}
          - {from: pick, to: small, when: "pick.n <= 10"}
          - {from: small, to: after-small}
          - {from: big, to: join}
          - {from: after-small, to: join}
          - {from: join, to: cleanup}
          - {from: small, to: cleanup}
    """,
        pick="import weft_task as w; w.output('n', 42)",
    )
    run = run_file(path)
    assert states(run) == {
        "pick": "succeeded",
        "big": "succeeded",
        "small": "skipped",
        "after-small": "skipped",
        "join": "succeeded",
        "cleanup": "succeeded",
    }
    assert run.state.value == "succeeded"


def test_trigger_all_skips_and_failure_fails_the_run(write, run_file):
    path = write("""
        weft: 1
        name: failing
        nodes:
          - {id: a, command: [python3, -c, "raise SystemExit(3)"]}
          - {id: b, command: [python3, -c, "pass"]}
          - {id: c, command: [python3, -c, "pass"]}
          - {id: d, command: [python3, -c, "pass"], trigger: any}
        edges:
          - {from: a, to: c}
          - {from: b, to: c}
          - {from: a, to: d}
          - {from: b, to: d}
    """)
    run = run_file(path)
    assert states(run) == {"a": "failed", "b": "succeeded", "c": "skipped", "d": "succeeded"}
    assert run.state.value == "failed"
    assert run.state.exit_code == 1


def test_data_flows_along_typed_edges_with_files_in_the_workspace(weft):
    result = weft("run", EXAMPLES / "word-count.weft.yaml", "--json")
    assert result.code == 0, result.err
    show = weft("show", result.json()["run"], "--json").json()
    node_states = {n["id"]: n["state"] for n in show["nodes"]}
    assert node_states == {"read": "succeeded", "count": "succeeded", "report": "succeeded", "too-short": "skipped"}
    assert show["outputs"]["count"]["total"] == 20
    assert show["outputs"]["report"]["summary"]["top"][0] == "the"
    assert show["outputs"]["read"]["copy"] == "input.txt"  # stored relative to the workspace


def test_fully_dynamic_example_creates_and_runs_every_node(weft):
    result = weft("run", EXAMPLES / "fan-out.weft.yaml", "--json")
    assert result.code == 0, result.err
    show = weft("show", result.json()["run"], "--json").json()
    created = {n["id"]: n["created_by"] for n in show["nodes"]}
    assert created == {"plan": None, **{f"square-{i}": "plan" for i in range(1, 6)}, "sum": "plan"}
    assert all(n["state"] == "succeeded" for n in show["nodes"])
    assert show["outputs"]["sum"]["total"] == 55


def test_nothing_starts_while_a_dynamic_task_may_still_add_an_edge_into_it(write, run_file, store):
    path = write("""
        weft: 1
        name: hold
        settings: {max_parallel: 4}
        nodes:
          - {id: grow, command: [python3, -c, "import time; time.sleep(0.5)"], dynamic: true}
          - {id: other, command: [python3, -c, "pass"]}
    """)
    run = run_file(path)
    assert run.state.value == "succeeded"
    spans = _intervals(store, run.id)
    # `other` was ready at once, but `grow` could have added an edge into it until it ended
    assert spans["other"][0] >= spans["grow"][1]


def test_without_a_dynamic_node_independent_nodes_start_together(write, run_file, store):
    path = write("""
        weft: 1
        name: free
        settings: {max_parallel: 4}
        nodes:
          - {id: slow, command: [python3, -c, "import time; time.sleep(0.5)"]}
          - {id: other, command: [python3, -c, "pass"]}
    """)
    run = run_file(path)
    spans = _intervals(store, run.id)
    assert spans["other"][1] < spans["slow"][1]


def test_nodes_created_by_a_task_wait_for_their_edges_and_receive_data(write, run_file):
    path = write(
        """
        weft: 1
        name: grow
        nodes:
          - {id: seed, command: [python3, seed.py], dynamic: true, outputs: {n: int}}
    """,
        seed="""
        import weft_task as w
        w.output("n", 7)
        w.add_node({"id": "double", "command": ["python3", "double.py"], "inputs": {"x": "int"},
                    "outputs": {"y": "int"}})
        w.add_edge({"from": "seed.n", "to": "double.x"})
    """,
        double="""
        import weft_task as w
        w.output("y", 2 * w.inputs["x"])
    """,
    )
    run = run_file(path)
    assert states(run) == {"seed": "succeeded", "double": "succeeded"}
    assert run.outputs["double"] == {"y": 14}
    assert run.graph.created_by["double"] == "seed"


def test_fail_fast_cancels_what_has_not_finished(write, run_file):
    path = write("""
        weft: 1
        name: ff
        settings: {fail_fast: true, max_parallel: 2}
        nodes:
          - {id: bad, command: [python3, -c, "raise SystemExit(1)"]}
          - {id: slow, command: [python3, -c, "import time; time.sleep(30)"]}
          - {id: later, command: [python3, -c, "pass"]}
        edges:
          - {from: slow, to: later}
    """)
    run = run_file(path)
    assert run.state.value == "failed"
    assert states(run) == {"bad": "failed", "slow": "cancelled", "later": "cancelled"}


@pytest.mark.parametrize("flag", ["all", "any", "always"])
def test_a_node_without_incoming_edges_runs_whatever_its_trigger(write, run_file, flag):
    path = write(f"""
        weft: 1
        name: lone
        nodes:
          - {{id: only, command: [python3, -c, "pass"], trigger: {flag}}}
    """)
    assert states(run_file(path)) == {"only": "succeeded"}


def test_shell_true_runs_bin_sh_explicitly(write, run_file, store):
    path = write("""
        weft: 1
        name: sh
        nodes:
          - {id: s, shell: true, command: "echo $((6 * 7)) from $0"}
          - {id: argv, command: [echo, "$((6 * 7))", ";", "rm -rf /"]}
    """)
    run = run_file(path)
    logs = {r.event.node: r.event.message for r in store.events(run.id, (LogLine,)) if isinstance(r.event, LogLine)}
    assert logs["s"] == "42 from /bin/sh"
    assert logs["argv"] == "$((6 * 7)) ; rm -rf /"  # an argv list never reaches a shell


def test_empty_workflow_succeeds(write, run_file):
    run = run_file(write("weft: 1\nname: empty\nnodes: []\n"))
    assert run.state.value == "succeeded"


def test_when_error_at_run_time_fails_the_target_with_the_reason(write, run_file, store):
    path = write("""
        weft: 1
        name: when-error
        nodes:
          - {id: a, command: [python3, -c, "import weft_task as w; w.output('v', {'x': 1})"], outputs: {v: json}}
          - {id: b, command: [python3, -c, "pass"]}
        edges:
          - {from: a, to: b, when: "a.v.missing > 1"}
    """)
    run = run_file(path)
    assert states(run) == {"a": "succeeded", "b": "failed"}
    reason = snapshot(store, run.id).nodes["b"].reason or ""
    assert "a.v has no key 'missing'" in reason
