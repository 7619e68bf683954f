"""Pass 3: site selection."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalogs.transformation import (
    Transformation,
    TransformationCatalog,
    TransformationSite,
    TransformationType,
)
from planner.errors import Problems
from planner.model.base import Namespace
from planner.model.graph import build_job_graph
from planner.model.workflow import Job, LinkType, Use, Workflow
from planner.passes.select_sites import select_sites
from sites.model import SiteCatalog


def _place(wf: Workflow, cats: SimpleNamespace, **kw: object) -> dict[str, str]:
    graph = build_job_graph(wf)
    placed = select_sites(
        wf,
        graph,
        wf.jobs,
        cats.transformations,
        cats.sites,
        ["siteA", "siteB"],
        **kw,  # type: ignore[arg-type]
    )
    return {j: p.site for j, p in placed.items()}


def test_no_eligible_site_says_why_for_each_candidate(kit: SimpleNamespace) -> None:
    wf = kit.diamond()
    sites = (kit.site("local"), kit.site("siteA"), kit.site("siteB", arch="aarch64"))
    tc = TransformationCatalog(
        transformations=(
            Transformation(name="preprocess", sites=(TransformationSite(name="siteA", pfn="/p"),)),
            Transformation(
                name="findrange",
                sites=(TransformationSite(name="siteB", pfn="/f", arch="x86_64"),),
            ),
            Transformation(name="analyze", sites=(TransformationSite(name="siteA", pfn="/a"),)),
        )
    )
    with pytest.raises(Problems) as err:
        select_sites(
            wf, build_job_graph(wf), wf.jobs, tc, SiteCatalog(sites=sites), ["siteA", "siteB"]
        )
    assert err.value.lines() == [
        "diamond.yml: job ID2 (findrange): no eligible site: siteA: no TC entry for findrange; "
        "siteB: arch x86_64 != aarch64",
        "diamond.yml: job ID3 (findrange): no eligible site: siteA: no TC entry for findrange; "
        "siteB: arch x86_64 != aarch64",
    ]


def test_no_eligible_site_says_where_the_tc_installs_it(kit: SimpleNamespace) -> None:
    wf = kit.diamond()
    sites = (kit.site("local"), kit.site("siteA"), kit.site("siteB"), kit.site("hpc"))
    entry = TransformationSite(name="hpc", pfn="/x")
    tc = TransformationCatalog(
        transformations=tuple(
            Transformation(name=n, sites=(entry,)) for n in ("preprocess", "findrange", "analyze")
        )
    )
    with pytest.raises(Problems) as err:
        select_sites(wf, build_job_graph(wf), wf.jobs[:1], tc, SiteCatalog(sites=sites), ["siteA"])
    assert err.value.lines() == [
        "diamond.yml: job ID1 (preprocess): no eligible site: siteA: no TC entry for "
        "preprocess (the TC installs preprocess only at hpc, not a candidate site)"
    ]


def test_random_is_deterministic_per_seed(kit: SimpleNamespace) -> None:
    wf = kit.diamond()
    cats = kit.catalogs(["preprocess", "findrange", "analyze"], ["f.a"])
    runs = {tuple(_place(wf, cats, seed=s).values()) for s in range(20)}
    assert _place(wf, cats, seed=3) == _place(wf, cats, seed=3)
    assert len(runs) > 1  # the seed matters


def test_round_robin_alternates(kit: SimpleNamespace) -> None:
    wf = kit.diamond()
    cats = kit.catalogs(["preprocess", "findrange", "analyze"], ["f.a"])
    assert _place(wf, cats, selector="RoundRobin") == {
        "ID1": "siteA",
        "ID2": "siteB",
        "ID3": "siteA",
        "ID4": "siteB",
    }


def test_group_puts_a_group_on_one_site(kit: SimpleNamespace) -> None:
    g = {Namespace.PEGASUS: {"group": "g1"}}
    wf = kit.diamond({"ID1": g, "ID2": g, "ID3": g, "ID4": g})
    cats = kit.catalogs(["preprocess", "findrange", "analyze"], ["f.a"])
    for seed in range(5):
        assert len(set(_place(wf, cats, selector="group", seed=seed).values())) == 1


def test_pinning_wins(kit: SimpleNamespace) -> None:
    pin = {Namespace.SELECTOR: {"execution.site": "siteB"}}
    wf = kit.diamond({"ID1": pin})
    cats = kit.catalogs(["preprocess", "findrange", "analyze"], ["f.a"])
    for seed in range(5):
        assert _place(wf, cats, seed=seed)["ID1"] == "siteB"


def test_pinning_to_an_unusable_site_is_explained(kit: SimpleNamespace) -> None:
    pin = {Namespace.SELECTOR: {"execution.site": "nowhere"}}
    wf = kit.diamond({"ID1": pin})
    cats = kit.catalogs(["preprocess", "findrange", "analyze"], ["f.a"])
    with pytest.raises(Problems, match="nowhere: not in the site catalog"):
        _place(wf, cats)


def test_heft_spreads_parallel_jobs_over_slots(kit: SimpleNamespace) -> None:
    rt = {Namespace.PEGASUS: {"runtime": "10"}}
    wf = kit.diamond({"ID1": rt, "ID2": rt, "ID3": rt, "ID4": rt})
    cats = kit.catalogs(["preprocess", "findrange", "analyze"], ["f.a"])
    placed = _place(wf, cats, selector="heft")
    assert placed["ID2"] != placed["ID3"]  # one slot per site: parallel jobs split


def test_stageable_entry_makes_any_matching_site_eligible(kit: SimpleNamespace) -> None:
    wf = Workflow(name="w", jobs=(Job(id="A", name="t"),))
    tc = TransformationCatalog(
        transformations=(
            Transformation(
                name="t",
                sites=(
                    TransformationSite(
                        name="local", pfn="http://x/t", type=TransformationType.STAGEABLE
                    ),
                ),
            ),
        )
    )
    sc = SiteCatalog(sites=(kit.site("siteA"),))
    placed = select_sites(wf, build_job_graph(wf), wf.jobs, tc, sc, ["siteA"])
    assert placed["A"].site == "siteA"
    assert placed["A"].stageable and placed["A"].executable == "http://x/t"


def test_profile_precedence_tc_over_site_over_job_over_properties(kit: SimpleNamespace) -> None:
    job_prof = {Namespace.CONDOR: {"a": "job", "b": "job", "c": "job"}}
    wf = Workflow(name="w", jobs=(Job(id="A", name="t", profiles=job_prof),))
    tc = TransformationCatalog(
        transformations=(
            Transformation(
                name="t",
                sites=(
                    TransformationSite(name="siteA", pfn="/t", profiles={"condor": {"a": "tc"}}),
                ),
            ),
        )
    )
    sc = SiteCatalog(sites=(kit.site("siteA", profiles={"condor": {"a": "site", "b": "site"}}),))
    props = {Namespace.CONDOR: {"a": "p", "b": "p", "c": "p", "d": "p"}}
    placed = select_sites(wf, build_job_graph(wf), wf.jobs, tc, sc, ["siteA"], properties=props)
    assert placed["A"].profiles[Namespace.CONDOR] == {"a": "tc", "b": "site", "c": "job", "d": "p"}


def _fast_slow_tc(fast: str = "1", slow: str = "100") -> TransformationCatalog:
    """``t`` installed on siteA and siteB, with a different runtime per site entry."""
    return TransformationCatalog(
        transformations=(
            Transformation(
                name="t",
                sites=(
                    TransformationSite(
                        name="siteA", pfn="/t", profiles={"pegasus": {"runtime": slow}}
                    ),
                    TransformationSite(
                        name="siteB", pfn="/t", profiles={"pegasus": {"runtime": fast}}
                    ),
                ),
            ),
        ),
        source="tc.yml",
    )


def test_heft_uses_each_sites_runtime_from_the_tc(kit: SimpleNamespace) -> None:
    # Issue 13 defect 8: HEFT took 1 s everywhere and put every job on the slow site.
    wf = Workflow(name="w", jobs=(Job(id="A", name="t"),))
    sc = SiteCatalog(sites=(kit.site("siteA"), kit.site("siteB")))
    placed = select_sites(
        wf, build_job_graph(wf), wf.jobs, _fast_slow_tc(), sc, ["siteA", "siteB"], selector="heft"
    )
    assert placed["A"].site == "siteB"
    assert "earliest finish 1 s" in placed["A"].reason
    # the same with the slow site listed second: the order of candidates does not decide
    placed = select_sites(
        wf,
        build_job_graph(wf),
        wf.jobs,
        _fast_slow_tc(fast="100", slow="1"),
        sc,
        ["siteA", "siteB"],
        selector="heft",
    )
    assert placed["A"].site == "siteA"


def test_heft_finish_times_match_the_runtimes_the_simulator_sees(kit: SimpleNamespace) -> None:
    # Twelve independent jobs, siteA 10 slots at 100 s, siteB 1 slot at 5 s: filling
    # siteB's one slot 12 times (60 s) beats siteA's 100 s for every job.
    wf = Workflow(name="w", jobs=tuple(Job(id=f"J{i:02d}", name="t") for i in range(12)))
    sc = SiteCatalog(
        sites=(
            kit.site("siteA", profiles={"pegasus": {"slots": "10"}}),
            kit.site("siteB"),
        )
    )
    placed = select_sites(
        wf,
        build_job_graph(wf),
        wf.jobs,
        _fast_slow_tc(fast="5", slow="100"),
        sc,
        ["siteA", "siteB"],
        selector="heft",
    )
    assert {p.site for p in placed.values()} == {"siteB"}
    finishes = sorted(
        float(p.reason.split("earliest finish ")[1].split(" s")[0]) for p in placed.values()
    )
    assert finishes == [5.0 * k for k in range(1, 13)]


def test_a_placed_job_says_why_other_sites_were_rejected(kit: SimpleNamespace) -> None:
    wf = Workflow(name="w", jobs=(Job(id="A", name="t"),))
    sites = (kit.site("siteA"), kit.site("siteB", arch="aarch64"), kit.site("siteC"))
    tc = TransformationCatalog(
        transformations=(
            Transformation(
                name="t",
                sites=(
                    TransformationSite(name="siteA", pfn="/t"),
                    TransformationSite(name="siteB", pfn="/t", arch="x86_64"),
                ),
            ),
        )
    )
    placed = select_sites(
        wf, build_job_graph(wf), wf.jobs, tc, SiteCatalog(sites=sites), ["siteA", "siteB", "siteC"]
    )
    assert placed["A"].site == "siteA"
    assert placed["A"].reason.endswith(
        "; rejected: siteB: arch x86_64 != aarch64; siteC: no TC entry for t"
    )


def test_a_job_with_every_candidate_eligible_names_no_rejection(kit: SimpleNamespace) -> None:
    wf = Workflow(name="w", jobs=(Job(id="A", name="t"),))
    sc = SiteCatalog(sites=(kit.site("siteA"), kit.site("siteB")))
    placed = select_sites(wf, build_job_graph(wf), wf.jobs, _fast_slow_tc(), sc, ["siteA", "siteB"])
    assert "rejected" not in placed["A"].reason


@pytest.mark.parametrize("namespace", [Namespace.SELECTOR, Namespace.HINTS])
def test_hints_execution_site_pins_like_selector(
    kit: SimpleNamespace, namespace: Namespace
) -> None:
    pin = {namespace: {"execution.site": "siteB"}}
    wf = kit.diamond({"ID1": pin})
    cats = kit.catalogs(["preprocess", "findrange", "analyze"], ["f.a"])
    for seed in range(8):
        assert _place(wf, cats, seed=seed)["ID1"] == "siteB"
    placed = select_sites(
        wf,
        build_job_graph(wf),
        wf.jobs,
        cats.transformations,
        cats.sites,
        ["siteA", "siteB"],
    )
    assert f"pinned by {namespace.value}.execution.site" in placed["ID1"].reason


@settings(max_examples=40, deadline=None)
@given(
    edges=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=14),
    runtimes=st.lists(st.tuples(st.integers(1, 50), st.integers(1, 50)), min_size=8, max_size=8),
    slots=st.tuples(st.integers(1, 3), st.integers(1, 3)),
)
def test_heft_schedule_is_one_a_simulator_would_run(
    edges: list[tuple[int, int]], runtimes: list[tuple[int, int]], slots: tuple[int, int]
) -> None:
    """Each job's recorded finish is at least its parents' finish plus its runtime on the
    site it got, and no site ever runs more jobs at once than it has slots."""
    from catalogs.transformation import TransformationSite as Entry
    from sites.model import Site

    deps = sorted({(a, b) for a, b in edges if a < b})  # acyclic: lower index first
    jobs = tuple(
        Job(
            id=f"J{i}",
            name=f"t{i}",
            uses=tuple(Use(lfn=f"f{a}_{b}", link=LinkType.INPUT) for a, b in deps if b == i)
            + tuple(Use(lfn=f"f{a}_{b}", link=LinkType.OUTPUT) for a, b in deps if a == i),
        )
        for i in range(8)
    )
    wf = Workflow(name="w", jobs=jobs)
    tc = TransformationCatalog(
        transformations=tuple(
            Transformation(
                name=f"t{i}",
                sites=tuple(
                    Entry(name=s, pfn="/t", profiles={"pegasus": {"runtime": str(rt)}})
                    for s, rt in zip(("siteA", "siteB"), runtimes[i], strict=True)
                ),
            )
            for i in range(8)
        )
    )
    sc = SiteCatalog(
        sites=tuple(
            Site(name=s, profiles={"pegasus": {"slots": str(k)}})
            for s, k in zip(("siteA", "siteB"), slots, strict=True)
        )
    )
    graph = build_job_graph(wf)
    placed = select_sites(
        wf,
        graph,
        wf.jobs,
        tc,
        sc,
        ["siteA", "siteB"],
        selector="heft",
        topo_order=graph.topological_order(),
    )
    finish = {
        j: float(p.reason.split("earliest finish ")[1].split(" s")[0]) for j, p in placed.items()
    }
    runtime = {f"J{i}": dict(zip(("siteA", "siteB"), runtimes[i], strict=True)) for i in range(8)}
    start = {j: finish[j] - runtime[j][placed[j].site] for j in finish}
    for a, b in deps:
        assert start[f"J{b}"] >= finish[f"J{a}"]
    for site, k in zip(("siteA", "siteB"), slots, strict=True):
        here = [j for j in placed if placed[j].site == site]
        for j in here:
            t = start[j]
            running = [o for o in here if start[o] <= t < finish[o]]
            assert len(running) <= k
