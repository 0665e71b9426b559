"""The little graph the engine needs on every load and every mutation: a directed graph of
node ids with reachability and cycle search.

networkx is a fine library for analysis (the studio's layouts, regions), but importing it costs
about 80 ms, more than loading and running a small workflow takes; the loader and the run use
this instead. Iterative searches only: a graph of 100,000 nodes in a chain must not exhaust
Python's stack.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

#: The successors of every node that has none: one shared dict, replaced on the first edge out.
_NONE: dict[str, None] = {}


class DiGraph:
    """Nodes in insertion order (so the reported cycle is stable), successors per node."""

    def __init__(self) -> None:
        self._succ: dict[str, dict[str, None]] = {}

    def __contains__(self, node: object) -> bool:
        return node in self._succ

    def __len__(self) -> int:
        return len(self._succ)

    def add_node(self, node: str) -> None:
        self._succ.setdefault(node, _NONE)

    def add_nodes_from(self, nodes: Iterable[str]) -> None:
        for node in nodes:
            self._succ.setdefault(node, _NONE)

    def add_edge(self, source: str, target: str) -> None:
        self._succ.setdefault(target, _NONE)
        successors = self._succ.get(source)
        if successors is None or successors is _NONE:
            self._succ[source] = {target: None}
        else:
            successors[target] = None

    def add_edges_from(self, edges: Iterable[tuple[str, str]]) -> None:
        for source, target in edges:
            self.add_edge(source, target)

    def has_edge(self, source: str, target: str) -> bool:
        return target in self._succ.get(source, ())

    def remove_edges_from(self, edges: Iterable[tuple[str, str]]) -> None:
        for source, target in edges:
            successors = self._succ.get(source)
            if successors:
                successors.pop(target, None)

    def remove_nodes_from(self, nodes: Iterable[str]) -> None:
        """Remove nodes that no remaining edge points into (as the callers' undo guarantees)."""
        for node in nodes:
            self._succ.pop(node, None)

    def successors(self, node: str) -> Iterable[str]:
        return self._succ.get(node, {}).keys()

    def shortest_path(self, source: str, target: str) -> list[str] | None:
        """The nodes of a shortest path from ``source`` to ``target`` (both included), or None."""
        if source not in self._succ or target not in self._succ:
            return None
        parent: dict[str, str | None] = {source: None}
        todo = deque([source])
        while todo:
            node = todo.popleft()
            if node == target:
                path = [node]
                while (up := parent[path[-1]]) is not None:
                    path.append(up)
                return path[::-1]
            for nxt in self._succ[node]:
                if nxt not in parent:
                    parent[nxt] = node
                    todo.append(nxt)
        return None

    def has_path(self, source: str, target: str) -> bool:
        return self.shortest_path(source, target) is not None

    def find_cycle(self) -> list[str] | None:
        """One cycle, closed (``[a, b, a]``), the first a depth-first search in node order meets;
        None for a DAG."""
        done: set[str] = set()
        for root in self._succ:
            if root in done:
                continue
            path: list[str] = [root]
            on_path = {root}
            stack = [iter(self._succ[root])]
            while stack:
                for nxt in stack[-1]:
                    if nxt in on_path:
                        return path[path.index(nxt) :] + [nxt]
                    if nxt not in done:
                        path.append(nxt)
                        on_path.add(nxt)
                        stack.append(iter(self._succ[nxt]))
                        break
                else:
                    stack.pop()
                    finished = path.pop()
                    on_path.discard(finished)
                    done.add(finished)
        return None
