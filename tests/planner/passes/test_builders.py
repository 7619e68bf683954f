"""The unvalidated builders of plan objects set every field, in declaration order.

``transfer``, ``make_node`` and ``_task`` spell the fields out for speed; a field added to
the model but not to its builder would make every plan object raise on access, and a
field set out of order would silently double the objects' memory (CPython then stops
sharing the class's keys).
"""

from __future__ import annotations

from planner.model.base import Namespace
from planner.model.concrete import Node, NodeKind, Task, Transfer
from planner.passes.stage import _task, make_node, transfer


def _fields_in_order(obj: object, cls: type[Transfer | Node | Task]) -> None:
    assert list(vars(obj)) == list(cls.model_fields)


def test_transfer_sets_every_field_in_order_and_equals_the_validated_model() -> None:
    built = transfer(lfn="f.a", src=("file:///x/f.a",), dst="f.a", size=3, site="local")
    _fields_in_order(built, Transfer)
    expected = Transfer(lfn="f.a", src=("file:///x/f.a",), dst="f.a", size=3, site="local")
    assert built == expected
    assert built.model_dump() == expected.model_dump()


def test_make_node_sets_every_field_in_order_and_equals_the_validated_model() -> None:
    built = make_node(name="stage_in_0", kind=NodeKind.STAGE_IN, site="local", level=2)
    _fields_in_order(built, Node)
    expected = Node(name="stage_in_0", kind=NodeKind.STAGE_IN, site="local", level=2)
    assert built == expected
    assert built.model_dump() == expected.model_dump()


def test_task_sets_every_field_in_order_and_equals_the_validated_model() -> None:
    built = _task("ID1", "preprocess", "/bin/pre", ("-a",), {"X": "1"}, None, "o", None, 2.0)
    _fields_in_order(built, Task)
    expected = Task(
        job_id="ID1",
        transformation="preprocess",
        executable="/bin/pre",
        arguments=("-a",),
        environment={"X": "1"},
        stdout="o",
        runtime=2.0,
    )
    assert built == expected


def test_profiles_default_to_one_shared_read_only_dict() -> None:
    one = make_node(name="a", kind=NodeKind.CLEANUP, site="local", level=1)
    two = make_node(name="b", kind=NodeKind.CLEANUP, site="local", level=1)
    assert one.profiles == {} and one.profiles is two.profiles
    given = {Namespace.DAGMAN: {"retry": "2"}}
    assert (
        make_node(name="c", kind=NodeKind.CLEANUP, site="local", level=1, profiles=given).profiles
        is given
    )
