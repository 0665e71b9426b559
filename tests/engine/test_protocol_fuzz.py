"""Protocol fuzzing: tasks that say random things, valid and not, and an engine that holds.

Each example is a real run (real subprocesses, a real SQLite file) of a dynamic task that writes
a random sequence of lines: well-formed messages of every type (mutations that create nodes
which say random things in turn, promises of every kind, outputs of the right and the wrong
type, progress, style), messages that are structurally valid JSON but wrong, plain text,
carriage returns, control characters and broken JSON. Whatever it says, the run ends in a
final state, no engine error escapes (no traceback, no "internal error in the engine", no
"exception was never retrieved"), and the record is whole: integrity ok, events numbered
without gaps, every node's row agreeing with its last event.

`WEFT_FUZZ_EXAMPLES` sets the number of examples (default 200; try 3000 for a long session), and
`WEFT_FUZZ_RANDOM=1` draws new ones each time instead of the same seeded set.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import WorkflowInvalid
from engine.events import RunState
from engine.history.store import Store
from engine.running.run import Run
from engine.workflow.loader import load_text
from tests.engine.test_store_faults import check_record

EXAMPLES = int(os.environ.get("WEFT_FUZZ_EXAMPLES", "200"))

TASK = textwrap.dedent("""
    import json, sys
    start = json.loads(sys.stdin.readline())
    params = start.get("params") or {}
    sys.stdout.write(params.get("out", ""))
    sys.stdout.flush()
    sys.stderr.write(params.get("err", ""))
    sys.stderr.flush()
    sys.exit(int(params.get("exit", 0)))
""")


def text(max_size: int) -> st.SearchStrategy[str]:
    """Any text of the Basic Multilingual Plane, control characters included (the workflow is
    YAML, whose escapes cannot spell characters beyond it the way JSON does)."""
    return st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=max_size)


IDS = st.sampled_from(["root", "sink", "a", "b", "c", "m-1", "m-2", "bad id", "", "root.x"])
PORTS = st.sampled_from(["x", "y", "n", "missing"])
TYPES = st.sampled_from(
    ["json", "int", "str", "float", "bool", "list[int]", "dict[str, int]", "file", "int?", "list[", "nope"]
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    text(max_size=20),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text(max_size=5), inner, max_size=4)),
    max_leaves=12,
)
SELECTORS = st.one_of(IDS, st.just("m-*"), st.just("*"))
PROMISES = st.one_of(
    st.just({"static": {}}),
    st.builds(lambda by: {"no_new_nodes": {"by": by} if by else {}}, st.one_of(st.none(), SELECTORS)),
    st.builds(
        lambda f, t: {"no_new_edges": {k: v for k, v in (("from", f), ("to", t)) if v}},
        st.one_of(st.none(), IDS),
        st.one_of(st.none(), IDS),
    ),
    st.builds(lambda m: {"only_nodes": {"match": m}}, st.lists(SELECTORS, max_size=3)),
    st.builds(lambda p: {"only_edges": {"pairs": p}}, st.lists(st.tuples(SELECTORS, SELECTORS).map(list), max_size=2)),
    st.builds(lambda n: {"max_nodes": {"max": n}}, st.integers(min_value=-1, max_value=5)),
    st.builds(
        lambda p: {"shape": p},
        st.sampled_from(["root -> M* -> sink", "root -> (a | b) -> sink", "root -> sink", "root -> ((", "a -> b"]),
    ),
    JSON_VALUES,
)


def _quiet_line() -> st.SearchStrategy[str]:
    """Lines a created node writes: anything but mutations (which keeps the runs small)."""
    return st.one_of(
        st.builds(
            lambda m, lv: _msg("log", level=lv, message=m),
            text(max_size=30),
            st.sampled_from(["info", "debug", "warning", "error", "loud"]),
        ),
        st.builds(lambda f: _msg("progress", fraction=f), st.one_of(st.floats(-1, 2), text(max_size=3))),
        st.builds(lambda n, v: _msg("output", name=n, value=v), PORTS, JSON_VALUES),
        text(max_size=40).map(lambda t: t + "\n"),
        text(max_size=40).map(lambda t: t + "\r"),
    )


def _child(node_id: str, lines: list[str], extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": node_id,
        "command": [sys.executable, "task.py"],
        "outputs": {"x": "json?"},
        "params": {"out": "".join(lines)},
        **extra,
    }


NODE_EXTRAS = st.fixed_dictionaries(
    {},
    optional={
        "dynamic": st.booleans(),
        "outputs": st.dictionaries(PORTS, TYPES, max_size=2),
        "inputs": st.dictionaries(PORTS, TYPES, max_size=2),
        "timeout": st.sampled_from([0.5, 5, -1, "x"]),
        "retries": st.integers(0, 2),
        "trigger": st.sampled_from(["all", "any", "always", "some"]),
        "executor": st.sampled_from(["local", "nowhere"]),
        "workdir": st.sampled_from([".", "..", "/"]),
        "unknown_key": st.just(1),
    },
)
NODES = st.builds(_child, IDS, st.lists(_quiet_line(), max_size=4), NODE_EXTRAS)
EDGE_ENDS = st.one_of(IDS, st.builds(lambda n, p: f"{n}.{p}", IDS, PORTS))
EDGES = st.builds(
    lambda f, t, w: {"from": f, "to": t, **({"when": w} if w is not None else {})},
    EDGE_ENDS,
    EDGE_ENDS,
    st.one_of(st.none(), st.sampled_from(["a.x > 1", "root.x", "((", "len(1)"])),
)


def _msg(kind: str, **body: Any) -> str:
    return json.dumps({"weft": 1, "type": kind, **body}) + "\n"


@st.composite
def valid_mutations(draw: st.DrawFn, creator: str, depth: int) -> str:
    """A mutation the engine should take (most of the time): fresh nodes wired between their
    creator and `sink`, which may themselves be dynamic and grow the graph further."""
    prefix = draw(st.sampled_from(["m", "n", "p"])) + str(draw(st.integers(0, 30)))
    nodes, edges = [], []
    for i in range(draw(st.integers(1, 3))):
        node_id = f"{prefix}-{i}"
        lines = draw(st.lists(_quiet_line(), max_size=3))
        dynamic = depth > 0 and draw(st.booleans())
        if dynamic:
            lines += draw(st.lists(valid_mutations(node_id, depth - 1), max_size=2))
        nodes.append(_child(node_id, lines, {"dynamic": True} if dynamic else {}))
        edges += [{"from": creator, "to": node_id}, {"from": node_id, "to": "sink"}]
    promises = draw(st.lists(PROMISES, max_size=1)) if draw(st.integers(0, 3)) == 0 else []
    return _msg("mutate", nodes=nodes, edges=edges, promises=promises)


VALID_LINES = st.one_of(_quiet_line(), valid_mutations("root", 2), valid_mutations("root", 1))
HOSTILE_LINES = st.one_of(
    st.builds(
        lambda n, e, p: _msg("mutate", nodes=n, edges=e, promises=p),
        st.lists(NODES, max_size=3),
        st.lists(EDGES, max_size=3),
        st.lists(PROMISES, max_size=2),
    ),
    st.builds(lambda n: _msg("add_node", node=n), NODES),
    st.builds(lambda e: _msg("add_edge", edge=e), EDGES),
    st.builds(lambda p: _msg("promise", promise=p), PROMISES),
    st.builds(
        lambda n, s: _msg("style", node=n, style=s),
        IDS,
        st.dictionaries(st.sampled_from(["color", "label", "icon", "pos", "size"]), JSON_VALUES, max_size=2),
    ),
    st.builds(
        lambda p, f: _msg("ask", prompt=p, fields=f), text(max_size=10), st.dictionaries(PORTS, TYPES, max_size=2)
    ),
    st.builds(
        lambda d: json.dumps({"weft": 1, **d}) + "\n",
        st.dictionaries(
            st.sampled_from(["type", "nodes", "name", "value", "fraction", "weft"]), JSON_VALUES, max_size=3
        ),
    ),
    st.sampled_from(
        [
            '{"weft": 1, "type": "log"\n',
            '{"weft": NaN}\n',
            '{"weft": 1, "type": "output", "name": "x", "value": 1e999}\n',
            "\x1b]0;title\x07\n",
            "\x00\x01\x02\n",
            '{"weft": 2, "type": "log", "level": "info", "message": "v2"}\n',
            '{"weft": 1, "type": "log", "level": "info", "message": "' + "[" * 300 + '"}\n',
            '{"weft": 1, "type": "log", "x": ' + "[" * 500 + "]" * 500 + "}\n",
        ]
    ),
)
#: Two lines in three are meant to be taken, so runs get far enough to grow and to finish well.
LINES = st.one_of(VALID_LINES, VALID_LINES, HOSTILE_LINES)


@pytest.fixture(scope="module")
def fuzz_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Store]:
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "task.py").write_text(TASK)
    store = Store(folder / "home")
    yield folder, store
    store.close()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("WEFT_FUZZ_RANDOM") != "1",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(
    lines=st.lists(LINES, max_size=8),
    stderr=text(max_size=50),
    code=st.sampled_from([0, 0, 0, 1, -9 % 256]),
    promises=st.lists(PROMISES.filter(lambda p: isinstance(p, dict) and "shape" not in p), max_size=1),
)
def test_whatever_a_task_says_the_run_ends_and_its_record_is_whole(
    fuzz_home, caplog, lines, stderr, code, promises
) -> None:
    folder, store = fuzz_home
    workflow = {
        "weft": 1,
        "name": "fuzz",
        "settings": {"max_parallel": 2},
        "nodes": [
            {
                "id": "root",
                "command": [sys.executable, "task.py"],
                "dynamic": True,
                "outputs": {"x": "json?", "n": "int?"},
                "timeout": 20,
                "params": {"out": "".join(lines), "err": stderr, "exit": code},
            },
            {"id": "sink", "command": [sys.executable, "task.py"], "trigger": "always"},
        ],
        "edges": [{"from": "root", "to": "sink"}],
    }
    workflow["promises"] = promises
    text = json.dumps(workflow)
    try:
        loaded = load_text(text, "fuzz.weft.yaml", folder / "fuzz.weft.yaml")
    except WorkflowInvalid:  # a registration promise that cannot be made: run without it
        workflow["promises"] = []
        text = json.dumps(workflow)
        loaded = load_text(text, "fuzz.weft.yaml", folder / "fuzz.weft.yaml")
    run = Run(loaded, store, text=text)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        state = asyncio.run(asyncio.wait_for(run.execute(), 120))
    assert state.is_terminal and state is not RunState.PAUSED
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not problems, problems
    record = check_record(store.home, run.id)
    assert record["state"] == state.value and record["last_seq"] == run._seq
    for node, node_state in record["nodes"].items():
        assert node_state in ("succeeded", "failed", "skipped", "cancelled"), (node, node_state)
    reasons = [n.reason or "" for n in record["view"].nodes.values()]
    assert not [r for r in reasons if "internal error" in r], reasons
