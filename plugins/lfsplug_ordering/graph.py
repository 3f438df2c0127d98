"""Graph algorithms on script positions ``0..n-1``.

Nodes are the scripts' positions in the layout: ints are cheaper than names, and a position is
also the tie-break: among scripts free to start, the one the layout lists first comes first, so
the plan is deterministic and as close to book order as the edges allow. ``succ[u]`` maps each
successor of ``u`` (a script that waits for ``u``) to the strength of the strongest edge
between them (see :data:`lfsplug_ordering.plan.STRENGTH`).

Why not the ``toposort`` package for the order or the levels: it computes one level at a time by
rebuilding its whole dictionary, O(levels x scripts), which for a sequence of 10,000 scripts
(10,000 levels) is 10^8 steps; Kahn's algorithm here is O(scripts + edges). The tests use
``toposort`` as the oracle for levels on random graphs.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Collection, Sequence

__all__ = [
    "Succ", "levels", "longest_path", "shortest_cycle", "strongly_connected",
    "topological_order",
]

#: node -> {successor: strength}
Succ = list[dict[int, int]]


def topological_order(succ: Succ) -> list[int]:
    """Kahn's algorithm, smallest position first among the ready; shorter than ``len(succ)``
    when there are cycles (the nodes left out are on a cycle or wait for one)."""
    waiting = [0] * len(succ)
    for targets in succ:
        for v in targets:
            waiting[v] += 1
    ready = [u for u, count in enumerate(waiting) if count == 0]  # ascending: already a heap
    order: list[int] = []
    pop, push = heapq.heappop, heapq.heappush
    while ready:
        u = pop(ready)
        order.append(u)
        for v in succ[u]:
            waiting[v] -= 1
            if waiting[v] == 0:
                push(ready, v)
    return order


def _neighbours(succ: Succ, u: int, inside: Collection[int], min_strength: int) -> list[int]:
    return sorted(v for v, s in succ[u].items() if s >= min_strength and v in inside)


def strongly_connected(
    nodes: Collection[int], succ: Succ, min_strength: int = 0
) -> list[list[int]]:
    """Tarjan's strongly connected components of the subgraph on ``nodes`` whose edges are at
    least ``min_strength``; iterative, since a cycle may be thousands of scripts long."""
    inside = set(nodes)
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    found: list[list[int]] = []

    def visit(v: int) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)

    for root in sorted(inside):
        if root in index:
            continue
        visit(root)
        work = [(root, iter(_neighbours(succ, root, inside, min_strength)))]
        while work:
            v, todo = work[-1]
            for w in todo:
                if w not in index:
                    visit(w)
                    work.append((w, iter(_neighbours(succ, w, inside, min_strength))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[v])
                if low[v] == index[v]:
                    component: list[int] = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    found.append(sorted(component))
    return found


def shortest_cycle(
    start: int, nodes: Collection[int], succ: Succ, min_strength: int = 0
) -> list[int]:
    """The shortest cycle through ``start`` inside ``nodes``, as ``[start, ..., start]`` in
    run order (each node runs before the next); empty when there is none."""
    parent: dict[int, int] = {}
    queue = deque([start])
    while queue:
        u = queue.popleft()
        for v in _neighbours(succ, u, nodes, min_strength):
            if v == start:
                path = [u]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if v not in parent:
                parent[v] = u
                queue.append(v)
    return []


def levels(order: Sequence[int], succ: Succ) -> list[int]:
    """Each node's level: 0 for those that wait for nothing, else one more than the highest
    level they wait for (scripts of one level may run at once)."""
    level = [0] * len(succ)
    for u in order:
        nxt = level[u] + 1
        for v in succ[u]:
            if level[v] < nxt:  # noqa: PLR1730 - a call to max() per edge costs a third more
                level[v] = nxt
    return level


def longest_path(order: Sequence[int], succ: Succ, weight: Sequence[float]) -> list[int]:
    """The chain of waits with the greatest total ``weight`` (the critical path), in run order;
    ties go to the node that comes first in ``order``."""
    if not order:
        return []
    start = [0.0] * len(succ)
    via = [-1] * len(succ)
    finish = [0.0] * len(succ)
    for u in order:
        done = finish[u] = start[u] + weight[u]
        for v in succ[u]:
            if done > start[v] or via[v] < 0:
                start[v] = done
                via[v] = u
    node = max(order, key=lambda u: finish[u])  # max keeps the first of equals
    path = [node]
    while via[path[-1]] >= 0:
        path.append(via[path[-1]])
    return path[::-1]
