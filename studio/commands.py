"""Undo commands: every user edit is one of these, and each only calls document methods.

The canvas and the panels never change the document themselves; they ask the ``Editor``,
which pushes these. Run-time updates (states, created nodes, ghosts) are never commands.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

from engine.workflow.model import EdgeSpec, NodeSpec, PromiseSpec
from studio.model.document import Document, EdgeKey, RemovedNode


class AddNode(QUndoCommand):
    def __init__(self, doc: Document, spec: NodeSpec, text: str | None = None) -> None:
        super().__init__(text or f"Add node {spec.id}")
        self.doc, self.spec = doc, spec

    def redo(self) -> None:
        self.doc.add_node(self.spec)

    def undo(self) -> None:
        self.doc.remove_node(self.spec.id)


class RemoveNode(QUndoCommand):
    def __init__(self, doc: Document, node_id: str) -> None:
        super().__init__(f"Delete node {node_id}")
        self.doc, self.node_id = doc, node_id
        self.removed: RemovedNode | None = None

    def redo(self) -> None:
        self.removed = self.doc.remove_node(self.node_id)

    def undo(self) -> None:
        assert self.removed is not None
        self.doc.restore_node(self.removed)


class AddEdge(QUndoCommand):
    def __init__(self, doc: Document, edge: EdgeSpec) -> None:
        super().__init__(f"Connect {EdgeKey.of(edge)}")
        self.doc, self.edge = doc, edge

    def redo(self) -> None:
        self.doc.add_edge(self.edge)

    def undo(self) -> None:
        self.doc.remove_edge(EdgeKey.of(self.edge))


class RemoveEdge(QUndoCommand):
    def __init__(self, doc: Document, key: EdgeKey) -> None:
        super().__init__(f"Disconnect {key}")
        self.doc, self.key = doc, key
        self.removed: tuple[int, EdgeSpec] | None = None

    def redo(self) -> None:
        self.removed = self.doc.remove_edge(self.key)

    def undo(self) -> None:
        assert self.removed is not None
        self.doc.add_edge(self.removed[1], self.removed[0])


class ReplaceEdge(QUndoCommand):
    def __init__(self, doc: Document, key: EdgeKey, edge: EdgeSpec) -> None:
        super().__init__(f"Edit edge {key}")
        self.doc, self.key, self.edge = doc, key, edge
        self.old: EdgeSpec | None = None

    def redo(self) -> None:
        self.old = self.doc.replace_edge(self.key, self.edge)

    def undo(self) -> None:
        assert self.old is not None
        self.doc.replace_edge(EdgeKey.of(self.edge), self.old)


class ReplaceNode(QUndoCommand):
    def __init__(self, doc: Document, node_id: str, spec: NodeSpec) -> None:
        text = f"Rename {node_id} to {spec.id}" if spec.id != node_id else f"Edit node {node_id}"
        super().__init__(text)
        self.doc, self.node_id, self.spec = doc, node_id, spec
        self.old: NodeSpec | None = None

    def redo(self) -> None:
        self.old = self.doc.replace_node(self.node_id, self.spec)

    def undo(self) -> None:
        assert self.old is not None
        self.doc.replace_node(self.spec.id, self.old)


class MoveNodes(QUndoCommand):
    """Positions are style (``style.pos``): moving nodes is an edit of the workflow text."""

    def __init__(
        self,
        doc: Document,
        positions: dict[str, tuple[float, float] | None],
        before: dict[str, tuple[float, float] | None] | None = None,
        text: str | None = None,
    ) -> None:
        super().__init__(
            text or (f"Move {next(iter(positions))}" if len(positions) == 1 else f"Move {len(positions)} nodes")
        )
        self.doc, self.positions = doc, positions
        self.before = before

    def redo(self) -> None:
        old = self.doc.set_positions(self.positions)
        if self.before is None:
            self.before = old

    def undo(self) -> None:
        assert self.before is not None
        self.doc.set_positions(self.before)


class InsertPromise(QUndoCommand):
    def __init__(self, doc: Document, index: int, spec: PromiseSpec) -> None:
        super().__init__(f"Add promise {spec.kind}")
        self.doc, self.index, self.spec = doc, index, spec

    def redo(self) -> None:
        self.doc.insert_promise(self.index, self.spec)

    def undo(self) -> None:
        self.doc.remove_promise(self.index)


class RemovePromise(QUndoCommand):
    def __init__(self, doc: Document, index: int) -> None:
        super().__init__(f"Remove promise {doc.promises[index].kind}")
        self.doc, self.index = doc, index
        self.spec: PromiseSpec | None = None

    def redo(self) -> None:
        self.spec = self.doc.remove_promise(self.index)

    def undo(self) -> None:
        assert self.spec is not None
        self.doc.insert_promise(self.index, self.spec)


class ReplacePromise(QUndoCommand):
    def __init__(self, doc: Document, index: int, spec: PromiseSpec) -> None:
        super().__init__(f"Edit promise {spec.kind}")
        self.doc, self.index, self.spec = doc, index, spec
        self.old: PromiseSpec | None = None

    def redo(self) -> None:
        self.old = self.doc.replace_promise(self.index, self.spec)

    def undo(self) -> None:
        assert self.old is not None
        self.doc.replace_promise(self.index, self.old)


class SetFields(QUndoCommand):
    """Workflow-level fields: name, description, settings, imports."""

    def __init__(self, doc: Document, text: str, **values: Any) -> None:
        super().__init__(text)
        self.doc, self.values = doc, values
        self.old: dict[str, Any] | None = None

    def redo(self) -> None:
        self.old = self.doc.set_fields(**copy.deepcopy(self.values))

    def undo(self) -> None:
        assert self.old is not None
        self.doc.set_fields(**self.old)
