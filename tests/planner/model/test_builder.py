"""The Python builder API."""

from __future__ import annotations

import pytest

from planner.errors import FormatError, UnknownProfileNamespace
from planner.model.base import Namespace
from planner.model.builder import File, WorkflowBuilder
from planner.model.graph import build_job_graph
from planner.model.workflow import LinkType, Use


def test_diamond() -> None:
    wf = WorkflowBuilder("diamond")
    wf.add_job(
        "preprocess",
        id="ID1",
        args=["-i", File("f.a"), "-o", File("f.b1"), File("f.b2")],
        inputs=[File("f.a", size=10)],
        outputs=["f.b1", "f.b2"],
        profiles={"pegasus": {"clusters.size": 2}},
    )
    wf.add_job("findrange", id="ID2", inputs=["f.b1"], outputs=["f.c1"])
    wf.add_job("findrange", id="ID3", inputs=["f.b2"], outputs=["f.c2"], stage_out=False)
    wf.add_job("analyze", id="ID4", inputs=["f.c1", "f.c2"], outputs=["f.d"])
    wf.depends(parent="ID1", child=["ID2", "ID3"])
    built = wf.build()
    first = built.jobs[0]
    assert first.arguments == ("-i", "f.a", "-o", "f.b1", "f.b2")
    assert first.uses[0] == Use(lfn="f.a", link=LinkType.INPUT, size=10)
    assert first.profiles == {Namespace.PEGASUS: {"clusters.size": "2"}}
    assert built.jobs[2].outputs[0].stage_out is False
    assert built.dependencies == (("ID1", "ID2"), ("ID1", "ID3"))
    assert set(build_job_graph(built).edges()) == {
        ("ID1", "ID2"),
        ("ID1", "ID3"),
        ("ID2", "ID4"),
        ("ID3", "ID4"),
    }


def test_ids_are_numbered_when_not_given() -> None:
    wf = WorkflowBuilder("w")
    assert [wf.add_job("t"), wf.add_job("t", id="mine"), wf.add_job("t")] == [
        "ID0000001",
        "mine",
        "ID0000003",
    ]


def test_unknown_namespace_is_refused_naming_the_job() -> None:
    wf = WorkflowBuilder("w")
    with pytest.raises(UnknownProfileNamespace, match="job J: unknown profile namespace 'pegsus'"):
        wf.add_job("t", id="J", profiles={"pegsus": {"x": "1"}})


def test_bad_values_give_a_one_line_error_not_a_pydantic_one() -> None:
    wf = WorkflowBuilder("w")
    with pytest.raises(FormatError, match="job J: "):
        wf.add_job("t", id="J", inputs=[3])  # type: ignore[list-item]
