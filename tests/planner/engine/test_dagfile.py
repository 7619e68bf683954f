"""The DAG file reader: DAGMan's language and its error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.engine.dagfile import parse_dag, parse_dag_text, parse_rescue
from planner.errors import EngineError, UnsupportedFeature


def test_every_command_is_read():
    text = """# a comment
JOB A a.sub DIR sub NOOP
job B b.sub
Job C \\
  c.sub DONE
PARENT A CHILD B C
RETRY B 2 UNLESS-EXIT 42
SCRIPT DEFER 3 10 PRE B pre.sh $JOB $RETRY
SCRIPT POST B post.sh $JOB $RETURN
VARS B x="1" y="say \\"hi\\"" z="$(DOLLAR)"
PRIORITY B 7
CATEGORY B big
MAXJOBS big 2
ABORT-DAG-ON C 9 RETURN 3
FINAL F f.sub
CONFIG dagman.config
DOT w.dot
NODE_STATUS_FILE w.status
JOBSTATE_LOG w.jobstate
"""
    dag = parse_dag_text(text, "/x/w.dag")
    a, b, c = dag.nodes["A"], dag.nodes["B"], dag.nodes["C"]
    assert a.directory == "sub" and a.noop and c.done and c.submit_file == "c.sub"
    assert a.children == ["B", "C"] and b.parents == ["A"]
    assert (b.retry, b.unless_exit) == (2, 42)
    assert b.pre is not None and b.pre.arguments == ("$JOB", "$RETRY")
    assert (b.pre.defer_status, b.pre.defer_time) == (3, 10.0)
    assert b.post is not None and b.post.executable == "post.sh"
    assert b.vars == {"x": "1", "y": 'say "hi"', "z": "$(DOLLAR)"}
    assert (b.priority, b.category, dag.maxjobs) == (7, "big", {"big": 2})
    assert c.abort_on == (9, 3)
    assert dag.final == "F" and dag.nodes["F"].final


def test_forward_references_are_allowed():
    dag = parse_dag_text("PARENT A CHILD B\nRETRY B 1\nJOB A a.sub\nJOB B b.sub\n", "w.dag")
    assert dag.nodes["A"].children == ["B"] and dag.nodes["B"].retry == 1


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("JOB A a.sub # trailing\n", r"w\.dag: line 1: comments must start a line"),
        ("JOB A a.sub\nPARENT A CHILD Z\n", r"line 2: node 'Z' is not defined"),
        ("JOB A a.sub\nJOB A b.sub\n", r"line 2: node 'A' is defined twice"),
        ("JOB A.1 a.sub\n", r"must not contain '\.'"),
        ("JOB A a.sub\nRETRY A many\n", r"line 2: RETRY count must be an integer"),
        ("FROB A\n", r"line 1: unknown DAG command 'FROB'"),
        ("JOB A a.sub\nVARS A x=1\n", r'line 2: VARS expects key="value"'),
        ("JOB A a.sub\nPRIORITY A\n", r"line 2: PRIORITY takes: name value"),
        ("JOB A a.sub\nCATEGORY A c d\n", r"line 2: CATEGORY takes: name category"),
        ("JOB A a.sub\nPRE_SKIP A\n", r"line 2: PRE_SKIP takes: name exit-code"),
        ("JOB A a.sub\nPRE_SKIP Z 1\n", r"line 2: node 'Z' is not defined"),
        ("JOB A a.sub\nPRIORITY A high\n", r"line 2: PRIORITY must be an integer"),
        ("JOB A a.sub\nJOB B b.sub\nPARENT A CHILD B\nPARENT B CHILD A\n", "cycle"),
    ],
)
def test_errors_name_file_and_line(text, pattern):
    with pytest.raises(EngineError, match=pattern):
        parse_dag_text(text, "w.dag")


@pytest.mark.parametrize("keyword", ["SPLICE S s.dag", "SUBDAG INTERNAL S s.dag"])
def test_splice_is_not_supported(keyword):
    with pytest.raises(UnsupportedFeature, match="not supported"):
        parse_dag_text(keyword + "\n", "w.dag")


def test_subdag_external_is_a_node_with_its_dag_file_and_dir():
    dag = parse_dag_text(
        "JOB A a.sub\nsubdag external S /abs/s/s.dag DIR /abs/s\nRETRY S 2\n"
        "SCRIPT PRE S /bin/plan x\nPARENT A CHILD S\nSUBDAG EXTERNAL T t.dag DONE\n",
        "w.dag",
    )
    s, t = dag.nodes["S"], dag.nodes["T"]
    assert (s.subdag, s.submit_file, s.directory, s.retry) == (True, "/abs/s/s.dag", "/abs/s", 2)
    assert s.pre is not None and s.parents == ["A"]
    assert (t.subdag, t.done, dag.nodes["A"].subdag) == (True, True, False)
    with pytest.raises(EngineError, match="SUBDAG EXTERNAL needs a node name"):
        parse_dag_text("SUBDAG EXTERNAL S\n", "w.dag")


def test_missing_file_is_one_clear_error(tmp_path: Path):
    with pytest.raises(EngineError, match="cannot read DAG file"):
        parse_dag(tmp_path / "none.dag")


def test_rescue_file_lists_done_nodes_and_rejects_unknown(tmp_path: Path):
    dag = parse_dag_text("JOB A a.sub\nJOB B b.sub\n", tmp_path / "w.dag")
    good = tmp_path / "w.dag.rescue001"
    good.write_text("# header\nDONE A\n")
    assert parse_rescue(good, dag) == ["A"]
    bad = tmp_path / "w.dag.rescue002"
    bad.write_text("DONE Z\n")
    with pytest.raises(EngineError, match=r"rescue002: line 1: DONE names node 'Z'"):
        parse_rescue(bad, dag)


def test_empty_dag_has_no_nodes():
    assert parse_dag_text("# nothing\n\n", "w.dag").nodes == {}


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20))
def test_vars_values_round_trip_with_escapes(value):
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    dag = parse_dag_text(f'JOB A a.sub\nVARS A k="{escaped}"\n', "w.dag")
    assert dag.nodes["A"].vars == {"k": value}


def test_name_value_commands_set_every_target():
    dag = parse_dag_text(
        "JOB A a.sub\nJOB B b.sub\nFINAL F f.sub\nPRIORITY ALL_NODES 5\nPRIORITY B 7\n"
        "CATEGORY ALL_NODES big\nPRE_SKIP A 3\n",
        "w.dag",
    )
    a, b, f = dag.nodes["A"], dag.nodes["B"], dag.nodes["F"]
    assert (a.priority, b.priority, f.priority) == (5, 7, 0)
    assert (a.category, b.category, f.category) == ("big", "big", None)
    assert (a.pre_skip, b.pre_skip) == (3, None)


def test_unreadable_rescue_file_is_one_clear_error(tmp_path: Path):
    dag = parse_dag_text("JOB A a.sub\n", tmp_path / "w.dag")
    with pytest.raises(EngineError, match=r"rescue001: cannot read rescue file"):
        parse_rescue(tmp_path / "w.dag.rescue001", dag)
    binary = tmp_path / "w.dag.rescue002"
    binary.write_bytes(b"DONE \xff\n")
    with pytest.raises(EngineError, match=r"rescue002: not a text file \(byte 5"):
        parse_rescue(binary, dag)
