"""The workflow being edited: the engine's model plus what editing needs, and no Qt.

Every user edit goes through a method here (called by an undo command), and every change is
announced through ``events``; the canvas and the panels only mirror what they hear. The
workflow may be invalid while someone edits it (an input not wired yet), so nothing here
refuses an edit for being incomplete: ``Validate`` and ``Run`` ask the engine's loader.
Only what can never be right is refused at once: a wire between incompatible types, a
second wire into one input, a cycle that can never be a loop. A wire that closes a cycle into
the node that would be its loop's single entry is accepted (``back_edge``): it is the loop's
back edge, which still needs its ``when`` (``Validate`` says so, in the engine's words).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from engine.errors import ExpressionError, Problem, TypeSyntaxError
from engine.languages import expr
from engine.languages.porttypes import TypeRegistry
from engine.workflow.libraries import seen_from
from engine.workflow.loader import read_text, read_text_leniently
from engine.workflow.loops import Loop, find_loops
from engine.workflow.model import EdgeSpec, NodeSpec, OperatorSpec, PromiseSpec, ResolvedNode, Workflow, resolve_node
from engine.workflow.roundtrip import merge_text
from engine.workflow.wiring import wire_problem
from engine.workflow.writer import workflow_data, write_text
from studio.model import subworkflows
from studio.model.events import Events
from studio.model.library import LibraryFile, import_path, import_text, read_library, rebase_import
from studio.model.regions import Region, region_members, shape_anchors
from studio.model.subworkflows import SubWorkflow

#: The ports every node has for runs-after edges (names no data port can have).
AFTER = "(after)"
THEN = "(then)"


@dataclass(frozen=True)
class EdgeKey:
    """What identifies an edge: two edges with the same ends and ports are duplicates."""

    source: str
    source_port: str | None
    target: str
    target_port: str | None

    @classmethod
    def of(cls, edge: EdgeSpec) -> EdgeKey:
        return cls(edge.source, edge.source_port, edge.target, edge.target_port)

    @property
    def canvas_ports(self) -> tuple[str, str]:
        """The canvas ports the edge joins: data ports, or the runs-after ports."""
        return (self.source_port or THEN, self.target_port or AFTER)

    def __str__(self) -> str:
        src = self.source if self.source_port is None else f"{self.source}.{self.source_port}"
        dst = self.target if self.target_port is None else f"{self.target}.{self.target_port}"
        return f"{src} -> {dst}"


@dataclass
class RemovedNode:
    """Everything ``remove_node`` took away, so ``restore_node`` can put it back exactly."""

    index: int
    spec: NodeSpec
    edges: list[tuple[int, EdgeSpec]] = field(default_factory=list)


class Document:
    def __init__(
        self,
        workflow: Workflow | None = None,
        path: Path | None = None,
        problems: list[Problem] | None = None,
        source_text: str | None = None,
    ) -> None:
        self.workflow = workflow or Workflow(name="untitled")
        #: the text it was read from (or last saved as): saving writes over it, keeping what
        #: people wrote there (comments, order, style) wherever the model did not change
        self.source_text = source_text
        self.path = Path(path).resolve() if path else None
        self.workflow.path = self.path
        #: library folders a workflow that includes this one hands down to it (when it was
        #: opened from a `workflow:` node): its own names come after them, as in a run
        self.inherited_libraries: list[str] = []
        #: problems the text had when it was opened (the document holds what was readable)
        self.problems: list[Problem] = list(problems or [])
        self.events = Events(
            "reset",
            "node_added",
            "node_removed",
            "node_changed",
            "edge_added",
            "edge_removed",
            "node_renamed",
            "nodes_moved",
            "promises_changed",
            "workflow_changed",
            "path_changed",
        )
        self.revision = 0
        self._libraries: dict[str, LibraryFile] = {}
        self._registry: TypeRegistry | None = None
        self._regions: tuple[int, list[Region]] | None = None
        self._back: tuple[int, set[EdgeKey], set[str]] | None = None
        self._index: tuple[int, dict[str, NodeSpec], dict[EdgeKey, EdgeSpec]] | None = None
        self._resolved: tuple[int, dict[int, tuple[NodeSpec, ResolvedNode | None]]] = (-1, {})
        self._operators: tuple[int, dict[str, OperatorSpec]] | None = None
        self._load_imports()

    # -- opening and saving -----------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, inherited: Sequence[str] = ()) -> Document:
        """Read a workflow file; with problems, the document holds what could be read.
        ``inherited``: the library folders a workflow that includes it hands down."""
        path = Path(path)
        text = read_text(path)  # InvalidInput (no such file, not UTF-8) goes to the caller
        workflow, _loaded, problems = read_text_leniently(text, str(path), path.resolve(), inherited)
        document = (
            cls(workflow, path, problems.problems, text)
            if workflow is not None
            else cls(Workflow(name=path.name.split(".")[0]), path, problems.problems)
        )
        document.inherited_libraries = list(inherited)
        return document

    @classmethod
    def from_text(cls, text: str, path: Path | None = None, file: str = "<text>") -> Document:
        workflow, _loaded, problems = read_text_leniently(text, file, path.resolve() if path else None)
        return cls(workflow or Workflow(name="workflow"), path, problems.problems, text if workflow else None)

    @property
    def complete(self) -> bool:
        """False when the text it came from had problems (saving may then drop some of it)."""
        return not self.problems

    def text(self) -> str:
        """The workflow's text: over the text it came from when there is one (so only what
        changed changes), else written afresh."""
        if self.source_text is not None:
            merged = merge_text(self.source_text, workflow_data(self.workflow))
            if merged is not None:
                return merged
        return write_text(self.workflow)

    def save(self, path: str | Path | None = None) -> Path:
        """Write the workflow text; a new location rewrites relative imports to stay right."""
        target = Path(path or self.path or "untitled.weft.yaml").resolve()
        if target != self.path:
            self.workflow.imports = [rebase_import(i, self.path, target) for i in self.workflow.imports]
            self._libraries = {rebase_import(i, self.path, target): lib for i, lib in self._libraries.items()}
        text = self.text()
        mode = _file_mode(target)
        fd, tmp = tempfile.mkstemp(prefix=".weft-", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.chmod(tmp, mode)  # mkstemp makes it private: keep the file's own, or the usual
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        moved = target != self.path
        self.source_text = text
        self.path = target
        self.workflow.path = target
        self.problems = []
        if moved:
            self.events.path_changed.emit(target)
        return target

    # -- reading ----------------------------------------------------------------------------

    @property
    def nodes(self) -> list[NodeSpec]:
        return self.workflow.nodes

    @property
    def edges(self) -> list[EdgeSpec]:
        return self.workflow.edges

    @property
    def promises(self) -> list[PromiseSpec]:
        return self.workflow.promises

    def _indexes(self) -> tuple[dict[str, NodeSpec], dict[EdgeKey, EdgeSpec]]:
        """Lookups by id and by edge key, rebuilt after each change (big workflows need O(1))."""
        if self._index is None or self._index[0] != self.revision:
            nodes: dict[str, NodeSpec] = {}
            for n in self.workflow.nodes:
                nodes.setdefault(n.id, n)  # a duplicate id (a problem): the first node is the one
            edges = {EdgeKey.of(e): e for e in self.workflow.edges}
            self._index = (self.revision, nodes, edges)
        return self._index[1], self._index[2]

    def node(self, node_id: str) -> NodeSpec | None:
        return self._indexes()[0].get(node_id)

    def node_ids(self) -> list[str]:
        return [n.id for n in self.workflow.nodes]

    def edge(self, key: EdgeKey) -> EdgeSpec | None:
        return self._indexes()[1].get(key)

    def operators(self) -> dict[str, OperatorSpec]:
        """What ``operator:`` may name: imported operators, then the workflow's own over them."""
        if self._operators is None or self._operators[0] != self.revision:
            out: dict[str, OperatorSpec] = {}
            for lib in self._libraries.values():
                out.update(lib.operators)
            out.update(self.workflow.operators)
            self._operators = (self.revision, out)
        return self._operators[1]

    def operator_source(self, name: str) -> str | None:
        """The import an operator comes from, or None for the workflow's own (or unknown)."""
        if name in self.workflow.operators:
            return None
        return next((i for i, lib in self._libraries.items() if name in lib.operators), None)

    def operator_library(self, name: str) -> Path | None:
        """The library file an imported operator comes from (None: the workflow's own, or unknown)."""
        if name in self.workflow.operators:
            return None
        return next((lib.path for lib in self._libraries.values() if name in lib.operators), None)

    def imported_types(self) -> dict[str, dict[str, str]]:
        """The record types the imported libraries define."""
        types: dict[str, dict[str, str]] = {}
        for lib in self._libraries.values():
            types.update(lib.types)
        return types

    def resolved(self, node: NodeSpec | str) -> ResolvedNode | None:
        """The node merged with its operator and the settings; kept until the next change (a
        canvas asks several times per node while it draws a thousand)."""
        spec = self.node(node) if isinstance(node, str) else node
        if spec is None:
            return None
        cache = self._resolved
        if cache[0] != self.revision:
            cache = self._resolved = (self.revision, {})
        key = id(spec)
        hit = cache[1].get(key)
        if hit is not None and hit[0] is spec:
            return hit[1]
        operator = self.operators().get(spec.operator) if spec.operator else None
        result = (
            None
            if spec.operator is not None and operator is None
            else resolve_node(spec, operator, self.workflow.settings)
        )
        if result is not None and spec.workflow:
            sub = self.subworkflow(spec)
            assert sub is not None
            result = dataclasses.replace(result, inputs=dict(sub.inputs), outputs=dict(sub.outputs))
        cache[1][key] = (spec, result)
        return result

    def subworkflow(self, node: NodeSpec | str) -> SubWorkflow | None:
        """The workflow a ``workflow:`` node is (its file and ports), or None for other nodes."""
        spec = self.node(node) if isinstance(node, str) else node
        if spec is None or not spec.workflow:
            return None
        return subworkflows.resolve(spec.workflow, self.path, self.libraries())

    def libraries(self) -> dict[str, Path]:
        """The library folders this workflow sees by name: every workflow's, its own
        ``settings.libraries`` and those a workflow that includes it hands down (``inherited``:
        set when it was opened from a `workflow:` node), as a run would see them."""
        base = self.path.parent if self.path else Path.cwd()
        return seen_from(self.workflow.settings.libraries or [], base, self.inherited_libraries)

    def ports(self, node: NodeSpec | str) -> tuple[dict[str, str], dict[str, str]]:
        resolved = self.resolved(node)
        return (resolved.inputs, resolved.outputs) if resolved else ({}, {})

    @property
    def registry(self) -> TypeRegistry:
        if self._registry is None:
            types = {**self.imported_types(), **self.workflow.types}
            self._registry, _problems = TypeRegistry.from_definitions(types)
        return self._registry

    def position(self, node_id: str) -> tuple[float, float] | None:
        node = self.node(node_id)
        pos = (node.style or {}).get("pos") if node else None
        return (float(pos[0]), float(pos[1])) if pos else None

    def unique_id(self, base: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_-]+", "-", base).strip("-") or "node"
        taken = set(self.node_ids())
        if base not in taken:
            return base
        n = 2
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}"

    def dag(self) -> nx.DiGraph:
        graph = nx.DiGraph()
        graph.add_nodes_from(self.node_ids())
        graph.add_edges_from((e.source, e.target) for e in self.workflow.edges)
        return graph

    def regions(self) -> list[Region]:
        """The region of every shape promise, from its anchors: membership lives in the model,
        so it survives saving, loading and any layout."""
        if self._regions is None or self._regions[0] != self.revision:
            dag = self.dag()
            out = []
            for index, promise in enumerate(self.workflow.promises):
                if promise.kind != "shape" or not isinstance(promise.args, str):
                    continue
                anchors = shape_anchors(promise.args, promise.where)
                members, problem = region_members(dag, anchors)
                out.append(Region(index, promise.id or f"shape {promise.args!r}", anchors, members, problem))
            self._regions = (self.revision, out)
        return self._regions[1]

    # -- checks -----------------------------------------------------------------------------

    def connection_problem(
        self, source: str, source_port: str | None, target: str, target_port: str | None
    ) -> str | None:
        """Why a wire from ``source.source_port`` to ``target.target_port`` may not be drawn.

        Ports are data port names, or None for the runs-after ports. None means it may be. The
        rule is the engine's (``engine.workflow.wiring``), so the canvas refuses what loading would. An
        input that is fed already is no reason: the new wire replaces the old one (``Editor``).
        """
        src, dst = self.node(source), self.node(target)
        if src is None or dst is None:
            return f"no node '{source if src is None else target}' in the workflow"
        edge = EdgeSpec(source, target, source_port, target_port)

        back = self.back_edge(EdgeKey.of(edge))

        def path_back() -> list[str] | None:
            if back:
                return None
            dag = self.dag()
            return nx.shortest_path(dag, target, source) if nx.has_path(dag, target, source) else None

        try:
            return wire_problem(
                edge,
                self.ports(src)[1],
                self.ports(dst)[0],
                self.registry,
                duplicate=self.edge(EdgeKey.of(edge)) is not None,
                path_back=path_back,
                back=back,
            )
        except TypeSyntaxError as exc:
            return f"a port type does not read: {exc}"

    def loops(self) -> list[Loop]:
        """The workflow's loops, as the engine finds them (cycles that are not loops left out)."""
        return find_loops(self.workflow)[0]

    def loop_of(self, node_id: str) -> Loop | None:
        return next((loop for loop in self.loops() if node_id in loop.members), None)

    def back_edges(self) -> set[EdgeKey]:
        """The wires that close a loop into its entry (drawn as loops): the engine's back edges,
        and those it reports as back edges still without their ``when``. Cached per revision."""
        if self._back is None or self._back[0] != self.revision:
            edges = self.workflow.edges
            loops, problems = find_loops(self.workflow)
            keys = {EdgeKey.of(edges[i]) for loop in loops for i in loop.back}
            for problem in problems:
                if problem.edge is not None and edges[problem.edge].when is None and "back edge" in problem.message:
                    keys.add(EdgeKey.of(edges[problem.edge]))
            members = {n for loop in loops for n in loop.members}
            self._back = (self.revision, keys, members)
        return self._back[1]

    def loop_members(self) -> set[str]:
        """The nodes of the workflow's loops (cached per revision, as ``back_edges``)."""
        self.back_edges()
        assert self._back is not None
        return self._back[2]

    def back_edge(self, key: EdgeKey) -> bool:
        """Whether a new wire ``key`` would close a cycle as the back edge of a loop: into the
        node that would be the loop's single entry, from its one latch, the rest of the cycle
        acyclic. Decided by the engine's ``find_loops`` on the workflow with the wire added (given
        a placeholder ``when``: the person sets the real one), so the studio and the engine agree."""
        if key.source != key.target:
            dag = self.dag()
            if key.source not in dag or key.target not in dag or not nx.has_path(dag, key.target, key.source):
                return False  # closes no cycle
        edges = [e for e in self.workflow.edges if EdgeKey.of(e) != key]
        # wires already closing the same way (another port fed back) share the new one's `when`
        when = next((e.when for e in edges if (e.source, e.target) == (key.source, key.target) and e.when), "true")
        edges = [
            dataclasses.replace(e, when=when) if (e.source, e.target) == (key.source, key.target) else e for e in edges
        ]
        edges.append(EdgeSpec(key.source, key.target, key.source_port, key.target_port, when=when))
        index = len(edges) - 1
        loops, _problems = find_loops(dataclasses.replace(self.workflow, edges=edges))
        return any(index in loop.back for loop in loops)

    def feeding_edge(self, target: str, target_port: str) -> EdgeSpec | None:
        return next(
            (e for k, e in self._indexes()[1].items() if k.target == target and k.target_port == target_port), None
        )

    # -- editing (called by undo commands) --------------------------------------------------

    def _changed(self) -> None:
        self.revision += 1

    def add_node(self, spec: NodeSpec, index: int | None = None) -> None:
        if self.node(spec.id) is not None:
            raise ValueError(f"node id '{spec.id}' is taken")
        nodes = self.workflow.nodes
        nodes.insert(len(nodes) if index is None else index, spec)
        self._changed()
        self.events.node_added.emit(spec.id)

    def remove_node(self, node_id: str) -> RemovedNode:
        index = next(i for i, n in enumerate(self.workflow.nodes) if n.id == node_id)
        removed = RemovedNode(index, self.workflow.nodes[index])
        for i in reversed(range(len(self.workflow.edges))):
            edge = self.workflow.edges[i]
            if node_id in (edge.source, edge.target):
                removed.edges.insert(0, (i, self.remove_edge(EdgeKey.of(edge))[1]))
        del self.workflow.nodes[index]
        self._changed()
        self.events.node_removed.emit(node_id)
        return removed

    def restore_node(self, removed: RemovedNode) -> None:
        self.add_node(removed.spec, removed.index)
        for index, edge in removed.edges:
            self.add_edge(edge, index)

    def add_edge(self, edge: EdgeSpec, index: int | None = None) -> None:
        edges = self.workflow.edges
        edges.insert(len(edges) if index is None else index, edge)
        self._changed()
        self.events.edge_added.emit(EdgeKey.of(edge))

    def remove_edge(self, key: EdgeKey) -> tuple[int, EdgeSpec]:
        index = next(i for i, e in enumerate(self.workflow.edges) if EdgeKey.of(e) == key)
        edge = self.workflow.edges.pop(index)
        self._changed()
        self.events.edge_removed.emit(key)
        return index, edge

    def replace_edge(self, key: EdgeKey, edge: EdgeSpec) -> EdgeSpec:
        """Change an edge's condition or style (its ends stay)."""
        index = next(i for i, e in enumerate(self.workflow.edges) if EdgeKey.of(e) == key)
        old = self.workflow.edges[index]
        self.workflow.edges[index] = edge
        self._changed()
        self.events.edge_removed.emit(key)
        self.events.edge_added.emit(EdgeKey.of(edge))
        return old

    def replace_node(self, node_id: str, spec: NodeSpec) -> NodeSpec:
        """Put ``spec`` in place of node ``node_id``; a new id is carried into edges and conditions."""
        index = next(i for i, n in enumerate(self.workflow.nodes) if n.id == node_id)
        old = self.workflow.nodes[index]
        if spec.id != node_id:
            if self.node(spec.id) is not None:
                raise ValueError(f"node id '{spec.id}' is taken")
            touched = [EdgeKey.of(e) for e in self.workflow.edges if node_id in (e.source, e.target)]
            for key in touched:
                self.events.edge_removed.emit(key)
            self.workflow.nodes[index] = spec
            self.workflow.edges = [_renamed_edge(e, node_id, spec.id) for e in self.workflow.edges]
            self._changed()
            self.events.node_renamed.emit(node_id, spec.id)
            self.events.node_changed.emit(spec.id)
            for e in self.workflow.edges:
                if spec.id in (e.source, e.target):
                    self.events.edge_added.emit(EdgeKey.of(e))
            return old
        self.workflow.nodes[index] = spec
        self._changed()
        self.events.node_changed.emit(node_id)
        return old

    def set_positions(self, positions: dict[str, tuple[float, float] | None]) -> dict[str, tuple[float, float] | None]:
        """Set (or, with None, forget) where nodes are drawn; returns the previous positions."""
        old: dict[str, tuple[float, float] | None] = {}
        for node_id, pos in positions.items():
            node = self.node(node_id)
            if node is None:
                continue
            old[node_id] = self.position(node_id)
            style = dict(node.style or {})
            if pos is None:
                style.pop("pos", None)
            else:
                style["pos"] = [round(float(pos[0]), 1), round(float(pos[1]), 1)]
            node.style = style or None
        self.events.nodes_moved.emit(list(old))
        return old

    def insert_promise(self, index: int, spec: PromiseSpec) -> None:
        self.workflow.promises.insert(index, spec)
        self._changed()
        self.events.promises_changed.emit()

    def remove_promise(self, index: int) -> PromiseSpec:
        spec = self.workflow.promises.pop(index)
        self._changed()
        self.events.promises_changed.emit()
        return spec

    def replace_promise(self, index: int, spec: PromiseSpec) -> PromiseSpec:
        old = self.workflow.promises[index]
        self.workflow.promises[index] = spec
        self._changed()
        self.events.promises_changed.emit()
        return old

    def set_fields(self, **values: Any) -> dict[str, Any]:
        """Workflow-level fields (name, description, settings, imports); returns the old values."""
        old = {}
        for name, value in values.items():
            old[name] = copy.deepcopy(getattr(self.workflow, name))
            setattr(self.workflow, name, value)
        if "imports" in values:
            self._load_imports()
        if "types" in values:
            self._registry = None
        self._changed()
        self.events.workflow_changed.emit(sorted(values))
        return old

    def import_for(self, library: Path) -> str:
        """The ``imports:`` entry naming ``library`` (existing one if it is imported already)."""
        library = library.resolve()
        for text, lib in self._libraries.items():
            if lib.path == library:
                return text
        return import_text(library, self.path)

    def _load_imports(self) -> None:
        libraries = {}
        for text in self.workflow.imports:
            target = import_path(text, self.path)
            if target.is_file():
                libraries[text] = read_library(target)
        self._libraries = libraries
        self._registry = None


def _file_mode(path: Path) -> int:
    """The permissions a saved file keeps: its own if it exists, else what the umask gives a
    new file (as any editor writes it)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def _renamed_edge(edge: EdgeSpec, old: str, new: str) -> EdgeSpec:
    if old not in (edge.source, edge.target) and not (edge.when and old in edge.when):
        return edge
    return dataclasses.replace(
        edge,
        source=new if edge.source == old else edge.source,
        target=new if edge.target == old else edge.target,
        when=rename_in_condition(edge.when, old, new) if edge.when else edge.when,
    )


def rename_in_condition(text: str, old: str, new: str) -> str:
    """``text`` with every reference to node ``old`` naming ``new`` instead (a condition that
    does not parse is left alone: it is reported where it stands)."""
    try:
        refs = expr.parse(text).references()
    except ExpressionError:
        return text
    written = expr.node_reference(new)
    out = text
    for ref in sorted((r for r in refs if r.node == old), key=lambda r: r.offset, reverse=True):
        at = ref.offset
        for spelled in (f"`{old}`", old):
            if out.startswith(spelled, at):
                out = out[:at] + written + out[at + len(spelled) :]
                break
    return out
