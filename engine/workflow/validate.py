"""Checks that need more than one record: references, port types, conditions, cycles.

``GraphChecker`` is used twice: once over a whole workflow when it is loaded, and once per
task mutation over just the new nodes and edges against the run's current graph. Problems are
collected, never raised one by one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path as FilePath
from typing import Any

from engine.errors import ExpressionError, Location, ProblemCollector, TypeSyntaxError
from engine.languages import expr
from engine.languages.porttypes import Optional, PortType, TypeRegistry
from engine.languages.shape import compile_shape
from engine.workflow.digraph import DiGraph
from engine.workflow.libraries import LibraryMiss, parse_ref
from engine.workflow.loops import find_loops
from engine.workflow.model import (
    INPUTS,
    EdgeSpec,
    NodeSpec,
    OperatorSpec,
    ParamSpec,
    PromiseSpec,
    ResolvedNode,
    TaskFields,
    Workflow,
    declaration_of,
    ports_of,
    resolve_node,
)
from engine.workflow.params import value_problem
from engine.workflow.records import MessageSource, Source, did_you_mean
from engine.workflow.wiring import missing_port, wire_problem
from engine.workflow.yamlsrc import Path

#: What ``node_of`` answers for a node that exists but whose own definition was faulty (and
#: already reported): edges touching it are not checked, so one mistake gives one error.
UNCHECKABLE: Any = object()
#: Settings naming a folder a task uses on the host: its working directory, its image's build context.
FOLDER_FIELDS = ("workdir", "build")


def real_path(path: FilePath | str) -> FilePath:
    """``path`` absolute, with symlinks followed as far as they lead. Unlike ``Path.resolve``
    it never raises: a symlink loop, a too-long name or a file used as a folder stay as written
    (and fail, with a reason, when opened)."""
    return FilePath(os.path.realpath(path))


def outside_folder(text: str, folder: FilePath, what: str = "folder") -> str | None:
    """Why the folder (or, with ``what="path"``, the file) ``text``, relative to the workflow's
    ``folder``, may not be used, or None.

    A workflow runs its tasks in its own folder; a ``workdir`` or ``build`` leaving it (``..``,
    an absolute path, a symlink pointing out) would let a file someone hands you run its
    commands in, or send to Docker, any folder of your machine; a ``file`` param leaving it
    would point its task at any file (``~/.ssh/id_rsa``). The folder itself is allowed.
    """
    if os.path.isabs(text):
        return f"is an absolute path; it must be a {what} inside the workflow's folder, written relative to it"
    root = real_path(folder)
    if not real_path(root / text).is_relative_to(root):
        return f"leaves the workflow's folder (symlinks followed); it must be a {what} inside it"
    return None


class GraphChecker:
    """Checks nodes and edges of one workflow's graph against its operators and types."""

    def __init__(self, workflow: Workflow, registry: TypeRegistry, source: Source, problems: ProblemCollector) -> None:
        self.workflow = workflow
        self.registry = registry
        self.source = source
        self.problems = problems
        self._operators = workflow.all_operators()
        self._node_of: Callable[[str], Any] = lambda _node: None
        self._folders_checked: set[str] = set()  # operators whose workdir and build were checked

    def error(self, where: Location | Path, message: str) -> None:
        loc = where if isinstance(where, Location) else self.source.at(where)
        self.problems.add(loc, message)

    def port_types(self, ports: Mapping[str, str] | None, path: Path, what: str) -> dict[str, PortType]:
        out: dict[str, PortType] = {}
        for name, text in (ports or {}).items():
            try:
                out[name] = self.registry.parse(text)
            except TypeSyntaxError as exc:
                self.error(path + (name,), f"{what} '{name}': {exc}")
        return out

    def check_operator(self, op: OperatorSpec, path: Path) -> None:
        self.port_types(op.inputs, path + ("inputs",), "input")
        self.port_types(op.outputs, path + ("outputs",), "output")
        self._folders_checked.add(op.name)
        self.folders(op, lambda name: path + (name,))
        self.own_params(op, path)

    def own_params(self, spec: TaskFields, path: Path | Location) -> bool:
        """An operator's (or inline node's) declared file defaults and its own params fit its
        declaration. ``path`` is a place in this text, or the location of a library operator."""

        def where(*parts: Any) -> Location | Path:
            return path if isinstance(path, Location) else path + parts

        schema = spec.params_schema or {}
        ok = True
        for name, declared in schema.items():
            if declared.type == "file" and declared.default is not None:
                ok = self.param_value(name, declared, declared.default, where("params_schema", name, "default")) and ok
        for name, value in (spec.params or {}).items():
            if name in schema:
                ok = self.param_value(name, schema[name], value, where("params", name)) and ok
        return ok

    def param_value(self, name: str, declared: ParamSpec, value: Any, where: Location | Path) -> bool:
        """One param's value against its declaration; a ``file`` stays in the workflow's folder."""
        problem = value_problem(declared, value)
        if problem is None and declared.type == "file":
            reason = outside_folder(value, self.workflow.folder, "path")
            problem = f"'{value}' {reason}" if reason else None
        if problem is not None:
            self.error(where, f"param '{name}' {problem}")
        return problem is None

    def folders(self, spec: TaskFields, where: Callable[[str], Location | Path]) -> bool:
        """Check that ``spec``'s own workdir and build stay in the workflow's folder; ``where(field)``
        places a problem. True when they do."""
        ok = True
        for name in FOLDER_FIELDS:
            value = getattr(spec, name)
            reason = outside_folder(value, self.workflow.folder) if value is not None else None
            if reason is not None:
                self.error(where(name), f"{name} '{value}' {reason}")
                ok = False
        return ok

    def resolve(self, node: NodeSpec, path: Path) -> ResolvedNode | None:
        """The node merged with its operator, or ``None`` (with a problem) if it cannot be.

        Also the door for nodes a task creates, so a folder leaving the workflow's is refused
        there too. An operator's own folders are checked once (library operators when first used).
        """
        if node.workflow is not None:
            return self._included(node, path)
        operator = None
        if node.operator is not None:
            operator = self._operators.get(node.operator)
            if operator is None and parse_ref(node.operator) is not None:
                if self.workflow.find_operator is None:
                    return None  # the loader reported why it is not there
                try:  # a task's node may name a library operator the text did not (weft:sleep)
                    operator = self._operators[node.operator] = self.workflow.find_operator(node.operator)
                except LibraryMiss as exc:
                    self.error(path + ("operator",), f"operator '{node.operator}': {exc}")
                    return None
            if operator is None:
                hint = did_you_mean(node.operator, list(self._operators))
                self.error(path + ("operator",), f"unknown operator '{node.operator}'{hint}")
                return None
        if node.operator is None:
            self.port_types(node.inputs, path + ("inputs",), "input")
            self.port_types(node.outputs, path + ("outputs",), "output")
        ok = self.folders(node, lambda name: path + (name,))
        if operator is not None and operator.name not in self._folders_checked:
            self._folders_checked.add(operator.name)
            written: Location | Path = operator.loc or path + ("operator",)  # in its own file
            ok = self.folders(operator, lambda _name: written) and ok
            self.own_params(operator, written)
        self.node_params(node, operator, path)
        return resolve_node(node, operator, self.workflow.settings) if ok else None

    def _included(self, node: NodeSpec, path: Path) -> ResolvedNode | None:
        """A ``workflow:`` node: its ports are the included workflow's inputs and outputs."""
        sub = self.workflow.included.get(node.id)
        if sub is None:
            if not isinstance(self.source, MessageSource):
                return None  # the loader reported why it could not be read
            self.error(
                path + ("workflow",), "a task cannot add a workflow node (only nodes with a command or operator)"
            )
            return None
        inputs, outputs = ports_of(sub.workflow, sub.nodes)
        ok = True
        for ports, what in ((inputs, "input"), (outputs, "output")):
            for name, text in ports.items():
                try:
                    self.registry.parse(text)
                except TypeSyntaxError as exc:
                    self.error(path + ("workflow",), f"workflow {what} '{name}': {exc} (name the type here too)")
                    ok = False
        shown = NodeSpec(id=node.id, inputs=inputs, outputs=outputs, style=node.style)
        return resolve_node(shown, None) if ok else None

    def node_params(self, node: NodeSpec, operator: OperatorSpec | None, path: Path) -> None:
        """The params a node sets fit what its task declares, and every required one is set.

        A wrong param is reported but leaves the node's ports usable, so its edges are still
        checked; a node a task creates with a wrong param is refused like any faulty node."""
        schema = declaration_of(node, operator)
        if schema is None:
            return
        if node.operator is None:
            self.own_params(node, path)  # an inline node declares and sets its own
        else:
            for name, value in (node.params or {}).items():
                if name in schema:
                    self.param_value(name, schema[name], value, path + ("params", name))
        given = {**((operator.params if operator is not None else None) or {}), **(node.params or {})}
        for name, declared in schema.items():
            if declared.is_required and name not in given:
                by = f"operator '{node.operator}'" if node.operator else "its params_schema"
                self.error(path, f"node '{node.id}' must set param '{name}' ({declared.type}, required by {by})")

    def check_edges(
        self,
        edges: Iterable[tuple[EdgeSpec, Path]],
        node_of: Callable[[str], ResolvedNode | None],
        fed: dict[tuple[str, str], EdgeSpec],
        known_edges: Callable[[EdgeSpec], bool],
        is_upstream: Callable[[str, str], bool] | None,
        back: bool = False,
    ) -> list[EdgeSpec]:
        """Check each edge; return the ones that are sound enough to put into a graph.

        ``fed`` maps (node, input) to the data edge feeding it and is updated; ``known_edges``
        tells whether the same edge (same ends, same ports) already exists; ``is_upstream(ref, source)``
        tells whether a ``when`` may read ``ref``'s outputs (None: checked later); ``back``: these
        are a loop's back edges, which may go from a node to itself.
        """
        good: list[EdgeSpec] = []
        seen: set[tuple[str, str]] = set()
        self._node_of = node_of  # conditions check the ports they read against it
        for edge, path in edges:
            ends = []
            for end, node_id, port in (("from", edge.source, edge.source_port), ("to", edge.target, edge.target_port)):
                node = node_of(node_id)
                if node is UNCHECKABLE:
                    break  # that node's own problem is reported already
                if node is None:
                    self.error(path + (end,), f"edge {end} unknown node '{node_id}'{self._node_hint(node_id)}")
                    break
                ends.append(node)
                ports = node.outputs if end == "from" else node.inputs
                missing = missing_port(node_id, ports, port, end == "from") if port is not None else None
                if missing is not None:
                    self.error(path + (end,), missing)
                    break
            else:
                source, target = ends
                if not self._edge_ok(edge, path, source, target, fed, seen, known_edges, is_upstream, back):
                    continue
                good.append(edge)
        return good

    def _edge_ok(
        self,
        edge: EdgeSpec,
        path: Path,
        source: ResolvedNode,
        target: ResolvedNode,
        fed: dict[tuple[str, str], EdgeSpec],
        seen: set[tuple[str, str]],
        known_edges: Callable[[EdgeSpec], bool],
        is_upstream: Callable[[str, str], bool] | None,
        back: bool = False,
    ) -> bool:
        pair = (edge.source_text, edge.target_text)
        duplicate = pair in seen or known_edges(edge)
        data = edge.source_port is not None and edge.target_port is not None
        key = (edge.target, edge.target_port or "")
        fed_by = fed.get(key) if data else None
        try:
            problem = wire_problem(
                edge, source.outputs, target.inputs, self.registry, duplicate=duplicate, fed_by=fed_by, back=back
            )
        except TypeSyntaxError:
            problem = ""  # the port's bad type is reported where it is declared
        if edge.source != edge.target and not duplicate:
            seen.add(pair)  # a later copy of this edge is a duplicate, whatever else is wrong with it
        if problem is not None:
            if problem:
                self.error(path, problem)
            return False
        if data:
            fed[key] = edge
        if edge.when is not None:
            return self.check_when(edge, path, is_upstream)
        return True

    def check_when(self, edge: EdgeSpec, path: Path, is_upstream: Callable[[str, str], bool] | None) -> bool:
        within = getattr(self.source, "within", None)  # exact through quotes and block scalars

        def at(offset: int) -> Location:  # asked only for a problem: a place this deep is looked up again
            if within:
                return within(path + ("when",), edge.when or "", offset)
            return self.source.at(path + ("when",)).shifted(offset)

        try:
            parsed = expr.parse(edge.when or "")
        except ExpressionError as exc:
            self.error(at(exc.offset), f"bad condition: {exc.message}")
            return False
        ok = True
        for ref in parsed.references():
            if is_upstream is not None and not is_upstream(ref.node, edge.source):
                self.error(
                    at(ref.offset),
                    f"condition reads '{ref.node}', which does not finish before {edge.source} -> {edge.target}"
                    f"{self._node_hint(ref.node)}",
                )
                ok = False
                continue
            if ref.node in self._workflow_nodes():
                self.error(
                    at(ref.offset),
                    f"condition reads '{ref.node}', a workflow: node, which runs no task of its own: "
                    "a condition reads task nodes only (put it on an edge inside that workflow, "
                    "or hand the value on through a node)",
                )
                ok = False
                continue
            node = self._node_of(ref.node) if ref.port is not None else None
            if isinstance(node, ResolvedNode) and ref.port not in node.outputs:
                outputs = ", ".join(node.outputs) or "none"
                self.error(
                    at(ref.offset),
                    f"condition reads {ref.node}.{ref.port}, but '{ref.node}' has no output "
                    f"'{ref.port}' (outputs: {outputs}){did_you_mean(ref.port or '', list(node.outputs))}",
                )
                ok = False
        return ok

    def _workflow_nodes(self) -> frozenset[str]:
        """The ids of the workflow's ``workflow:`` nodes (asked only for conditions)."""
        found = getattr(self, "_groups", None)
        if found is None:
            found = self._groups = frozenset(n.id for n in self.workflow.nodes if n.workflow)
        return found

    def _node_hint(self, node_id: str) -> str:
        ids = [n.id for n in self.workflow.nodes]
        return "" if node_id in ids else did_you_mean(node_id, ids)


def validate_workflow(
    workflow: Workflow,
    registry: TypeRegistry,
    source: Source,
    problems: ProblemCollector,
    *,
    node_paths: list[Path] | None = None,
    edge_paths: list[Path] | None = None,
) -> dict[str, ResolvedNode]:
    """Every cross-record check over a loaded workflow; returns the resolved nodes.

    ``node_paths`` / ``edge_paths`` say where each node and edge stands in the text (default:
    ``("nodes", i)``), since records the reader dropped leave gaps in the numbering.
    """
    checker = GraphChecker(workflow, registry, source, problems)
    node_paths = node_paths or [("nodes", i) for i in range(len(workflow.nodes))]
    edge_paths = edge_paths or [("edges", i) for i in range(len(workflow.edges))]
    for name, op in workflow.operators.items():
        checker.check_operator(op, ("operators", name))
    resolved: dict[str, ResolvedNode] = {}
    for i, node in enumerate(workflow.nodes):
        path: Path = node_paths[i]
        if node.id in resolved:
            checker.error(path + ("id",), f"duplicate node id '{node.id}'")
            continue
        r = checker.resolve(node, path)
        if r is not None:
            resolved[node.id] = r
    ids = {n.id for n in workflow.nodes}
    own_inputs = workflow_inputs(checker, workflow, ids, node_paths)
    loops, loop_problems = find_loops(workflow)
    workflow.loops = loops
    # back edges, and edges from a node to itself (a loop's, or a cycle reported below)
    back = {i for loop in loops for i in loop.back} | {i for i, e in enumerate(workflow.edges) if e.source == e.target}
    graph = DiGraph()  # without back edges: a loop's iterations follow one another
    graph.add_nodes_from(n.id for n in workflow.nodes)
    for i, e in enumerate(workflow.edges):
        if e.source in ids and e.target in ids and e.source != e.target and i not in back:
            graph.add_edge(e.source, e.target)
    fed: dict[tuple[str, str], EdgeSpec] = {}

    def upstream(ref: str, source_node: str) -> bool:
        return ref == source_node or graph.has_path(ref, source_node)

    def node_of(n: str) -> Any:
        if n in resolved:
            return resolved[n]
        if n in ids:
            return UNCHECKABLE
        return own_inputs if n == INPUTS else None

    checkable = None if loop_problems else upstream  # a cycle that is no loop: no order to check against
    checker.check_edges(
        ((e, edge_paths[i]) for i, e in enumerate(workflow.edges) if i not in back),
        node_of,
        fed,
        lambda e: False,
        checkable,
    )
    # a back edge feeds the next iteration's entry: the port an edge from outside feeds for the first
    checker.check_edges(
        ((workflow.edges[i], edge_paths[i]) for i in sorted(back)), node_of, {}, lambda e: False, checkable, back=True
    )
    groups = {n.id for n in workflow.nodes if n.workflow}
    for loop in loops if groups else ():
        inside = [m for m in loop.members if m in groups]
        if inside:  # its iterations would copy a node that is a whole workflow in the run
            checker.error(
                edge_paths[loop.back[0]],
                f"the loop at '{loop.entry}' goes through '{inside[0]}', a workflow: node: a loop of "
                "workflow: nodes is not supported (put the loop inside that workflow)",
            )
    for problem in loop_problems:
        if problem.edge is not None:
            checker.error(edge_paths[problem.edge], problem.message)
        else:
            checker.error(node_paths[problem.node or 0], problem.message)
    workflow_outputs(checker, workflow, resolved, ids)
    for i, promise in enumerate(workflow.promises):
        if promise.kind == "shape":
            check_anchors(checker, promise, ("promises", i), ids)
    # An input some edge aims at, which failed a check, has its problem reported at that edge.
    aimed = {(e.target, e.target_port) for e in workflow.edges if e.target_port is not None}
    if not any(r.dynamic for r in resolved.values()):
        for node_id, r in resolved.items():
            for port, text in r.inputs.items():
                try:
                    optional = isinstance(registry.parse(text), Optional)
                except TypeSyntaxError:
                    continue  # reported where the port is declared
                if (node_id, port) not in fed and (node_id, port) not in aimed and not optional:
                    i = next(i for i, n in enumerate(workflow.nodes) if n.id == node_id)
                    checker.error(
                        node_paths[i],
                        f"input '{port}' of node '{node_id}' is not fed by any data edge "
                        f"(make it optional with '{text}?' or add an edge)",
                    )
    return resolved


def workflow_inputs(
    checker: GraphChecker, workflow: Workflow, ids: set[str], node_paths: list[Path]
) -> ResolvedNode | None:
    """What edges ``from: inputs.NAME`` read: a node whose outputs are the declared inputs
    (None: the workflow declares none). No node may then be called ``inputs``."""
    for i, edge in enumerate(workflow.edges):
        if edge.target == INPUTS and INPUTS not in ids:
            checker.error(
                ("edges", i, "to"), "an edge cannot lead into 'inputs' (the workflow's inputs are read from it)"
            )
        elif edge.source == INPUTS and INPUTS not in ids and workflow.inputs is None:
            checker.error(("edges", i, "from"), f"edge from '{edge.source_text}', but the workflow declares no inputs:")
        elif edge.source == INPUTS and edge.source_port is None and workflow.inputs is not None:
            checker.error(("edges", i, "from"), "an edge from the workflow's inputs names one: 'inputs.NAME'")
    if workflow.inputs is None:
        return None
    if INPUTS in ids:
        i = next(i for i, n in enumerate(workflow.nodes) if n.id == INPUTS)
        checker.error(node_paths[i] + ("id",), "a workflow that declares inputs: has no node called 'inputs'")
    ports = checker.port_types(workflow.inputs, ("inputs",), "workflow input")
    if len(ports) < len(workflow.inputs):
        return None
    return resolve_node(NodeSpec(id=INPUTS, outputs=workflow.inputs), None)


def workflow_outputs(
    checker: GraphChecker, workflow: Workflow, resolved: dict[str, ResolvedNode], ids: set[str]
) -> None:
    """Each declared output names an output port of a node of this workflow."""
    for name, ref in (workflow.outputs or {}).items():
        node, dot, port = ref.partition(".")
        where: Path = ("outputs", name)
        if not dot or not port:
            checker.error(where, f"workflow output '{name}' must name a node's port ('NODE.PORT'), not '{ref}'")
        elif node not in ids:
            checker.error(where, f"workflow output '{name}': unknown node '{node}'{did_you_mean(node, sorted(ids))}")
        elif node in resolved and port not in resolved[node].outputs:
            outputs = ", ".join(resolved[node].outputs) or "none"
            hint = did_you_mean(port, list(resolved[node].outputs))
            checker.error(
                where, f"workflow output '{name}': node '{node}' has no output '{port}' (outputs: {outputs}){hint}"
            )


def check_anchors(checker: GraphChecker, promise: PromiseSpec, path: Path, ids: set[str]) -> None:
    """A shape promise's anchors are nodes of the workflow (its pattern was read already)."""
    shape = compile_shape(promise.args, promise.where)
    within = getattr(checker.source, "within", None)
    for atom in shape.anchor_atoms():
        if atom.name not in ids:
            at = within(path + ("shape",), promise.args, atom.offset) if within else path + ("shape",)
            checker.error(
                at, f"shape anchor '{atom.name}' is not a node of this workflow{did_you_mean(atom.name, sorted(ids))}"
            )
