"""Concrete-plan values: the positional level setter agrees with ``replace``."""

from __future__ import annotations

import copy
import inspect
import pickle
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.model.base import Namespace
from planner.model.concrete import (
    TRANSFER_FIELDS,
    DataConfiguration,
    Node,
    NodeKind,
    Task,
    Transfer,
    at_level,
    node,
    transfer,
)


def _full_node() -> Node:
    """A node with every field set to a value unlike its default."""
    return Node(
        name="n",
        kind=NodeKind.CLUSTER,
        site="s",
        level=1,
        transformation="t",
        jobs=("ID1",),
        tasks=(Task(job_id="ID1", transformation="t", executable="/bin/t"),),
        files=(Transfer(lfn="a", dst="file:///a"),),
        inputs=(Transfer(lfn="b", dst="b"),),
        outputs=(Transfer(lfn="c", dst="file:///c"),),
        working_dir="/w",
        data_configuration=DataConfiguration.NONSHAREDFS,
        staging_site="st",
        profiles={Namespace.DAGMAN: {"retry": "3"}},
        reasons=("why",),
    )


def test_at_level_equals_replace_field_for_field() -> None:
    node = _full_node()
    defaults = Node(name="d", kind=NodeKind.COMPUTE, site="x", level=0)
    for f in Node._fields:  # every field differs from its default, so none is dropped
        assert f == "level" or getattr(node, f) != getattr(defaults, f), f
    assert at_level(node, 7) == node._replace(level=7)
    assert node.level == 1


def test_the_builders_take_every_field_and_equal_the_constructors() -> None:
    full = _full_node()
    values = full._asdict()
    assert node(**values) == full
    assert inspect.signature(node).parameters.keys() == values.keys()
    moved = Transfer(
        lfn="f",
        dst="d",
        src=("s",),
        sha256="x",
        symlink=True,
        size=3,
        site="st",
        executable=True,
        optional=True,
        meta="m",
    )
    assert transfer(**moved._asdict()) == moved
    assert tuple(inspect.signature(transfer).parameters) == TRANSFER_FIELDS
    defaults = transfer(lfn="g", dst="h")
    assert defaults == Transfer(lfn="g", dst="h")
    assert node(name="n", kind=NodeKind.COMPUTE, site="s", level=1) == Node(
        name="n", kind=NodeKind.COMPUTE, site="s", level=1
    )


_TRANSFER_VALUES = {
    "lfn": st.text(max_size=4),
    "dst": st.text(max_size=4),
    "src": st.lists(st.text(max_size=4), max_size=2).map(tuple),
    "sha256": st.none() | st.text(max_size=4),
    "symlink": st.booleans(),
    "size": st.none() | st.integers(0, 10**12),
    "site": st.none() | st.text(max_size=4),
    "executable": st.booleans(),
    "optional": st.booleans(),
    "meta": st.none() | st.text(max_size=4),
}


@given(st.fixed_dictionaries(_TRANSFER_VALUES), st.fixed_dictionaries(_TRANSFER_VALUES))
def test_a_transfer_keeps_its_ten_fields_through_every_copy(
    values: dict[str, object], other: dict[str, object]
) -> None:
    moved = Transfer(**values)  # type: ignore[arg-type]
    assert {f: getattr(moved, f) for f in TRANSFER_FIELDS} == values
    assert moved._asdict() == values
    assert transfer(**values) == moved  # type: ignore[arg-type]
    assert pickle.loads(pickle.dumps(moved)) == moved
    assert copy.deepcopy(moved) == moved
    for f in TRANSFER_FIELDS:  # any one field replaced, the others kept
        changed = moved._replace(**{f: other[f]})
        assert changed._asdict() == {**values, f: other[f]}


def test_a_transfer_is_seven_slots() -> None:
    """The fields almost always at their default share one slot: a plan holds about seven
    transfers per job, and ten slots cost 32 bytes more each."""
    plain = transfer(lfn="f", dst="d", src=("s",), size=1, site="x", meta="m")
    assert sys.getsizeof(plain) == sys.getsizeof(tuple(range(7)))
    assert plain.more is None
    flagged = transfer(lfn="f", dst="d", symlink=True)
    assert flagged.more is transfer(lfn="g", dst="e", symlink=True).more  # one shared tuple
    with pytest.raises(ValueError, match="unexpected field names"):
        plain._replace(sha512="x")
