"""Pass 2: Pegasus's two-pass data reuse."""

from __future__ import annotations

from types import SimpleNamespace

from catalogs.replica import PFN
from planner.model.base import Namespace
from planner.model.graph import build_job_graph
from planner.model.workflow import Job, Workflow
from planner.passes.reduce import reduce


def _rep(*lfns: str) -> dict[str, tuple[PFN, ...]]:
    return {lfn: (PFN(url=f"file:///old/{lfn}", site="local"),) for lfn in lfns}


def test_job_with_all_outputs_replicated_is_pruned_with_reason(kit: SimpleNamespace) -> None:
    wf = kit.diamond()
    r = reduce(wf, build_job_graph(wf), _rep("f.a", "f.d"))
    reasons = {p.job: p.reason for p in r.pruned}
    assert reasons["ID4"] == "all outputs have replicas: f.d@local"


def test_all_children_pruned_cascades_up(kit: SimpleNamespace) -> None:
    wf = kit.diamond()
    r = reduce(wf, build_job_graph(wf), _rep("f.a", "f.d"))
    # findrange outputs are transient and read only by the pruned analyze: pass 2 prunes
    # them, then preprocess.
    assert {p.job: p.reason for p in r.pruned} == {
        "ID1": "all children pruned",
        "ID2": "all children pruned",
        "ID3": "all children pruned",
        "ID4": "all outputs have replicas: f.d@local",
    }


def test_a_child_needing_an_unreplicated_output_keeps_its_parent(kit: SimpleNamespace) -> None:
    wf = kit.diamond()
    r = reduce(wf, build_job_graph(wf), _rep("f.a", "f.c1"))
    assert r.pruned_ids == frozenset({"ID2"})


def test_force_prunes_nothing(kit: SimpleNamespace) -> None:
    wf = kit.diamond()
    assert reduce(wf, build_job_graph(wf), _rep("f.a", "f.d"), "none").pruned == ()


def test_partial_scope_only_considers_enabled_jobs(kit: SimpleNamespace) -> None:
    on = {Namespace.PEGASUS: {"enable_for_data_reuse": "true"}}
    wf = kit.diamond({"ID2": on, "ID4": {}})
    r = reduce(wf, build_job_graph(wf), _rep("f.a", "f.d", "f.c1"), "partial")
    assert r.pruned_ids == frozenset({"ID2"})


def test_jobs_without_outputs_are_never_pruned(kit: SimpleNamespace) -> None:
    wf = Workflow(name="w", jobs=(Job(id="A", name="t", uses=(kit.use("in"),)),))
    assert reduce(wf, build_job_graph(wf), _rep("in")).pruned == ()


def test_transient_unread_outputs_alone_make_a_job_prunable(kit: SimpleNamespace) -> None:
    wf = Workflow(
        name="w",
        jobs=(Job(id="A", name="t", uses=(kit.use("tmp", kit.OUT, stage_out=False),)),),
    )
    r = reduce(wf, build_job_graph(wf), {})
    assert [p.reason for p in r.pruned] == ["not staged out and read by no child: tmp"]


def test_empty_workflow_prunes_nothing() -> None:
    wf = Workflow(name="w", jobs=())
    assert reduce(wf, build_job_graph(wf), {}).pruned == ()


def test_only_the_first_output_decides_nothing_whatever_the_order(kit: SimpleNamespace) -> None:
    # The pass-1 shortcut looks at the first output alone: a job whose later outputs
    # would fail must not be pruned, and one whose first output is transient must still
    # be checked in full.
    mixed = (kit.use("have", kit.OUT), kit.use("missing", kit.OUT))
    transient_first = (kit.use("tmp", kit.OUT, stage_out=False), kit.use("have2", kit.OUT))
    wf = Workflow(
        name="w",
        jobs=(
            Job(id="A", name="t", uses=mixed),
            Job(id="B", name="t", uses=mixed[::-1]),
            Job(id="C", name="t", uses=transient_first),
        ),
    )
    r = reduce(wf, build_job_graph(wf), _rep("have", "have2"))
    assert {p.job: p.reason for p in r.pruned} == {
        "C": "all outputs have replicas: have2@local; not staged out and read by no child: tmp"
    }
