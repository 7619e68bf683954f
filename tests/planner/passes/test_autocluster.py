"""``--cluster auto``: counts chosen by simulation, checked by hand."""

from __future__ import annotations

from planner.model.base import Namespace
from planner.model.workflow import Job
from planner.passes.autocluster import Group, auto_cluster, candidates, choose_counts
from planner.passes.select_sites import Placement
from planner.sim.model import NONE, OverheadModel


def test_candidates_are_powers_of_two_the_slots_and_no_merging() -> None:
    assert candidates(100, 10) == [1, 2, 4, 8, 10, 100]
    assert candidates(3, 128) == [1, 2, 3]
    assert candidates(1, 4) == [1]


def test_one_cluster_per_slot_when_each_job_costs_1s() -> None:
    groups = [Group(1, "t", "s", tuple(range(100)))]
    choice = choose_counts(
        [10.0] * 100, [()] * 100, groups, {"s": 10}, OverheadModel(job_overhead=1)
    )
    # 100 jobs of 11 s on 10 slots = 110 s; 10 clusters of 100 s + 1 s = 101 s
    assert choice.counts == (10,)
    assert (choice.unclustered_makespan, choice.makespan) == (110.0, 101.0)
    assert "100 jobs -> 10 clusters.num" in choice.lines[0]


def test_ties_go_to_fewer_clusters() -> None:
    groups = [Group(1, "t", "s", tuple(range(8)))]
    choice = choose_counts([1.0] * 8, [()] * 8, groups, {"s": 2}, NONE)
    assert choice.counts == (2,)
    assert choice.makespan == 4.0


def test_one_slot_merges_everything() -> None:
    groups = [Group(1, "t", "s", (0, 1, 2)), Group(2, "u", "s", (3,))]
    parents: list[tuple[int, ...]] = [(), (), (), (0, 1, 2)]
    choice = choose_counts(
        [5.0, 5.0, 5.0, 1.0], parents, groups, {"s": 1}, OverheadModel(job_overhead=2)
    )
    assert choice.counts == (1, 1)
    assert choice.makespan == 15.0 + 2 + 1 + 2


def _job(job_id: str, name: str) -> Job:
    return Job(id=job_id, name=name, profiles={Namespace.PEGASUS: {"runtime": "10"}})


def test_auto_cluster_cuts_units_like_the_cluster_pass_and_explains() -> None:
    jobs = [_job(f"p{i}", "proj") for i in range(8)] + [_job("add", "add")]
    levels = {j.id: (2 if j.id == "add" else 1) for j in jobs}
    placements = {
        j.id: Placement(
            site="condorpool",
            executable="/bin/true",
            stageable=False,
            profiles={Namespace.PEGASUS: {"runtime": "10", "clusters.size": "3"}},
            reason="",
        )
        for j in jobs
    }
    edges = [(f"p{i}", "add") for i in range(8)]
    result = auto_cluster(
        jobs, levels, placements, edges, {"condorpool": 4}, OverheadModel(job_overhead=1)
    )
    assert result.counts == {"level 1, proj on condorpool": 4, "level 2, add on condorpool": 1}
    clustered = [u for u in result.units if u.clustered]
    assert [u.jobs for u in clustered] == [("p0", "p1"), ("p2", "p3"), ("p4", "p5"), ("p6", "p7")]
    assert all("auto: simulated makespan" in u.reason for u in clustered)
    # 4 clusters of 2 x 10 s + 1 s, then the 11 s join
    assert result.choice.makespan == 32.0
    # the input placements are not modified
    assert placements["p0"].profiles[Namespace.PEGASUS]["clusters.size"] == "3"
