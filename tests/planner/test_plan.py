"""plan(): the whole pipeline on tiny literal workflows and on every shared workflow."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import networkx as nx
import pytest

from catalogs.replica import PFN, Replica, ReplicaCatalog
from catalogs.transformation import Transformation, TransformationCatalog, TransformationSite
from planner.errors import Problems, WfplanError
from planner.model.base import Namespace
from planner.model.concrete import ConcreteWorkflow, DataConfiguration, NodeKind
from planner.model.graph import build_job_graph
from planner.model.workflow import Job, LinkType, Use, Workflow
from planner.plan import Catalogs, PlanOptions, plan
from sites.model import Directory, DirectoryType, Site, SiteCatalog

IN, OUT = LinkType.INPUT, LinkType.OUTPUT
CONFIGS = tuple(DataConfiguration)


def _site(name: str) -> Site:
    return Site(
        name=name,
        directories=(
            Directory(type=DirectoryType.SHARED_SCRATCH, path=f"/d/{name}/scratch"),
            Directory(type=DirectoryType.LOCAL_STORAGE, path=f"/d/{name}/storage"),
        ),
    )


def catalogs_for(wf: Workflow, extra: tuple[Replica, ...] = ()) -> Catalogs:
    """Two execution sites; every transformation installed on both; every workflow input
    with a file:// replica on local."""
    keys = sorted({(j.namespace or "", j.name, j.version or "") for j in wf.jobs})
    tc = TransformationCatalog(
        transformations=tuple(
            Transformation(
                namespace=ns or None,
                name=name,
                version=ver or None,
                sites=tuple(TransformationSite(name=s, pfn=f"/opt/{name}") for s in ("a", "b")),
            )
            for ns, name, ver in keys
        )
    )
    inputs = build_job_graph(wf).workflow_inputs()
    rc = ReplicaCatalog(
        replicas=tuple(
            Replica(lfn=lfn, pfns=(PFN(url=f"file:///in/{lfn}", site="local"),)) for lfn in inputs
        )
        + extra
    )
    sc = SiteCatalog(sites=(_site("local"), _site("a"), _site("b")))
    return Catalogs(replicas=rc, transformations=tc, sites=sc)


def diamond(profiles: dict[Namespace, dict[str, str]] | None = None) -> Workflow:
    p = profiles or {}

    def job(i: str, name: str, ins: list[str], outs: list[str], stage_out: bool) -> Job:
        uses = [Use(lfn=f, link=IN) for f in ins]
        uses += [Use(lfn=f, link=OUT, stage_out=stage_out) for f in outs]
        return Job(id=i, name=name, uses=tuple(uses), profiles=p)

    return Workflow(
        name="diamond",
        jobs=(
            job("ID1", "preprocess", ["f.a"], ["f.b1", "f.b2"], False),
            job("ID2", "findrange", ["f.b1"], ["f.c1"], False),
            job("ID3", "findrange", ["f.b2"], ["f.c2"], False),
            job("ID4", "analyze", ["f.c1", "f.c2"], ["f.d"], True),
        ),
    )


def check_invariants(wf: Workflow, cw: ConcreteWorkflow) -> None:
    """Every node's input is on its staging site before it runs; edges are acyclic;
    every kept job is in exactly one node; levels agree with the edges; no edge twice."""
    assert len(set(cw.edges)) == len(cw.edges)
    g = nx.DiGraph()
    g.add_nodes_from(n.name for n in cw.nodes)
    g.add_edges_from(cw.edges)
    assert nx.is_directed_acyclic_graph(g)
    level = {n.name: n.level for n in cw.nodes}
    for p, c in cw.edges:
        assert level[p] < level[c]
    assert len(level) == len(cw.nodes)
    placed = [j for n in cw.nodes for j in n.jobs]
    pruned = {p.job for p in cw.pruned}
    assert sorted(placed) == sorted(j.id for j in wf.jobs if j.id not in pruned)
    # who puts each staging URL there
    writers: dict[str, set[str]] = {}
    for n in cw.nodes:
        if n.kind in (NodeKind.STAGE_IN, NodeKind.STAGE_INTER):
            for t in n.files:
                writers.setdefault(t.dst, set()).add(n.name)
        for t in n.outputs:
            writers.setdefault(t.dst, set()).add(n.name)
            if t.meta is not None:  # the node's checksum record, beside its outputs
                writers.setdefault(t.meta, set()).add(n.name)
    originals = {
        pfn.url for lfn in {t.lfn for n in cw.nodes for t in n.inputs} for pfn in ()
    }  # no replica lives in a staging dir in these catalogs
    for n in cw.nodes:
        sources = [t.src[0] for t in n.inputs if not t.executable] + (
            [t.src[0] for t in n.files]
            if n.kind in (NodeKind.STAGE_INTER, NodeKind.STAGE_OUT)
            else []
        )
        # and the checksum records the node checks against
        sources += [t.meta for t in (*n.inputs, *n.files) if t.meta is not None]
        ancestors = nx.ancestors(g, n.name)
        for src in sources:
            if src.startswith("file:///in/") or src in originals:
                continue  # a replica (bypass or reuse stage-out)
            assert writers.get(src, set()) & ancestors, (n.name, src)


@pytest.mark.parametrize("dc", CONFIGS)
@pytest.mark.parametrize("clustering", [(), ("horizontal",), ("horizontal", "label"), ("whole",)])
@pytest.mark.parametrize("reuse", [False, True])
def test_diamond_matrix(dc: DataConfiguration, clustering: tuple[str, ...], reuse: bool) -> None:
    wf = diamond(
        {Namespace.PEGASUS: {"clusters.size": "2", "label": "all"}} if clustering else None
    )
    extra = (Replica(lfn="f.c1", pfns=(PFN(url="file:///old/f.c1", site="a"),)),) if reuse else ()
    cw = plan(
        wf,
        catalogs_for(wf, extra),
        PlanOptions(data_configuration=dc, cluster=clustering, sites=("a",)),
    )
    check_invariants(wf, cw)
    kinds = {n.kind for n in cw.nodes}
    assert {NodeKind.CREATE_DIR, NodeKind.STAGE_IN, NodeKind.STAGE_OUT, NodeKind.REGISTER} <= kinds
    if reuse:
        assert [(p.job, p.reason) for p in cw.pruned] == [
            ("ID2", "all outputs have replicas: f.c1@a")
        ]
    if clustering == ("horizontal",):
        assert any(n.name == "merge_findrange_PID2_ID1" for n in cw.nodes) is (not reuse)
    if clustering == ("horizontal", "label"):
        clusters = [n for n in cw.nodes if n.kind == NodeKind.CLUSTER]
        assert len(clusters) <= 2  # one label per site at most
    if clustering == ("whole",):
        (only,) = [n for n in cw.nodes if n.kind in (NodeKind.COMPUTE, NodeKind.CLUSTER)]
        assert only.name == "merge_whole_a" and len(only.jobs) == (3 if reuse else 4)


def test_same_input_same_plan() -> None:
    wf = diamond()
    a = plan(wf, catalogs_for(wf), PlanOptions(seed=7))
    b = plan(wf, catalogs_for(wf), PlanOptions(seed=7))
    assert a == b


def test_empty_and_single() -> None:
    empty = Workflow(name="empty", jobs=())
    assert plan(empty, catalogs_for(empty), PlanOptions()).nodes == ()
    single = Workflow(name="one", jobs=(Job(id="A", name="t", arguments=("hello",)),))
    cw = plan(single, catalogs_for(single), PlanOptions(sites=("b",)))
    # the job's working directory (its initialdir) is created first, even with no files
    assert [(n.name, n.kind, n.site, n.level) for n in cw.nodes] == [
        ("create_dir_one_0_local", NodeKind.CREATE_DIR, "local", 1),
        ("t_A", NodeKind.COMPUTE, "b", 2),
    ]
    assert cw.nodes[1].tasks[0].arguments == ("hello",)
    assert cw.nodes[1].tasks[0].executable == "/opt/t"


def test_validation_runs_first_with_the_catalogs() -> None:
    wf = diamond()
    cats = replace(catalogs_for(wf), replicas=ReplicaCatalog(source="rc.yml"))
    with pytest.raises(Problems) as err:
        plan(wf, cats, PlanOptions())
    assert any("'f.a'" in line and "ID1" in line for line in err.value.lines())


def test_whole_clustering_over_two_interleaved_sites_is_refused() -> None:
    wf = diamond({Namespace.SELECTOR: {"execution.site": "a"}})
    jobs = tuple(
        replace(j, profiles={Namespace.SELECTOR: {"execution.site": "b"}}) if j.id == "ID2" else j
        for j in wf.jobs
    )  # a -> b -> a: one cluster per site would wait for itself
    wf = replace(wf, jobs=jobs)
    with pytest.raises(WfplanError, match="whole-workflow cluster"):
        plan(wf, catalogs_for(wf), PlanOptions(sites=("a", "b"), cluster=("whole",)))


def test_cycle_from_label_clustering_is_refused() -> None:
    wf = diamond()
    lab = {Namespace.PEGASUS: {"label": "ends"}}
    jobs = tuple(replace(j, profiles=lab) if j.id in ("ID1", "ID4") else j for j in wf.jobs)
    wf = replace(wf, jobs=jobs)
    with pytest.raises(WfplanError, match="cycle"):
        plan(wf, catalogs_for(wf), PlanOptions(sites=("a",), cluster=("label",)))


def _shared_workflows(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*/*") if p.suffix in (".xml", ".json"))


@pytest.mark.parametrize("dc", CONFIGS)
def test_every_shared_workflow_plans(shared_data: Path, dc: DataConfiguration) -> None:
    from planner.formats import load_workflow

    planned = 0
    for path in _shared_workflows(shared_data):
        wf = load_workflow(str(path))
        if path.name == "Montage_25.xml":
            with pytest.raises(WfplanError, match=r"fit\.txt"):
                plan(wf, catalogs_for(wf), PlanOptions(data_configuration=dc))
            continue
        cw = plan(wf, catalogs_for(wf), PlanOptions(data_configuration=dc, seed=1))
        assert sum(len(n.jobs) for n in cw.nodes) == len(wf.jobs), path.name
        assert {n.site for n in cw.nodes if n.jobs} <= {"a", "b"}
        if len(wf.jobs) <= 120:
            check_invariants(wf, cw)
        planned += 1
    assert planned >= 18


_HASH_SCRIPT = """
import hashlib, importlib.util, sys
spec = importlib.util.spec_from_file_location("tp", sys.argv[1])
tp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tp)
from planner.formats import load_workflow
from planner.plan import PlanOptions, plan
wf = load_workflow(sys.argv[2])
opts = PlanOptions(cluster=("horizontal",), properties={"pegasus.clusters.size": "3"})
cw = plan(wf, tp.catalogs_for(wf), opts)
print(hashlib.sha256(repr(cw).encode()).hexdigest())
"""


def test_same_plan_under_different_hash_seeds(shared_data: Path) -> None:
    import os
    import subprocess
    import sys

    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _HASH_SCRIPT,
                __file__,
                str(shared_data / "dax/CyberShake_30.xml"),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(done.stdout.strip())
    assert len(digests) == 1
