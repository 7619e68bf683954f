"""DAG text: node lines, DAGMan extras, sorted edges, refusals."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.emit.dag import (
    DagNode,
    check_node_names,
    node_category,
    node_priority,
    node_retry,
    yield_dag_lines,
    yield_node_lines,
)
from planner.engine.dagfile import parse_dag_text
from planner.errors import EmitError
from planner.model.base import Namespace
from planner.model.concrete import ConcreteWorkflow, Node, NodeKind, SubWorkflowNode

POST = "/t/wfplan-exitcode"


def _node(name: str, kind: NodeKind = NodeKind.COMPUTE, level: int = 1, **kw: object) -> Node:
    return Node(name=name, kind=kind, site="condorpool", level=level, **kw)  # type: ignore[arg-type]


def _dag(cw: ConcreteWorkflow, **vars_: dict[str, str]) -> list[str]:
    dag_nodes = {n.name: DagNode(f"{n.name}.sub", vars_.get(n.name, {})) for n in cw.nodes}
    return list(yield_dag_lines(cw, dag_nodes, POST))


def _priorities(lines: list[str]) -> dict[str, int]:
    """Each node's priority as DAGMan reads the DAG (the embedded engine's parser)."""
    dag = parse_dag_text("".join(f"{line}\n" for line in lines), "w.dag")
    return {name: node.priority for name, node in dag.nodes.items()}


def test_empty_workflow_is_just_the_header() -> None:
    lines = _dag(ConcreteWorkflow(name="empty", nodes=()))
    assert len(lines) == 1 and lines[0].startswith("#")


def test_single_node_lines_in_order() -> None:
    lines = _dag(ConcreteWorkflow(name="w", nodes=(_node("a_ID1", level=2),)))
    assert lines[1:] == [
        "RETRY ALL_NODES 1",
        f"SCRIPT POST ALL_NODES {POST} $JOB $RETURN",
        "PRIORITY ALL_NODES 20",
        "JOB a_ID1 a_ID1.sub",
    ]


def test_what_all_nodes_share_is_said_once_and_a_node_overrides_it() -> None:
    """RETRY 1, the POST script and the node-name macro come once, before the nodes;
    a node's own RETRY follows its JOB line, so it wins (DAGMan: the last command)."""
    nodes = (
        _node("a", profiles={Namespace.DAGMAN: {"retry": "3"}}),
        _node("b"),
    )
    named = {"a": {"wf_node": "a", "wf_x": "1"}, "b": {"wf_node": "b"}}
    lines = _dag(ConcreteWorkflow(name="w", nodes=nodes), **named)
    assert lines[1:4] == [
        'VARS ALL_NODES wf_node="$(JOB)"',
        "RETRY ALL_NODES 1",
        f"SCRIPT POST ALL_NODES {POST} $JOB $RETURN",
    ]
    assert 'VARS a wf_x="1"' in lines and "RETRY a 3" in lines
    assert not [line for line in lines if line.startswith(("VARS b", "RETRY b", "SCRIPT POST b"))]


def test_edges_grouped_and_sorted() -> None:
    """Nodes with the same children share a line (b and c), each side sorted, and a
    duplicate edge is written once."""
    nodes = tuple(_node(n) for n in ("d", "c", "b", "a"))
    cw = ConcreteWorkflow(
        name="w", nodes=nodes, edges=(("b", "d"), ("a", "c"), ("a", "b"), ("c", "d"), ("a", "b"))
    )
    edges = [line for line in _dag(cw) if line.startswith("PARENT")]
    assert edges == ["PARENT a CHILD b c", "PARENT b c CHILD d"]


def test_a_fan_in_groups_the_parents_and_a_fan_out_the_children() -> None:
    """Each edge goes on the line of the end with more edges: the fan-out's workers on
    their one parent's line, and the workers again on each collector's line. No line
    names several parents and several children: DAGMan would add a join node."""
    workers = [f"w_{i}" for i in range(5)]
    nodes = tuple(_node(n) for n in ("split", *workers, "merge", "tar"))
    edges = [("split", w) for w in workers] + [(w, c) for w in workers for c in ("merge", "tar")]
    lines = _dag(ConcreteWorkflow(name="w", nodes=nodes, edges=tuple(edges)))
    assert [line for line in lines if line.startswith("PARENT")] == [
        "PARENT split CHILD w_0 w_1 w_2 w_3 w_4",
        "PARENT w_0 w_1 w_2 w_3 w_4 CHILD merge",
        "PARENT w_0 w_1 w_2 w_3 w_4 CHILD tar",
    ]


def test_categories_priorities_and_maxjobs() -> None:
    nodes = (
        _node("stage_in_x", NodeKind.STAGE_IN, 0),
        _node("stage_inter_x", NodeKind.STAGE_INTER, 1),
        _node("stage_out_x", NodeKind.STAGE_OUT, 2),
        _node("register_x", NodeKind.REGISTER, 2),
        _node("clean_up_x", NodeKind.CLEANUP, 2),
        _node("create_dir_x", NodeKind.CREATE_DIR, 0),
    )
    lines = _dag(ConcreteWorkflow(name="w", nodes=nodes))
    assert "CATEGORY stage_in_x stagein" in lines
    assert "CATEGORY stage_inter_x stagein" in lines
    assert "CATEGORY stage_out_x stageout" in lines
    assert "CATEGORY register_x registration" in lines
    assert "CATEGORY clean_up_x cleanup" in lines
    assert not any(line.startswith("CATEGORY create_dir_x") for line in lines)
    assert _priorities(lines) == {
        "stage_in_x": 700,
        "stage_inter_x": 700,
        "stage_out_x": 900,
        "register_x": 0,  # no dagman profile and no default: DAGMan's own 0
        "clean_up_x": 1000,
        "create_dir_x": 800,
    }
    # priorities differ, so each is on its node's own line: a node line overriding
    # PRIORITY ALL_NODES makes DAGMan warn, and fail under DAGMAN_USE_STRICT >= 2
    assert not [line for line in lines if line.startswith("PRIORITY ALL_NODES")]
    assert "PRIORITY stage_in_x 700" in lines and "PRIORITY register_x" not in " ".join(lines)
    assert [line for line in lines if line.startswith("MAXJOBS")] == [
        "MAXJOBS cleanup 4",
        "MAXJOBS registration 1",
        "MAXJOBS stagein 10",
        "MAXJOBS stageout 10",
    ]


def test_profiles_and_options_override_the_defaults() -> None:
    dagman = {Namespace.DAGMAN: {"retry": "5", "priority": "77", "category": "big"}}
    nodes = (_node("a", profiles=dagman), _node("s", NodeKind.STAGE_IN, 0))
    cw = ConcreteWorkflow(
        name="w", nodes=nodes, options={"dagman.stagein.maxjobs": 3, "dagman.big.maxjobs": "2"}
    )
    lines = _dag(cw)
    assert {"RETRY a 5", "CATEGORY a big"} <= set(lines)
    assert _priorities(lines) == {"a": 77, "s": 700}
    assert "MAXJOBS big 2" in lines and "MAXJOBS stagein 3" in lines


def test_planner_maxjobs_option_is_honoured() -> None:
    nodes = (_node("s", NodeKind.STAGE_IN, 0), _node("c", NodeKind.CLEANUP, 0))
    cw = ConcreteWorkflow(name="w", nodes=nodes, options={"dagman_maxjobs": {"stagein": 7}})
    lines = _dag(cw)
    assert "MAXJOBS stagein 7" in lines and "MAXJOBS cleanup 4" in lines


def test_vars_values_are_escaped_for_dagman() -> None:
    cw = ConcreteWorkflow(name="w", nodes=(_node("a"),))
    lines = _dag(cw, a={"wf_arguments": '"x \\ ""y"""'})
    assert 'VARS a wf_arguments="\\"x \\\\ \\"\\"y\\"\\"\\""' in lines


@pytest.mark.parametrize(
    ("profiles", "pattern"),
    [
        ({Namespace.DAGMAN: {"retry": "many"}}, "node a: dagman profile retry must be an integer"),
        ({Namespace.DAGMAN: {"retry": "-1"}}, "must not be negative"),
        ({Namespace.DAGMAN: {"category": "two words"}}, "'two words' is not a plain name"),
    ],
)
def test_bad_dagman_profiles_name_the_node(profiles: dict, pattern: str) -> None:
    cw = ConcreteWorkflow(name="w", nodes=(_node("a", profiles=profiles),))
    with pytest.raises(EmitError, match=pattern):
        _dag(cw)


def test_whitespace_in_the_tools_dir_is_refused() -> None:
    cw = ConcreteWorkflow(name="w", nodes=(_node("a"),))
    with pytest.raises(EmitError, match="whitespace"):
        list(yield_dag_lines(cw, {"a": DagNode("a.sub")}, "/my tools/wfplan-exitcode"))


def test_duplicates_and_dangling_edges_are_refused() -> None:
    with pytest.raises(EmitError, match="'a' appears twice in workflow 'w'"):
        check_node_names(ConcreteWorkflow(name="w", nodes=(_node("a"), _node("a"))))
    with pytest.raises(EmitError, match="a -> ghost names unknown node 'ghost'"):
        check_node_names(ConcreteWorkflow(name="w", nodes=(_node("a"),), edges=(("a", "ghost"),)))
    with pytest.raises(EmitError, match="self-loop"):
        check_node_names(ConcreteWorkflow(name="w", nodes=(_node("a"),), edges=(("a", "a"),)))


def test_nodes_sharing_one_dagman_profile_dict_keep_their_own_kind_and_level() -> None:
    shared = {Namespace.DAGMAN: {"retry": "2"}}  # no priority: it comes from each node
    pinned = {Namespace.DAGMAN: {"retry": "4", "priority": "5"}}
    first = _node("c_ID1", level=1, profiles=shared)
    nodes = (  # replace keeps the very same profile dict, as the planner's nodes do
        first,
        first._replace(name="c_ID2", level=3),
        first._replace(name="clean_up_x", kind=NodeKind.CLEANUP, level=2),
        _node("c_ID3", level=3, profiles=pinned),
    )
    assert nodes[1].profiles is nodes[2].profiles is first.profiles
    lines = _dag(ConcreteWorkflow(name="w", nodes=nodes))
    assert _priorities(lines) == {"c_ID1": 10, "c_ID2": 30, "clean_up_x": 1000, "c_ID3": 5}
    assert "CATEGORY clean_up_x cleanup" in lines
    assert "RETRY c_ID2 2" in lines and "RETRY clean_up_x 2" in lines
    assert "RETRY c_ID3 4" in lines
    assert not any(line.startswith("CATEGORY c_") for line in lines)


@pytest.mark.parametrize("bad", ["a\nb", "", "a b", "x.y"])
def test_a_bad_name_among_good_ones_is_named(bad: str) -> None:
    nodes = (_node("good_1"), _node("good_2")._replace(name=bad), _node("good_3"))
    with pytest.raises(EmitError, match=f"node name {re.escape(repr(bad))} in workflow 'w'"):
        check_node_names(ConcreteWorkflow(name="w", nodes=nodes))
    check_node_names(ConcreteWorkflow(name="w", nodes=(nodes[0], nodes[2])))  # the rest pass


def test_with_sub_workflows_every_other_node_keeps_its_own_post_script() -> None:
    """A sub-workflow node (its lines come after these) has no POST script: an ALL_NODES
    one would give it one, so the other nodes carry theirs."""
    sub = SubWorkflowNode(
        name="pegasus-plan_s", job="s", kind="pegasusWorkflow", file="s.yml", url="file:///s.yml"
    )
    cw = ConcreteWorkflow(name="w", nodes=(_node("a"),), subworkflows=(sub,))
    lines = _dag(cw)
    assert not [line for line in lines if "ALL_NODES" in line]
    assert lines[1:] == [
        "JOB a a.sub",
        "RETRY a 1",
        "PRIORITY a 10",
        f"SCRIPT POST a {POST} $JOB $RETURN",
    ]


_RETRIES = st.one_of(st.none(), st.integers(min_value=0, max_value=5))


_PRIORITIES = st.one_of(st.none(), st.sampled_from([0, 5, 20, 1000]))
_KINDS = st.sampled_from([NodeKind.COMPUTE, NodeKind.REGISTER, NodeKind.STAGE_OUT])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(_RETRIES, st.booleans(), st.booleans(), _PRIORITIES, _KINDS),
        min_size=1,
        max_size=8,
    ),
)
def test_all_nodes_lines_mean_what_per_node_lines_meant(
    shapes: list[tuple[int | None, bool, bool, int | None, NodeKind]],
) -> None:
    """Read by the embedded engine (DAGMan's order: JOB lines first, then the rest in
    file order, the last command winning), the DAG with ALL_NODES lines gives every node
    the RETRY, PRIORITY, POST script and VARS that writing each node's lines in full
    gives (a register node without a priority profile has none: DAGMan's 0)."""
    nodes = []
    dag_nodes = {}
    for i, (retry, named, other, priority, kind) in enumerate(shapes):
        dagman = {} if retry is None else {"retry": str(retry)}
        if priority is not None:
            dagman["priority"] = str(priority)
        profiles = {Namespace.DAGMAN: dagman} if dagman else {}
        nodes.append(_node(f"n{i}", kind, profiles=profiles))
        macros = {"wf_node": f"n{i}"} if named else {}
        if other:
            macros["wf_arguments"] = f'"-i n{i}.in"'
        dag_nodes[f"n{i}"] = DagNode("shared.sub", macros)
    cw = ConcreteWorkflow(name="w", nodes=tuple(nodes))
    short = "".join(f"{line}\n" for line in yield_dag_lines(cw, dag_nodes, POST))
    full = "".join(
        f"{line}\n" for node in nodes for line in yield_node_lines(node, dag_nodes[node.name], POST)
    )
    got, want = parse_dag_text(short, "w.dag").nodes, parse_dag_text(full, "w.dag").nodes
    assert got.keys() == want.keys()
    for name, node in want.items():
        job_vars = {k: v.replace("$(JOB)", name) for k, v in got[name].vars.items()}
        assert (got[name].retry, got[name].post) == (node.retry, node.post)
        assert got[name].priority == node.priority
        assert {k: v for k, v in job_vars.items() if k in node.vars} == node.vars
        # the only macro a node gains is its own name, which nothing else reads
        assert set(job_vars) - set(node.vars) <= {"wf_node"}


@st.composite
def _dags(draw: st.DrawFn) -> ConcreteWorkflow:
    """A random DAG: edges only from a lower to a higher node number, some repeated."""
    n = draw(st.integers(min_value=1, max_value=12))
    pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda e: e[0] < e[1])
    edges = draw(st.lists(pairs, max_size=40))
    nodes = tuple(_node(f"n{i}") for i in draw(st.permutations(range(n))))
    return ConcreteWorkflow(
        name="w", nodes=nodes, edges=tuple((f"n{a}", f"n{b}") for a, b in edges)
    )


@settings(max_examples=200, deadline=None)
@given(_dags())
def test_grouped_edge_lines_hold_exactly_the_edge_set(cw: ConcreteWorkflow) -> None:
    """Read by the engine's parser, the PARENT lines give every node exactly the parents
    and children of the plan's edges, and no edge is written twice."""
    lines = _dag(cw)
    written = []
    for line in lines:
        if line.startswith("PARENT "):
            ups, downs = line.removeprefix("PARENT ").split(" CHILD ")
            # one parent or one child a line, else DAGMan inserts a join node
            assert len(ups.split()) == 1 or len(downs.split()) == 1, line
            written += [(p, c) for p in ups.split() for c in downs.split()]
    assert len(written) == len(set(written)) == len(set(cw.edges))
    dag = parse_dag_text("".join(f"{line}\n" for line in lines), "w.dag")
    for node in cw.nodes:
        name = node.name
        assert sorted(dag.nodes[name].parents) == sorted({p for p, c in cw.edges if c == name})
        assert sorted(dag.nodes[name].children) == sorted({c for p, c in cw.edges if p == name})


def test_grouped_edges_read_as_htcondor_dags_writes_the_same_graph(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """HTCondor's own writer (``htcondor.dags``) writes a layer-to-layer edge as one
    ``PARENT a:0 a:1 CHILD b:0 b:1`` line too; both files give the same edges."""
    import os

    os.environ.setdefault("CONDOR_CONFIG", "/dev/null")
    import htcondor
    from htcondor import dags

    dag = dags.DAG()
    sub = htcondor.Submit({"executable": "/bin/true"})
    split = dag.layer(name="split", submit_description=sub)
    work = split.child_layer(name="work", submit_description=sub, vars=[{}] * 4)
    work.child_layer(name="merge", submit_description=sub)
    theirs = parse_dag_text(dags.write_dag(dag, tmp_path).read_text(), "theirs.dag")
    names = list(theirs.nodes)
    edges = tuple((p, c) for c in names for p in theirs.nodes[c].parents)
    ours_lines = _dag(ConcreteWorkflow(name="w", nodes=tuple(map(_node, names)), edges=edges))
    ours = parse_dag_text("".join(f"{line}\n" for line in ours_lines), "w.dag")
    for name in names:
        assert sorted(ours.nodes[name].parents) == sorted(theirs.nodes[name].parents)
        assert sorted(ours.nodes[name].children) == sorted(theirs.nodes[name].children)
    assert len([line for line in ours_lines if line.startswith("PARENT")]) == 2


_DAGMAN = st.fixed_dictionaries(
    {},
    optional={
        "retry": st.sampled_from(["0", "2", " 3 "]),
        "priority": st.sampled_from(["7", "007", " 8 ", "9", "\u00b2", "-1", "x"]),
        "category": st.sampled_from(["stagein", "big_jobs"]),
    },
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(_DAGMAN, _KINDS, st.integers(0, 3), st.booleans()), min_size=1, max_size=10)
)
def test_every_node_gets_the_dagman_settings_of_its_own_profile(
    shapes: list[tuple[dict[str, str], NodeKind, int, bool]],
) -> None:
    """Whether nodes share a dagman dict or each has its own (a chain's nodes: their own
    priority, the same retry and category), the DAG gives each node what its profile
    says read alone, and a bad value fails naming the first node that has it."""
    nodes: list[Node] = []
    for i, (dagman, kind, level, share) in enumerate(shapes):
        if share and nodes:
            profiles = nodes[-1].profiles
        else:
            profiles = {Namespace.DAGMAN: dict(dagman)} if dagman else {}
        nodes.append(_node(f"n{i}", kind, level=level, profiles=profiles))
    cw = ConcreteWorkflow(name="w", nodes=tuple(nodes))
    try:
        want = {n.name: (node_retry(n), node_priority(n) or 0, node_category(n)) for n in nodes}
    except EmitError as exc:
        with pytest.raises(EmitError, match=re.escape(str(exc))):
            _dag(cw)
        return
    dag = parse_dag_text("".join(f"{line}\n" for line in _dag(cw)), "w.dag")
    got = {name: (n.retry, n.priority, n.category) for name, n in dag.nodes.items()}
    assert got == want
