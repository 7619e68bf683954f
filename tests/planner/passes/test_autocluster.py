"""``--cluster auto``: counts chosen by simulation, checked by hand."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.model.base import Namespace
from planner.model.placement import Placement
from planner.model.workflow import Job
from planner.passes.autocluster import Group, auto_cluster, candidates, choose_counts
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


def _fan_workflow(n: int) -> tuple[object, object]:
    from catalogs.replica import PFN, Replica, ReplicaCatalog
    from catalogs.transformation import Transformation, TransformationCatalog, TransformationSite
    from planner.model.workflow import LinkType, Use, Workflow
    from planner.plan import Catalogs
    from sites.defaults import with_defaults
    from sites.model import Directory, DirectoryType, FileServer, Site, SiteCatalog

    runtime = {Namespace.PEGASUS: {"runtime": "10"}}
    jobs = [
        Job(
            id=f"w{i}",
            name="work",
            uses=(
                Use(lfn=f"in{i}", link=LinkType.INPUT),
                Use(lfn=f"mid{i}", link=LinkType.OUTPUT, stage_out=False),
            ),
            profiles=runtime,
        )
        for i in range(n)
    ]
    jobs.append(
        Job(
            id="join",
            name="join",
            uses=(
                *(Use(lfn=f"mid{i}", link=LinkType.INPUT) for i in range(n)),
                Use(lfn="out", link=LinkType.OUTPUT),
            ),
            profiles=runtime,
        )
    )
    scratch = Directory(
        type=DirectoryType.SHARED_SCRATCH,
        path="/data/a/scratch",
        file_servers=(FileServer(url="file:///data/a/scratch"),),
    )
    sites = with_defaults(
        SiteCatalog(
            sites=(
                Site(name="siteA", directories=(scratch,), profiles={"pegasus": {"slots": "4"}}),
            ),
            source="sites.yml",
        ),
        Path("/plan"),
    )
    tc = TransformationCatalog(
        transformations=tuple(
            Transformation(name=t, sites=(TransformationSite(name="siteA", pfn=f"/bin/{t}"),))
            for t in ("join", "work")
        ),
        source="tc.yml",
    )
    rc = ReplicaCatalog(
        replicas=tuple(
            Replica(lfn=f"in{i}", pfns=(PFN(url=f"file:///in/in{i}", site="local"),))
            for i in range(n)
        ),
        source="rc.yml",
    )
    return Workflow(name="fan", jobs=tuple(jobs), source="fan.yml"), Catalogs(
        replicas=rc, transformations=tc, sites=sites
    )


def test_plan_with_cluster_auto_records_the_choice_and_simulates() -> None:
    from planner.emit.record import plan_record
    from planner.plan import PlanOptions, plan
    from planner.sim import NONE, simulate_record

    workflow, catalogs = _fan_workflow(8)
    options = PlanOptions(
        sites=("siteA",),
        cluster=("auto",),
        properties={
            "wfplan.cluster.auto.overhead": "none",
            "pegasus.data.configuration": "sharedfs",
        },
    )
    cw = plan(workflow, catalogs, options)  # type: ignore[arg-type]
    lines = cw.options["cluster_auto"]
    assert "level 1, work on siteA: 8 jobs -> 4 clusters.num" in lines[0]
    merged = [n for n in cw.nodes if n.kind.value == "cluster"]
    assert [len(n.jobs) for n in merged] == [2, 2, 2, 2]
    # four 20 s clusters on four slots, then the 10 s join
    record = plan_record(cw)
    result = simulate_record(record, {"siteA": 4, "*": 1}, NONE)
    compute_finish = max(
        result.finish[i] for i, k in enumerate(result.graph.kinds) if k in ("compute", "cluster")
    )
    assert (
        compute_finish
        - min(result.start[i] for i, k in enumerate(result.graph.kinds) if k == "cluster")
        == 30.0
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 12), min_size=1, max_size=4),
    st.integers(1, 8),
    st.floats(0, 3, allow_nan=False),
    st.one_of(st.just(0.0), st.floats(0.001, 6, allow_nan=False)),
)
def test_choice_is_never_worse_than_no_merging_or_one_cluster_per_slot(
    widths: list[int], slots: int, overhead: float, cycle: float
) -> None:
    # a layered workflow: every job depends on every job of the level before
    groups, parents, runtime = [], [], []
    previous: tuple[int, ...] = ()
    for level, width in enumerate(widths, start=1):
        members = tuple(range(len(runtime), len(runtime) + width))
        for m in members:
            runtime.append(1.0 + (m % 5))
            parents.append(previous)
        groups.append(Group(level, f"t{level}", "s", members))
        previous = members
    model = OverheadModel(job_overhead=overhead, cycle=cycle, max_submits_per_cycle=2)
    choice = choose_counts(runtime, parents, groups, {"s": slots}, model)
    assert choice.makespan <= choice.unclustered_makespan + 1e-9
    assert choice.makespan <= choice.per_slot_makespan + 1e-9
    assert all(1 <= c <= len(g.members) for c, g in zip(choice.counts, groups, strict=True))
    assert choice == choose_counts(runtime, parents, groups, {"s": slots}, model)


def test_search_stops_at_its_budget_and_says_so() -> None:
    groups = [Group(1, "t", "s", tuple(range(100)))]
    model = OverheadModel(job_overhead=1)
    choice = choose_counts([10.0] * 100, [()] * 100, groups, {"s": 10}, model, budget=3)
    assert choice.evaluations == 3
    assert choice.lines[-1].endswith("(stopped at the budget of 3)")
    assert choice.makespan <= choice.per_slot_makespan
