"""The job graph's topological order, levels and cyclic jobs: filled once by the builder
from the one generations walk, equal to networkx's on random workflows."""

from __future__ import annotations

import dataclasses
from itertools import pairwise

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import CycleError
from planner.model.graph import build_job_graph
from planner.model.workflow import Job, LinkType, Use, Workflow


@st.composite
def _workflows(draw: st.DrawFn) -> Workflow:
    """Jobs in a random order, explicit edges and file edges between them (cycles allowed)."""
    n = draw(st.integers(0, 25))
    ids = [f"j{i}" for i in draw(st.permutations(range(n)))]
    pair = st.tuples(st.integers(0, max(n - 1, 0)), st.integers(0, max(n - 1, 0)))
    deps = draw(st.lists(pair, max_size=40)) if n else []
    links = draw(st.lists(pair, max_size=20)) if n else []
    uses: dict[int, list[Use]] = {i: [] for i in range(n)}
    for k, (a, b) in enumerate(links):  # a writes f{k}, b reads it
        uses[a].append(Use(f"f{k}", LinkType.OUTPUT))
        uses[b].append(Use(f"f{k}", LinkType.INPUT))
    jobs = tuple(Job(id=ids[i], name="t", uses=tuple(uses[i])) for i in range(n))
    return Workflow(name="w", jobs=jobs, dependencies=tuple((ids[a], ids[b]) for a, b in deps))


@settings(max_examples=200, deadline=None)
@given(wf=_workflows())
def test_order_levels_and_cycles_match_networkx(wf: Workflow) -> None:
    graph = build_job_graph(wf)
    reference = graph.to_networkx()
    if nx.is_directed_acyclic_graph(reference):
        # networkx's order: generation by generation, each in the order it became ready
        assert graph.topological_order() == tuple(nx.topological_sort(reference))
        expected = {
            job: depth
            for depth, generation in enumerate(nx.topological_generations(reference), 1)
            for job in generation
        }
        assert graph.levels() == expected
        assert graph.cyclic == ()
    else:
        on_or_after = set(reference)
        for component in nx.strongly_connected_components(reference):
            if len(component) > 1:
                continue
            (job,) = component
            if not nx.ancestors(reference, job) & _cyclic_nodes(reference):
                on_or_after.discard(job)
        assert set(graph.cyclic) == on_or_after
        assert list(graph.cyclic) == [j for j in graph.pred if j in on_or_after]
        with pytest.raises(CycleError):
            graph.topological_order()


def _cyclic_nodes(g: nx.DiGraph) -> set[str]:
    return {n for c in nx.strongly_connected_components(g) if len(c) > 1 for n in c}


def test_the_graph_is_a_plain_slotted_value() -> None:
    # The order used to be cached by writing into a frozen instance's __dict__.
    wf = Workflow(name="w", jobs=(Job(id="a", name="t"),))
    graph = build_job_graph(wf)
    assert not hasattr(graph, "__dict__")
    assert graph.topological_order() == ("a",)
    emptied = dataclasses.replace(graph, succ={}, pred={}, order=(), ends=())
    assert emptied.topological_order() == () and graph.topological_order() == ("a",)


def test_a_deep_chain_has_one_level_per_job() -> None:
    n = 20_000
    ids = [f"s{i}" for i in range(n)]
    wf = Workflow(
        name="chain",
        jobs=tuple(Job(id=i, name="t") for i in reversed(ids)),
        dependencies=tuple(pairwise(ids)),
    )
    graph = build_job_graph(wf)
    assert graph.topological_order() == tuple(ids)
    assert graph.ends == tuple(range(1, n + 1))
    assert graph.levels()[ids[-1]] == n
