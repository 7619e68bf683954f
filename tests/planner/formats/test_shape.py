"""The readers' unchecked constructors build the same models pydantic builds."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from hypothesis import given
from hypothesis import strategies as st

from planner.formats._shape import make_job, make_use
from planner.model.base import Namespace
from planner.model.workflow import Job, LinkType, Use


@given(
    lfn=st.text(min_size=1, max_size=8),
    link=st.sampled_from(list(LinkType)),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    size=st.none() | st.integers(0, 2**40),
)
def test_make_use_equals_the_validated_use(
    lfn: str, link: LinkType, flags: tuple[bool, bool, bool, bool], size: int | None
) -> None:
    stage_out, register, optional, bypass = flags
    fast = make_use(
        lfn,
        link,
        stage_out=stage_out,
        register_replica=register,
        optional=optional,
        bypass=bypass,
        size=size,
    )
    checked = Use(
        lfn=lfn,
        link=link,
        stage_out=stage_out,
        register_replica=register,
        optional=optional,
        bypass=bypass,
        size=size,
    )
    assert fast == checked
    assert list(fast.__dict__) == list(Use.model_fields)
    assert fast.model_fields_set == checked.model_fields_set


def _in_a_fresh_interpreter(body: str) -> None:
    """Run ``body`` in a new Python: whether a class's instances share one key table
    depends on every instance built before in the process, and other tests of the same
    worker (the Montage generator's pydantic-built jobs, for one) can leave it otherwise
    whatever the order of their fields. ``sys.getsizeof`` of a split dict counts its share
    of the key table, so the bodies build ten instances: shared, each one's share is
    small; not shared, each dict is at least a table of its own."""
    code = (
        "import sys\n"
        "from planner.formats._shape import make_job, make_use\n"
        "from planner.model.workflow import LinkType\n" + textwrap.dedent(body)
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_uses_share_one_key_table() -> None:
    """Fields set in declaration order leave a split dict (values only): the memory a
    10^6-job workflow's millions of uses take depends on it."""
    _in_a_fresh_interpreter(
        """
        uses = [make_use(f"f{i}", LinkType.INPUT, size=i) for i in range(10)]
        own_table = sys.getsizeof(dict(uses[0].__dict__))
        assert all(sys.getsizeof(u.__dict__) < own_table for u in uses)
        """
    )


def test_make_job_equals_the_validated_job_and_has_its_views() -> None:
    uses = (
        make_use("in", LinkType.INPUT),
        make_use("both", LinkType.INOUT),
        make_use("out", LinkType.OUTPUT),
        make_use("log", LinkType.NONE),
    )
    profiles = {Namespace.PEGASUS: {"runtime": "3"}}
    fast = make_job(id="ID1", name="t", arguments=("-i", "in"), uses=uses, profiles=profiles)
    checked = Job(id="ID1", name="t", arguments=("-i", "in"), uses=uses, profiles=profiles)
    assert fast == checked
    assert [u.lfn for u in fast.inputs] == [u.lfn for u in checked.inputs] == ["in", "both"]
    assert [u.lfn for u in fast.outputs] == [u.lfn for u in checked.outputs] == ["both", "out"]
    assert "inputs" not in fast.model_dump()


def test_jobs_share_one_key_table() -> None:
    _in_a_fresh_interpreter(
        """
        jobs = [
            make_job(id=f"j{i}", name="t", uses=(make_use(f"f{i}", LinkType.INPUT),))
            for i in range(10)
        ]
        own_table = sys.getsizeof(dict(jobs[0].__dict__))
        for job in jobs:
            assert job.inputs and not job.outputs  # reading the views adds no key
            assert sys.getsizeof(job.__dict__) < own_table
        """
    )
