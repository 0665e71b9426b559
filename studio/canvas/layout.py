"""Where nodes go when nobody has placed them: layers, and a grid that never moves anyone.

Qt-free on purpose. A workflow's unplaced nodes are laid out in layers
(``networkx.topological_generations``); a node a task creates during a run goes into the
column right of its creator (or of its inputs), in the free slot nearest to its creator's
row. What a person placed is only ever marked as taken, never moved.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import networkx as nx

COLUMN = 300.0  # px between columns
ROW = 20.0  # px per grid row; a node takes as many rows as its height needs
GAP_ROWS = 1  # free rows kept between two nodes of a column


class Grid:
    """Occupied slots per column. Rows are small, so nodes of any height pack tightly."""

    def __init__(self, column: float = COLUMN, row: float = ROW) -> None:
        self.column = column
        self.row = row
        self._taken: dict[int, set[int]] = {}
        self._cursor: dict[tuple[int, int], int] = {}  # (col, wanted row) -> how far out to look first

    def col_of(self, x: float) -> int:
        return math.floor(x / self.column + 0.5)

    def row_of(self, y: float) -> int:
        return math.floor(y / self.row + 0.5)

    def rows_for(self, height: float) -> int:
        return max(1, math.ceil(height / self.row)) + GAP_ROWS

    def mark(self, x: float, y: float, height: float) -> None:
        col, row = self.col_of(x), self.row_of(y)
        self._taken.setdefault(col, set()).update(range(row, row + self.rows_for(height)))

    def unmark(self, x: float, y: float, height: float) -> None:
        col, row = self.col_of(x), self.row_of(y)
        self._taken.get(col, set()).difference_update(range(row, row + self.rows_for(height)))

    def _free(self, col: int, row: int, rows: int) -> bool:
        taken = self._taken.get(col)
        return not taken or all(r not in taken for r in range(row, row + rows))

    def place(self, col: int, near_row: int, height: float) -> tuple[float, float]:
        """The free slot in ``col`` nearest to ``near_row`` (taken at once)."""
        rows = self.rows_for(height)
        start = self._cursor.get((col, near_row), 0)
        distance = start
        while True:
            for row in (near_row + distance,) if distance == 0 else (near_row + distance, near_row - distance):
                if self._free(col, row, rows):
                    self._cursor[(col, near_row)] = max(0, distance - rows)
                    self._taken.setdefault(col, set()).update(range(row, row + rows))
                    return col * self.column, row * self.row
            distance += 1


def layered(
    nodes: Iterable[str],
    edges: Iterable[tuple[str, str]],
    placed: Mapping[str, tuple[float, float]],
    heights: Mapping[str, float],
    grid: Grid | None = None,
    growing: Iterable[str] = (),
) -> dict[str, tuple[float, float]]:
    """Positions for every node of ``nodes`` not in ``placed``, in layers left to right.

    Layers come from ``networkx.topological_generations``; what follows a ``growing`` node (a
    dynamic one) goes one column further, leaving the column beside it free for the nodes its
    task will create. Placed nodes keep their positions and take their slots; a cyclic graph
    (an invalid workflow being edited) falls back to one layer per node in the given order.
    """
    grid = grid or Grid()
    nodes = list(nodes)
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((a, b) for a, b in edges if a in graph and b in graph)
    for node, (x, y) in placed.items():
        grid.mark(x, y, heights.get(node, 60.0))
    growing = set(growing)
    try:
        layer: dict[str, int] = {}
        for generation in nx.topological_generations(graph):
            for node in generation:
                layer[node] = max((layer[p] + (2 if p in growing else 1) for p in graph.predecessors(node)), default=0)
        generations = [[n for n in nodes if layer[n] == i] for i in range(max(layer.values(), default=-1) + 1)]
    except nx.NetworkXUnfeasible:
        generations = [[n] for n in nodes]
    order = {n: i for i, n in enumerate(nodes)}
    out: dict[str, tuple[float, float]] = {}
    for layer, generation in enumerate(generations):
        for node in sorted(generation, key=order.__getitem__):
            if node in placed:
                continue
            rows = [
                grid.row_of(where[1])
                for p in graph.predecessors(node)
                if (where := out.get(p) or placed.get(p)) is not None
            ]
            near = round(sum(rows) / len(rows)) if rows else 0
            out[node] = grid.place(layer, near, heights.get(node, 60.0))
    return out


def beside(anchors: Iterable[tuple[float, float]], height: float, grid: Grid) -> tuple[float, float]:
    """A slot for a new node right of the rightmost of ``anchors`` (its creator or inputs), as near
    to their average row as is free."""
    anchors = list(anchors)
    if not anchors:
        return grid.place(0, 0, height)
    col = max(grid.col_of(x) for x, _y in anchors) + 1
    row = round(sum(grid.row_of(y) for _x, y in anchors) / len(anchors))
    return grid.place(col, row, height)
