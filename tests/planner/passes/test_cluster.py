"""Pass 4: horizontal, runtime and label clustering."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from planner.errors import PlannerError
from planner.model.base import Namespace
from planner.model.graph import build_job_graph
from planner.model.placement import Placement
from planner.model.workflow import Job, LinkType, Use, Workflow
from planner.naming import safe_name
from planner.passes.cluster import Unit, cluster


def _fan(n: int, profiles: dict[Namespace, dict[str, str]] | None = None) -> Workflow:
    jobs = [Job(id="root", name="split", uses=(_u("in"), _u("x", True)))]
    jobs += [
        Job(
            id=f"w{i:02d}",
            name="work",
            namespace="ns",
            version="1.0",
            uses=(_u("x"), _u(f"o{i}", True)),
            profiles=profiles or {},
        )
        for i in range(n)
    ]
    return Workflow(name="fan", jobs=tuple(jobs))


def _u(lfn: str, out: bool = False) -> Use:
    return Use(lfn=lfn, link=LinkType.OUTPUT if out else LinkType.INPUT)


def _units(
    wf: Workflow, methods: list[str], site_of: Callable[[str], str] = lambda j: "siteA"
) -> list[Unit]:
    graph = build_job_graph(wf)
    levels = graph.levels()
    placements = {
        j.id: Placement(
            site=site_of(j.id),
            executable="/x",
            stageable=False,
            profiles={ns: dict(v) for ns, v in j.profiles.items()},
            reason="",
        )
        for j in wf.jobs
    }
    return cluster(wf.jobs, levels, placements, methods)


def test_default_size_one_means_no_merging() -> None:
    units = _units(_fan(5), ["horizontal"])
    assert [u.name for u in units] == ["split_root"] + [f"work_w{i:02d}" for i in range(5)]
    assert not any(u.clustered for u in units)


def test_clusters_size_chunks_in_order_with_pegasus_names() -> None:
    units = _units(_fan(5, {Namespace.PEGASUS: {"clusters.size": "2"}}), ["horizontal"])
    merged = [(u.name, u.jobs) for u in units if u.clustered]
    assert merged == [
        ("merge_ns-work-1_0_PID2_ID1", ("w00", "w01")),
        ("merge_ns-work-1_0_PID2_ID2", ("w02", "w03")),
    ]
    assert [u.jobs for u in units if not u.clustered][-1] == ("w04",)


def test_clusters_num_overrides_size() -> None:
    prof = {Namespace.PEGASUS: {"clusters.size": "2", "clusters.num": "2"}}
    units = _units(_fan(5, prof), ["horizontal"])
    assert [u.jobs for u in units if u.clustered] == [("w00", "w01", "w02"), ("w03", "w04")]


def test_horizontal_never_merges_across_sites() -> None:
    prof = {Namespace.PEGASUS: {"clusters.num": "1"}}
    units = _units(
        _fan(4, prof), ["horizontal"], lambda j: "siteA" if j in ("w00", "w02") else "siteB"
    )
    assert sorted(u.jobs for u in units if u.clustered) == [("w00", "w02"), ("w01", "w03")]


def test_runtime_clustering_respects_maxruntime() -> None:
    prof = {
        Namespace.PEGASUS: {
            "clusterer.preference": "Runtime",
            "clusters.maxruntime": "30",
            "runtime": "10",
        }
    }
    units = _units(_fan(7, prof), ["horizontal"])
    sizes = sorted(len(u.jobs) for u in units if u.name != "split_root")
    assert sizes == [1, 3, 3]


def test_label_makes_one_cluster_per_label() -> None:
    wf = _fan(4)
    labelled = tuple(
        replace(j, profiles={Namespace.PEGASUS: {"label": "L.1"}}) if j.id in ("root", "w01") else j
        for j in wf.jobs
    )
    units = _units(Workflow(name="fan", jobs=labelled), ["label"])
    assert [(u.name, u.jobs) for u in units if u.clustered] == [("merge_L_1", ("root", "w01"))]


def test_whole_makes_one_cluster_per_site_in_topological_order() -> None:
    units = _units(_fan(3), ["whole"])
    assert [(u.name, u.jobs, u.clustered) for u in units] == [
        ("merge_whole_siteA", ("root", "w00", "w01", "w02"), True)
    ]
    split = _units(_fan(3), ["whole"], site_of=lambda j: "siteB" if j == "w01" else "siteA")
    assert [(u.name, u.jobs) for u in split] == [
        ("merge_whole_siteA", ("root", "w00", "w02")),
        ("work_w01", ("w01",)),  # alone on its site: a plain node
    ]


def test_unknown_method_is_refused() -> None:
    with pytest.raises(PlannerError, match="unknown clustering method 'vertical'"):
        _units(_fan(1), ["vertical"])


def test_safe_name() -> None:
    assert safe_name("a.b c/d-e_f") == "a_b_c_d-e_f"
