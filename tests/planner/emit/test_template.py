"""Descriptions by shape: the shape and a node's values give back exactly the description
the general code writes for it, and the shared files made from shapes give every node
its own description back through its VARS."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from planner.emit.dag import NODE_VAR
from planner.emit.submit import EmitContext, node_job
from planner.emit.template import Shaped, render, shaped_job
from planner.emit.writer import plan_submit_files
from planner.model.base import Namespace
from planner.model.concrete import (
    ConcreteWorkflow,
    DataConfiguration,
    Node,
    NodeKind,
    Task,
    Transfer,
)

CTX = EmitContext(submit_dir=Path("/s"), tools_dir=Path("/t"), workflow="w", output_rc="/rc.db")
# plain names, and names this path must leave to the general code ('@', space, '$', ',')
_PLAIN = st.sampled_from(["a", "b.dat", "p_1", "p_2", "x-y+z", "n0", "n0.meta", "split.meta"])
_ODD = st.sampled_from(["a@@1@@", "c d", "$x", "e,f"])
_PLAIN_DIR = st.sampled_from(["file:///st", "file:///st", "file:///other", "http://h/d"])
_ODD_DIR = st.sampled_from(["file:///a b", "file:///st/@@0@@"])
_PLAIN_WORD = _PLAIN | st.sampled_from(["-i", "-o", "/opt/x=1"])
_ODD_WORD = st.sampled_from(["it's", "@@0@@", "", "a b"])


@st.composite
def _transfer(draw: st.DrawFn, output: bool, odd: bool) -> Transfer:
    lfn = draw(_PLAIN | _ODD if odd else _PLAIN)
    where = draw(_PLAIN_DIR | _ODD_DIR if odd else _PLAIN_DIR)
    url = f"{where}/{draw(st.sampled_from([lfn, lfn, 'other']))}"
    meta = draw(st.none() | _PLAIN.map(lambda n: f"{where}/{n}"))
    return Transfer(
        lfn=lfn,
        dst=url if output else lfn,
        src=(lfn,) if output else (url,),
        sha256=None if output else draw(st.none() | st.sampled_from(["ab12", "cd34"])),
        meta=meta,
        optional=odd and draw(st.booleans()),
    )


@st.composite
def _compute(draw: st.DrawFn, name: str) -> Node:
    """A compute node: most of them of the form that takes a shape, some not."""
    odd = draw(st.sampled_from([False, False, True]))
    task = Task(
        job_id=name,
        transformation="tx",
        executable=draw(st.sampled_from(["/bin/tx", "./tx"]) if odd else st.just("/bin/tx")),
        arguments=tuple(
            draw(st.lists(_PLAIN_WORD | _ODD_WORD if odd else _PLAIN_WORD, max_size=4))
        ),
        stdout=draw(st.none() | st.just("out.txt")) if odd else None,
    )
    return Node(
        name=name,
        kind=NodeKind.COMPUTE,
        site=draw(st.sampled_from(["pool", "local"])) if odd else "pool",
        level=1,
        transformation="tx",
        tasks=(task,),
        inputs=tuple(draw(st.lists(_transfer(False, odd), max_size=3))),
        outputs=tuple(draw(st.lists(_transfer(True, odd), max_size=3))),
        data_configuration=draw(st.sampled_from(list(DataConfiguration)))
        if odd
        else DataConfiguration.CONDORIO,
        working_dir="/w",
        profiles=draw(st.sampled_from([{}, {Namespace.CONDOR: {"+x": "@@1@@"}}]))
        if odd
        else draw(_PLAIN_PROFILES),
    )


# each a dict of its own: a chain's nodes differ in their dagman priority alone, and a
# shape found for one serves another only when the rest (here request_memory) is equal
_PLAIN_PROFILES = st.builds(
    lambda priority, memory: {
        **({Namespace.DAGMAN: {"priority": priority}} if priority else {}),
        **({Namespace.CONDOR: {"request_memory": memory}} if memory else {}),
    },
    st.sampled_from(["", "10", "20"]),
    st.sampled_from(["", "1", "2"]),
)


def _general(node: Node, offset: int) -> Any:
    try:
        return node_job(node, CTX, offset).description
    except Exception as exc:  # the refusal itself is what must agree
        return type(exc), str(exc)


@settings(max_examples=600, deadline=None)
@given(st.data())
def test_a_shape_and_its_values_are_the_general_description(data: st.DataObject) -> None:
    shapes: dict[Any, Any] = {}  # shared across the nodes, as in one emit
    for i in range(data.draw(st.integers(1, 4))):
        node = data.draw(_compute(f"n{i}"))
        if data.draw(st.booleans()):
            node = Node(name=f"t{i}", kind=data.draw(st.sampled_from(
                [NodeKind.STAGE_OUT, NodeKind.CLEANUP, NodeKind.REGISTER])), site="local",
                level=2, files=node.outputs)  # fmt: skip
        shaped = shaped_job(node, CTX, 7 * i, shapes)
        event(f"{node.kind.value}: {'shape' if shaped is not None else 'general'}")
        if shaped is not None:
            assert render(shaped) == _general(node, 7 * i)


def _expand(text: str, macros: dict[str, str]) -> str:
    return re.sub(r"\$\((\w+)\)", lambda m: macros.get(m.group(1), m.group(0)), text)


def test_shared_files_from_shapes_give_each_node_its_description() -> None:
    nodes = tuple(
        Node(
            name=f"work_{i}", kind=NodeKind.COMPUTE, site="pool", level=1, transformation="work",
            tasks=(Task(f"ID{i}", "work", "/bin/work", ("-i", f"p_{i}", "-o", f"r_{i}", "-k")),),
            inputs=(Transfer(f"p_{i}", f"p_{i}", (f"file:///st/p_{i}",), meta="file:///st/s.meta"),),
            outputs=(Transfer(f"r_{i}", f"file:///st/r_{i}", (f"r_{i}",), meta=f"file:///st/work_{i}.meta"),),
            data_configuration=DataConfiguration.CONDORIO,
        )
        for i in range(3)
    )  # fmt: skip
    shapes: dict[Any, Any] = {}
    jobs = {n.name: shaped_job(n, CTX, None, shapes) for n in nodes}
    assert all(isinstance(j, Shaped) for j in jobs.values())
    assert len({id(j.shape) for j in jobs.values() if j is not None}) == 1
    files, dag_nodes = plan_submit_files(ConcreteWorkflow(name="w", nodes=nodes), jobs, "shared")  # type: ignore[arg-type]
    assert len(files) == 1
    shared = dict(files[0].description)
    # what is the same for all is written out; names are macros, the node's own wf_node
    assert shared["transfer_input_files"] == "$(wf_1),s.meta"
    assert shared["transfer_output_files"] == "$(wf_2),$(wf_node).meta"
    assert shared["arguments"].endswith('-i $(wf_1) -o $(wf_2) -k"')
    for node in nodes:
        ref = dag_nodes[node.name]
        assert ref.vars == {NODE_VAR: node.name, "wf_1": f"p_{node.name[5:]}",
                            "wf_2": f"r_{node.name[5:]}"}  # fmt: skip
        got = tuple((k, _expand(v, dict(ref.vars))) for k, v in files[0].description)
        assert got == node_job(node, CTX).description


def test_nodes_whose_shapes_are_equal_share_one_file() -> None:
    """Two nodes whose profiles are equal dicts, not one: one shape, one ``.sub``."""
    nodes = tuple(
        Node(
            name=f"work_{i}", kind=NodeKind.COMPUTE, site="pool", level=1, transformation="work",
            tasks=(Task(f"ID{i}", "work", "/bin/work", (f"p_{i}",)),),
            inputs=(Transfer(f"p_{i}", f"p_{i}", (f"file:///st/p_{i}",)),),
            data_configuration=DataConfiguration.CONDORIO,
            profiles={Namespace.DAGMAN: {"priority": "10"}},  # a dict of its own each
        )
        for i in range(3)
    )  # fmt: skip
    shapes: dict[Any, Any] = {}
    jobs = {n.name: shaped_job(n, CTX, None, shapes) for n in nodes}
    files, _ = plan_submit_files(ConcreteWorkflow(name="w", nodes=nodes), jobs, "shared")  # type: ignore[arg-type]
    assert [f.name for f in files] == ["compute_work_pool.sub"]


def test_a_chain_whose_nodes_differ_in_priority_builds_its_shape_once(monkeypatch: Any) -> None:
    """Every node of a chain has a profile dict of its own (its priority is 10 x depth):
    the submit description never reads the dagman namespace, so one shape, checked once,
    serves them all; a node whose condor profiles differ gets a shape of its own."""
    import planner.emit.template as template

    built: list[str] = []
    first_shape = template._first_shape

    def counting(node: Node, *args: Any) -> Any:
        built.append(node.name)
        return first_shape(node, *args)

    monkeypatch.setattr(template, "_first_shape", counting)

    def work(i: int, memory: str) -> Node:
        return Node(
            name=f"work_{i}", kind=NodeKind.COMPUTE, site="pool", level=i, transformation="work",
            tasks=(Task(f"ID{i}", "work", "/bin/work", (f"p_{i}",)),),
            inputs=(Transfer(f"p_{i}", f"p_{i}", (f"file:///st/p_{i}",)),),
            data_configuration=DataConfiguration.CONDORIO,
            profiles={Namespace.DAGMAN: {"priority": str(10 * i)},
                      Namespace.CONDOR: {"request_memory": memory}},
        )  # fmt: skip

    shapes: dict[Any, Any] = {}
    nodes = [work(i, "1") for i in range(5)] + [work(5, "2")]
    shaped = [shaped_job(n, CTX, None, shapes) for n in nodes]
    assert built == ["work_0", "work_5"]
    assert all(s is not None for s in shaped)
    assert shaped[0].shape is shaped[4].shape and shaped[0].shape is not shaped[5].shape
    for node, one in zip(nodes, shaped, strict=True):
        assert render(one) == _general(node, 0)  # type: ignore[arg-type]
