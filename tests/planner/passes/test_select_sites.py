"""Pass 3: site selection."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from catalogs.transformation import (
    Transformation,
    TransformationCatalog,
    TransformationSite,
    TransformationType,
)
from planner.errors import Problems
from planner.model.base import Namespace
from planner.model.graph import build_job_graph
from planner.model.workflow import Job, Workflow
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
