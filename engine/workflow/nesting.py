"""Workflows inside workflows: a ``workflow:`` node becomes the nodes of the workflow it names.

A run never sees a ``workflow:`` node. At registration ``expand`` puts every included
workflow's nodes into the run under ids prefixed with the including node's id (``clean/read``,
``outer/inner/read``), rewires the edges that touched the node (an edge into ``clean.x`` feeds
every inner node reading ``inputs.x``; an edge from ``clean.total`` leaves the inner port that
output names; runs-after edges go into the inner nodes without an inner predecessor and out of
those without an inner successor), and rewrites the included workflow's promises so they hold
over its own nodes. ``groups`` says which run nodes make up each ``workflow:`` node, so the
run's record can show it with an aggregate state.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import heapq
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.languages import expr
from engine.languages.shape import rename_atoms
from engine.workflow.loader import Loaded
from engine.workflow.loops import find_loops, registered_edges
from engine.workflow.model import INPUTS, EdgeSpec, NodeSpec, PromiseSpec, ResolvedNode, Workflow

#: The task of the ``inputs`` node a run of a workflow with ``inputs:`` starts with: it hands
#: on the values ``weft run --input`` gave (its params) as its outputs, checked like any output.
_GIVE_INPUTS = (
    "import json, sys\n"
    "start = json.loads(sys.stdin.readline())\n"
    "for name, value in start['params']['values'].items():\n"
    "    print(json.dumps({'weft': 1, 'type': 'output', 'name': name, 'value': value}), flush=True)\n"
)

#: One place a value comes from: (run node id, its output port, a condition or None).
Endpoint = tuple[str, str | None, str | None]


@dataclass
class Expanded:
    """What a run registers: the workflow with every ``workflow:`` node expanded."""

    nodes: list[NodeSpec] = field(default_factory=list)
    edges: list[EdgeSpec] = field(default_factory=list)
    promises: list[PromiseSpec] = field(default_factory=list)
    resolved: dict[str, ResolvedNode] = field(default_factory=dict)
    #: each ``workflow:`` node (its run id) -> the run nodes it is made of, at any depth
    groups: dict[str, list[str]] = field(default_factory=dict)
    #: each group -> the loaded workflow it is, whose operators and types its tasks' nodes use
    scopes: dict[str, Loaded] = field(default_factory=dict)
    #: the loops' back edges, at every level (not registered: the iterations are)
    back_edges: list[EdgeSpec] = field(default_factory=list)
    #: the run's nodes (as written, ids prefixed) and every edge, back edges too, with the loops
    #: found in them: what drives the loops of included workflows (None: only the top's own)
    loops_view: Workflow | None = None


@dataclass
class _Placed:
    outputs: dict[str, tuple[str, str]]
    entries: list[str]
    exits: list[str]


def expand(loaded: Loaded, given: dict[str, Any] | None = None) -> Expanded:
    """The run's registration of ``loaded``; ``given`` are the values of its own ``inputs:``."""
    out = Expanded()
    workflow = loaded.workflow
    feeds: dict[str, list[Endpoint]] = {}
    if workflow.inputs is not None and any(e.source == INPUTS for e in workflow.edges):
        values = {name: (given or {}).get(name) for name in workflow.inputs}
        node = NodeSpec(
            id=INPUTS,
            command=[sys.executable, "-c", _GIVE_INPUTS],
            outputs=dict(workflow.inputs),
            executor="local",
            params={"values": values},
            description="the values the run was given (weft run --input)",
        )
        out.nodes.append(node)
        out.resolved[INPUTS] = dataclasses.replace(
            _resolve_inline(node, loaded), inputs={}, outputs=dict(workflow.inputs)
        )
        feeds = {name: [(INPUTS, name, None)] for name in workflow.inputs}
    if not workflow.included:  # nothing to expand: the workflow as written (and no copies)
        out.nodes.extend(workflow.nodes)
        out.edges.extend(registered_edges(workflow, workflow.loops))
        out.promises.extend(workflow.promises)
        out.resolved.update(loaded.nodes)
        out.scopes[""] = loaded
        return out
    written: list[NodeSpec] = []
    _place(loaded, "", feeds, workflow.folder, out, written)
    if out.back_edges:  # loops, some inside included workflows: one view of them all, by run ids
        view = Workflow(name=workflow.name, settings=workflow.settings, nodes=written)
        view.edges = [*out.edges, *out.back_edges]
        view.loops, _problems = find_loops(view)  # each file's loops were checked where written
        out.loops_view = view
    return out


def _resolve_inline(node: NodeSpec, loaded: Loaded) -> ResolvedNode:
    from engine.workflow.model import resolve_node

    return resolve_node(node, None, loaded.workflow.settings)


def _place(
    loaded: Loaded,
    prefix: str,
    feeds: dict[str, list[Endpoint]],
    root: Path,
    out: Expanded,
    written: list[NodeSpec],
) -> _Placed:
    """Put ``loaded``'s nodes into ``out`` under ``prefix``; ``feeds`` say where each of its
    inputs comes from (run endpoints). Returns where its outputs, entries and exits are.
    ``written`` gets each task node as written (its id prefixed), for the loops' view."""
    workflow = loaded.workflow
    out.scopes[prefix.rstrip("/")] = loaded
    rename = _renamer(workflow, prefix)
    first_node, first_edge = len(out.nodes), len(out.edges)
    placed: dict[str, _Placed] = {}
    by_id = _by_id(workflow)
    feeding: dict[str, list[EdgeSpec]] = {}
    for edge in workflow.edges:
        if edge.target in workflow.included and edge.target_port is not None:
            feeding.setdefault(edge.target, []).append(edge)
    for node_id in _order(workflow):
        spec = by_id[node_id]
        sub = workflow.included.get(node_id)
        if sub is None:
            run_id = prefix + node_id
            resolved = loaded.nodes[node_id]
            command = _rebase(resolved.command, workflow.folder, root)
            next_spec = dataclasses.replace(spec, id=run_id)
            if spec.command is not None:
                next_spec.command = command
            out.nodes.append(next_spec)
            written.append(dataclasses.replace(spec, id=run_id))
            cache = _cache(resolved, spec, workflow, root_cache(out))
            out.resolved[run_id] = dataclasses.replace(resolved, id=run_id, command=command, cache=cache)
            continue
        inner_feeds: dict[str, list[Endpoint]] = {}
        for edge in feeding.get(node_id, ()):
            if edge.target_port is not None:
                when = _rename_when(edge.when, rename)
                inner_feeds[edge.target_port] = [
                    (source, port, _both(when, inner_when))
                    for source, port, inner_when in _sources(edge, placed, feeds, prefix)
                ]
        start = len(out.nodes)
        placed[node_id] = _place(sub, f"{prefix}{node_id}/", inner_feeds, root, out, written)
        out.groups[prefix + node_id] = [n.id for n in out.nodes[start:]]
    back = {i for loop in workflow.loops for i in loop.back}
    for index, edge in enumerate(workflow.edges):
        if edge.target in placed and edge.target_port is not None:
            continue  # delivered to the readers of that input inside it
        # a loop's back edges are not registered (its iterations are: the run stays acyclic)
        into = out.back_edges if index in back else out.edges
        targets = (
            [(entry, None) for entry in placed[edge.target].entries]
            if edge.target in placed
            else [(prefix + edge.target, edge.target_port)]
        )
        when = _rename_when(edge.when, rename)
        for source, port, extra in _sources(edge, placed, feeds, prefix):
            for target, target_port in targets:
                into.append(
                    dataclasses.replace(
                        edge,
                        source=source,
                        source_port=port,
                        target=target,
                        target_port=target_port,
                        when=_both(when, extra),
                    )
                )
    operators = workflow.all_operators()
    for promise in workflow.promises:
        out.promises.extend(scoped_promises(promise, rename, prefix, operators))
    members = {n.id for n in out.nodes[first_node:]}
    has_inner_source = {e.target for e in out.edges[first_edge:] if e.source in members}
    has_inner_target = {e.source for e in out.edges[first_edge:] if e.target in members}
    outputs = {}
    for name, ref in (workflow.outputs or {}).items():
        node, _, port = ref.partition(".")
        outputs[name] = placed[node].outputs[port] if node in placed else (prefix + node, port)
    ordered = [n.id for n in out.nodes[first_node:]]
    return _Placed(
        outputs,
        [n for n in ordered if n not in has_inner_source],
        [n for n in ordered if n not in has_inner_target],
    )


def _sources(
    edge: EdgeSpec, placed: dict[str, _Placed], feeds: dict[str, list[Endpoint]], prefix: str
) -> list[Endpoint]:
    """The run endpoints an edge of this level starts from."""
    if edge.source == INPUTS and edge.source_port is not None and edge.source not in placed:
        return feeds.get(edge.source_port, [])
    group = placed.get(edge.source)
    if group is None:
        return [(prefix + edge.source, edge.source_port, None)]
    if edge.source_port is None:
        return [(exit_node, None, None) for exit_node in group.exits]
    node, port = group.outputs[edge.source_port]
    return [(node, port, None)]


def _both(first: str | None, second: str | None) -> str | None:
    if first is None or second is None:
        return first or second
    return f"({first}) and ({second})"


def _by_id(workflow: Workflow) -> dict[str, NodeSpec]:
    return {n.id: n for n in workflow.nodes}


def _order(workflow: Workflow) -> list[str]:
    """The workflow's nodes, each after every node it follows (file order otherwise); without
    its loops' back edges, the rest is acyclic (the loader has refused any other cycle)."""
    ids = [n.id for n in workflow.nodes]
    waiting = dict.fromkeys(ids, 0)
    after: dict[str, list[str]] = {}
    for e in registered_edges(workflow, workflow.loops):
        if e.source in waiting and e.target in waiting:
            waiting[e.target] += 1
            after.setdefault(e.source, []).append(e.target)
    index = {node: i for i, node in enumerate(ids)}
    ready = [i for i, n in enumerate(ids) if waiting[n] == 0]
    order: list[str] = []
    while ready:
        node = ids[heapq.heappop(ready)]
        order.append(node)
        for nxt in after.get(node, ()):
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                heapq.heappush(ready, index[nxt])
    return order


def _renamer(workflow: Workflow, prefix: str) -> Callable[[str], str]:
    """How a name in this workflow's promises and conditions reads in the run: a node id (or a
    node its tasks may create) gets the prefix; an operator name that is no node id stays."""
    if not prefix:
        return lambda name: name
    operators = set(workflow.all_operators())
    ids = {n.id for n in workflow.nodes}

    def rename(name: str) -> str:
        if "/" in name or (name in operators and name not in ids):
            return name
        return prefix + name

    return rename


def in_group(m: Any, expanded: Expanded) -> Loaded | None:
    """A task's mutation ``m`` (an ``engine.promises.graph.Mutation``) read in the workflow its
    node belongs to, which is returned (None: the top level, nothing changes).

    A task inside a ``workflow:`` node names nodes as its own workflow does: ``m1`` is
    ``clean/m1`` in the run, a node it creates gets the prefix, and its promises hold over its
    own workflow's nodes as that workflow's promises do. A name with a ``/`` is a full run id.
    A cached result replays the message as the task sent it, so it is read the same way."""
    group, slash, _ = (m.creator or "").rpartition("/")
    if not slash:
        return None
    loaded = expanded.scopes.get(group)
    if loaded is None:
        return None
    rename = _renamer(loaded.workflow, group + "/")
    for node in m.nodes:
        node.id = node.id if "/" in node.id else f"{group}/{node.id}"
    for edge in m.edges:
        edge.source, edge.target = rename(edge.source), rename(edge.target)
        edge.when = _rename_when(edge.when, rename)
    operators = loaded.workflow.all_operators()
    m.promises = [p for promise in m.promises for p in scoped_promises(promise, rename, group + "/", operators)]
    return loaded


def rebase_created(
    resolved: dict[str, ResolvedNode], scope: Loaded | None, top: Workflow, specs: Iterable[NodeSpec] = ()
) -> None:
    """Nodes a task inside a ``workflow:`` node created run their scripts from its folder, and
    take the top workflow's ``settings.cache`` as its own nodes do (``specs``: as created)."""
    if scope is None:
        return
    if top.settings.cache:
        by_id = {n.id: n for n in specs}
        for node_id, node in resolved.items():
            spec = by_id.get(node_id)
            if spec is not None:
                resolved[node_id] = dataclasses.replace(node, cache=_cache(node, spec, scope.workflow, True))
    if scope.workflow.folder == top.folder:
        return
    for node_id, node in resolved.items():
        resolved[node_id] = dataclasses.replace(node, command=_rebase(node.command, scope.workflow.folder, top.folder))


def root_cache(out: Expanded) -> bool:
    """Whether the top workflow says ``settings.cache: true`` (``Expanded.scopes['']``)."""
    top = out.scopes.get("")
    return bool(top is not None and top.workflow.settings.cache)


def _cache(resolved: ResolvedNode, spec: NodeSpec, workflow: Workflow, top_cache: bool) -> bool:
    """A node of an included workflow may reuse results when it, its operator or its own
    workflow's settings say so, and else when the top workflow's ``settings.cache`` does: the
    person running the top workflow asks it of every node (one that says ``cache: false``, or
    whose operator does, keeps its word)."""
    if resolved.cache or not top_cache or spec.cache is not None:
        return resolved.cache
    operator = workflow.all_operators().get(spec.operator) if spec.operator else None
    if operator is not None and operator.cache is not None:
        return resolved.cache
    return workflow.settings.cache is None or resolved.cache


def scoped_promises(
    promise: PromiseSpec, rename: Callable[[str], str], prefix: str, operators: Iterable[str] = ()
) -> list[PromiseSpec]:
    """A promise of an included workflow, over its own nodes: names renamed, and a promise that
    restricts everyone's mutations restricts only its own tasks' (``by: "PREFIX*"``).
    ``static`` becomes ``no_new_nodes`` and ``no_new_edges`` by those tasks.

    A glob matches the workflow's own node ids, so it gets the prefix (``m-*`` is
    ``clean/m-*``); one that matches an operator name of the workflow (operators are never
    prefixed) is kept as written too, beside the prefixed one where a list of selectors may
    stand (``by``, ``from``, ``to``, ``match``, ``pairs``), and alone in a shape pattern."""
    if not prefix:
        return [promise]
    mine = f"{prefix}*"
    op_names = tuple(operators)

    def names(value: Any) -> Any:
        if value is None:
            return None
        written = [value] if isinstance(value, str) else value
        found = [s for v in written for s in _selector(v, rename, prefix, op_names)]
        return found[0] if isinstance(value, str) and len(found) == 1 else found

    def shape_glob(glob: str) -> str:
        return glob if _names_an_operator(glob, op_names) or "/" in glob else prefix + glob

    if promise.kind == "static":
        return [
            PromiseSpec("no_new_nodes", {"by": mine}, promise.id, loc=promise.loc),
            PromiseSpec("no_new_edges", {"by": mine}, promise.id, loc=promise.loc),
        ]
    if promise.kind == "shape":
        subs = (promise.where or {}).keys()
        pattern = rename_atoms(promise.args, subs, rename, shape_glob)
        where = {k: rename_atoms(v, subs, rename, shape_glob) for k, v in (promise.where or {}).items()}
        by = names(promise.by) if promise.by is not None else mine
        return [dataclasses.replace(promise, args=pattern, where=where or promise.where, by=by)]
    args = {k: (names(v) if k != "pairs" and k != "max" else v) for k, v in promise.args.items()}
    if "pairs" in args:
        args["pairs"] = [[names(a), names(b)] for a, b in args["pairs"]]
    if args.get("by") is None:
        args["by"] = mine
    return [dataclasses.replace(promise, args=args)]


def _selector(value: str, rename: Callable[[str], str], prefix: str, operators: tuple[str, ...]) -> list[str]:
    """A selector as the run reads it: a name renamed; a glob prefixed (it matches the
    workflow's own node ids), and also kept as written if it matches one of its operators."""
    if not any(c in value for c in "*?["):
        return [rename(value)]
    if "/" in value:  # written against full run ids
        return [value]
    prefixed = prefix + value
    return [prefixed, value] if _names_an_operator(value, operators) else [prefixed]


def _names_an_operator(glob: str, operators: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(op, glob) for op in operators)


def _rename_when(text: str | None, rename: Callable[[str], str]) -> str | None:
    """A condition with the node ids it reads renamed (a renamed id is written in backticks)."""
    if text is None:
        return None
    refs = expr.parse(text).references()
    out, last = [], 0
    for ref in refs:
        quoted = text[ref.offset] == "`"
        length = len(ref.node) + (2 if quoted else 0)
        out += [text[last : ref.offset], expr.node_reference(rename(ref.node))]
        last = ref.offset + length
    out.append(text[last:])
    return "".join(out)


def _rebase(command: list[str] | str | None, folder: Path, root: Path) -> list[str] | str | None:
    """An included workflow's argv, whose scripts are relative to its own folder, as seen from
    the folder the run's tasks start in (the top workflow's): as for an imported operator."""
    if not isinstance(command, list) or folder == root:
        return command
    rebased = list(command)
    for i, arg in enumerate(rebased):
        candidate = folder / arg
        if i > 0 and not os.path.isabs(arg) and candidate.is_file():
            rebased[i] = os.path.relpath(candidate, root)
    return rebased
