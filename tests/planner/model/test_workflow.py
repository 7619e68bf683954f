"""The abstract workflow model: Job's derived views of its uses."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.model.concrete import Node, NodeKind
from planner.model.workflow import (
    READ_LINKS,
    WRITE_LINKS,
    Job,
    LinkType,
    Use,
    Workflow,
    split_uses,
)


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
    assert job == fresh  # the views take no part in comparisons
    assert "outputs" not in {f.name for f in fields(Job) if f.init}


def test_a_replaced_workflow_indexes_its_own_jobs() -> None:
    """The job index is a field built with the workflow: a workflow made from another by
    ``replace`` must not answer from the old one's index (read first, to fill any cache)."""
    wf = Workflow(name="w", jobs=(_job(),))
    assert set(wf.job_by_id) == {"A"}
    other = Job(id="ID2", name="u")
    changed = replace(wf, jobs=(other,))
    assert changed.job_by_id == {"ID2": other}
    assert set(wf.job_by_id) == {"A"}  # the original is untouched


def test_a_replaced_job_derives_its_views_from_its_new_uses() -> None:
    job = _job()
    assert job.inputs and job.outputs  # read first, to fill any cache
    bare = replace(job, uses=())
    assert bare.inputs == () and bare.outputs == ()
    swapped = replace(job, uses=(Use(lfn="new", link=LinkType.OUTPUT),))
    assert [u.lfn for u in swapped.outputs] == ["new"] and swapped.inputs == ()


def test_values_are_immutable_and_replace_changes_only_what_it_names() -> None:
    node = Node(name="n", kind=NodeKind.COMPUTE, site="s", level=1, reasons=("why",))
    with pytest.raises(AttributeError):
        node.level = 2  # type: ignore[misc]
    moved = node._replace(level=3)
    assert (moved.level, node.level) == (3, 1)
    assert (moved.name, moved.kind, moved.site, moved.reasons) == (
        "n",
        NodeKind.COMPUTE,
        "s",
        ("why",),
    )
    job = _job()
    with pytest.raises(FrozenInstanceError):
        job.id = "B"  # type: ignore[misc]
    renamed = replace(job, id="B")
    assert (renamed.id, job.id, renamed.uses) == ("B", "A", job.uses)
    with pytest.raises(ValueError, match="init=False"):
        replace(job, inputs=())  # a derived view is not a field anyone sets


def test_plan_values_have_no_instance_dict() -> None:
    """Slotted: no per-instance dict a cache could hide in (and a third of the memory)."""
    node = Node(name="n", kind=NodeKind.COMPUTE, site="s", level=1)
    for value in (_job(), Use(lfn="a", link=LinkType.INPUT), Workflow(name="w", jobs=()), node):
        assert not hasattr(value, "__dict__")


_LINKS = st.sampled_from(list(LinkType))
_USES = st.lists(
    st.builds(
        Use, lfn=st.sampled_from(["a", "b", "c"]), link=_LINKS, size=st.none() | st.integers(0, 9)
    ),
    max_size=6,
).map(tuple)


@settings(max_examples=200, deadline=None)
@given(uses=_USES)
def test_split_uses_keeps_the_link_kinds_in_order(uses: tuple[Use, ...]) -> None:
    inputs, outputs = split_uses(uses)
    assert inputs == tuple(u for u in uses if u.link in READ_LINKS)
    assert outputs == tuple(u for u in uses if u.link in WRITE_LINKS)


@settings(max_examples=200, deadline=None)
@given(uses=_USES, label=st.none() | st.just("L"), stdout=st.none() | st.just("o"))
def test_make_builds_what_the_constructor_builds(
    uses: tuple[Use, ...], label: str | None, stdout: str | None
) -> None:
    """Every field, the derived views included (they take no part in ``==``)."""
    values = ("A", "t", "ns", None, label, ("-i", "a"), uses, {}, None, stdout, "e")
    made = Job.make(*values, *split_uses(uses))
    built = Job(*values)
    assert type(made) is Job
    assert {f: getattr(made, f) for f in Job.__slots__} == {
        f: getattr(built, f) for f in Job.__slots__
    }
    with pytest.raises(FrozenInstanceError):
        made.id = "B"  # type: ignore[misc]
    assert replace(made, id="B").inputs == built.inputs


@settings(max_examples=100, deadline=None)
@given(uses=_USES)
def test_use_make_builds_what_the_constructor_builds(uses: tuple[Use, ...]) -> None:
    for use in uses:
        made = Use.make(use.lfn, use.link, False, True, True, False, use.size)
        built = Use(use.lfn, use.link, False, True, True, False, use.size)
        assert type(made) is Use and made == built and hash(made) == hash(built)
        assert {f: getattr(made, f) for f in Use.__slots__} == {
            f: getattr(built, f) for f in Use.__slots__
        }
        with pytest.raises(FrozenInstanceError):
            made.lfn = "x"  # type: ignore[misc]


def test_use_is_a_value_compared_and_hashed_by_its_fields() -> None:
    a = Use("f", LinkType.INPUT, size=3)
    assert a == Use(lfn="f", link=LinkType.INPUT, size=3) and hash(a) == hash(
        Use("f", LinkType.INPUT, size=3)
    )
    assert a != Use("f", LinkType.OUTPUT, size=3) and a.is_input and not a.is_output
    assert (a.stage_out, a.register_replica, a.optional, a.bypass) == (True, True, False, False)
