"""The abstract workflow model: Job's derived views of its uses."""

from __future__ import annotations

from planner.model.workflow import Job, LinkType, Use


def _job() -> Job:
    return Job(
        id="A",
        name="t",
        uses=(
            Use(lfn="in", link=LinkType.INPUT),
            Use(lfn="both", link=LinkType.INOUT),
            Use(lfn="out", link=LinkType.OUTPUT),
            Use(lfn="ck", link=LinkType.CHECKPOINT),
            Use(lfn="log", link=LinkType.NONE),
        ),
    )


def test_inputs_and_outputs_follow_the_link_kinds_in_order() -> None:
    job = _job()
    assert [u.lfn for u in job.inputs] == ["in", "both"]
    assert [u.lfn for u in job.outputs] == ["both", "out", "ck"]


def test_inputs_and_outputs_are_computed_once_and_change_nothing_else() -> None:
    job = _job()
    assert job.outputs is job.outputs and job.inputs is job.inputs
    fresh = _job()
    assert job == fresh  # the cached views are not fields
    assert job.model_dump() == fresh.model_dump()
    assert "outputs" not in Job.model_fields
