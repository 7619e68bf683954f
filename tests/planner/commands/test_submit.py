"""wfplan submit with the real htcondor bindings offline; only the schedd is replaced.

``htcondor.Submit.from_dag`` needs a ``condor_dagman`` on PATH (it names it in the DAGMan
job) and writes DAGMan's ``<dag>.condor.sub`` like condor_submit_dag; it needs no pool.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from planner.cli import main


class _Result:
    def cluster(self) -> int:
        return 42


class _Schedd:
    """The only stand-in: records what would have been queued."""

    submitted: list[Any] = []

    def submit(self, description: Any) -> _Result:
        _Schedd.submitted.append(description)
        return _Result()


@pytest.fixture
def pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.setenv("CONDOR_CONFIG", "/dev/null")
    import htcondor

    bin_dir = tmp_path / "condor-bin"
    bin_dir.mkdir()
    dagman = bin_dir / "condor_dagman"
    dagman.write_text("#!/bin/sh\nexit 0\n")
    dagman.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    _Schedd.submitted = []
    monkeypatch.setattr(htcondor, "Schedd", _Schedd)
    return _Schedd.submitted


@pytest.fixture
def submit_dir(tmp_path: Path) -> Path:
    d = tmp_path / "runs" / "submit"
    d.mkdir(parents=True)
    (d / "a.sub").write_text("executable = /bin/true\nqueue\n")
    (d / "w.dag").write_text("JOB a a.sub\n")
    return d


def _job_ad(description: Any) -> Any:
    return next(iter(description.jobs()))


def test_submit_from_the_parent_runs_dagman_in_the_dag_folder(
    pool: list[Any], submit_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(submit_dir.parent.parent)
    assert main(["submit", "runs/submit"]) == 0
    assert capsys.readouterr().out == "submitted w.dag: DAGMan job 42.0\n"
    ad = _job_ad(pool[0])  # the job ad condor_submit would build from it
    args = ad["Arguments"].split()
    dag = str(submit_dir.resolve() / "w.dag")
    # The .dag names a.sub relative to itself: DAGMan must read it in the DAG's folder
    # (-UseDagDir, and DAGMan's own working directory), not in the caller's.
    assert "-UseDagDir" in args
    assert args[args.index("-Dag") + 1] == dag
    assert args[args.index("-Lockfile") + 1] == dag + ".lock"
    assert ad["Iwd"] == str(submit_dir.resolve())
    assert (submit_dir / "w.dag.condor.sub").exists()


def test_submitting_twice_names_the_file_in_the_way_and_force(
    pool: list[Any], submit_dir: Path, capsys
) -> None:
    assert main(["submit", str(submit_dir)]) == 0
    capsys.readouterr()
    assert main(["submit", str(submit_dir)]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1, captured.err
    assert "w.dag.condor.sub already exists" in err[0]
    assert f"'wfplan submit --force {submit_dir}'" in err[0]
    assert "Unable to write" not in err[0] and captured.out == ""
    assert len(pool) == 1

    assert main(["submit", "--force", str(submit_dir)]) == 0
    assert len(pool) == 2


def test_resubmitting_after_a_failed_run_applies_its_rescue_file(
    pool: list[Any], submit_dir: Path, capsys
) -> None:
    (submit_dir / "a.sub").write_text("executable = /bin/false\nqueue\n")
    (submit_dir / "w.dag").write_text("JOB a a.sub\nJOB b a.sub\n")
    (submit_dir / "w.dag.condor.sub").write_text("# from an earlier submission\nqueue\n")
    (submit_dir / "w.dag.rescue001").write_text("DONE a\n")
    assert main(["submit", str(submit_dir)]) == 0
    assert (
        capsys.readouterr().out == "submitted w.dag: DAGMan job 42.0; it applies w.dag.rescue001\n"
    )


def test_submit_while_wfplan_run_holds_the_dag_is_refused(
    pool: list[Any], submit_dir: Path, capsys
) -> None:
    with open(submit_dir / "w.dag.wfplan.lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        assert main(["submit", str(submit_dir)]) == 1
    assert "'wfplan run' is running this DAG" in capsys.readouterr().err
    assert pool == [] and not (submit_dir / "w.dag.condor.sub").exists()


def test_submit_while_condor_dagman_runs_the_dag_is_refused(
    pool: list[Any], submit_dir: Path, tmp_path: Path, capsys
) -> None:
    fake = tmp_path / "elsewhere" / "condor_dagman"
    fake.parent.mkdir()
    fake.symlink_to("/bin/sleep")
    proc = subprocess.Popen([str(fake), "30"])
    _wait_for_exec(proc.pid)
    try:
        (submit_dir / "w.dag.lock").write_text(f"PPID = 1\nPID = {proc.pid}\nPRECISION = 1\n")
        assert main(["submit", str(submit_dir)]) == 1
    finally:
        proc.kill()
        proc.wait()
    assert f"condor_dagman (pid {proc.pid}) is already running" in capsys.readouterr().err
    assert pool == []


def test_without_a_schedd_nothing_is_left_that_looks_submitted(
    pool: list[Any], submit_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import htcondor

    def no_schedd() -> None:
        raise htcondor.HTCondorLocateError("Unable to locate local daemon")

    monkeypatch.setattr(htcondor, "Schedd", no_schedd)
    for _ in range(2):  # the second attempt fails for the same reason, not "submitted before"
        assert main(["submit", str(submit_dir)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "no HTCondor schedd reachable" in err[0], err
        assert not (submit_dir / "w.dag.condor.sub").exists()


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _killed_engine(submit_dir: Path) -> int:
    """Run the DAG A -> S with 'wfplan run', kill -9 it while S runs; S's pid."""
    (submit_dir / "a.sub").write_text(
        "executable = /bin/sh\narguments = \"-c 'echo $(JOB) >> ran.txt'\"\nqueue\n"
    )
    (submit_dir / "s.sub").write_text("executable = /bin/sleep\narguments = 30\nqueue\n")
    (submit_dir / "w.dag").write_text("JOB A a.sub\nJOB S s.sub\nPARENT A CHILD S\n")
    cmd = [sys.executable, "-m", "planner.cli", "run", str(submit_dir), "-j", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = submit_dir / "w.dag.journal"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = journal.read_text() if journal.exists() else ""
        if '"start": "S"' in text:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    line = next(x for x in journal.read_text().splitlines() if '"start": "S"' in x)
    return int(json.loads(line)["pid"])


def test_dagman_takes_over_from_a_killed_wfplan_run(
    pool: list[Any], submit_dir: Path, capsys
) -> None:
    orphan = _killed_engine(submit_dir)
    try:
        # The killed engine's job still runs: DAGMan must not start it a second time.
        assert main(["submit", str(submit_dir)]) == 1
        assert f"(pid {orphan})" in capsys.readouterr().err
    finally:
        os.killpg(orphan, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(orphan) and time.monotonic() < deadline:
        time.sleep(0.02)  # a zombie until something reaps it: ended all the same
    assert main(["submit", str(submit_dir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "wrote w.dag.rescue001: the nodes 'wfplan run' finished, for DAGMan to skip",
        "submitted w.dag: DAGMan job 42.0; it applies w.dag.rescue001",
    ]
    from planner.engine.dagfile import parse_dag, parse_rescue

    rescue = submit_dir / "w.dag.rescue001"
    assert parse_rescue(rescue, parse_dag(submit_dir / "w.dag")) == ["A"]
    assert not (submit_dir / "w.dag.lock").exists()


def test_force_submit_writes_no_rescue_from_the_journal(
    pool: list[Any], submit_dir: Path, capsys
) -> None:
    orphan = _killed_engine(submit_dir)
    os.killpg(orphan, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(orphan) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert main(["submit", "--force", str(submit_dir)]) == 0
    assert capsys.readouterr().out == "submitted w.dag: DAGMan job 42.0\n"
    assert not (submit_dir / "w.dag.rescue001").exists()


def _wait_for_exec(pid: int) -> None:
    """Until the child has exec'd, /proc shows the forking Python, not condor_dagman."""
    from planner.engine.dagman_state import live_dagman

    deadline = time.monotonic() + 10
    while not live_dagman(pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_what_wfplan_run_finished_is_handed_to_dagman_at_every_level(
    pool: list[Any], tmp_path: Path, capsys
) -> None:
    """A sub-DAG's journal becomes its own rescue file: DAGMan applies it when it runs
    the sub-DAG, and skips what 'wfplan run' finished there."""
    top = tmp_path / "top"
    inner = top / "inner"
    inner.mkdir(parents=True)
    (inner / "a.sub").write_text("executable = /bin/true\nqueue\n")
    (inner / "inner.dag").write_text("JOB a a.sub\nJOB b a.sub\nPARENT a CHILD b\n")
    (top / "top.dag").write_text(f"SUBDAG EXTERNAL s {inner / 'inner.dag'} DIR {inner}\n")
    assert main(["run", str(inner / "inner.dag"), "--progress", "never"]) == 0
    for leftover in inner.glob("inner.dag.rescue*"):
        leftover.unlink()  # as after a kill -9: the journal alone knows
    capsys.readouterr()
    assert main(["submit", str(top)]) == 0
    assert (inner / "inner.dag.rescue001").read_text().splitlines()[-2:] == ["DONE a", "DONE b"]
    assert "wrote inner/inner.dag.rescue001" in capsys.readouterr().out
