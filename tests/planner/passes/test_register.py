"""Pass 7: register nodes after stage-out."""

from __future__ import annotations

from types import SimpleNamespace

from planner.model.concrete import NodeKind
from planner.model.workflow import Job, Workflow
from planner.plan import PlanOptions, plan

ALL = ("preprocess", "findrange", "analyze")


def test_register_follows_stage_out_with_the_output_pfn(kit: SimpleNamespace) -> None:
    cw = plan(
        kit.diamond(), kit.catalogs(ALL, ["f.a"]), PlanOptions(sites=("siteA",), submit_dir="/sub")
    )
    (reg,) = [n for n in cw.nodes if n.kind == NodeKind.REGISTER]
    (out,) = [n for n in cw.nodes if n.kind == NodeKind.STAGE_OUT]
    assert reg.name == "register_local_3_0"
    assert [(t.lfn, t.dst, t.site) for t in reg.files] == [
        ("f.d", "file:///data/local/storage/f.d", "local")
    ]
    assert (out.name, reg.name) in cw.edges
    assert cw.options["output_rc"] == "/sub/diamond-outputs.db"


def test_output_rc_option_and_register_replica_false(kit: SimpleNamespace) -> None:
    job = Job(
        id="A",
        name="t",
        uses=(kit.use("o", kit.OUT, register_replica=False), kit.use("p", kit.OUT)),
    )
    cw = plan(
        Workflow(name="w", jobs=(job,)),
        kit.catalogs(["t"], []),
        PlanOptions(sites=("siteA",), output_rc="/rc/out.db"),
    )
    assert cw.options["output_rc"] == "/rc/out.db"
    registered = [t.lfn for n in cw.nodes if n.kind == NodeKind.REGISTER for t in n.files]
    staged = [t.lfn for n in cw.nodes if n.kind == NodeKind.STAGE_OUT for t in n.files]
    assert registered == ["p"]
    assert staged == ["o", "p"]
