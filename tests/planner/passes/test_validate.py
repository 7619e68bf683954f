"""Validation: every problem at once, one line each, naming the offender."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalogs.errors import WfplanError
from catalogs.replica import PFN, Replica, ReplicaCatalog
from catalogs.transformation import Transformation, TransformationCatalog, TransformationSite
from planner.errors import (
    CycleError,
    DuplicateJobId,
    DuplicateProducer,
    MissingReplica,
    Problems,
    UnknownJob,
    UnknownProfileNamespace,
    UnknownTransformation,
    UnsafeArgument,
    UnsafeLFN,
)
from planner.formats import load_workflow
from planner.model.builder import WorkflowBuilder
from planner.model.workflow import Job, Workflow
from planner.passes.validate import MAX_LINES, argument_problem, lfn_problem, validate


def _problems(wf: Workflow, **catalogs: object) -> list[str]:
    with pytest.raises(Problems) as err:
        validate(wf, **catalogs)  # type: ignore[arg-type]
    return err.value.lines()


def diamond() -> WorkflowBuilder:
    wf = WorkflowBuilder("diamond")
    wf.add_job("pre", id="ID1", args=["-i", "f.a"], inputs=["f.a"], outputs=["f.b1", "f.b2"])
    wf.add_job("find", id="ID2", inputs=["f.b1"], outputs=["f.c1"])
    wf.add_job("find", id="ID3", inputs=["f.b2"], outputs=["f.c2"])
    wf.add_job("analyze", id="ID4", inputs=["f.c1", "f.c2"], outputs=["f.d"])
    return wf


def test_a_good_workflow_passes_with_its_catalogs() -> None:
    rc = ReplicaCatalog(replicas=(Replica(lfn="f.a", pfns=(PFN(url="/d/f.a", site="local"),)),))
    tc = TransformationCatalog(
        transformations=tuple(Transformation(name=n) for n in ("pre", "find", "analyze"))
    )
    validate(diamond().build(), replicas=rc, transformations=tc)


def test_empty_single_job_passes() -> None:
    wf = WorkflowBuilder("one")
    wf.add_job("t")
    validate(wf.build())


def test_cycle_is_named() -> None:
    wf = diamond()
    wf.depends(parent="ID4", child="ID1")
    lines = _problems(replace(wf.build(), source="wf.yml"))
    assert lines == ["wf.yml: cycle: ID1 -> ID2 -> ID4 -> ID1"]


def test_self_dependency_is_a_cycle() -> None:
    wf = WorkflowBuilder("w")
    wf.add_job("t", id="A")
    wf.depends(parent="A", child="A")
    assert _problems(wf.build()) == ["cycle: A -> A"]


def test_cycle_through_files_and_two_separate_cycles() -> None:
    wf = WorkflowBuilder("w")
    wf.add_job("t", id="A", inputs=["y"], outputs=["x"])
    wf.add_job("t", id="B", inputs=["x"], outputs=["y"])
    wf.add_job("t", id="C")
    wf.add_job("t", id="D")
    wf.add_job("t", id="E")
    wf.depends(parent="C", child="D")
    wf.depends(parent="D", child="C")
    wf.depends(parent="D", child="E")
    assert _problems(wf.build()) == ["cycle: A -> B -> A", "cycle: C -> D -> C"]


def test_duplicate_ids() -> None:
    wf = WorkflowBuilder("w")
    for _ in range(3):
        wf.add_job("t", id="X")
    assert _problems(wf.build()) == ["duplicate job id 'X' (jobs 1, 2, 3)"]


def test_two_producers_of_one_file_name_it_and_both_jobs() -> None:
    wf = WorkflowBuilder("w")
    wf.add_job("t", id="A", outputs=["out.txt"])
    wf.add_job("t", id="B", outputs=["out.txt"])
    (line,) = _problems(wf.build())
    assert "'out.txt'" in line and "A, B" in line


def test_inout_after_a_producer_is_not_a_second_producer() -> None:
    wf = WorkflowBuilder("w")
    wf.add_job("t", id="A", outputs=["f"])
    wf.add_job("t", id="B", inouts=["f"])
    validate(wf.build())


def test_dependency_on_unknown_job() -> None:
    wf = diamond()
    wf.depends(parent="ID1", child="ID9")
    (line,) = _problems(wf.build())
    assert "unknown job 'ID9'" in line and "ID1 -> ID9" in line


def test_unknown_transformation_names_the_job_and_the_catalog() -> None:
    tc = TransformationCatalog(
        transformations=(Transformation(name="pre"), Transformation(name="find")),
        source="tc.yml",
    )
    assert _problems(diamond().build(), transformations=tc) == [
        "unknown transformation 'analyze' (needed by job ID4); searched tc.yml"
    ]


def test_missing_replica_names_each_lfn_and_its_jobs() -> None:
    wf = diamond()
    wf.add_job("pre", id="ID5", inputs=["f.a", "g.z"], outputs=["f.e"])
    rc = ReplicaCatalog(replicas=(), source="rc.yml")
    assert _problems(wf.build(), replicas=rc) == [
        "no replica for LFN 'f.a' (needed by jobs ID1, ID5) in rc.yml",
        "no replica for LFN 'g.z' (needed by job ID5) in rc.yml",
    ]


def test_optional_inputs_need_no_replica() -> None:
    from planner.model.workflow import LinkType, Use

    wf = WorkflowBuilder("w")
    wf.add_job("t", inputs=[Use(lfn="maybe", link=LinkType.INPUT, optional=True)])
    validate(wf.build(), replicas=ReplicaCatalog())


@pytest.mark.parametrize(
    ("lfn", "why"),
    [
        ("", "is empty"),
        ("/etc/passwd", "is absolute"),
        ("a/../../b", "'..' path component"),
        ("..", "'..' path component"),
        ("a\nb", "control character or a newline"),
        ("a\x07b", "control character"),
    ],
)
def test_unsafe_lfns(lfn: str, why: str) -> None:
    wf = WorkflowBuilder("w")
    wf.add_job("t", id="J", inputs=[lfn])
    (line,) = _problems(wf.build())
    assert line.startswith(f"LFN {lfn!r} (job J) ") and why in line


@pytest.mark.parametrize("lfn", ["a..b", "x/..y/z", "dir/file.txt", "sipht[1].out"])
def test_safe_lfns(lfn: str) -> None:
    assert lfn_problem(lfn) is None


@pytest.mark.parametrize(
    ("word", "why"),
    [
        ("a;rm", "shell command separator"),
        ("f.in; rm -rf /", "shell command separator"),
        ("a & b", "shell command separator"),
        ("|", "shell metacharacter"),
        (">out.txt", "shell metacharacter"),
        ("a&&b", "shell command separator"),
        ("$(whoami)", "command substitution"),
        ("x `id` y", "command substitution"),
        ("two\nlines", "control character or a newline"),
    ],
)
def test_unsafe_arguments(word: str, why: str) -> None:
    wf = WorkflowBuilder("w")
    wf.add_job("t", id="J", args=["-x", word])
    (line,) = _problems(wf.build())
    assert line.startswith(f"job J: argument 2 {word!r} ") and why in line


@pytest.mark.parametrize(
    "word", ["QD < 2.0 || FS > 60.0", "-o", "a=b", "50%", "$HOME", "[1]", "file;name"]
)
def test_safe_arguments(word: str) -> None:
    # a word with spaces is one argv word; a word that is the job's own file is fine
    assert argument_problem(word, {"file;name"}) is None


def test_unknown_namespace_in_a_constructed_workflow() -> None:
    job = Job(id="J", name="t", profiles={"bogus": {"k": "v"}})  # type: ignore[dict-item]
    wf = replace(Workflow(name="w", jobs=(Job(id="I", name="t"),)), jobs=(job,))
    assert _problems(wf) == [
        "job J: unknown profile namespace 'bogus' (known: pegasus, condor, dagman, env, "
        "globus, selector, hints, stat)"
    ]


def test_all_problems_reported_together_each_of_its_kind() -> None:
    wf = WorkflowBuilder("w")
    wf.add_job("t", id="A", args=["a;b"], inputs=["/abs"], outputs=["o"])
    wf.add_job("t", id="A")
    wf.add_job("t", id="B", outputs=["o"])
    wf.depends(parent="A", child="Z")
    with pytest.raises(Problems) as err:
        validate(replace(wf.build(), source="w.yml"))
    kinds = [type(p) for p in err.value.problems]
    assert kinds == [DuplicateJobId, UnknownJob, DuplicateProducer, UnsafeLFN, UnsafeArgument]
    assert all(line.startswith("w.yml: ") for line in err.value.lines())


def test_many_problems_of_one_kind_are_capped_with_a_summary() -> None:
    wf = WorkflowBuilder("w")
    for i in range(MAX_LINES + 7):
        wf.add_job("t", id=f"J{i}", inputs=[f"/abs/{i}"])
    lines = _problems(wf.build())
    assert len(lines) == MAX_LINES + 1
    assert lines[-1] == "... and 7 more unsafe LFNs"


def test_problem_classes_are_specific() -> None:
    tc = TransformationCatalog()
    rc = ReplicaCatalog()
    with pytest.raises(Problems) as err:
        validate(diamond().build(), replicas=rc, transformations=tc)
    kinds = {type(p) for p in err.value.problems}
    assert kinds == {UnknownTransformation, MissingReplica}
    assert CycleError not in kinds and UnknownProfileNamespace not in kinds


def test_montage_25_is_refused_with_one_line_naming_fit_and_diff(shared_data: Path) -> None:
    wf = load_workflow(shared_data / "dax" / "Montage_25.xml")
    lines = _problems(wf)
    assert len(lines) == 1
    assert "'fit.txt'" in lines[0] and "'diff.txt'" in lines[0] and "ID00005" in lines[0]


def test_every_other_shared_file_validates(shared_data: Path) -> None:
    files = sorted(p for p in shared_data.rglob("*") if p.suffix in (".xml", ".json"))
    others = [p for p in files if p.name != "Montage_25.xml"]
    assert len(others) == 19
    for path in others:
        validate(load_workflow(path))


# --- properties on random small workflows ---------------------------------------------

_ids = [f"J{i}" for i in range(6)]
_lfns = ["a", "b", "c", "d"]


@st.composite
def random_workflows(draw: st.DrawFn) -> Workflow:
    wf = WorkflowBuilder("r")
    for job_id in draw(st.lists(st.sampled_from(_ids), min_size=1, max_size=6, unique=True)):
        wf.add_job(
            "t",
            id=job_id,
            inputs=draw(st.lists(st.sampled_from(_lfns), max_size=2, unique=True)),
            outputs=draw(st.lists(st.sampled_from(_lfns), max_size=2, unique=True)),
        )
    for parent, child in draw(st.lists(st.tuples(*[st.sampled_from(_ids)] * 2), max_size=5)):
        wf.depends(parent=parent, child=child)
    return wf.build()


@settings(max_examples=80, deadline=None)
@given(random_workflows())
def test_cycles_and_producers_agree_with_a_direct_computation(wf: Workflow) -> None:
    ids = {job.id for job in wf.jobs}
    graph = nx.DiGraph()
    graph.add_nodes_from(ids)
    graph.add_edges_from((p, c) for p, c in wf.dependencies if p in ids and c in ids)
    producer: dict[str, str] = {}
    writers: dict[str, set[str]] = {}
    for job in wf.jobs:
        for use in job.outputs:
            producer.setdefault(use.lfn, job.id)
            writers.setdefault(use.lfn, set()).add(job.id)
    graph.add_edges_from(
        (producer[u.lfn], job.id)
        for job in wf.jobs
        for u in job.inputs
        if u.lfn in producer and producer[u.lfn] != job.id
    )
    try:
        validate(wf)
        problems: list[WfplanError] = []
    except Problems as err:
        problems = err.problems
    cycles = [p for p in problems if isinstance(p, CycleError)]
    assert bool(cycles) == (not nx.is_directed_acyclic_graph(graph))
    for cycle in cycles:  # each named cycle is a real one
        path = str(cycle).removeprefix("cycle: ").split(" -> ")
        assert path[0] == path[-1]
        assert all(graph.has_edge(a, b) for a, b in itertools.pairwise(path))
    named = {lfn for p in problems if isinstance(p, DuplicateProducer) for lfn in _quoted(str(p))}
    assert named == {lfn for lfn, jobs in writers.items() if len(jobs) > 1}


def _quoted(line: str) -> set[str]:
    head = line.split(" written by ")[0]
    return set(re.findall(r"'([^']*)'", head))


def test_an_argument_longer_than_exec_takes_names_the_job_and_the_limit() -> None:
    wf = WorkflowBuilder("long")
    wf.add_job("argdump", id="ID1", args=["x" * 1024 * 1024, "b"])
    wf.add_job("argdump", id="ID2", args=["é" * 65_536])  # 131,072 bytes in UTF-8
    wf.add_job("argdump", id="ID3", args=["x" * 131_071])  # the longest Linux still takes
    assert _problems(wf.build()) == [
        "job ID1: argument 1 is 1,048,576 bytes; Linux starts no program with an argument "
        "or environment string over 131,071 bytes (MAX_ARG_STRLEN)",
        "job ID2: argument 1 is 131,072 bytes; Linux starts no program with an argument "
        "or environment string over 131,071 bytes (MAX_ARG_STRLEN)",
    ]


def test_arguments_and_environment_together_past_arg_max() -> None:
    wf = WorkflowBuilder("long")
    # 21 arguments of 100,000 bytes: each fits, all together do not (execve says E2BIG)
    wf.add_job("t", id="many", args=["y" * 100_000] * 21)
    wf.add_job("t", id="fits", args=["y" * 100_000] * 20)
    wf.add_job("t", id="env", profiles={"env": {"BIG": "z" * 131_100}})
    assert _problems(wf.build()) == [
        "job many: its arguments and env profiles take 2,100,189 bytes; Linux starts no "
        "program whose arguments and environment pass 2,097,152 bytes (ARG_MAX), and "
        "32,768 of them are kept for what HTCondor and the site add",
        "job env: env profile BIG is 131,104 bytes; Linux starts no program with an "
        "argument or environment string over 131,071 bytes (MAX_ARG_STRLEN)",
    ]


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(min_value=0, max_value=140_000), min_size=1, max_size=30))
def test_exec_limits_agree_with_the_kernel(sizes: list[int]) -> None:
    """What validate accepts, Linux starts (with an empty environment and a short path)."""
    import subprocess

    args = ["a" * n for n in sizes]
    wf = WorkflowBuilder("k")
    wf.add_job("t", id="J", args=args)
    try:
        validate(wf.build())
        accepted = True
    except Problems:
        accepted = False
    try:
        subprocess.run(["/bin/true", *args], env={}, check=True)
        started = True
    except OSError:
        started = False
    assert started or not accepted


def test_a_transformation_installed_only_at_undefined_sites_is_named() -> None:
    from sites.model import Site, SiteCatalog

    wf = WorkflowBuilder("w")
    wf.add_job("argdump", id="ID1")
    wf.add_job("argdump", id="ID2")
    wf.add_job("ok", id="ID3")
    wf.add_job("anywhere", id="ID4")
    tc = TransformationCatalog(
        source="tc.yml",
        transformations=(
            Transformation(name="argdump", sites=(TransformationSite(name="hpc", pfn="/a"),)),
            Transformation(
                name="ok",
                sites=(
                    TransformationSite(name="hpc", pfn="/o"),
                    TransformationSite(name="shared", pfn="/o"),
                ),
            ),
            Transformation(
                name="anywhere",
                sites=(TransformationSite(name="hpc", pfn="/s", type="stageable"),),
            ),
        ),
    )
    sc = SiteCatalog(sites=(Site(name="shared"),), source="sc.yml")
    assert _problems(wf.build(), transformations=tc, sites=sc) == [
        "transformation 'argdump' (needed by jobs ID1, ID2) is installed only at site hpc, "
        "which sc.yml does not define (in tc.yml)"
    ]
    validate(wf.build(), transformations=tc)  # no site catalog: sites are not checked
