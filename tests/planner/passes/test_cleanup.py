"""Pass 8b: in-place, leaf and no cleanup."""

from __future__ import annotations

from types import SimpleNamespace

import networkx as nx

from catalogs.replica import PFN, Replica
from planner.model.concrete import ConcreteWorkflow, DataConfiguration, NodeKind
from planner.plan import PlanOptions, plan

ALL = ("preprocess", "findrange", "analyze")
FILES = ("f.a", "f.b1", "f.b2", "f.c1", "f.c2", "f.d")
# each job's checksum record (integrity) lives beside its outputs until its readers ran
RECORDS = ("analyze_ID4.meta", "findrange_ID2.meta", "findrange_ID3.meta", "preprocess_ID1.meta")


def _cleaned(cw: ConcreteWorkflow) -> dict[str, str]:
    return {t.dst: n.name for n in cw.nodes if n.kind == NodeKind.CLEANUP for t in n.files}


def test_inplace_removes_each_file_after_its_writer_readers_and_stage_out(
    kit: SimpleNamespace,
) -> None:
    cw = plan(kit.diamond(), kit.catalogs(ALL, ["f.a"]), PlanOptions(sites=("siteA",)))
    g = nx.DiGraph(cw.edges)
    base = "file:///data/local/scratch/diamond/"
    cleaned = _cleaned(cw)
    assert sorted(cleaned) == sorted(base + f for f in FILES + RECORDS)
    assert cleaned[base + "f.a"] == "clean_up_local_level_1_0"
    before = nx.ancestors(g, cleaned[base + "f.d"])
    assert {"analyze_ID4", "stage_out_local_local_3_0"} <= before
    assert {"findrange_ID2", "preprocess_ID1"} <= nx.ancestors(g, cleaned[base + "f.b1"])
    # a record goes after its writer and every reader: here the stage-out that copies f.d
    # (checked against it) and the register node that records its sha256
    before = nx.ancestors(g, cleaned[base + "analyze_ID4.meta"])
    moved = {
        n.name
        for n in cw.nodes
        if n.kind in (NodeKind.STAGE_OUT, NodeKind.REGISTER)
        and any(t.lfn == "f.d" for t in n.files)
    }
    assert len(moved) == 2 and {"analyze_ID4", *moved} <= before


def test_a_replica_in_place_is_never_removed(kit: SimpleNamespace) -> None:
    here = Replica(
        lfn="f.a", pfns=(PFN(url="file:///data/siteA/scratch/diamond/f.a", site="siteA"),)
    )
    cw = plan(
        kit.diamond(),
        kit.catalogs(ALL, [], extra_replicas=[here]),
        PlanOptions(sites=("siteA",), data_configuration=DataConfiguration.SHAREDFS),
    )
    assert [n for n in cw.nodes if n.kind == NodeKind.STAGE_IN] == []
    assert "file:///data/siteA/scratch/diamond/f.a" not in _cleaned(cw)


def test_leaf_cleanup_runs_after_everything(kit: SimpleNamespace) -> None:
    cw = plan(
        kit.diamond(), kit.catalogs(ALL, ["f.a"]), PlanOptions(sites=("siteA",), cleanup="leaf")
    )
    (leaf,) = [n for n in cw.nodes if n.kind == NodeKind.CLEANUP]
    assert leaf.name == "cleanup_diamond_0_local"
    g = nx.DiGraph(cw.edges)
    assert nx.ancestors(g, leaf.name) == {n.name for n in cw.nodes} - {leaf.name}
    assert len(leaf.files) == len(FILES + RECORDS)


def test_no_cleanup(kit: SimpleNamespace) -> None:
    cw = plan(
        kit.diamond(), kit.catalogs(ALL, ["f.a"]), PlanOptions(sites=("siteA",), cleanup="none")
    )
    assert not [n for n in cw.nodes if n.kind == NodeKind.CLEANUP]


def test_cleanup_nodes_per_level_follow_one_per_five_jobs(kit: SimpleNamespace) -> None:
    from planner.model.workflow import Job, Workflow

    jobs = tuple(
        Job(id=f"j{i:02d}", name="work", uses=(kit.use(f"in{i}"), kit.use(f"o{i}", kit.OUT)))
        for i in range(12)
    )
    cw = plan(
        Workflow(name="fan", jobs=jobs),
        kit.catalogs(["work"], [f"in{i}" for i in range(12)]),
        PlanOptions(sites=("siteA",)),
    )
    names = sorted(n.name for n in cw.nodes if n.kind == NodeKind.CLEANUP)
    # the jobs' records are read by the register node on the next level: removed there
    assert names == [f"clean_up_local_level_1_{k}" for k in range(3)] + ["clean_up_local_level_2_0"]


def test_a_file_read_by_many_jobs_is_removed_after_each_of_them(kit: SimpleNamespace) -> None:
    """Past 16 readers a file's readers are kept in a list, not a tuple (the residency
    table): every one of 40 readers, of a made file and of a raw input, still comes
    before the cleanup node that removes it."""
    from planner.model.workflow import Job, Workflow

    readers = 40
    jobs = (
        Job(id="S", name="split", uses=(kit.use("f.in"), kit.use("f.x", kit.OUT))),
        *(
            Job(
                id=f"R{i}",
                name="read",
                uses=(kit.use("f.in"), kit.use("f.x"), kit.use(f"f.o{i}", kit.OUT)),
            )
            for i in range(readers)
        ),
    )
    wf = Workflow(name="fan", jobs=jobs, source="fan.yml")
    cw = plan(wf, kit.catalogs(["split", "read"], ["f.in"]), PlanOptions(sites=("siteA",)))
    cleaned = _cleaned(cw)
    parents = nx.DiGraph(cw.edges).pred
    for lfn in ("f.x", "f.in"):
        (url,) = [u for u in cleaned if u.endswith("/" + lfn)]
        before = set(parents[cleaned[url]])
        assert {f"read_R{i}" for i in range(readers)} <= before, lfn
