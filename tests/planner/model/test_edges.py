"""Edges as integer pairs (planner/model/edges.py): read back as the name pairs they were
built from, in order, and never changed by a builder started from them."""

from __future__ import annotations

from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.model.edges import EdgeList, Edges

NAMES = st.sampled_from(["a", "b", "c", "d", "stage_in_x_1_0", "clean_up_x_level_2_0"])
PAIRS = st.lists(st.tuples(NAMES, NAMES), max_size=30)


def test_empty() -> None:
    edges = Edges()
    assert len(edges) == 0 and list(edges) == [] and edges == ()
    assert EdgeList().freeze() == Edges()


def test_reads_back_as_name_pairs() -> None:
    edges = Edges.of([("a", "b"), ("a", "c"), ("c", "b")])
    assert list(edges) == [("a", "b"), ("a", "c"), ("c", "b")]
    assert len(edges) == 3
    assert edges[0] == ("a", "b") and edges[-1] == ("c", "b")
    assert edges[1:] == (("a", "c"), ("c", "b"))
    assert ("a", "c") in edges and ("b", "a") not in edges
    assert edges == (("a", "b"), ("a", "c"), ("c", "b"))
    assert edges != (("a", "b"),)
    assert edges.names == ("a", "b", "c")
    assert list(edges.parents) == [0, 0, 2] and list(edges.children) == [1, 2, 1]


def test_a_name_table_and_two_index_columns() -> None:
    edges = Edges(("x", "y"), array("I", [1]), array("I", [0]))
    assert list(edges) == [("y", "x")]
    with pytest.raises(ValueError):
        Edges(("x", "y"), array("I", [0, 1]), array("I", [1]))


@given(PAIRS)
def test_round_trip(pairs: list[tuple[str, str]]) -> None:
    edges = Edges.of(pairs)
    assert list(edges) == pairs
    assert edges == tuple(pairs) and hash(edges) == hash(Edges.of(pairs))
    # every name is stored once, and every index points into the table
    assert len(set(edges.names)) == len(edges.names)
    assert all(i < len(edges.names) for i in (*edges.parents, *edges.children))


@given(PAIRS, PAIRS)
def test_a_builder_extends_a_copy(
    first: list[tuple[str, str]], more: list[tuple[str, str]]
) -> None:
    start = Edges.of(first)
    built = EdgeList(start)
    for p, c in more:
        built.add(p, c)
    grown = built.freeze()
    assert list(grown) == first + more
    assert list(start) == first  # the value it started from is unchanged
    # started from name pairs (a plan built by hand) it is the same
    again = EdgeList(tuple(first))
    for p, c in more:
        again.add(p, c)
    assert again.freeze() == grown


@given(PAIRS, PAIRS)
def test_add_new_drops_exactly_the_repeats(
    first: list[tuple[str, str]], more: list[tuple[str, str]]
) -> None:
    built = EdgeList(Edges.of(first))
    for p, c in more:
        built.add_new(p, c)
    # the repeats among the edges add_new met are dropped, first occurrence kept
    assert list(built.freeze()) == first + list(dict.fromkeys(more))


@given(st.lists(NAMES, max_size=10, unique=True), NAMES)
def test_add_parents(parents: list[str], child: str) -> None:
    built = EdgeList()
    built.add_parents(parents, child)
    assert list(built.freeze()) == [(p, child) for p in parents]
