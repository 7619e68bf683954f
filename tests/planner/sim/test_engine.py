"""Makespans computable by hand."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.sim import (
    NONE,
    OverheadModel,
    SimulationError,
    graph_from_record,
    simulate,
    simulate_record,
)


def compute(name: str, runtime: float, parents: list[str] = [], jobs: int = 1) -> dict[str, Any]:  # noqa: B006
    return {
        "name": name,
        "kind": "compute" if jobs == 1 else "cluster",
        "site": "s",
        "parents": list(parents),
        "runtime": runtime,
        "jobs": [f"{name}_{k}" for k in range(jobs)],
        "level": 1,
    }


def independent(n: int, runtime: float, per_node: int = 1) -> dict[str, Any]:
    return {"nodes": [compute(f"j{i}", runtime * per_node, jobs=per_node) for i in range(n)]}


def chain(runtimes: list[float]) -> dict[str, Any]:
    nodes = [compute(f"c{i}", rt, [f"c{i - 1}"] if i else []) for i, rt in enumerate(runtimes)]
    return {"nodes": nodes}


def test_100_independent_10s_jobs_on_10_slots_take_100s() -> None:
    assert simulate_record(independent(100, 10.0), {"s": 10}, NONE).makespan == 100.0


def test_clustering_by_10_beats_a_1s_per_job_overhead() -> None:
    overhead = OverheadModel(job_overhead=1.0)
    # unclustered: each slot runs 10 jobs of 10 s + 1 s = 110 s
    assert simulate_record(independent(100, 10.0), {"s": 10}, overhead).makespan == 110.0
    # 10 clusters of 10 jobs: one 100 s cluster per slot, paying the overhead once: 101 s
    clustered = simulate_record(independent(10, 10.0, per_node=10), {"s": 10}, overhead)
    assert clustered.makespan == 101.0


def test_chain_is_the_sum_of_runtimes_plus_overheads() -> None:
    overhead = OverheadModel(job_overhead=0.5, scheduling_delay=2.0, release_delay=1.0)
    runtimes = [3.0, 7.0, 11.0, 13.0]
    # every link: scheduling delay + runtime + job overhead; between links: release delay
    expected = sum(runtimes) + len(runtimes) * (2.0 + 0.5) + (len(runtimes) - 1) * 1.0
    result = simulate_record(chain(runtimes), {"s": 4}, overhead)
    assert result.makespan == pytest.approx(expected)
    assert [result.graph.names[i] for i in result.critical_path] == ["c0", "c1", "c2", "c3"]


def test_dagman_cycle_rounds_each_link_up_to_the_next_log_scan() -> None:
    dagman = OverheadModel(cycle=5.0, max_submits_per_cycle=100)
    # c0 runs 0-7, noticed at 10; c1 runs 10-17
    assert simulate_record(chain([7.0, 7.0]), {"s": 1}, dagman).makespan == 17.0
    # runtimes on the cycle grid lose nothing
    assert simulate_record(chain([5.0, 10.0]), {"s": 1}, dagman).makespan == 15.0


def test_dagman_submit_cap_spreads_submissions_over_cycles() -> None:
    dagman = OverheadModel(cycle=5.0, max_submits_per_cycle=100)
    # 250 one-second jobs, plenty of slots: submitted at 0, 5, 10 -> last ends at 11
    result = simulate_record(independent(250, 1.0), {"s": 1000}, dagman)
    assert result.makespan == 11.0
    assert sorted(set(result.submitted)) == [0.0, 5.0, 10.0]


def test_task_overhead_is_paid_per_member() -> None:
    overhead = OverheadModel(job_overhead=1.0, task_overhead=0.25)
    result = simulate_record(independent(1, 10.0, per_node=4), {"s": 1}, overhead)
    assert result.makespan == 40.0 + 1.0 + 4 * 0.25


def test_transfer_time_comes_from_file_sizes_and_bandwidth() -> None:
    from planner.sim import Network

    record = {
        "nodes": [
            {
                "name": "stage_in_local_s_0_0",
                "kind": "stage_in",
                "site": "local",
                "parents": [],
                "files": [
                    {"lfn": "a", "src": "file:///a", "dst": "x", "size": 200, "site": "s"},
                    {"lfn": "b", "src": "file:///b", "dst": "y", "size": 100, "site": "s"},
                ],
            },
            compute("j", 5.0, ["stage_in_local_s_0_0"]),
        ]
    }
    net = Network(default_bandwidth=10.0, pairs={"local->s": 100.0}, latency=0.5)
    result = simulate_record(record, {"*": 1}, NONE, net)
    assert result.makespan == pytest.approx(3.0 + 2 * 0.5 + 5.0)


def test_sites_are_simulated_on_their_own_slots() -> None:
    record = independent(4, 10.0)
    record["nodes"][0]["site"] = record["nodes"][1]["site"] = "t"
    result = simulate_record(record, {"s": 1, "t": 2}, NONE)
    assert result.makespan == 20.0
    assert result.utilisation() == {"s": 1.0, "t": 0.5}


def test_empty_single_and_diamond() -> None:
    assert simulate_record({"nodes": []}, {"*": 1}, NONE).makespan == 0.0
    assert simulate_record(chain([4.0]), {"*": 1}, NONE).makespan == 4.0
    diamond = {
        "nodes": [
            compute("a", 1.0),
            compute("b", 2.0, ["a"]),
            compute("c", 5.0, ["a"]),
            compute("d", 1.0, ["b", "c"]),
        ]
    }
    result = simulate_record(diamond, {"s": 2}, NONE)
    assert result.makespan == 7.0
    assert [result.graph.names[i] for i in result.critical_path] == ["a", "c", "d"]
    assert simulate_record(diamond, {"s": 1}, NONE).makespan == 9.0


def test_cycle_is_reported_by_node_name() -> None:
    record = {"nodes": [compute("a", 1.0, ["b"]), compute("b", 1.0, ["a"])]}
    with pytest.raises(SimulationError, match="cycle"):
        simulate_record(record, {"*": 1}, NONE)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"nodes": [compute("a", 1.0, ["zz"])]}, "unknown parent 'zz'"),
        ({"nodes": [compute("a", 1.0), compute("a", 1.0)]}, "'a' appears twice"),
        ({"nodes": [{**compute("a", 1.0), "runtime": "fast"}]}, "runtime 'fast'"),
        ({"nodes": [{**compute("a", 1.0), "runtime": -1}]}, "negative"),
        ({"nodes": [{**compute("a", 1.0), "runtime": "inf"}]}, "not finite"),
        (
            {
                "nodes": [
                    {**compute("a", 1.0), "kind": "stage_in", "files": [{"lfn": "f", "size": -3}]}
                ]
            },
            "size -3 of 'f' is not a byte count",
        ),
        ({}, "no 'nodes' list"),
    ],
)
def test_bad_records_name_the_node(record: dict[str, Any], message: str) -> None:
    with pytest.raises(SimulationError, match=message):
        graph_from_record(record, source="plan.json")


def test_missing_slot_count_names_the_site() -> None:
    graph = graph_from_record(independent(1, 1.0))
    with pytest.raises(SimulationError, match="site 's'"):
        simulate(graph, {}, NONE)


random_dags = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(0, 100, allow_nan=False), min_size=n, max_size=n),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n),
        st.integers(1, 4),
    )
)


@settings(max_examples=60, deadline=None)
@given(random_dags, st.sampled_from([0.0, 5.0]))
def test_schedule_respects_dependencies_slots_and_is_deterministic(
    dag: tuple[list[float], list[tuple[int, int]], int], cycle: float
) -> None:
    runtimes, pairs, slots = dag
    parents: dict[int, set[int]] = {i: set() for i in range(len(runtimes))}
    for a, b in pairs:
        if a < b:  # keep it acyclic
            parents[b].add(a)
    record = {
        "options": {"dagman_maxjobs": {"one": 1}},
        "nodes": [
            {
                **compute(f"n{i}", rt, [f"n{p}" for p in sorted(parents[i])]),
                "profiles": {"dagman": {"category": "one"}} if i % 3 == 0 else {},
            }
            for i, rt in enumerate(runtimes)
        ],
    }
    overhead = OverheadModel(cycle=cycle, max_submits_per_cycle=3, scheduling_delay=0.5)
    first = simulate_record(record, {"s": slots}, overhead)
    assert first == simulate_record(record, {"s": slots}, overhead)
    for i, ps in parents.items():
        assert first.start[i] >= first.submitted[i] + 0.5 - 1e-9
        for p in ps:
            assert first.submitted[i] >= first.finish[p] - 1e-9
    # never more than `slots` nodes at once on one slot index; slots never overlap
    by_slot: dict[int, list[tuple[float, float]]] = {}
    for i in range(len(runtimes)):
        assert 0 <= first.slot[i] < slots
        by_slot.setdefault(first.slot[i], []).append((first.start[i], first.finish[i]))
    for spans in by_slot.values():
        spans.sort()
        for (_, end), (begin, _) in itertools.pairwise(spans):
            assert begin >= end - 1e-9
    # category "one" (MAXJOBS 1) never runs two nodes at once
    limited = sorted((first.start[i], first.finish[i]) for i in range(0, len(runtimes), 3))
    for (_, end), (begin, _) in itertools.pairwise(limited):
        assert begin >= end - 1e-9
    # the makespan is at least the longest path and the total work / slots
    assert first.makespan >= max(runtimes) - 1e-9
    assert first.makespan >= sum(runtimes) / slots - 1e-6


@pytest.mark.parametrize("cycle", [0.0, 5.0])
def test_category_maxjobs_limits_concurrency(cycle: float) -> None:
    nodes = [
        {
            **compute(f"r{i}", 10.0),
            "kind": "register",
            "profiles": {"dagman": {"category": "registration"}},
        }
        for i in range(3)
    ] + [compute(f"j{i}", 10.0) for i in range(3)]
    record = {"options": {"dagman_maxjobs": {"registration": 1}}, "nodes": nodes}
    overhead = OverheadModel(cycle=cycle, max_submits_per_cycle=100 if cycle else None)
    result = simulate_record(record, {"s": 6}, overhead)
    # the three registrations run one after the other; the computes beside them
    assert sorted(result.start[:3]) == ([0.0, 10.0, 20.0])
    assert result.start[3:] == (0.0, 0.0, 0.0)
    assert result.makespan == 30.0
    # without the limit everything runs at once
    assert simulate_record({"nodes": nodes}, {"s": 6}, overhead).makespan == 10.0
