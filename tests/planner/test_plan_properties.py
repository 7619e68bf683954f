"""Property tests of plan() on random DAGs (hypothesis): the invariants of style.md."""

from __future__ import annotations

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalogs.replica import PFN, Replica, ReplicaCatalog
from catalogs.transformation import (
    Transformation,
    TransformationCatalog,
    TransformationSite,
    TransformationType,
)
from planner.model.base import Namespace
from planner.model.concrete import ConcreteWorkflow, DataConfiguration, NodeKind
from planner.model.workflow import Job, LinkType, Use, Workflow
from planner.plan import Catalogs, PlanOptions, plan
from sites.model import Directory, DirectoryType, Site, SiteCatalog

SITES = SiteCatalog(
    sites=tuple(
        Site(
            name=n,
            directories=(
                Directory(type=DirectoryType.SHARED_SCRATCH, path=f"/d/{n}/scratch"),
                Directory(type=DirectoryType.LOCAL_STORAGE, path=f"/d/{n}/storage"),
            ),
        )
        for n in ("local", "a", "b")
    )
)
TC = TransformationCatalog(
    transformations=(
        *(
            Transformation(
                name=t,
                sites=tuple(TransformationSite(name=s, pfn=f"/bin/{t}") for s in ("a", "b")),
            )
            for t in ("t0", "t1")
        ),
        # staged to every job that runs it
        Transformation(
            name="t2",
            sites=(
                TransformationSite(
                    name="local", pfn="/src/t2.sh", type=TransformationType.STAGEABLE
                ),
            ),
        ),
    )
)


@st.composite
def workflows(draw: st.DrawFn) -> tuple[Workflow, ReplicaCatalog]:
    n = draw(st.integers(min_value=1, max_value=9))
    produced: list[str] = []
    jobs = []
    for i in range(n):
        reads = (
            draw(st.lists(st.sampled_from(produced), unique=True, max_size=3)) if produced else []
        )
        raw = [f"raw{i}"] if draw(st.booleans()) or not reads else []
        outs = [f"f{i}_{k}" for k in range(draw(st.integers(min_value=0, max_value=2)))]
        uses = [Use(lfn=f, link=LinkType.INPUT) for f in raw + reads]
        uses += [Use(lfn=f, link=LinkType.OUTPUT, stage_out=draw(st.booleans())) for f in outs]
        size = draw(st.sampled_from(["1", "2", "3"]))
        jobs.append(
            Job(
                id=f"J{i}",
                name=draw(st.sampled_from(["t0", "t1", "t2"])),
                uses=tuple(uses),
                profiles={Namespace.PEGASUS: {"clusters.size": size}},
            )
        )
        produced += outs
    reused = draw(st.lists(st.sampled_from(produced), unique=True)) if produced else []
    replicas = [
        Replica(lfn=f"raw{i}", pfns=(PFN(url=f"file:///in/raw{i}", site="local"),))
        for i in range(n)
    ] + [Replica(lfn=f, pfns=(PFN(url=f"file:///old/{f}", site="a"),)) for f in reused]
    return Workflow(name="rand", jobs=tuple(jobs)), ReplicaCatalog(replicas=tuple(replicas))


OPTIONS = st.builds(
    PlanOptions,
    data_configuration=st.sampled_from(list(DataConfiguration)),
    cluster=st.sampled_from([(), ("horizontal",)]),
    cleanup=st.sampled_from(["inplace", "leaf", "none"]),
    reuse_scope=st.sampled_from(["full", "none"]),
    seed=st.integers(min_value=0, max_value=3),
    staging_sites=st.sampled_from([{}, {"a": "b"}]),
)


def _graph(cw: ConcreteWorkflow) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(n.name for n in cw.nodes)
    g.add_edges_from(cw.edges)
    return g


def _reads(cw: ConcreteWorkflow) -> dict[str, list[str]]:
    """Node name -> the URLs it reads from a staging site (checksum records included)."""
    out: dict[str, list[str]] = {}
    for n in cw.nodes:
        urls = [t.src[0] for t in n.inputs]
        urls += [t.meta for t in n.inputs if t.meta is not None]
        if n.kind in (NodeKind.STAGE_INTER, NodeKind.STAGE_OUT):
            urls += [t.src[0] for t in n.files]
        if n.kind in (NodeKind.STAGE_INTER, NodeKind.STAGE_OUT, NodeKind.REGISTER):
            urls += [t.meta for t in n.files if t.meta is not None]
        out[n.name] = [u for u in urls if "/scratch/" in u]
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(), OPTIONS)
def test_plan_invariants(case: tuple[Workflow, ReplicaCatalog], options: PlanOptions) -> None:
    wf, rc = case
    cw = plan(wf, Catalogs(replicas=rc, transformations=TC, sites=SITES), options)
    g = _graph(cw)
    assert nx.is_directed_acyclic_graph(g)

    # each edge once, between nodes of the plan: staging drops repeated edges only where
    # they can repeat (clustered units, transfer nodes), not with a dict of every edge
    edges = list(cw.edges)
    assert len(edges) == len(set(edges))
    names = {n.name for n in cw.nodes}
    assert all(p in names and c in names for p, c in edges)

    # every file a node reads is produced upstream or staged in before it
    writers: dict[str, set[str]] = {}
    for n in cw.nodes:
        targets = n.files if n.kind in (NodeKind.STAGE_IN, NodeKind.STAGE_INTER) else n.outputs
        for t in targets:
            writers.setdefault(t.dst, set()).add(n.name)
        for t in n.outputs:  # the node's checksum record, beside its outputs
            if t.meta is not None:
                writers.setdefault(t.meta, set()).add(n.name)
    reads = _reads(cw)
    for name, urls in reads.items():
        before = nx.ancestors(g, name)
        for url in urls:
            assert writers.get(url, set()) & before, (name, url)

    # a staged executable is staged once per staging site, before every node that runs it,
    # and each task runs the staged copy: in the shared scratch (sharedfs, where the
    # stage-in wrote it) or pulled into the job's directory
    staged = [(t.lfn, n.staging_site) for n in cw.nodes if n.kind == NodeKind.STAGE_IN
              for t in n.files if t.executable]  # fmt: skip
    assert len(staged) == len(set(staged))
    for n in cw.nodes:
        for task in n.tasks:
            if task.transformation.rpartition("::")[2].startswith("t2"):
                name = task.executable.rsplit("/", 1)[1]
                (pull,) = [t for t in n.inputs if t.executable and t.lfn == name]
                assert writers[pull.src[0]] & nx.ancestors(g, n.name)
                if n.data_configuration is DataConfiguration.SHAREDFS:
                    assert task.executable == f"{n.working_dir}/{name}"
                else:
                    assert task.executable == f"./{name}"
            else:
                assert task.executable.startswith("/bin/")

    # clustering keeps dependency order
    where = {j: (n.name, i) for n in cw.nodes for i, j in enumerate(n.jobs)}
    producer = {u.lfn: j.id for j in wf.jobs for u in j.outputs}
    for job in wf.jobs:
        for use in job.inputs:
            p = producer.get(use.lfn)
            if p is None or p not in where or job.id not in where:
                continue
            (pn, pi), (cn, ci) = where[p], where[job.id]
            assert (pn == cn and pi < ci) or (pn != cn and pn in nx.ancestors(g, cn))

    # no job is pruned whose needed output has no replica
    kept_reads = {u.lfn for j in wf.jobs if j.id in where for u in j.inputs}
    replicated = {r.lfn for r in rc.replicas}
    for pruned in cw.pruned:
        job = wf.job_by_id[pruned.job]
        for use in job.outputs:
            if use.stage_out or use.lfn in kept_reads:
                assert use.lfn in replicated, (pruned, use.lfn)

    # in-place cleanup never precedes a reader or a stage-out of the file
    for n in cw.nodes:
        if n.kind != NodeKind.CLEANUP:
            continue
        removed = {t.dst for t in n.files}
        before = nx.ancestors(g, n.name)
        for reader, urls in reads.items():
            if removed.intersection(urls):
                assert reader in before, (n.name, reader)
        assert not any(url.startswith(("file:///in/", "file:///old/")) for url in removed)
