"""Kahn's algorithm by generations over a large DAG given as (parent, child) index pairs.

A node's generation is 1 + the longest path to it from a root (roots are generation 1):
the concrete workflow's levels. The final ordering pass of a 10^6-job plan walks about
7 * 10^6 edges; one Python loop step per edge cost seconds, so the generations are
computed with numpy, a few array operations per generation. A DAG deeper than
:data:`VECTOR_GENERATIONS` (a chain of 10^5 jobs, say) finishes with the per-edge loop
over plain lists instead, whose cost does not grow with the depth. A DAG with fewer than
:data:`ARRAY_EDGES` edges takes that loop from the start: importing numpy (~0.08 s) would
cost more than it saves, and small plans should stay quick.

>>> generations(4, [0, 0, 1, 2], [1, 2, 3, 3])
([[0], [1, 2], [3]], [])
>>> generations(3, [0, 1, 2], [1, 2, 1])  # 1 and 2 form a cycle
([[0]], [1, 2])
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["ARRAY_EDGES", "VECTOR_GENERATIONS", "generations", "walk_generations"]

# generations taken with array operations (~30 us each whatever their size) before the
# rest of a deep DAG is walked edge by edge
VECTOR_GENERATIONS = 1000
# Below this many edges (a Montage-shaped plan of ~55,000 jobs) the plain loop is the
# quicker one once numpy's import is counted: the loop costs ~0.38 us an edge, the arrays
# ~0.2 us, the import ~80 ms (measured on 2 AMD EPYC cores, Python 3.11).
ARRAY_EDGES = 400_000


def generations(
    count: int, parents: Iterable[int], children: Iterable[int], edges: int = -1
) -> tuple[list[list[int]], list[int]]:
    """(node indices per generation, nodes never reached: on or after a cycle, sorted).

    The i-th parent and the i-th child make the i-th edge between nodes ``0 .. count - 1``
    (``edges`` of them, when known: the arrays are then filled in place). No edge may
    appear twice. The order of the indices within a generation is unspecified.
    """
    if 0 <= edges < ARRAY_EDGES:
        return _small(count, parents, children)
    import numpy as np

    parent, child = _column(np, parents, edges), _column(np, children, edges)
    # children of node v: kids[offsets[v]:offsets[v + 1]]
    fanout = np.bincount(parent, minlength=count)
    offsets = np.zeros(count + 1, dtype=np.intp)
    np.cumsum(fanout, out=offsets[1:])
    kids = child[np.argsort(parent, kind="stable")]
    indegree = np.bincount(child, minlength=count)
    frontier = np.flatnonzero(indegree == 0)
    out: list[list[int]] = []
    while frontier.size and len(out) < VECTOR_GENERATIONS:
        out.append(frontier.tolist())
        width = fanout[frontier]
        total = int(width.sum())
        if not total:
            frontier = frontier[:0]
            break
        # positions of every child of the frontier in ``kids``, in one gather
        ends = np.cumsum(width)
        at = np.repeat(offsets[frontier] - (ends - width), width) + np.arange(total)
        reached, times = np.unique(kids[at], return_counts=True)
        indegree[reached] -= times
        frontier = reached[indegree[reached] == 0]
    if frontier.size:  # a deep DAG: the rest edge by edge
        left = indegree.tolist()
        flat, ends_at = kids.tolist(), offsets.tolist()
        kids_of = [flat[ends_at[v] : ends_at[v + 1]] for v in range(count)]
        _walk(frontier.tolist(), kids_of, left, out)
        return out, [v for v, d in enumerate(left) if d > 0]
    return out, np.flatnonzero(indegree > 0).tolist()


def _column(np: Any, values: Iterable[int], edges: int) -> Any:
    """``values`` as a numpy array: an ``array('I')`` is read in place (4 bytes an edge,
    no copy; the plan's edges come so), anything else is copied into one."""
    if isinstance(values, array) and values.typecode == "I":
        return np.frombuffer(values, dtype=np.uint32)
    return np.fromiter(values, dtype=np.intp, count=edges)


def _small(
    count: int, parents: Iterable[int], children: Iterable[int]
) -> tuple[list[list[int]], list[int]]:
    """:func:`generations` without numpy."""
    kids_of: list[list[int]] = [[] for _ in range(count)]
    indegree = [0] * count
    for p, c in zip(parents, children, strict=True):
        kids_of[p].append(c)
        indegree[c] += 1
    return walk_generations(kids_of, indegree)


def walk_generations(
    kids_of: Sequence[Sequence[int]], indegree: list[int]
) -> tuple[list[list[int]], list[int]]:
    """:func:`generations` of a DAG given as each node's children and parent count, for a
    caller that has them already (the job graph). ``indegree`` is used up.

    Each generation lists its nodes in the order they became ready: the roots in index
    order, then each node's children in the order ``kids_of`` lists them, parents taken in
    the order of their generation (networkx's ``topological_sort``)."""
    out: list[list[int]] = []
    _walk([v for v, d in enumerate(indegree) if not d], kids_of, indegree, out)
    return out, [v for v, d in enumerate(indegree) if d > 0]


def _walk(
    frontier: list[int],
    kids_of: Sequence[Sequence[int]],
    indegree: list[int],
    out: list[list[int]],
) -> None:
    """Kahn by generations in plain Python, from ``frontier`` on (``indegree`` is updated)."""
    while frontier:
        out.append(frontier)
        following: list[int] = []
        for v in frontier:
            for c in kids_of[v]:
                d = indegree[c] - 1
                indegree[c] = d
                if not d:
                    following.append(c)
        frontier = following
