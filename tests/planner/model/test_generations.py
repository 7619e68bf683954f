"""Kahn by generations: every path (plain loop, arrays, arrays then loop) agrees with
networkx's topological generations, and nodes on or after a cycle are reported."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.model import generations as gen


@st.composite
def _dags(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]]]:
    """A random DAG on 0..n-1 (edges go from a lower to a higher index, then relabelled)."""
    n = draw(st.integers(0, 30))
    pairs = draw(st.lists(st.tuples(st.integers(0, max(n - 1, 0)), st.integers(0, max(n - 1, 0)))))
    edges = sorted({(min(a, b), max(a, b)) for a, b in pairs if a != b and n})
    perm = draw(st.permutations(range(n)))
    return n, [(perm[a], perm[b]) for a, b in edges]


def _reference(n: int, edges: list[tuple[int, int]]) -> list[list[int]]:
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    return [sorted(g) for g in nx.topological_generations(graph)]


def _run(n: int, edges: list[tuple[int, int]]) -> tuple[list[list[int]], list[int]]:
    levels, stuck = gen.generations(n, (p for p, _ in edges), (c for _, c in edges), len(edges))
    return [sorted(g) for g in levels], stuck


@pytest.mark.parametrize(
    ("array_edges", "vector_generations"),
    [(10**9, 1000), (0, 1000), (0, 1), (0, 2)],
    ids=["plain loop", "arrays", "arrays for one generation", "arrays for two"],
)
@settings(max_examples=150, deadline=None)
@given(dag=_dags())
def test_generations_match_networkx(
    array_edges: int, vector_generations: int, dag: tuple[int, list[tuple[int, int]]]
) -> None:
    n, edges = dag
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gen, "ARRAY_EDGES", array_edges)
        mp.setattr(gen, "VECTOR_GENERATIONS", vector_generations)
        assert _run(n, edges) == (_reference(n, edges), [])


@pytest.mark.parametrize("array_edges", [10**9, 0], ids=["plain loop", "arrays"])
def test_nodes_on_and_after_a_cycle_are_never_reached(
    array_edges: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gen, "ARRAY_EDGES", array_edges)
    # 0 -> 1 -> 2 -> 1 (cycle), 2 -> 3; 4 is alone
    assert _run(5, [(0, 1), (1, 2), (2, 1), (2, 3)]) == ([[0, 4]], [1, 2, 3])


def test_unknown_edge_count_takes_the_arrays() -> None:
    assert gen.generations(3, iter([0, 1]), iter([1, 2])) == ([[0], [1], [2]], [])
