"""plan.json: the architecture's keys, runtimes and sizes, stable text."""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.emit.record import dumps_plan, node_runtime, plan_record, yield_plan_text
from planner.model.base import Namespace
from planner.model.concrete import (
    ConcreteWorkflow,
    DataConfiguration,
    Node,
    NodeKind,
    Pruned,
    Task,
    Transfer,
)


def _task(job: str, runtime: float | None) -> Task:
    return Task(job_id=job, transformation="tx", executable="/bin/tx", runtime=runtime)


def test_runtime_is_the_sum_or_unknown() -> None:
    node = Node(name="m", kind=NodeKind.CLUSTER, site="s", level=1)
    assert node_runtime(node) is None
    both = replace(node, tasks=(_task("a", 1.5), _task("b", 2)))
    assert node_runtime(both) == 3.5
    one_unknown = replace(node, tasks=(_task("a", 1.5), _task("b", None)))
    assert node_runtime(one_unknown) is None


def test_record_has_the_fixed_keys_and_parents() -> None:
    cw = ConcreteWorkflow(
        name="w",
        nodes=(
            Node(name="b", kind=NodeKind.COMPUTE, site="s", level=2, tasks=(_task("J2", 4),)),
            Node(
                name="a",
                kind=NodeKind.STAGE_IN,
                site="local",
                level=0,
                files=(
                    Transfer(lfn="f", src=("file:///x/f", "http://h/f"), dst="file:///y/f", size=9),
                ),
            ),
        ),
        edges=(("a", "b"),),
        pruned=(Pruned(job="J1", reason="outputs have replicas"),),
        options={"cleanup": "inplace", "sites": ("s",)},
    )
    record = json.loads(dumps_plan(plan_record(cw, {"a": "a.sub"})))
    assert {"workflow", "wfplan_version", "options", "pruned", "nodes"} <= set(record)
    assert record["pruned"] == [{"job": "J1", "reason": "outputs have replicas"}]
    assert record["options"] == {"cleanup": "inplace", "sites": ["s"]}
    b, a = record["nodes"]
    for key in ("name", "kind", "site", "transformation", "jobs", "files", "parents", "level"):
        assert key in a and key in b
    assert b["parents"] == ["a"] and a["children"] == ["b"]
    assert b["runtime"] == 4.0
    assert a["files"][0]["src"] == "file:///x/f"
    assert a["files"][0]["fallbacks"] == ["http://h/f"]
    assert a["files"][0]["size"] == 9
    assert a["submit"] == "a.sub" and b["submit"] is None


def test_text_is_stable_and_valid_for_an_empty_workflow() -> None:
    cw = ConcreteWorkflow(name="w", nodes=())
    text = dumps_plan(plan_record(cw))
    assert text == dumps_plan(plan_record(cw))
    assert json.loads(text)["nodes"] == []


def test_streamed_text_equals_the_whole_record_dumped() -> None:
    cw = ConcreteWorkflow(
        name="w",
        nodes=(
            Node(name="a", kind=NodeKind.COMPUTE, site="s", level=1, tasks=(_task("J1", 1),)),
            Node(name="b", kind=NodeKind.COMPUTE, site="s", level=2, tasks=(_task("J2", 2),)),
        ),
        edges=(("a", "b"),),
        decisions={"J1": ("why",)},
    )
    streamed = "".join(yield_plan_text(cw, {"a": "x.sub", "b": "x.sub"}))
    assert streamed == dumps_plan(plan_record(cw, {"a": "x.sub", "b": "x.sub"}))
    assert json.loads(streamed)["nodes"][1]["parents"] == ["a"]


TEXT = st.text(max_size=12)  # any code point: quotes, backslashes, controls, non-ASCII
NUMBER = st.one_of(
    st.none(),
    st.sampled_from([-0.0, 0.0, 1e16, 1e-7, 3]),  # repr edge cases, and an int
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20).map(float),
)


@st.composite
def _workflows(draw: st.DrawFn) -> ConcreteWorkflow:
    """Nodes with random text and numbers that share Transfer objects and profile dicts,
    as planned workflows do, and, now and then, a field of the wrong type (a model_copy
    without validation)."""
    transfers = draw(
        st.lists(
            st.builds(
                Transfer,
                lfn=TEXT,
                src=st.lists(TEXT, max_size=3).map(tuple),
                dst=TEXT,
                sha256=st.none() | TEXT,
                size=st.none() | st.integers(0, 10**15),
                site=st.none() | TEXT,
            ),
            min_size=1,
            max_size=6,
        )
    )
    profiles = draw(
        st.lists(
            st.dictionaries(
                st.sampled_from(list(Namespace)), st.dictionaries(TEXT, TEXT, max_size=2)
            ),
            min_size=1,
            max_size=3,
        )
    )
    pick = st.sampled_from(transfers)
    nodes = []
    for i in range(draw(st.integers(1, 6))):
        tasks = tuple(
            Task(
                job_id=draw(TEXT),
                transformation=draw(TEXT),
                executable=draw(TEXT),
                arguments=tuple(draw(st.lists(TEXT, max_size=3))),
                runtime=draw(NUMBER),
            )
            for _ in range(draw(st.integers(0, 2)))
        )
        node = Node(
            name=f"n{i}",
            kind=draw(st.sampled_from(list(NodeKind))),
            site=draw(TEXT),
            level=draw(st.integers(0, 10**12)),
            transformation=draw(st.none() | TEXT),
            jobs=tuple(draw(st.lists(TEXT, max_size=2))),
            tasks=tasks,
            files=tuple(draw(st.lists(pick, max_size=3))),
            inputs=tuple(draw(st.lists(pick, max_size=3))),
            outputs=tuple(draw(st.lists(pick, max_size=3))),
            working_dir=draw(st.none() | TEXT),
            data_configuration=draw(st.none() | st.sampled_from(list(DataConfiguration))),
            staging_site=draw(st.none() | TEXT),
            profiles=draw(st.sampled_from(profiles)),
            reasons=tuple(draw(st.lists(TEXT, max_size=2))),
        )
        if draw(st.integers(0, 9)) == 0:
            field, odd = draw(
                st.sampled_from(
                    [("site", None), ("jobs", (1, 2)), ("level", True), ("reasons", ("a", 3))]
                )
            )
            node = replace(node, **{field: odd})
        nodes.append(node)
    edges = tuple((f"n{i}", f"n{j}") for i in range(len(nodes)) for j in range(i + 1, len(nodes)))
    return ConcreteWorkflow(name="w", nodes=tuple(nodes), edges=edges)


@settings(max_examples=150, deadline=None)
@given(_workflows())
def test_fast_text_is_the_general_encoders_byte_for_byte(cw: ConcreteWorkflow) -> None:
    submit = {n.name: f"{n.name}.sub" for n in cw.nodes[::2]}
    streamed = "".join(yield_plan_text(cw, submit))
    assert streamed == dumps_plan(plan_record(cw, submit))
