"""Hierarchical workflows (issue 17): the two- and three-level examples of
tests/e2e/hierarchical planned with ``wfplan plan`` and run with ``wfplan run``; a failure
two levels down, its fix and the resumed run; a ``kill -9`` of the engine; the top level
written by Pegasus's own Python API; the emitted files checked with HTCondor's bindings."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from planner.cli import main
from planner.emit.record import load_plan_record

EXAMPLES = Path(__file__).resolve().parents[1] / "e2e" / "hierarchical"
TWO_LEVELS = "final(two(one(prep(data))))\n"
THREE_LEVELS = "end(deep(mid(start(data))))\n"


def _setup(tmp: Path, step: Path | None = None) -> Path:
    """The example's setup script; ``step`` replaces step.py in the transformation catalog."""
    work = tmp / "work"
    subprocess.run(
        [
            "sh",
            str(EXAMPLES.parents[2] / "docs" / "examples" / "hierarchical" / "setup.sh"),
            str(work),
        ],
        check=True,
        capture_output=True,
    )
    if step is not None:
        tc = (work / "tc.yml").read_text().replace(str(EXAMPLES / "step.py"), str(step))
        (work / "tc.yml").write_text(tc)
    return work


def _plan(work: Path, workflow: str | Path, submit: str = "submit") -> Path:
    argv = [
        "plan", str(EXAMPLES / workflow) if isinstance(workflow, str) else str(workflow),
        "--rc", str(work / "rc.yml"), "--tc", str(work / "tc.yml"), "--sc", str(work / "sites.yml"),
        "--sites", "condorpool", "--dir", str(work / submit),
    ]  # fmt: skip
    assert main(argv) == 0
    return work / submit


def _run(submit: Path) -> int:
    return main(["run", str(submit), "-j", "2", "--progress", "never"])


def _starts(dag: Path) -> dict[str, int]:
    """How many times each node's job started, from the engine's event log."""
    counts: dict[str, int] = {}
    events = dag.with_name(dag.name + ".events")
    for line in events.read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "job_start":
            counts[event["node"]] = counts.get(event["node"], 0) + 1
    return counts


def _registered(db: Path) -> set[str]:
    with sqlite3.connect(db) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        text = " ".join(str(row) for t in tables for row in con.execute(f"SELECT * FROM {t}"))
    return {lfn for lfn in ("a.txt", "b.txt", "c.txt", "result.txt") if f"'{lfn}'" in text}


def test_two_levels_plan_and_run_and_a_sibling_reuses_the_first_ones_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    work = _setup(tmp_path)
    submit = _plan(work, "top.yml")
    # the top level is planned without its sub-workflows: nothing is planned in them yet
    assert not (submit / "first" / "first.dag").exists()
    assert "plan: not planned yet" in main_output(capsys, ["explain", str(submit), "first"])
    assert main_output(capsys, ["status", str(submit)]).splitlines()[1:] == [
        "  pegasus-plan_first: first.dag: not planned yet",
        "  pegasus-plan_second: second.dag: not planned yet",
    ]
    assert _run(submit) == 0
    assert (work / "outputs" / "result.txt").read_text() == TWO_LEVELS
    # "second" read b.txt, which "first" made: found in the parent's output catalog
    assert (work / "outputs" / "b.txt").read_text() == "one(prep(data))\n"
    assert _registered(submit / "top-outputs.db") == {"a.txt", "b.txt", "c.txt", "result.txt"}
    record = load_plan_record(submit)
    second = next(s for s in record["subworkflows"] if s["job"] == "second")
    assert second["parents"] == ["pegasus-plan_first"]
    assert "step_final" in second["children"]


def test_three_levels_plan_and_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    work = _setup(tmp_path)
    submit = _plan(work, "top3.yml")
    assert _run(submit) == 0
    assert (work / "outputs" / "result3.txt").read_text() == THREE_LEVELS
    assert (submit / "middle" / "leaf" / "leaf.dag").is_file()
    status = main_output(capsys, ["status", str(submit)]).splitlines()
    assert [line.split(":")[0] for line in status] == [
        "top3.dag",
        "  pegasus-plan_middle",
        "    pegasus-plan_leaf",
    ]
    deep = main_output(capsys, ["explain", str(submit), "pegasus-plan_middle/leaf/step_deep"])
    assert deep.startswith("node step_deep\n") and "jobs: deep" in deep
    middle = main_output(capsys, ["explain", str(submit), "middle"])
    assert "kind: sub-workflow (pegasusWorkflow)" in middle
    assert "    workflow middle (wfplan " in middle  # the sub-workflow's own plan
    assert "parents: register_local_1_0, stage_out_local_local_1_0, step_start" in middle


def test_emitted_files_pass_htcondor_checks_at_every_level(tmp_path: Path):
    htcondor = pytest.importorskip("htcondor")
    dags = pytest.importorskip("htcondor.dags")
    work = _setup(tmp_path)
    submit = _plan(work, "top3.yml")
    assert _run(submit) == 0
    subs = sorted(submit.rglob("*.sub"))
    assert {p.parent for p in subs} == {submit, submit / "middle", submit / "middle" / "leaf"}
    for sub in subs:
        assert len(list(htcondor.Submit(sub.read_text()).jobs())) == 1, sub
    # HTCondor's own DAG writer spells a SUBDAG EXTERNAL node as we do
    dag = dags.DAG()
    dag.subdag(
        name="pegasus-plan_middle",
        dag_file=submit / "middle" / "middle.dag",
        dir=submit / "middle",
    )
    dags.write_dag(dag, tmp_path / "ref", dag_file_name="ref.dag")
    theirs = [  # its writer names the node of layer 0 "<name>:0"
        line.replace("pegasus-plan_middle:0", "pegasus-plan_middle")
        for line in (tmp_path / "ref" / "ref.dag").read_text().splitlines()
        if line.startswith("SUBDAG")
    ]
    ours = (submit / "top3.dag").read_text().splitlines()
    assert theirs and all(line in ours for line in theirs)


def test_pegasus_api_writes_the_top_level_and_wfplan_reads_it_unchanged(tmp_path: Path):
    api = pytest.importorskip("Pegasus.api")
    work = _setup(tmp_path)
    wf = api.Workflow("top")
    a, b, c = api.File("a.txt"), api.File("b.txt"), api.File("c.txt")
    prep = api.Job("step", _id="prep").add_args("prep", a, "data.txt")
    prep.add_inputs(api.File("data.txt")).add_outputs(a)
    first = api.SubWorkflow(api.File("first.yml"), False, _id="first")
    first.add_args("--sites", "condorpool", "--force").add_inputs(a).add_outputs(b)
    second = api.SubWorkflow(api.File("second.yml"), False, _id="second")
    second.add_args("--sites", "condorpool").add_inputs(b).add_outputs(c)
    final = api.Job("step", _id="final").add_args("final", "result.txt", c)
    final.add_inputs(c).add_outputs(api.File("result.txt"))
    wf.add_jobs(prep, first, second, final)
    wf.write(str(tmp_path / "api-top.yml"))
    submit = _plan(work, tmp_path / "api-top.yml")
    assert _run(submit) == 0
    assert (work / "outputs" / "result.txt").read_text() == TWO_LEVELS


def _failing_step(tmp: Path) -> Path:
    """step.py, except that label ``two`` fails while ``broken`` exists and sleeps while
    ``slow`` exists (the level-2 job of the two-level example)."""
    step = tmp / "step.sh"
    step.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = two ] && [ -e {tmp}/broken ]; then echo broken >&2; exit 3; fi\n'
        f'if [ "$1" = two ] && [ -e {tmp}/slow ]; then touch {tmp}/started; sleep 30; fi\n'
        f'exec {sys.executable} {EXAMPLES / "step.py"} "$@"\n'
    )
    step.chmod(0o755)
    return step


def test_failure_two_levels_down_rescue_fix_and_resume_runs_only_what_was_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    work = _setup(tmp_path, _failing_step(tmp_path))
    (tmp_path / "broken").touch()
    submit = _plan(work, "top.yml")
    assert _run(submit) == 1
    top, second = submit / "top.dag", submit / "second" / "second.dag"
    assert (submit / "top.dag.rescue001").is_file()
    assert sorted(p.name for p in second.parent.glob("second.dag.rescue*")) == [
        "second.dag.rescue001",
        "second.dag.rescue002",  # the node's retry ran the sub-DAG again, from rescue001
    ]
    assert _starts(second)["step_two"] == 4  # 2 tries a run, 2 runs (RETRY 1 at each level)
    assert _starts(second)["create_dir_second_0_local"] == 1
    report = main_output(capsys, ["analyze", str(submit)])
    # followed into the sub-DAG, down to the job that failed and its stderr
    assert "failed node pegasus-plan_second" in report
    assert f"inside pegasus-plan_second ({second})" in report
    assert "    failed node step_two: " in report and "| broken" in report
    status = main_output(capsys, ["status", str(submit)]).splitlines()
    assert status[0].startswith("top.dag: failed: ")
    assert status[1].startswith("  pegasus-plan_first: first.dag: succeeded: 7/7 done")
    assert status[2].startswith("  pegasus-plan_second: second.dag: failed: ")
    tree = json.loads(main_output(capsys, ["status", str(submit), "--json"]))
    assert tree["subdags"]["pegasus-plan_second"]["failed"][0]["node"] == "step_two"
    before_top, before_first = _starts(top), _starts(submit / "first" / "first.dag")

    (tmp_path / "broken").unlink()  # the fix
    assert _run(submit) == 0
    assert (work / "outputs" / "result.txt").read_text() == TWO_LEVELS
    after_top, after_second = _starts(top), _starts(second)
    assert after_second["step_two"] == 5 and after_second["create_dir_second_0_local"] == 1
    assert _starts(submit / "first" / "first.dag") == before_first  # first was done
    ran_again = {n for n, k in after_top.items() if k != before_top.get(n, 0)}
    assert "step_prep" not in ran_again and "pegasus-plan_first" not in ran_again
    assert {"pegasus-plan_second", "step_final"} <= ran_again


def main_output(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    capsys.readouterr()
    main(argv)
    out = capsys.readouterr()
    return out.out + out.err


def test_kill_9_of_the_engine_then_resume_at_every_level(tmp_path: Path):
    work = _setup(tmp_path, _failing_step(tmp_path))
    (tmp_path / "slow").touch()
    submit = _plan(work, "top.yml")
    cmd = [sys.executable, "-m", "planner.cli", "run", str(submit), "-j", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (tmp_path / "started").exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    (tmp_path / "slow").unlink()
    first_done = _starts(submit / "first" / "first.dag")
    assert _run(submit) == 0
    assert (work / "outputs" / "result.txt").read_text() == TWO_LEVELS
    assert _starts(submit / "first" / "first.dag") == first_done  # never ran again
    top = _starts(submit / "top.dag")
    assert top["step_prep"] == 1 and top["pegasus-plan_first"] == 1
    second = _starts(submit / "second" / "second.dag")
    assert second["create_dir_second_0_local"] == 1 and second["step_two"] == 2


def test_condor_workflow_runs_the_given_dag(tmp_path: Path):
    work = _setup(tmp_path)
    ready = tmp_path / "ready"
    ready.mkdir()
    (ready / "hello.sub").write_text(
        "universe = local\nexecutable = /bin/sh\n"
        "arguments = \"-c 'echo hello > hello.txt'\"\nqueue\n"
    )
    (ready / "ready.dag").write_text("JOB hello hello.sub\n")
    top = tmp_path / "dagtop.yml"
    top.write_text(
        'pegasus: "5.0"\nname: dagtop\njobs:\n'
        "  - {type: condorWorkflow, id: given, file: ready.dag}\n"
        "  - {type: job, id: after, name: step, arguments: [after, z.txt, data.txt],\n"
        "     uses: [{lfn: data.txt, type: input}, {lfn: z.txt, type: output}]}\n"
        "jobDependencies:\n  - {id: given, children: [after]}\n"
    )
    rc = work / "rc.yml"
    rc.write_text(
        rc.read_text()
        + f'  - {{lfn: ready.dag, pfns: [{{site: local, pfn: "{ready}/ready.dag"}}]}}\n'
    )
    submit = _plan(work, top)
    assert "SUBDAG EXTERNAL subdag_given " in (submit / "dagtop.dag").read_text()
    assert _run(submit) == 0
    assert (ready / "hello.txt").read_text() == "hello\n"
    assert (work / "outputs" / "z.txt").read_text() == "after(data)\n"


def test_sub_workflow_file_without_a_replica_is_named(tmp_path: Path, capsys):
    work = _setup(tmp_path)
    rc = work / "rc.yml"
    kept = [line for line in rc.read_text().splitlines() if "second.yml" not in line]
    rc.write_text("\n".join(kept) + "\n")
    argv = [
        "plan", str(EXAMPLES / "top.yml"), "--rc", str(rc), "--tc", str(work / "tc.yml"),
        "--sc", str(work / "sites.yml"), "--dir", str(work / "submit"),
    ]  # fmt: skip
    assert main(argv) == 1
    assert "LFN 'second.yml' (the workflow file of sub-workflow job 'second')" in (
        capsys.readouterr().err
    )
    assert not (work / "submit").exists()


def test_unknown_pegasus_plan_argument_is_named(tmp_path: Path, capsys):
    work = _setup(tmp_path)
    bad = tmp_path / "bad.yml"
    bad.write_text((EXAMPLES / "top.yml").read_text().replace("--force", "--frobnicate"))
    shutil.copy(EXAMPLES / "first.yml", tmp_path / "first.yml")
    assert main(["validate", str(bad)]) == 1
    argv = ["plan", str(bad), "--rc", str(work / "rc.yml"), "--tc", str(work / "tc.yml"),
            "--sc", str(work / "sites.yml"), "--dir", str(work / "submit")]  # fmt: skip
    assert main(argv) == 1
    assert "'--frobnicate'" in capsys.readouterr().err


def test_pre_script_keeps_an_unchanged_plan_and_replans_a_changed_workflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    work = _setup(tmp_path)
    leaf = tmp_path / "leaf.yml"
    shutil.copy(EXAMPLES / "leaf.yml", leaf)
    (work / "x2.txt").write_text("x2\n")
    top = tmp_path / "solo.yml"
    top.write_text(
        'pegasus: "5.0"\nname: solo\njobs:\n'
        "  - {type: pegasusWorkflow, id: leaf, file: leaf.yml, arguments: [--sites, condorpool],\n"
        "     uses: [{lfn: x2.txt, type: input}, {lfn: x3.txt, type: output}]}\n"
    )
    rc = work / "rc.yml"
    rc.write_text(
        rc.read_text().replace(str(EXAMPLES / "leaf.yml"), str(leaf))
        + f'  - {{lfn: x2.txt, pfns: [{{site: local, pfn: "file://{work}/x2.txt"}}]}}\n'
    )
    submit = _plan(work, top)
    request = str(submit / "pegasus-plan_leaf.subwf.json")
    assert main(["subplan", request]) == 0
    dag = submit / "leaf" / "leaf.dag"
    (submit / "leaf" / "marker").write_text("kept\n")  # as a rescue file would be
    capsys.readouterr()
    assert main(["subplan", request]) == 0  # a retry: same inputs, same plan, state kept
    assert "kept the plan" in capsys.readouterr().out
    assert (submit / "leaf" / "marker").exists()
    leaf.write_text(leaf.read_text().replace("[deep,", "[deeper,"))
    assert main(["subplan", request]) == 0  # the workflow changed: planned again
    assert not (submit / "leaf" / "marker").exists()
    assert "deeper" in (submit / "leaf" / "plan.json").read_text()
    assert dag.is_file()


def test_validate_counts_sub_workflow_outputs_as_made(tmp_path: Path, capsys):
    work = _setup(tmp_path)
    argv = ["validate", str(EXAMPLES / "top.yml"), "--rc", str(work / "rc.yml")]
    assert main(argv) == 0  # c.txt, read by "final", is made by the sub-workflow "second"
    assert "ok: top: 2 jobs, 2 sub-workflows, 4 files" in capsys.readouterr().out


def test_dax_top_level_with_dax_elements_runs(tmp_path: Path):
    work = _setup(tmp_path)
    top = tmp_path / "top.dax"
    top.write_text(
        '<adag xmlns="http://pegasus.isi.edu/schema/DAX" version="3.6" name="daxtop">\n'
        '  <job id="prep" name="step"><argument>prep a.txt data.txt</argument>\n'
        '    <uses name="data.txt" link="input"/><uses name="a.txt" link="output"/></job>\n'
        '  <dax id="first" file="first.yml"><argument>--sites condorpool</argument>\n'
        '    <uses name="a.txt" link="input"/><uses name="b.txt" link="output"/></dax>\n'
        '  <dax id="second" file="second.yml"><argument>--sites condorpool</argument>\n'
        '    <uses name="b.txt" link="input"/><uses name="c.txt" link="output"/></dax>\n'
        '  <job id="final" name="step"><argument>final result.txt c.txt</argument>\n'
        '    <uses name="c.txt" link="input"/><uses name="result.txt" link="output"/></job>\n'
        "</adag>\n"
    )
    submit = _plan(work, top)
    assert _run(submit) == 0
    assert (work / "outputs" / "result.txt").read_text() == TWO_LEVELS


def test_the_top_level_never_reads_its_sub_workflows(tmp_path: Path, capsys):
    """A sub-workflow file that cannot even be parsed plans fine at the top level; its
    PRE script reports it when the node runs, and analyze shows that message."""
    work = _setup(tmp_path)
    garbage = tmp_path / "garbage.yml"
    garbage.write_text("this: [is not a workflow\n")
    rc = work / "rc.yml"
    rc.write_text(rc.read_text().replace(str(EXAMPLES / "first.yml"), str(garbage)))
    submit = _plan(work, "top.yml")
    assert _run(submit) == 1
    report = main_output(capsys, ["analyze", str(submit)])
    assert "failed node pegasus-plan_first: PRE script returned 1" in report
    scripts = (submit / "top.dag.scripts.out").read_text()
    assert str(garbage) in scripts and "wfplan: error:" in scripts
