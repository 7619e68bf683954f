"""Shared submit files: every node's own description comes back from the shared one and
its VARS, whatever differs between the nodes (whole values, tokens, node names)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.emit.dag import NODE_VAR
from planner.emit.writer import plan_submit_files
from planner.model.concrete import ConcreteWorkflow, Node, NodeKind

_MACRO = re.compile(r"\$\((\w+)\)")
# words and the characters values are cut at, and a protected dollar
_PIECES = st.sampled_from(["a", "b", "f.dat", "/", ",", ";", "=", " ", '"', "$(DOLLAR)", "x_1"])
_VALUE = st.lists(_PIECES, max_size=6).map("".join)


def _expand(text: str, macros: dict[str, str]) -> str:
    return _MACRO.sub(lambda m: macros.get(m.group(1), m.group(0)), text)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=5), st.data())
def test_each_node_gets_back_its_own_description(n: int, data: st.DataObject) -> None:
    names = [f"n{i}" for i in range(n)]
    keys = ["arguments", "transfer_input_files", "output"]
    jobs = {}
    for name in names:
        values = [data.draw(_VALUE) for _ in keys]
        if data.draw(st.booleans()):  # a value holding the node's own name
            values[2] = f"/s/{name}.out"
        jobs[name] = tuple(zip(keys, values, strict=True))
    nodes = tuple(Node(name=m, kind=NodeKind.COMPUTE, site="s", level=1) for m in names)
    files, dag_nodes = plan_submit_files(ConcreteWorkflow(name="w", nodes=nodes), jobs, "shared")
    shared = {f.name: f.description for f in files}
    for name in names:
        ref = dag_nodes[name]
        macros = {**ref.vars, NODE_VAR: name}
        got = tuple((k, _expand(v, macros)) for k, v in shared[ref.submit_file])
        assert got == jobs[name]


def test_only_the_differing_tokens_travel_in_vars() -> None:
    jobs = {
        m: (("transfer_input_files", f"/stage/dir/{f},/stage/dir/common.meta"),)
        for m, f in (("a", "part_1.dat"), ("b", "part_2.dat"))
    }
    nodes = tuple(Node(name=m, kind=NodeKind.COMPUTE, site="s", level=1) for m in jobs)
    files, dag_nodes = plan_submit_files(ConcreteWorkflow(name="w", nodes=nodes), jobs, "shared")
    assert files[0].description == (
        ("transfer_input_files", "/stage/dir/$(wf_1),/stage/dir/common.meta"),
    )
    assert dag_nodes["a"].vars == {"wf_1": "part_1.dat"}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["arguments", "output", "error", "log"]), min_size=1, max_size=4))
def test_groups_with_one_stem_get_numbered_file_names(extra: list[str]) -> None:
    # same kind and site, different submit keys: one group, and one file, per key set
    jobs = {f"n{i}": (("executable", "/bin/x"), *((k, "v") for k in extra[:i])) for i in range(4)}
    nodes = tuple(Node(name=m, kind=NodeKind.COMPUTE, site="s", level=1) for m in jobs)
    files, dag_nodes = plan_submit_files(ConcreteWorkflow(name="w", nodes=nodes), jobs, "shared")
    names = [f.name for f in files]
    assert names == ["compute_s.sub"] + [f"compute_s_{k}.sub" for k in range(2, len(names) + 1)]
    assert {f.name: f.description for f in files}[dag_nodes["n0"].submit_file] == jobs["n0"]
