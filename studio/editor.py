"""The one place where a person's edits become undo commands.

The canvas (wires, moves, drops, Delete), the properties panel and the promises panel call
these methods; each pushes one command (or one macro) onto the undo stack, so every user
edit can be undone, and nothing else ever is on that stack.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtGui import QUndoStack

from engine.workflow.model import EdgeSpec, NodeSpec, PromiseSpec
from studio import commands as cmd
from studio.model.clipboard import PastePlan
from studio.model.document import Document, EdgeKey
from studio.model.grouping import GroupPlan
from studio.model.library import read_library


def counted(n: int, noun: str) -> str:
    """``1 wire``, ``2 wires``: what an undo entry says it did."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class Editor:
    def __init__(self, document: Document, stack: QUndoStack) -> None:
        self.document = document
        self.stack = stack

    # -- nodes --------------------------------------------------------------------------------

    def add_operator_node(self, operator: str, library: str | None, pos: tuple[float, float]) -> str | None:
        """What a drop from the palette does: a node of ``operator`` at ``pos`` (importing the
        library it comes from if needed). Returns a reason when it cannot."""
        planned = self._operator_node(operator, library, pos)
        if isinstance(planned, str):
            return planned
        spec, imports = planned
        self.stack.beginMacro(f"Add node {spec.id}")
        self._push_operator_node(spec, imports, library)
        self.stack.endMacro()
        return None

    def add_palette_node(self, ref: dict[str, str], pos: tuple[float, float]) -> str | None:
        """What a palette entry adds at ``pos``: a node of its operator, or a `workflow:` node
        for a library workflow (``{"workflow": "lab:stats"}``). Returns a reason when it cannot."""
        if ref.get("workflow"):
            return self.add_workflow_node(ref["workflow"], pos)
        return self.add_operator_node(ref.get("operator", ""), ref.get("library") or None, pos)

    def add_workflow_node(self, workflow: str, pos: tuple[float, float]) -> str | None:
        """A `workflow:` node of ``workflow`` (``LIBRARY:NAME`` or a path) at ``pos``."""
        name = workflow.rsplit(":", 1)[-1].rsplit("/", 1)[-1].removesuffix(".weft.yaml")
        spec = NodeSpec(
            id=self.document.unique_id(name), workflow=workflow, style={"pos": [round(pos[0], 1), round(pos[1], 1)]}
        )
        self.stack.push(cmd.AddNode(self.document, spec))
        return None

    def _operator_node(
        self, operator: str, library: str | None, pos: tuple[float, float]
    ) -> str | tuple[NodeSpec, list[str] | None]:
        """The node a drop of ``operator`` adds and the imports it needs (None: as they are), or why not."""
        doc = self.document
        if not operator:
            return "nothing to add"
        imports = None
        if library:
            path = Path(library)
            lib = read_library(path)
            if operator not in lib.operators:
                return f"the library {path.name} has no operator '{operator}' (any more)"
            own = doc.workflow.operators.get(operator)
            if own is not None:
                return f"the workflow has an operator '{operator}' of its own; rename it to use the library's"
            entry = doc.import_for(path)
            if entry not in doc.workflow.imports:
                if doc.operator_source(operator) is not None:
                    return f"operator '{operator}' already comes from {doc.operator_source(operator)}"
                imports = [*doc.workflow.imports, entry]
        elif operator not in doc.operators():
            return f"the workflow has no operator '{operator}'"
        spec = NodeSpec(
            id=doc.unique_id(operator), operator=operator, style={"pos": [round(pos[0], 1), round(pos[1], 1)]}
        )
        return spec, imports

    def _push_operator_node(self, spec: NodeSpec, imports: list[str] | None, library: str | None) -> None:
        if imports is not None:
            self.stack.push(cmd.SetFields(self.document, f"Import {Path(library or '').name}", imports=imports))
        self.stack.push(cmd.AddNode(self.document, spec))

    def add_wired_node(self, operator: str, library: str | None, pos: tuple[float, float], wire: EdgeKey) -> str | None:
        """A node of ``operator`` at ``pos`` wired to an existing node, as one undo step: ``wire``
        names the new node by an empty id (``EdgeKey("", "text", "count", "text")``). Returns why not."""
        planned = self._operator_node(operator, library, pos)
        if isinstance(planned, str):
            return planned
        spec, imports = planned
        doc = self.document
        key = EdgeKey(wire.source or spec.id, wire.source_port, wire.target or spec.id, wire.target_port)
        self.stack.beginMacro(f"Add node {spec.id} and connect {key}")
        self._push_operator_node(spec, imports, library)
        problem = doc.connection_problem(key.source, key.source_port, key.target, key.target_port)
        if problem is None:
            self.rewire([], [key])
        self.stack.endMacro()
        if problem is not None:  # the caller offered a port that does not fit: leave nothing behind
            self.stack.undo()
        return problem

    def paste(self, plan: PastePlan, text: str = "Paste") -> list[str]:
        """Pasted nodes, their wires and what they need (operators, types, imports) as one undo
        step. Returns the ids of the new nodes."""
        doc = self.document
        if plan.refused or not plan.nodes:
            return []
        fields = {
            name: value
            for name, value in (("types", plan.types), ("operators", plan.operators), ("imports", plan.imports))
            if value is not None
        }
        count = len(plan.nodes)
        self.stack.beginMacro(f"{text} {plan.nodes[0].id}" if count == 1 else f"{text} {count} nodes")
        if fields:
            self.stack.push(cmd.SetFields(doc, f"Bring along {', '.join(fields)}", **fields))
        for spec in plan.nodes:
            self.stack.push(cmd.AddNode(doc, spec))
        for edge in plan.edges:
            self.stack.push(cmd.AddEdge(doc, edge))
        self.stack.endMacro()
        return [n.id for n in plan.nodes]

    def group(self, plan: GroupPlan) -> str | None:
        """Nodes replaced by the `workflow:` node of their new file, wired as they were, as one
        undo step (the file is written by the caller and stays after an undo). Returns its id."""
        doc = self.document
        if plan.refused or plan.node is None:
            return None
        self.stack.beginMacro(f"Group {len(plan.removed_nodes)} nodes into {plan.node.workflow}")
        for key in plan.removed_edges:
            self.stack.push(cmd.RemoveEdge(doc, key))
        for node_id in plan.removed_nodes:
            self.stack.push(cmd.RemoveNode(doc, node_id))
        self.stack.push(cmd.AddNode(doc, plan.node))
        for edge in plan.edges:
            self.stack.push(cmd.AddEdge(doc, edge))
        self.stack.endMacro()
        return plan.node.id

    def add_node(self, spec: NodeSpec) -> None:
        self.stack.push(cmd.AddNode(self.document, spec))

    def edit_node(self, node_id: str, spec: NodeSpec) -> str | None:
        """Replace a node's settings (from the properties panel); wires into ports it no longer
        has go with it, in the same undo step."""
        doc = self.document
        if spec.id != node_id and doc.node(spec.id) is not None:
            return f"node id '{spec.id}' is taken"
        inputs, outputs = doc.ports(spec)
        dangling = [
            EdgeKey.of(e)
            for e in doc.edges
            if (e.source == node_id and e.source_port is not None and e.source_port not in outputs)
            or (e.target == node_id and e.target_port is not None and e.target_port not in inputs)
        ]
        self.stack.beginMacro(f"Edit node {node_id}")
        for key in dangling:
            self.stack.push(cmd.RemoveEdge(doc, key))
        self.stack.push(cmd.ReplaceNode(doc, node_id, spec))
        self.stack.endMacro()
        return None

    def delete(self, node_ids: Iterable[str], edges: Iterable[EdgeKey] = ()) -> None:
        doc = self.document
        node_ids = [n for n in node_ids if doc.node(n) is not None]
        edges = [k for k in edges if doc.edge(k) is not None and k.source not in node_ids and k.target not in node_ids]
        if not node_ids and not edges:
            return
        self.stack.beginMacro(
            f"Delete {counted(len(node_ids), 'node')} and {counted(len(edges), 'wire')}"
            if node_ids and edges
            else (f"Delete {', '.join(node_ids)}" if node_ids else f"Delete {counted(len(edges), 'wire')}")
        )
        for key in edges:
            self.stack.push(cmd.RemoveEdge(doc, key))
        for node_id in node_ids:
            self.stack.push(cmd.RemoveNode(doc, node_id))
        self.stack.endMacro()

    def move(
        self,
        positions: dict[str, tuple[float, float]],
        text: str | None = None,
        before: dict[str, tuple[float, float] | None] | None = None,
    ) -> None:
        doc = self.document
        changed = {n: p for n, p in positions.items() if doc.node(n) is not None and doc.position(n) != p}
        if changed:
            self.stack.push(cmd.MoveNodes(doc, dict(changed), before, text))

    # -- wires --------------------------------------------------------------------------------

    def connect(self, source: str, source_port: str | None, target: str, target_port: str | None) -> str | None:
        return self.rewire([], [EdgeKey(source, source_port, target, target_port)])

    def rewire(self, cut: list[EdgeKey], drawn: list[EdgeKey]) -> str | None:
        """A wiring gesture: wires cut and wires drawn, as one undo step. A wire drawn into an
        input that is fed already replaces the old one. Returns why a wire was refused."""
        doc = self.document
        cut = [k for k in dict.fromkeys(cut) if doc.edge(k) is not None and k not in drawn]
        refused = None
        adds: list[EdgeKey] = []
        for key in drawn:
            if doc.edge(key) is not None:
                continue
            problem = doc.connection_problem(key.source, key.source_port, key.target, key.target_port)
            if problem:
                refused = problem
                continue
            if key.target_port is not None and not doc.back_edge(key):  # a back edge feeds it too
                fed = doc.feeding_edge(key.target, key.target_port)
                if fed is not None and EdgeKey.of(fed) not in cut:
                    cut.append(EdgeKey.of(fed))
            adds.append(key)
        if not cut and not adds:
            return refused
        self.stack.beginMacro(
            f"Connect {adds[0]}" if adds and not cut else (f"Disconnect {cut[0]}" if not adds else "Rewire")
        )
        for key in cut:
            self.stack.push(cmd.RemoveEdge(doc, key))
        for key in adds:
            self.stack.push(cmd.AddEdge(doc, EdgeSpec(key.source, key.target, key.source_port, key.target_port)))
        self.stack.endMacro()
        return refused

    def set_condition(self, key: EdgeKey, when: str | None) -> None:
        edge = self.document.edge(key)
        if edge is not None and edge.when != when:
            self.stack.push(cmd.ReplaceEdge(self.document, key, dataclasses.replace(edge, when=when or None)))

    # -- promises and workflow fields ------------------------------------------------------

    def add_promise(self, spec: PromiseSpec) -> None:
        self.stack.push(cmd.InsertPromise(self.document, len(self.document.promises), spec))

    def edit_promise(self, index: int, spec: PromiseSpec) -> None:
        self.stack.push(cmd.ReplacePromise(self.document, index, spec))

    def remove_promise(self, index: int) -> None:
        self.stack.push(cmd.RemovePromise(self.document, index))

    def set_fields(self, text: str, **values: object) -> None:
        self.stack.push(cmd.SetFields(self.document, text, **values))
