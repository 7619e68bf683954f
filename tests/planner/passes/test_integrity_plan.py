"""Integrity in the plan: which checksum record each reader checks a file against."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from catalogs.replica import PFN, Replica
from planner.errors import PlannerError
from planner.model.concrete import ConcreteWorkflow, DataConfiguration, Node, NodeKind
from planner.model.workflow import Job, LinkType, Workflow
from planner.plan import PlanOptions, plan

ALL = ("preprocess", "findrange", "analyze")
SCRATCH = "file:///data/siteA/scratch/diamond"


def _node(cw: ConcreteWorkflow, name: str) -> Node:
    (node,) = [n for n in cw.nodes if n.name == name]
    return node


def _plan(kit: SimpleNamespace, wf: Workflow, **options: object) -> ConcreteWorkflow:
    dc = DataConfiguration.SHAREDFS
    return plan(
        wf,
        kit.catalogs(ALL, ["f.a"]),
        PlanOptions(sites=("siteA",), data_configuration=dc, **options),
    )  # type: ignore[arg-type]


def test_each_reader_checks_the_record_of_the_node_that_made_the_file(kit: SimpleNamespace):
    cw = _plan(kit, kit.diamond())
    findrange = _node(cw, "findrange_ID2")
    assert [(t.lfn, t.meta) for t in findrange.inputs] == [
        ("f.b1", f"{SCRATCH}/preprocess_ID1.meta")
    ]
    assert {t.meta for t in findrange.outputs} == {f"{SCRATCH}/findrange_ID2.meta"}
    (stage_out,) = [n for n in cw.nodes if n.kind is NodeKind.STAGE_OUT]
    assert [(t.lfn, t.sha256, t.meta) for t in stage_out.files] == [
        ("f.d", None, f"{SCRATCH}/analyze_ID4.meta")
    ]
    (reg,) = [n for n in cw.nodes if n.kind is NodeKind.REGISTER]
    assert [t.meta for t in reg.files] == [f"{SCRATCH}/analyze_ID4.meta"]


def test_a_replica_checksum_never_stands_for_a_file_the_plan_makes_again(kit: SimpleNamespace):
    """--force with a registered f.d: the new f.d is checked against its new record."""
    old = Replica(lfn="f.d", pfns=(PFN(url="file:///old/f.d", site="local"),), sha256="ab" * 32)
    catalogs = kit.catalogs(ALL, ["f.a"], extra_replicas=[old])
    cw = plan(kit.diamond(), catalogs, PlanOptions(sites=("siteA",), reuse_scope="none"))
    (stage_out,) = [n for n in cw.nodes if n.kind is NodeKind.STAGE_OUT]
    assert [(t.sha256, t.meta is not None) for t in stage_out.files] == [(None, True)]


def test_a_file_rewritten_by_an_inout_job_is_checked_against_the_rewriter(kit: SimpleNamespace):
    jobs = (
        Job(
            id="A", name="preprocess", uses=(kit.use("f.a"), kit.use("f", kit.OUT, stage_out=False))
        ),
        Job(id="B", name="findrange", uses=(kit.use("f", LinkType.INOUT, stage_out=False),)),
        Job(id="C", name="analyze", uses=(kit.use("f"), kit.use("g", kit.OUT))),
    )
    wf = Workflow(name="diamond", jobs=jobs, dependencies=(("B", "C"),))
    cw = _plan(kit, wf)
    assert [t.meta for t in _node(cw, "findrange_B").inputs] == [f"{SCRATCH}/preprocess_A.meta"]
    assert [t.meta for t in _node(cw, "analyze_C").inputs] == [f"{SCRATCH}/findrange_B.meta"]


@pytest.mark.parametrize("level", ["none", "nosymlink", "full"])
def test_integrity_levels(kit: SimpleNamespace, level: str):
    here = Replica(
        lfn="f.a", pfns=(PFN(url="file:///data/local/f.a", site="local"),), sha256="cd" * 32
    )
    catalogs = kit.catalogs(ALL, [], extra_replicas=[here])
    props = {"pegasus.integrity.checking": level}
    cw = plan(kit.diamond(), catalogs, PlanOptions(sites=("siteA",), properties=props))
    (stage_in,) = [n for n in cw.nodes if n.kind is NodeKind.STAGE_IN]
    (move,) = stage_in.files
    assert move.symlink  # condorio: f.a on local is linked into the local staging dir
    assert move.sha256 == (None if level != "full" else "cd" * 32)
    metas = [t.meta for n in cw.nodes for t in (*n.inputs, *n.outputs, *n.files)]
    assert (set(metas) == {None}) is (level == "none")
    assert cw.options["integrity"] == level


def test_a_file_named_like_a_checksum_record_is_refused(kit: SimpleNamespace):
    jobs = (
        Job(
            id="A", name="preprocess", uses=(kit.use("f.a"), kit.use("preprocess_B.meta", kit.OUT))
        ),
        Job(id="B", name="preprocess", uses=(kit.use("f.a"), kit.use("g", kit.OUT))),
    )
    wf = Workflow(name="diamond", jobs=jobs)
    with pytest.raises(
        PlannerError,
        match=re.escape("LFN 'preprocess_B.meta' has the name of node preprocess_B's checksum"),
    ):
        _plan(kit, wf)
    props = {"pegasus.integrity.checking": "none"}
    assert _plan(kit, wf, properties=props).nodes  # nothing is written then: no clash
