"""The sub-workflow pass (issue 17): pegasus-plan arguments, checks, ordering edges."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import CycleError, DuplicateJobId, PlannerError, UnknownJob
from planner.model.workflow import Job, LinkType, SubWorkflow, SubWorkflowKind, Use, Workflow
from planner.passes.subworkflows import check, node_name, plan_arguments, through_edges


def _sub(sub_id: str, *args: str, uses: tuple[Use, ...] = (), kind=SubWorkflowKind.PEGASUS):
    return SubWorkflow(id=sub_id, kind=kind, file=f"{sub_id}.yml", arguments=args, uses=uses)


def _job(job_id: str, *uses: Use) -> Job:
    # as the readers build jobs (a pydantic-built job would differ in its dict's layout)
    return Job(id=job_id, name="t", uses=uses)


def _in(lfn: str) -> Use:
    return Use(lfn, LinkType.INPUT)


def _out(lfn: str) -> Use:
    return Use(lfn, LinkType.OUTPUT)


def test_pegasus_plan_arguments_become_wfplan_plan_arguments():
    sub = _sub(
        "S", "-s", "a,b", "--output-sites", "x,y", "--staging-site=a=b", "-f", "-C", "label",
        "-D", "k=v", "-Dpegasus.x=1", "--dir", "ignored", "--submit", "--cleanup", "none",
    )  # fmt: skip
    assert plan_arguments(sub) == (
        "--sites", "a,b", "--output-site", "x", "--staging-site", "a=b", "--force",
        "--cluster", "label", "-Dk=v", "-Dpegasus.x=1", "--cleanup", "none",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--bogus",), "pegasus-plan argument '--bogus' is not one wfplan knows"),
        (("--sites",), "--sites needs a value"),
    ],
)
def test_bad_pegasus_plan_arguments_name_the_job(args, message):
    with pytest.raises(PlannerError, match=f"sub-workflow job 'S': {message}"):
        plan_arguments(_sub("S", *args))


def test_node_names_are_pegasus_ones():
    assert node_name(_sub("S")) == "pegasus-plan_S"
    assert node_name(_sub("D", kind=SubWorkflowKind.CONDOR)) == "subdag_D"


def test_checks_name_the_offending_ids():
    job = _job("A", _out("a"))
    with pytest.raises(DuplicateJobId, match="'A'"):
        check(Workflow(name="w", jobs=(job,), subworkflows=(_sub("A"),)))
    with pytest.raises(UnknownJob, match="unknown job 'Z'"):
        check(
            Workflow(
                name="w", jobs=(job,), subworkflows=(_sub("S"),), subworkflow_edges=(("S", "Z"),)
            )
        )
    with pytest.raises(PlannerError, match="'a' is written by job 'A' and by sub-workflow job 'S'"):
        check(Workflow(name="w", jobs=(job,), subworkflows=(_sub("S", uses=(_out("a"),)),)))
    looped = Workflow(
        name="w",
        jobs=(_job("A", _in("s"), _out("a")),),
        subworkflows=(_sub("S", uses=(_in("a"), _out("s"))),),
    )
    with pytest.raises(CycleError, match="sub-workflow job"):
        check(looped)


def test_jobs_before_and_after_a_chain_of_sub_workflows_are_ordered():
    wf = Workflow(
        name="w",
        jobs=(_job("A", _out("a")), _job("B", _in("c")), _job("C")),
        subworkflows=(
            _sub("S1", uses=(_in("a"), _out("b"))),
            _sub("S2", uses=(_in("b"), _out("c"))),
        ),
        subworkflow_edges=(("S2", "C"),),
    )
    check(wf)
    assert through_edges(wf) == (("A", "B"), ("A", "C"))


@st.composite
def _graphs(draw: st.DrawFn) -> tuple[Workflow, set[tuple[str, str]]]:
    """Up to 8 jobs, some of them sub-workflows, edges only forward (acyclic)."""
    n = draw(st.integers(1, 8))
    is_sub = [draw(st.booleans()) for _ in range(n)]
    edges = {(i, j) for i in range(n) for j in range(i + 1, n) if draw(st.booleans())}
    ids = [f"S{i}" if is_sub[i] else f"J{i}" for i in range(n)]
    jobs = tuple(_job(ids[i]) for i in range(n) if not is_sub[i])
    subs = tuple(_sub(ids[i]) for i in range(n) if is_sub[i])
    named = {(ids[i], ids[j]) for i, j in edges}
    plain = tuple(sorted(e for e in named if e[0][0] == "J" and e[1][0] == "J"))
    wf = Workflow(
        name="w",
        jobs=jobs,
        subworkflows=subs,
        dependencies=plain,
        subworkflow_edges=tuple(sorted(named - set(plain))),
    )
    return wf, named


def _reach(edges: set[tuple[str, str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for p, c in edges:
            if p == todo[-1] and c not in seen:
                seen.add(c)
                todo.insert(0, c)
        todo.pop()
    return seen


@settings(max_examples=60, deadline=None)
@given(_graphs())
def test_every_job_before_a_sub_workflow_precedes_every_job_after_it(case):
    """With the sub-workflows taken out, the extra edges keep each ordinary job that runs
    before a sub-workflow ahead of each one that runs after it."""
    wf, edges = case
    check(wf)
    kept = set(wf.dependencies) | set(through_edges(wf))
    assert all(p[0] == "J" and c[0] == "J" for p, c in through_edges(wf))
    for sub in wf.subworkflows:
        before = {j for j in (job.id for job in wf.jobs) if sub.id in _reach(edges, j)}
        after = {j for j in _reach(edges, sub.id) if j[0] == "J"}
        for a in before:
            assert after <= _reach(kept, a)
