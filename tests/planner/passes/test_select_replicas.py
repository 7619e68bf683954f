"""Pass 5b: replica selection, on hand-made layouts (which staging site each unit uses)."""

from __future__ import annotations

from types import SimpleNamespace

from catalogs.replica import PFN
from planner.model.concrete import DataConfiguration
from planner.model.graph import build_job_graph
from planner.model.staging import ReplicaChoice, StagingLayout, StagingOptions
from planner.model.unit import Unit
from planner.model.workflow import Job, LinkType, Workflow
from planner.passes.select_replicas import select_replicas

OPTIONS = StagingOptions(workflow="w")
ON_A = PFN(url="gsiftp://a.example/f", site="siteA")
ON_B = PFN(url="gsiftp://b.example/f", site="siteB")
ON_LOCAL = PFN(url="/inputs/f", site="local")


def _layout(staging: dict[str, str]) -> StagingLayout:
    """Every job its own unit, staged on ``staging[job id]``."""
    units = {j: Unit(f"u_{j}", (j,), site, 0, "t", False) for j, site in staging.items()}
    return StagingLayout(
        unit_of=units,
        staging_of={u.name: (staging[j], DataConfiguration.NONSHAREDFS) for j, u in units.items()},
        workdirs={},
        writedirs={},
        workpaths={},
        per_level={},
    )


def test_each_staging_site_reads_its_own_best_replica(kit: SimpleNamespace) -> None:
    wf = Workflow(
        name="w",
        jobs=(
            Job(id="A", name="t", uses=(kit.use("f"),)),
            Job(id="B", name="t", uses=(kit.use("f"),)),
        ),
    )
    jobs = {j.id: j for j in wf.jobs}
    chosen = select_replicas(
        jobs,
        build_job_graph(wf),
        _layout({"A": "siteA", "B": "siteB"}),
        frozenset(),
        {"f": (ON_LOCAL, ON_B, ON_A)},
        OPTIONS,
    )
    assert chosen.reads == {
        ("f", "siteA"): ReplicaChoice("siteA", (ON_A.url, "file:///inputs/f", ON_B.url)),
        ("f", "siteB"): ReplicaChoice("siteB", (ON_B.url, "file:///inputs/f", ON_A.url)),
    }
    assert chosen.outputs == {}


def test_files_the_plan_makes_are_not_selected_but_an_inout_of_a_raw_file_is(
    kit: SimpleNamespace,
) -> None:
    made = Job(id="A", name="t", uses=(kit.use("g", kit.OUT),))
    reads_made = Job(id="B", name="t", uses=(kit.use("g"),))
    rewrites = Job(id="C", name="t", uses=(kit.use("f", LinkType.INOUT),))
    wf = Workflow(name="w", jobs=(made, reads_made, rewrites))
    chosen = select_replicas(
        {j.id: j for j in wf.jobs},
        build_job_graph(wf),
        _layout({"A": "siteA", "B": "siteB", "C": "siteB"}),
        frozenset(),
        {"f": (ON_A,), "g": (ON_A,)},  # g has an old copy: this plan makes a new one
        OPTIONS,
    )
    assert list(chosen.reads) == [("f", "siteB")]


def test_a_pruned_output_is_copied_only_when_the_output_site_lacks_it(kit: SimpleNamespace) -> None:
    wf = Workflow(
        name="w",
        jobs=(
            Job(id="A", name="t", uses=(kit.use("f", kit.OUT),)),
            Job(id="B", name="t", uses=(kit.use("h", kit.OUT),)),
            Job(id="C", name="t", uses=(kit.use("f"),)),
        ),
    )
    chosen = select_replicas(
        {j.id: j for j in wf.jobs},
        build_job_graph(wf),
        _layout({"C": "local"}),
        frozenset({"A", "B"}),
        {"f": (ON_LOCAL,), "h": (ON_B, ON_A)},
        OPTIONS,
    )
    # f is on the output site (local) already; its reader C still reads it there
    assert chosen.outputs == {"h": ReplicaChoice("siteB", (ON_B.url, ON_A.url))}
    assert chosen.reads == {("f", "local"): ReplicaChoice("local", ("file:///inputs/f",))}
