"""Concrete-plan values: the positional level setter agrees with ``replace``."""

from __future__ import annotations

import inspect

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
