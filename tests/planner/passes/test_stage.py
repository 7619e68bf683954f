"""Pass 6 (staging) through plan(): each data configuration on the diamond and the
transfer rules (stage_inter, bypass, sha256, transfer clustering, reuse stage-out)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from catalogs.replica import PFN, Replica
from catalogs.transformation import (
    Transformation,
    TransformationCatalog,
    TransformationSite,
    TransformationType,
)
from planner.errors import PlannerError
from planner.model.base import Namespace
from planner.model.concrete import ConcreteWorkflow, DataConfiguration, Node, NodeKind
from planner.model.workflow import Job, Workflow
from planner.plan import Catalogs, PlanOptions, plan
from sites.model import Directory, DirectoryType, FileServer, Operation, Site

ALL = ("preprocess", "findrange", "analyze")


def _plan(wf: Workflow, cats: Catalogs, **kw: Any) -> ConcreteWorkflow:
    return plan(wf, cats, PlanOptions(**kw))


def _kind(cw: ConcreteWorkflow, kind: NodeKind) -> list[Node]:
    return [n for n in cw.nodes if n.kind == kind]


def _node(cw: ConcreteWorkflow, name: str) -> Node:
    return next(n for n in cw.nodes if n.name == name)


def test_condorio_stages_through_local(kit: SimpleNamespace) -> None:
    cw = _plan(kit.diamond(), kit.catalogs(ALL, ["f.a"]), sites=("siteA",))
    compute = _kind(cw, NodeKind.COMPUTE)
    assert {n.staging_site for n in compute} == {"local"}
    assert {n.data_configuration for n in compute} == {DataConfiguration.CONDORIO}
    pre = _node(cw, "preprocess_ID1")
    assert pre.working_dir == "/data/local/scratch/diamond"
    assert [(t.lfn, t.src, t.dst) for t in pre.inputs] == [
        ("f.a", ("file:///data/local/scratch/diamond/f.a",), "f.a")
    ]
    assert [(t.lfn, t.dst) for t in pre.outputs] == [
        ("f.b1", "file:///data/local/scratch/diamond/f.b1"),
        ("f.b2", "file:///data/local/scratch/diamond/f.b2"),
    ]
    (stage_in,) = _kind(cw, NodeKind.STAGE_IN)
    assert stage_in.name == "stage_in_local_local_1_0"
    assert [(t.src, t.dst) for t in stage_in.files] == [
        (("file:///inputs/f.a",), "file:///data/local/scratch/diamond/f.a")
    ]
    (stage_out,) = _kind(cw, NodeKind.STAGE_OUT)
    assert [(t.lfn, t.dst, t.site) for t in stage_out.files] == [
        ("f.d", "file:///data/local/storage/f.d", "local")
    ]
    assert ("analyze_ID4", stage_out.name) in cw.edges


def test_sharedfs_runs_in_the_execution_sites_scratch(kit: SimpleNamespace) -> None:
    cw = _plan(
        kit.diamond(),
        kit.catalogs(ALL, ["f.a"]),
        sites=("siteB",),
        data_configuration=DataConfiguration.SHAREDFS,
    )
    compute = _kind(cw, NodeKind.COMPUTE)
    assert {(n.site, n.staging_site, n.working_dir) for n in compute} == {
        ("siteB", "siteB", "/data/siteB/scratch/diamond")
    }
    assert _kind(cw, NodeKind.STAGE_INTER) == []


def test_nonsharedfs_uses_the_named_staging_site(kit: SimpleNamespace) -> None:
    cw = _plan(
        kit.diamond(),
        kit.catalogs(ALL, ["f.a"]),
        sites=("siteA",),
        data_configuration=DataConfiguration.NONSHAREDFS,
        staging_sites={"siteA": "siteB"},
    )
    assert {n.staging_site for n in _kind(cw, NodeKind.COMPUTE)} == {"siteB"}
    (stage_in,) = _kind(cw, NodeKind.STAGE_IN)
    assert stage_in.files[0].dst == "file:///data/siteB/scratch/diamond/f.a"


def test_site_profile_sets_the_data_configuration(kit: SimpleNamespace) -> None:
    sites = (
        kit.site("local"),
        kit.site("siteA", profiles={"pegasus": {"data.configuration": "sharedfs"}}),
    )
    cats = kit.catalogs(ALL, ["f.a"], sites=sites)
    cw = _plan(kit.diamond(), cats, sites=("siteA",))
    assert {n.data_configuration for n in _kind(cw, NodeKind.COMPUTE)} == {
        DataConfiguration.SHAREDFS
    }


def test_stage_inter_moves_a_file_between_staging_sites(kit: SimpleNamespace) -> None:
    cw = _plan(
        kit.diamond(),
        kit.catalogs(ALL, ["f.a"]),
        data_configuration=DataConfiguration.SHAREDFS,
        site_selector="round-robin",
    )
    inter = {
        t.lfn: (n.name, t.src, t.dst) for n in _kind(cw, NodeKind.STAGE_INTER) for t in n.files
    }
    # ID1@siteA -> ID2@siteB reads f.b1 from siteA; ID3@siteA; ID4@siteB reads f.c2.
    assert inter["f.b1"][1:] == (
        ("file:///data/siteA/scratch/diamond/f.b1",),
        "file:///data/siteB/scratch/diamond/f.b1",
    )
    assert ("preprocess_ID1", inter["f.b1"][0]) in cw.edges
    assert (inter["f.b1"][0], "findrange_ID2") in cw.edges
    # each file travels with its producer's checksum record, which the reader checks
    assert set(inter) == {"f.b1", "f.c2", "preprocess_ID1.meta", "findrange_ID3.meta"}
    assert inter["preprocess_ID1.meta"][1:] == (
        ("file:///data/siteA/scratch/diamond/preprocess_ID1.meta",),
        "file:///data/siteB/scratch/diamond/preprocess_ID1.meta",
    )
    assert (inter["preprocess_ID1.meta"][0], "findrange_ID2") in cw.edges
    (f_b1,) = _node(cw, "findrange_ID2").inputs
    assert f_b1.meta == "file:///data/siteB/scratch/diamond/preprocess_ID1.meta"


def test_bypass_reads_the_replica_directly(kit: SimpleNamespace) -> None:
    wf = kit.diamond()
    job = replace(wf.jobs[0], uses=(kit.use("f.a", bypass=True), *wf.jobs[0].uses[1:]))
    wf = replace(wf, jobs=(job, *wf.jobs[1:]))
    cw = _plan(wf, kit.catalogs(ALL, ["f.a"]), sites=("siteA",))
    assert _kind(cw, NodeKind.STAGE_IN) == []
    assert _node(cw, "preprocess_ID1").inputs[0].src == ("file:///inputs/f.a",)


def test_sha256_and_fallbacks_come_from_the_replica_catalog(kit: SimpleNamespace) -> None:
    rep = Replica(
        lfn="f.a",
        pfns=(PFN(url="http://mirror/f.a", site="web"), PFN(url="/inputs/f.a", site="local")),
        sha256="ab" * 32,
    )
    cats = kit.catalogs(ALL, [], extra_replicas=[rep])
    cw = _plan(kit.diamond(), cats, sites=("siteA",))
    (stage_in,) = _kind(cw, NodeKind.STAGE_IN)
    (t,) = stage_in.files
    assert t.src == ("file:///inputs/f.a", "http://mirror/f.a")
    assert t.sha256 == "ab" * 32


def _fan(n: int, shared: bool = False) -> Workflow:
    jobs = tuple(
        Job(
            id=f"j{i:02d}",
            name="work",
            uses=(
                _use("common" if shared else f"in{i}"),
                _use(f"out{i}", out=True),
            ),
        )
        for i in range(n)
    )
    return Workflow(name="fan", jobs=jobs)


def _use(lfn: str, out: bool = False) -> Any:
    from planner.model.workflow import LinkType, Use

    return Use(lfn=lfn, link=LinkType.OUTPUT if out else LinkType.INPUT)


def test_transfers_are_clustered_ceil_n_over_10_round_robin(kit: SimpleNamespace) -> None:
    cats = kit.catalogs(["work"], [f"in{i}" for i in range(25)])
    cw = _plan(_fan(25), cats, sites=("siteA",))
    stage_ins = _kind(cw, NodeKind.STAGE_IN)
    assert [n.name for n in stage_ins] == [f"stage_in_local_local_1_{k}" for k in range(3)]
    assert [len(n.files) for n in stage_ins] == [9, 8, 8]
    assert [t.lfn for t in stage_ins[1].files][:2] == ["in1", "in4"]
    assert len(_kind(cw, NodeKind.STAGE_OUT)) == 3


def test_stagein_clusters_property_overrides(kit: SimpleNamespace) -> None:
    cats = kit.catalogs(["work"], [f"in{i}" for i in range(25)])
    cw = _plan(
        _fan(25),
        cats,
        sites=("siteA",),
        properties={"pegasus.stagein.clusters": "1", "pegasus.stageout.clusters": "5"},
    )
    assert len(_kind(cw, NodeKind.STAGE_IN)) == 1
    assert len(_kind(cw, NodeKind.STAGE_OUT)) == 5


def test_a_file_is_never_staged_twice_to_one_site(kit: SimpleNamespace) -> None:
    cats = kit.catalogs(["work"], ["common"])
    cw = _plan(_fan(12, shared=True), cats, sites=("siteA",))
    lfns = [t.lfn for n in _kind(cw, NodeKind.STAGE_IN) for t in n.files]
    assert lfns == ["common"]
    (stage_in,) = _kind(cw, NodeKind.STAGE_IN)
    assert sum(1 for p, _ in cw.edges if p == stage_in.name and not _.startswith("clean")) == 12


def test_outputs_of_pruned_jobs_are_staged_out_from_their_replica(kit: SimpleNamespace) -> None:
    old = Replica(lfn="f.d", pfns=(PFN(url="file:///archive/f.d", site="siteA"),))
    cw = _plan(kit.diamond(), kit.catalogs(ALL, ["f.a"], extra_replicas=[old]), sites=("siteA",))
    assert [p.job for p in cw.pruned] == ["ID1", "ID2", "ID3", "ID4"]
    assert _kind(cw, NodeKind.COMPUTE) == []
    (stage_out,) = _kind(cw, NodeKind.STAGE_OUT)
    assert [(t.src, t.dst) for t in stage_out.files] == [
        (("file:///archive/f.d",), "file:///data/local/storage/f.d")
    ]


def _stageable_tc(*names: str, pfn: str = "/repo/bin/t") -> TransformationCatalog:
    return TransformationCatalog(
        transformations=tuple(
            Transformation(
                namespace="ns",
                name=name,
                version="2.0",
                sites=(
                    TransformationSite(name="local", pfn=pfn, type=TransformationType.STAGEABLE),
                ),
            )
            for name in names
        )
    )


def _stageable_jobs(*names: str) -> Workflow:
    return Workflow(
        name="w",
        jobs=tuple(
            Job(id=f"J{i}", name=name, namespace="ns", version="2.0")
            for i, name in enumerate(names)
        ),
    )


@pytest.mark.parametrize(
    ("config", "scratch", "runs"),
    [
        ("condorio", "/data/local/scratch/w", "./ns-t-2.0"),
        ("nonsharedfs", "/data/siteA/scratch/w", "./ns-t-2.0"),
        ("sharedfs", "/data/siteA/scratch/w", "/data/siteA/scratch/w/ns-t-2.0"),
    ],
)
def test_a_stageable_executable_is_staged_in_then_pulled_and_run_as_the_copy(
    kit: SimpleNamespace, config: str, scratch: str, runs: str
) -> None:
    cats = replace(kit.catalogs([], []), transformations=_stageable_tc("t"))
    cw = _plan(
        _stageable_jobs("t"),
        cats,
        sites=("siteA",),
        data_configuration=DataConfiguration(config),
    )
    (node,) = _kind(cw, NodeKind.COMPUTE)
    (stage_in,) = _kind(cw, NodeKind.STAGE_IN)
    # staged like an input file, named as Pegasus names it (namespace-name-version)
    assert [(t.lfn, t.src, t.dst, t.executable) for t in stage_in.files] == [
        ("ns-t-2.0", ("file:///repo/bin/t",), f"file://{scratch}/ns-t-2.0", True)
    ]
    assert (stage_in.name, node.name) in cw.edges
    assert [(t.lfn, t.src, t.dst, t.executable) for t in node.inputs] == [
        ("ns-t-2.0", (f"file://{scratch}/ns-t-2.0",), "ns-t-2.0", True)
    ]
    assert node.tasks[0].executable == runs
    assert "executable ns-t-2.0: staged from file:///repo/bin/t" in cw.decisions["J0"]
    (cleanup,) = _kind(cw, NodeKind.CLEANUP)
    assert [t.dst for t in cleanup.files] == [f"file://{scratch}/ns-t-2.0"]


def test_jobs_sharing_a_stageable_executable_on_a_site_stage_it_once(
    kit: SimpleNamespace,
) -> None:
    cats = replace(kit.catalogs([], []), transformations=_stageable_tc("t", "u"))
    cw = _plan(_stageable_jobs("t", "t", "u", "t"), cats, sites=("siteA",))
    staged = [t.lfn for n in _kind(cw, NodeKind.STAGE_IN) for t in n.files]
    assert sorted(staged) == ["ns-t-2.0", "ns-u-2.0"]
    stage_in = {t.lfn: n.name for n in _kind(cw, NodeKind.STAGE_IN) for t in n.files}
    for node in _kind(cw, NodeKind.COMPUTE):
        (exe,) = node.inputs
        assert (stage_in[exe.lfn], node.name) in cw.edges


def test_a_cluster_pulls_each_staged_executable_once(kit: SimpleNamespace) -> None:
    cats = replace(kit.catalogs([], []), transformations=_stageable_tc("t"))
    wf = _stageable_jobs("t", "t", "t")
    wf = replace(
        wf,
        jobs=tuple(
            replace(j, profiles={Namespace.PEGASUS: {"clusters.size": "3"}}) for j in wf.jobs
        ),
    )
    cw = _plan(wf, cats, sites=("siteA",), cluster=("horizontal",))
    (cluster,) = _kind(cw, NodeKind.CLUSTER)
    assert [t.lfn for t in cluster.inputs] == ["ns-t-2.0"]
    assert [t.executable for t in cluster.tasks] == ["./ns-t-2.0"] * 3


def test_two_sources_for_one_staged_name_on_one_site_are_refused(kit: SimpleNamespace) -> None:
    # one stageable entry per arch; condorio stages both to local under one name
    tx = Transformation(
        namespace="ns",
        name="t",
        version="2.0",
        sites=tuple(
            TransformationSite(
                name="local", pfn=f"/repo/{arch}/t", type=TransformationType.STAGEABLE, arch=arch
            )
            for arch in ("x86_64", "aarch64")
        ),
    )
    sites = (kit.site("local"), kit.site("siteA", arch="x86_64"), kit.site("siteB", arch="aarch64"))
    cats = replace(
        kit.catalogs([], [], sites=sites),
        transformations=TransformationCatalog(transformations=(tx,)),
    )
    wf = _stageable_jobs("t", "t")
    wf = replace(
        wf,
        jobs=tuple(
            replace(j, profiles={Namespace.SELECTOR: {"execution.site": s}})
            for j, s in zip(wf.jobs, ("siteA", "siteB"), strict=True)
        ),
    )
    with pytest.raises(PlannerError, match=r"'ns-t-2\.0' would come from file:///repo/aarch64/t"):
        _plan(wf, cats, sites=("siteA", "siteB"))


def test_a_staged_executable_named_like_a_data_file_is_refused(kit: SimpleNamespace) -> None:
    cats = replace(kit.catalogs([], ["ns-t-2.0"]), transformations=_stageable_tc("t"))
    job = Job(id="J0", name="t", namespace="ns", version="2.0", uses=(kit.use("ns-t-2.0"),))
    with pytest.raises(
        PlannerError, match=r"job J0: its staged executable 'ns-t-2\.0' has the name of a file"
    ):
        _plan(Workflow(name="w", jobs=(job,)), cats, sites=("siteA",))


def test_dagman_extras_on_nodes(kit: SimpleNamespace) -> None:
    wf = kit.diamond({"ID4": {Namespace.DAGMAN: {"retry": "3"}}})
    cw = _plan(wf, kit.catalogs(ALL, ["f.a"]), sites=("siteA",))
    dag = {n.name: dict(n.profiles[Namespace.DAGMAN]) for n in cw.nodes}
    assert dag["analyze_ID4"] == {"retry": "3", "priority": "30"}
    assert dag["preprocess_ID1"] == {"retry": "1", "priority": "10"}
    assert dag["stage_in_local_local_1_0"] == {
        "retry": "1",
        "priority": "700",
        "category": "stagein",
    }
    assert dag["create_dir_diamond_0_local"]["priority"] == "800"


def test_inout_on_an_existing_file_is_staged_in(kit: SimpleNamespace) -> None:
    from planner.model.workflow import LinkType

    job = Job(id="A", name="t", uses=(kit.use("log", LinkType.INOUT),))
    cats = kit.catalogs(["t"], ["log"])
    cw = _plan(Workflow(name="w", jobs=(job,)), cats, sites=("siteA",), reuse_scope="none")
    (node,) = _kind(cw, NodeKind.COMPUTE)
    assert [t.lfn for t in node.inputs] == ["log"] and [t.lfn for t in node.outputs] == ["log"]
    (stage_in,) = _kind(cw, NodeKind.STAGE_IN)
    assert stage_in.files[0].src == ("file:///inputs/log",)


# A staging site behind an http file server: written through put, read through get.
PUT_URL = "http://put.example.org/scratch"
GET_URL = "http://get.example.org/scratch"


def _web(servers: tuple[tuple[str, Operation], ...]) -> Site:
    return Site(
        name="web",
        directories=(
            Directory(
                type=DirectoryType.SHARED_SCRATCH,
                path="/srv/scratch",
                file_servers=tuple(FileServer(url=u, operation=op) for u, op in servers),
            ),
        ),
    )


def _web_catalogs(kit: SimpleNamespace, web: Site) -> Catalogs:
    sites = (kit.site("local"), kit.site("siteA"), kit.site("siteB"), web)
    return kit.catalogs(ALL, ["f.a"], sites=sites)


def _split_web() -> Site:
    # a get-only server listed first: writes must skip it, reads must skip the put one
    return _web(
        (
            (GET_URL + "/", Operation.GET),
            (PUT_URL, Operation.PUT),
            ("http://other.example.org/s", Operation.ALL),
        )
    )


def test_a_staging_site_behind_a_server_is_written_through_put_and_read_through_get(
    kit: SimpleNamespace,
) -> None:
    cw = _plan(
        kit.diamond(),
        _web_catalogs(kit, _split_web()),
        sites=("siteA",),
        data_configuration=DataConfiguration.NONSHAREDFS,
        staging_sites={"siteA": "web"},
    )
    put, get = f"{PUT_URL}/diamond", f"{GET_URL}/diamond"
    (stage_in,) = _kind(cw, NodeKind.STAGE_IN)
    assert [(t.src, t.dst) for t in stage_in.files] == [(("file:///inputs/f.a",), f"{put}/f.a")]
    assert stage_in.files[0].symlink is False
    pre = _node(cw, "preprocess_ID1")
    assert pre.working_dir == "/srv/scratch/diamond"
    assert [(t.src, t.dst) for t in pre.inputs] == [((f"{get}/f.a",), "f.a")]
    assert [t.dst for t in pre.outputs] == [f"{put}/f.b1", f"{put}/f.b2"]
    analyze = _node(cw, "analyze_ID4")
    assert [t.src for t in analyze.inputs] == [(f"{get}/f.c1",), (f"{get}/f.c2",)]
    (stage_out,) = _kind(cw, NodeKind.STAGE_OUT)
    assert [(t.src, t.dst) for t in stage_out.files] == [
        ((f"{get}/f.d",), "file:///data/local/storage/f.d")
    ]
    (create,) = _kind(cw, NodeKind.CREATE_DIR)
    assert [t.dst for t in create.files] == [put]
    removed = sorted(t.dst for n in _kind(cw, NodeKind.CLEANUP) for t in n.files)
    lfns = ("f.a", "f.b1", "f.b2", "f.c1", "f.c2", "f.d")
    records = ("analyze_ID4", "findrange_ID2", "findrange_ID3", "preprocess_ID1")
    assert removed == sorted(
        [f"{put}/{lfn}" for lfn in lfns] + [f"{put}/{r}.meta" for r in records]
    )


def test_leaf_cleanup_removes_through_the_put_server(kit: SimpleNamespace) -> None:
    cw = _plan(
        kit.diamond(),
        _web_catalogs(kit, _split_web()),
        sites=("siteA",),
        data_configuration=DataConfiguration.NONSHAREDFS,
        staging_sites={"siteA": "web"},
        cleanup="leaf",
    )
    (leaf,) = _kind(cw, NodeKind.CLEANUP)
    assert {t.dst.rpartition("/")[0] for t in leaf.files} == {f"{PUT_URL}/diamond"}


def test_stage_inter_writes_through_put_and_reads_through_get(kit: SimpleNamespace) -> None:
    on_a = {Namespace.SELECTOR: {"execution.site": "siteA"}}
    on_b = {Namespace.SELECTOR: {"execution.site": "siteB"}}
    cw = _plan(
        kit.diamond({"ID1": on_b, "ID2": on_a, "ID3": on_a, "ID4": on_b}),
        _web_catalogs(kit, _split_web()),
        sites=("siteA", "siteB"),
        data_configuration=DataConfiguration.NONSHAREDFS,
        staging_sites={"siteA": "web"},
    )
    assert {n.name: n.staging_site for n in _kind(cw, NodeKind.COMPUTE)} == {
        "preprocess_ID1": "siteB",
        "findrange_ID2": "web",
        "findrange_ID3": "web",
        "analyze_ID4": "siteB",
    }
    inter = {t.lfn: (t.src, t.dst) for n in _kind(cw, NodeKind.STAGE_INTER) for t in n.files}
    b = "file:///data/siteB/scratch/diamond"
    assert inter == {
        "f.b1": ((f"{b}/f.b1",), f"{PUT_URL}/diamond/f.b1"),
        "f.b2": ((f"{b}/f.b2",), f"{PUT_URL}/diamond/f.b2"),
        "f.c1": ((f"{GET_URL}/diamond/f.c1",), f"{b}/f.c1"),
        "f.c2": ((f"{GET_URL}/diamond/f.c2",), f"{b}/f.c2"),
        # the producers' checksum records travel with their files
        "preprocess_ID1.meta": (
            (f"{b}/preprocess_ID1.meta",),
            f"{PUT_URL}/diamond/preprocess_ID1.meta",
        ),
        "findrange_ID2.meta": (
            (f"{GET_URL}/diamond/findrange_ID2.meta",),
            f"{b}/findrange_ID2.meta",
        ),
        "findrange_ID3.meta": (
            (f"{GET_URL}/diamond/findrange_ID3.meta",),
            f"{b}/findrange_ID3.meta",
        ),
    }


def test_one_all_server_is_used_both_ways(kit: SimpleNamespace) -> None:
    cw = _plan(
        kit.diamond(),
        _web_catalogs(kit, _web(((PUT_URL, Operation.ALL),))),
        sites=("siteA",),
        data_configuration=DataConfiguration.NONSHAREDFS,
        staging_sites={"siteA": "web"},
    )
    urls = {u for n in cw.nodes for t in (*n.files, *n.inputs, *n.outputs) for u in (*t.src, t.dst)}
    web = sorted(u for u in urls if u.startswith("http"))
    lfns = ("f.a", "f.b1", "f.b2", "f.c1", "f.c2", "f.d")
    records = ("analyze_ID4", "findrange_ID2", "findrange_ID3", "preprocess_ID1")
    assert web == sorted(
        [f"{PUT_URL}/diamond"]
        + [f"{PUT_URL}/diamond/{lfn}" for lfn in lfns]
        + [f"{PUT_URL}/diamond/{r}.meta" for r in records]
    )


@pytest.mark.parametrize(("operation", "have"), [(Operation.PUT, "put"), (Operation.GET, "get")])
def test_a_staging_site_that_can_only_be_read_or_written_is_refused(
    kit: SimpleNamespace, operation: Operation, have: str
) -> None:
    with pytest.raises(PlannerError) as info:
        _plan(
            kit.diamond(),
            _web_catalogs(kit, _web(((PUT_URL, operation), (GET_URL, operation)))),
            sites=("siteA",),
            data_configuration=DataConfiguration.NONSHAREDFS,
            staging_sites={"siteA": "web"},
        )
    (line,) = info.value.lines()
    assert line.startswith("sites.yml: site 'web': its sharedScratch directory has only")
    assert f"only {have} file servers" in line


def test_the_output_site_is_written_through_put_and_registered_through_get(
    kit: SimpleNamespace,
) -> None:
    out = Site(
        name="store",
        directories=(
            Directory(
                type=DirectoryType.LOCAL_STORAGE,
                path="/srv/out",
                file_servers=(
                    FileServer(url="http://get.example.org/out", operation=Operation.GET),
                    FileServer(url="http://put.example.org/out", operation=Operation.PUT),
                ),
            ),
        ),
    )
    sites = (kit.site("local"), kit.site("siteA"), out)
    cw = _plan(
        kit.diamond(),
        kit.catalogs(ALL, ["f.a"], sites=sites),
        sites=("siteA",),
        output_site="store",
    )
    (stage_out,) = _kind(cw, NodeKind.STAGE_OUT)
    assert [t.dst for t in stage_out.files] == ["http://put.example.org/out/f.d"]
    # the replica catalog gets the URL the next plan reads the file from
    (reg,) = _kind(cw, NodeKind.REGISTER)
    assert [(t.lfn, t.dst, t.site) for t in reg.files] == [
        ("f.d", "http://get.example.org/out/f.d", "store")
    ]
