"""plan.json: the architecture's keys, runtimes and sizes, stable text; the compact
record decodes to the same facts."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.emit.record import (
    RECORD_VERSION,
    decode_plan_lines,
    dumps_plan,
    node_runtime,
    plan_record,
    read_dag_edges,
    yield_plan_text,
)
from planner.model.base import Namespace
from planner.model.concrete import (
    ConcreteWorkflow,
    DataConfiguration,
    Node,
    NodeKind,
    Pruned,
    Task,
    Transfer,
    transfer,
)


def _task(job: str, runtime: float | None) -> Task:
    return Task(job_id=job, transformation="tx", executable="/bin/tx", runtime=runtime)


def test_runtime_is_the_sum_or_unknown() -> None:
    node = Node(name="m", kind=NodeKind.CLUSTER, site="s", level=1)
    assert node_runtime(node) is None
    both = node._replace(tasks=(_task("a", 1.5), _task("b", 2)))
    assert node_runtime(both) == 3.5
    one_unknown = node._replace(tasks=(_task("a", 1.5), _task("b", None)))
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


def _decoded(cw: ConcreteWorkflow) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    # as a file is read: lines end at "\n" only (str.splitlines also cuts at U+0085 ...)
    head, nodes = decode_plan_lines(io.StringIO("".join(yield_plan_text(cw))))
    return head, list(nodes)


def _expected(cw: ConcreteWorkflow) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``plan_record`` as the decoder gives it back: nodes without what the DAG says
    (edges, submit files), each with its jobs' decisions; the head keeps the others."""
    record = plan_record(cw)
    decisions = record["decisions"]
    nodes = []
    for n in record.pop("nodes"):
        for key in ("parents", "children", "submit"):
            del n[key]
        n["decisions"] = {j: decisions[j] for j in n["jobs"] if j in decisions}
        nodes.append(n)
    placed = {j for n in nodes for j in n["jobs"]}
    record["decisions"] = {j: v for j, v in decisions.items() if j not in placed}
    return {**record, "plan_record": RECORD_VERSION, "dag": f"{cw.name}.dag"}, nodes


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON text (NaN equals NaN there)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_compact_record_round_trips_every_field_explain_and_simulate_read() -> None:
    cw = ConcreteWorkflow(
        name="w",
        nodes=(
            Node(
                name="a",
                kind=NodeKind.STAGE_IN,
                site="local",
                level=0,
                files=(
                    Transfer(
                        lfn="f",
                        src=("file:///x/f", "http://h/g"),
                        dst="file:///y/f",
                        size=9,
                        sha256="ab",
                        site="s",
                    ),
                ),
                staging_site="local",
            ),
            Node(
                name="b",
                kind=NodeKind.CLUSTER,
                site="s",
                level=2,
                transformation="ns::tx:1",
                jobs=("J2", "J3"),
                tasks=(_task("J2", 4), _task("J3", 0.5)),
                inputs=(Transfer(lfn="f", src=("file:///y/f",), dst="f"),),
                outputs=(Transfer(lfn="o", src=("o",), dst="file:///y/o", size=3),),
                working_dir="/w",
                data_configuration=DataConfiguration.CONDORIO,
                staging_site="local",
                profiles={Namespace.DAGMAN: {"category": "c"}},
                reasons=("clustered",),
            ),
        ),
        edges=(("a", "b"),),
        pruned=(Pruned(job="J1", reason="outputs have replicas"),),
        decisions={"J1": ("pruned",), "J2": ("placed", "why")},
        options={"dagman_maxjobs": {"c": 2}},
    )
    head, nodes = _decoded(cw)
    assert (head, nodes) == _expected(cw)
    a, b = nodes
    assert a["files"][0]["src"] == "file:///x/f" and a["files"][0]["fallbacks"] == ["http://h/g"]
    assert a["files"][0]["sha256"] == "ab" and a["files"][0]["size"] == 9
    assert b["runtime"] == 4.5 and [t["job"] for t in b["tasks"]] == ["J2", "J3"]
    assert b["decisions"] == {"J2": ["placed", "why"]} and head["decisions"] == {"J1": ["pruned"]}
    assert b["profiles"] == {"dagman": {"category": "c"}}


def test_repeated_text_is_written_once() -> None:
    """A fan-out's shared directory, site, executable and reasons cost an index per node,
    not their text: the record stays near 200 bytes a node."""
    wd = "/scratch/" + "deep/" * 20 + "run"
    tasks = [
        Task(job_id=f"J{i}", transformation="tx", executable="/opt/bin/tx", runtime=1.0)
        for i in range(500)
    ]
    cw = ConcreteWorkflow(
        name="w",
        nodes=tuple(
            Node(
                name=f"n{i}",
                kind=NodeKind.COMPUTE,
                site="condorpool",
                level=1,
                transformation="tx",
                jobs=(t.job_id,),
                tasks=(t,),
                outputs=(Transfer(lfn=f"o{i}", src=(f"o{i}",), dst=f"file://{wd}/o{i}"),),
                working_dir=wd,
                reasons=("site condorpool: the only site with tx installed",),
                profiles={Namespace.DAGMAN: {"retry": "3"}},
            )
            for i, t in enumerate(tasks)
        ),
    )
    text = "".join(yield_plan_text(cw))
    assert text.count(wd) == 2  # the directory, and the prefix of the output URLs
    assert text.count("the only site") == 1
    assert len(text.encode()) / len(cw.nodes) < 200


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
    as planned workflows do, and, now and then, a field of the wrong type (a replace
    without validation)."""
    transfers = draw(
        st.lists(
            st.builds(
                transfer,
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
            field, odd = draw(st.sampled_from([("site", None), ("jobs", (1, 2)), ("level", True)]))
            node = node._replace(**{field: odd})
        nodes.append(node)
    edges = tuple((f"n{i}", f"n{j}") for i in range(len(nodes)) for j in range(i + 1, len(nodes)))
    return ConcreteWorkflow(name="w", nodes=tuple(nodes), edges=edges)


@settings(max_examples=150, deadline=None)
@given(_workflows(), st.data())
def test_compact_record_decodes_to_the_plan_record(
    cw: ConcreteWorkflow, data: st.DataObject
) -> None:
    jobs = [j for n in cw.nodes for j in n.jobs if isinstance(j, str)]
    decided = data.draw(st.lists(st.sampled_from(jobs) | TEXT, max_size=4)) if jobs else []
    lines = st.lists(TEXT, max_size=2).map(tuple)
    cw = replace(cw, decisions={j: data.draw(lines) for j in decided})
    text = "".join(yield_plan_text(cw))
    assert text == "".join(yield_plan_text(cw))  # same input, same bytes
    assert _same(_decoded(cw), _expected(cw))


def test_dag_edges_are_read_as_dagman_reads_them(tmp_path: Path) -> None:
    """Several parents and children on one line, any case, tabs; sub-workflow nodes
    (``skip``) left out; ends sorted and once each; the submit file of each JOB."""
    dag = tmp_path / "w.dag"
    dag.write_text(
        "# comment\n"
        "JOB b b.sub\n"
        'VARS b x="PARENT a CHILD z"\n'
        "job\ta a.sub DONE\n"
        "JOB c c.sub\n"
        "SUBDAG EXTERNAL sub s.dag\n"
        "PARENT a b CHILD c\n"
        "parent\ta CHILD b c sub\n"
        "PARENT sub CHILD c\n"
    )
    submit, parents, children = read_dag_edges(dag, {"sub"})
    assert submit == {"b": "b.sub", "a": "a.sub", "c": "c.sub"}
    assert parents == {"c": ["a", "b"], "b": ["a"]}
    assert children == {"a": ["b", "c"], "b": ["c"]}


def _fan_out(n: int) -> ConcreteWorkflow:
    """A planned fan-out's shape: split -> n workers -> merge, each worker's output
    staged out, registered and removed, with per-job runtimes in the profiles."""
    scratch, out = "file:///scratch/run/", "file:///out/"
    parts = [f"part_{i:07d}.dat" for i in range(n)]
    results = [f"result_{i:07d}.dat" for i in range(n)]

    def moved(lfn: str, src: str, dst: str, size: int | None = 1 << 20) -> Transfer:
        return Transfer(lfn=lfn, src=(src + lfn,), dst=dst + lfn, size=size, site="local")

    nodes = [
        Node(
            name="split_split",
            kind=NodeKind.COMPUTE,
            site="exec",
            level=1,
            transformation="split",
            jobs=("split",),
            tasks=(Task(job_id="split", transformation="split", executable="/bin/split"),),
            outputs=tuple(moved(p, "", scratch) for p in parts),
        )
    ]
    for i in range(n):
        job = f"work_{i:07d}"
        nodes.append(
            Node(
                name=f"work_{job}",
                kind=NodeKind.COMPUTE,
                site="exec",
                level=2,
                transformation="work",
                jobs=(job,),
                tasks=(
                    Task(
                        job_id=job,
                        transformation="work",
                        executable="/bin/work",
                        arguments=("-i", parts[i], "-o", results[i]),
                        runtime=float(i % 7),
                    ),
                ),
                inputs=(moved(parts[i], scratch, ""),),
                outputs=(moved(results[i], "", scratch),),
                reasons=("site exec: the only one",),
                profiles={
                    Namespace.DAGMAN: {"priority": "20"},
                    Namespace.PEGASUS: {"runtime": str(i % 7)},
                },
            )
        )
    for k in range(0, n, 10):
        batch = results[k : k + 10]
        nodes.append(
            Node(
                name=f"stage_out_{k}",
                kind=NodeKind.STAGE_OUT,
                site="local",
                level=3,
                files=tuple(moved(r, scratch, out) for r in batch),
            )
        )
        nodes.append(
            Node(
                name=f"register_{k}",
                kind=NodeKind.REGISTER,
                site="local",
                level=4,
                files=tuple(
                    Transfer(lfn=r, dst=out + r, size=1 << 20, site="local") for r in batch
                ),
            )
        )
    nodes.append(
        Node(
            name="clean_up_0",
            kind=NodeKind.CLEANUP,
            site="local",
            level=5,
            files=tuple(
                Transfer(lfn=lfn, dst=scratch + lfn, site="local")
                for i in range(n)
                for lfn in (f"work_work_{i:07d}.meta", results[i])
            ),
        )
    )
    return ConcreteWorkflow(name="fan", nodes=tuple(nodes))


def test_a_fan_out_record_is_under_200_bytes_a_job_and_round_trips() -> None:
    """What repeats from line to line is left out: a worker's line is its name, job,
    arguments and runtime as changes to the previous worker's; its files are numbers
    in the file table (each LFN written once, as a change to the one before)."""
    cw = _fan_out(2000)
    text = "".join(yield_plan_text(cw))
    assert len(text.encode()) / 2000 < 200
    assert text.count('"result_0001234.dat"') == 0  # front-coded against its neighbour
    head, nodes = _decoded(cw)
    assert _same((head, nodes), _expected(cw))
    worker = nodes[1235]
    assert worker["tasks"][0]["arguments"] == ["-i", "part_0001234.dat", "-o", "result_0001234.dat"]
    assert worker["inputs"][0]["src"] == "file:///scratch/run/part_0001234.dat"
    assert worker["profiles"] == {"dagman": {"priority": "20"}, "pegasus": {"runtime": "2"}}
    cleanup = nodes[-1]["files"]
    assert cleanup[1] == {
        "lfn": "result_0000000.dat",
        "src": None,
        "fallbacks": [],
        "dst": "file:///scratch/run/result_0000000.dat",
        "size": None,  # the file has a size, but this reference has none
        "sha256": None,
        "site": "local",
    }


_NAMES = st.sampled_from(["a", "b", "run_0001", "run_0002", "run_0010", "é/x", ""])
_PREFIXES = st.sampled_from(["", "file:///s/", "file:///t/", "http://h/x/"])


@st.composite
def _placed_workflows(draw: st.DrawFn) -> ConcreteWorkflow:
    """Nodes whose file references mostly follow one another (same URL prefixes, site
    and size rule), now and then not, with profiles, tasks and fields that change back
    and forth: every shortcut of the encoder, and every way out of it."""
    nodes = []
    for i in range(draw(st.integers(1, 8))):
        refs = []
        for _ in range(draw(st.integers(0, 4))):
            lfn = draw(_NAMES)
            src = draw(st.lists(_PREFIXES, max_size=2))
            refs.append(
                Transfer(
                    lfn=lfn,
                    src=tuple(p + lfn for p in src),
                    dst=draw(_PREFIXES) + lfn,
                    size=draw(st.sampled_from([None, 1, 2])),
                    sha256=draw(st.sampled_from([None, None, "ab"])),
                    site=draw(st.sampled_from([None, "local", "exec"])),
                )
            )
        jobs = tuple(draw(st.lists(_NAMES, max_size=2)))
        lfns = [t.lfn for t in refs]
        args = st.lists(st.sampled_from(["-i", *lfns]) | _NAMES, max_size=4).map(tuple)
        tasks = tuple(
            Task(
                job_id=draw(st.sampled_from([*jobs, "other"])),
                transformation=draw(st.sampled_from(["tx", "ty"])),
                executable=draw(st.sampled_from(["/bin/tx", "/bin/ty"])),
                arguments=draw(args),
                runtime=draw(st.sampled_from([None, 1.0, 2.5])),
            )
            for _ in range(draw(st.integers(0, 2)))
        )
        profile = st.dictionaries(
            st.sampled_from([Namespace.DAGMAN, Namespace.PEGASUS]),
            st.dictionaries(st.sampled_from(["priority", "runtime"]), st.sampled_from(["1", "2"])),
            max_size=2,
        )
        nodes.append(
            Node(
                name=f"n{i}_{draw(_NAMES)}".replace("/", "_").replace("é", "e"),
                kind=draw(st.sampled_from([NodeKind.COMPUTE, NodeKind.STAGE_OUT])),
                site=draw(st.sampled_from(["exec", "local"])),
                level=draw(st.integers(0, 2)),
                transformation=draw(st.sampled_from([None, "tx"])),
                jobs=jobs,
                tasks=tasks,
                **{draw(st.sampled_from(["files", "inputs", "outputs"])): tuple(refs)},
                working_dir=draw(st.sampled_from([None, "/w"])),
                reasons=tuple(draw(st.lists(st.sampled_from(["r1", "r2"]), max_size=2))),
                profiles=draw(profile),
            )
        )
    return ConcreteWorkflow(name="w", nodes=tuple(nodes))


@settings(max_examples=300, deadline=None)
@given(_placed_workflows())
def test_every_shortcut_of_the_record_decodes_to_the_plan_record(cw: ConcreteWorkflow) -> None:
    assert "".join(yield_plan_text(cw)) == "".join(yield_plan_text(cw))
    assert _same(_decoded(cw), _expected(cw))


def _chain(n: int) -> ConcreteWorkflow:
    """A planned chain's shape: step i reads step i-1's output, and each step's output
    is staged out, registered and cleaned up right after it, so the kinds take turns
    line by line; every step has its own level and dagman priority."""
    scratch, out = "file:///scratch/run/", "file:///out/"
    nodes = []
    for i in range(n):
        here, before = f"s_{i:07d}.dat", f"s_{i - 1:07d}.dat"
        job = f"step_{i:07d}"
        nodes.append(
            Node(
                name=f"step_{job}",
                kind=NodeKind.COMPUTE,
                site="exec",
                level=i + 1,
                transformation="step",
                jobs=(job,),
                tasks=(
                    Task(
                        job_id=job,
                        transformation="step",
                        executable="/bin/step",
                        arguments=("-i", before, "-o", here),
                        runtime=10.0 + i % 3,
                    ),
                ),
                inputs=(Transfer(lfn=before, src=(scratch + before,), dst=before, size=1),),
                outputs=(Transfer(lfn=here, src=(here,), dst=scratch + here, size=1),),
                reasons=("site exec: the only one",),
                profiles={
                    Namespace.DAGMAN: {"priority": str(10 * (i + 1))},
                    Namespace.PEGASUS: {"runtime": str(10 + i % 3)},
                },
            )
        )
        moved = Transfer(lfn=here, src=(scratch + here,), dst=out + here, size=1, site="local")
        nodes.append(
            Node(
                name=f"stage_out_{i}",
                kind=NodeKind.STAGE_OUT,
                site="local",
                level=i + 2,
                files=(moved,),
                profiles={Namespace.DAGMAN: {"priority": "900"}},
            )
        )
        nodes.append(
            Node(
                name=f"register_{i}",
                kind=NodeKind.REGISTER,
                site="local",
                level=i + 3,
                files=(Transfer(lfn=here, dst=out + here, size=1, site="local"),),
                reasons=(f"registers what stage_out_{i} staged out",),
            )
        )
        nodes.append(
            Node(
                name=f"clean_up_{i}",
                kind=NodeKind.CLEANUP,
                site="local",
                level=i + 2,
                files=(Transfer(lfn=before, dst=scratch + before, site="local"),),
                profiles={Namespace.DAGMAN: {"priority": "1000"}},
            )
        )
    return ConcreteWorkflow(name="chain", nodes=tuple(nodes))


def test_a_chain_line_leaves_out_what_its_kind_said_last() -> None:
    """The kinds of a chain take turns, so each line is compared with the previous
    line of its own kind: a stage-out line is its name and its file's number change,
    a step line its level, runs of name and job, files, arguments and profile changes."""
    cw = _chain(300)
    text = "".join(yield_plan_text(cw))
    lines = [json.loads(line) for line in text.splitlines()[1:]]
    nodes = [line for line in lines if isinstance(line, dict)]
    assert len(nodes) == 1200
    late = nodes[-8:]  # two of each kind
    # a stage-out, register or cleanup line: name, kind, level and a file number change
    for line in late[1::4] + late[3::4]:
        assert sorted(line) == ["f", "k", "l", "n"] and line["f"] == [1]
        assert line["n"][0] > 5  # its name's front is the previous one of its kind
    # a step: no site, transformation, directories or reasons, its files as numbers
    assert [sorted(line) for line in late[::4]] == [["i", "j", "k", "l", "n", "o", "p", "x"]] * 2
    assert all(line["i"] == line["o"] == [1] for line in late[::4])
    assert len(text.encode()) / 300 < 320  # a step and its three companions
    assert _same(_decoded(cw), _expected(cw))
