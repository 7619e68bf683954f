"""The unvalidated builders of plan objects build what the models' own constructors do.

``make_node`` sets every field of a Node, in declaration order: a field added to the model
but not to the builder would make every node raise on access, and a field set out of
order would silently double the nodes' memory (CPython then stops sharing the class's
keys). ``Transfer`` and ``Task`` are NamedTuples built straight from their fields in order
(``transfer`` and an inline tuple in stage.py).
"""

from __future__ import annotations

from planner.model.base import Namespace
from planner.model.concrete import Node, NodeKind, Task, Transfer
from planner.passes.stage import make_node, transfer


def _fields_in_order(obj: object, cls: type[Transfer | Node | Task]) -> None:
    assert list(vars(obj)) == list(cls.model_fields)


def test_transfer_builds_the_same_tuple_as_the_namedtuple_constructor() -> None:
    built = transfer(lfn="f.a", src=("file:///x/f.a",), dst="f.a", size=3, site="local")
    expected = Transfer(lfn="f.a", src=("file:///x/f.a",), dst="f.a", size=3, site="local")
    assert type(built) is Transfer
    assert built == expected
    assert built._asdict() == expected._asdict()
    default = transfer(lfn="g", dst="file:///s/g")
    assert default == Transfer(lfn="g", dst="file:///s/g")
    assert (default.src, default.sha256, default.symlink, default.size) == ((), None, False, None)
    assert (default.site, default.executable, default.optional) == (None, False, False)


def test_make_node_sets_every_field_in_order_and_equals_the_validated_model() -> None:
    built = make_node(name="stage_in_0", kind=NodeKind.STAGE_IN, site="local", level=2)
    _fields_in_order(built, Node)
    expected = Node(name="stage_in_0", kind=NodeKind.STAGE_IN, site="local", level=2)
    assert built == expected
    assert built.model_dump() == expected.model_dump()


def test_task_defaults_share_one_read_only_environment() -> None:
    one = Task(job_id="ID1", transformation="preprocess", executable="/bin/pre")
    two = Task(job_id="ID2", transformation="preprocess", executable="/bin/pre")
    assert one.environment == {} and one.environment is two.environment
    assert (one.arguments, one.stdin, one.stdout, one.stderr, one.runtime) == (
        (),
        None,
        None,
        None,
        None,
    )


def test_profiles_default_to_one_shared_read_only_dict() -> None:
    one = make_node(name="a", kind=NodeKind.CLEANUP, site="local", level=1)
    two = make_node(name="b", kind=NodeKind.CLEANUP, site="local", level=1)
    assert one.profiles == {} and one.profiles is two.profiles
    given = {Namespace.DAGMAN: {"retry": "2"}}
    assert (
        make_node(name="c", kind=NodeKind.CLEANUP, site="local", level=1, profiles=given).profiles
        is given
    )
