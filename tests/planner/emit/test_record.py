"""plan.json: the architecture's keys, runtimes and sizes, stable text."""

from __future__ import annotations

import json

from planner.emit.record import dumps_plan, node_runtime, plan_record, yield_plan_text
from planner.model.concrete import ConcreteWorkflow, Node, NodeKind, Pruned, Task, Transfer


def _task(job: str, runtime: float | None) -> Task:
    return Task(job_id=job, transformation="tx", executable="/bin/tx", runtime=runtime)


def test_runtime_is_the_sum_or_unknown() -> None:
    node = Node(name="m", kind=NodeKind.CLUSTER, site="s", level=1)
    assert node_runtime(node) is None
    both = node.model_copy(update={"tasks": (_task("a", 1.5), _task("b", 2))})
    assert node_runtime(both) == 3.5
    one_unknown = node.model_copy(update={"tasks": (_task("a", 1.5), _task("b", None))})
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
