"""``wfplan-cluster --job`` runs a task that is a tool of this package in its own process:
the job is one process, with the task's exit status, streams and output record."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from planner.tools import cluster, entrypoints

SCRIPTS = Path(sysconfig.get_path("scripts"))


@pytest.fixture
def no_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any process started from here fails the test."""

    def refuse() -> int:
        raise AssertionError("a process was started")

    monkeypatch.setattr(os, "fork", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)


def test_a_tool_task_runs_without_a_process_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_fork: None
):
    monkeypatch.chdir(tmp_path)
    made = tmp_path / "made"
    args = ["--job", "--", str(SCRIPTS / "wfplan-mkdir"), made.as_uri()]
    assert cluster.main(args) == 0
    assert made.is_dir()


@pytest.mark.parametrize(("value", "code", "said"), [("0", 0, ""), ("5", 1, "node n failed")])
def test_the_job_exits_with_the_tools_status_and_keeps_its_output(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_fork: None,
    value: str,
    code: int,
    said: str,
):
    monkeypatch.chdir(tmp_path)
    argv_before = list(sys.argv)
    args = ["--job", "--", str(SCRIPTS / "wfplan-exitcode"), "n", value]
    assert cluster.main(args) == code
    assert said in capsys.readouterr().out
    assert sys.argv == argv_before  # the task's argv is its own


def test_a_usage_error_of_the_tool_is_its_exit_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_fork: None
):
    monkeypatch.chdir(tmp_path)
    assert cluster.main(["--job", "--", str(SCRIPTS / "wfplan-transfer")]) == 2


def test_an_uncaught_exception_is_exit_1_with_its_traceback(capsys: pytest.CaptureFixture[str]):
    def broken() -> int:
        raise RuntimeError("deliberately broken")

    assert entrypoints.run_here(broken, ["wfplan-broken"]) == 1
    assert "RuntimeError: deliberately broken" in capsys.readouterr().err


def test_the_tasks_exit_handlers_run_before_the_job_records_its_outputs(tmp_path: Path):
    """A handler the task registers runs as its script ended: before the record is made."""
    import atexit

    order: list[str] = []

    def task() -> int:
        atexit.register(order.append, "task's exit handler")
        return 0

    assert entrypoints.run_here(task, ["wfplan-task"]) == 0
    order.append("record")
    assert order == ["task's exit handler", "record"]


def test_the_record_covers_what_the_in_process_task_made(tmp_path: Path):
    """End to end, as a job starts: one interpreter, the record of the task's output."""
    args = [str(SCRIPTS / "wfplan-cluster"), "--job", "--output", "made.meta.json",
            "--record", "n.meta", "--", str(SCRIPTS / "wfplan-exitcode"), "n", "0"]  # fmt: skip
    (tmp_path / "made.meta.json").write_text("{}")
    done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    digest = hashlib.sha256(b"{}").hexdigest()
    assert json.loads((tmp_path / "n.meta").read_text()) == {"made.meta.json": digest}


def test_an_interrupted_tool_ends_the_job_by_sigint(tmp_path: Path):
    """Ctrl-C in the task: the job dies of SIGINT, as the task's own process would."""
    code = (
        "import sys\n"
        "from planner.tools import entrypoints\n"
        "def task():\n"
        "    raise KeyboardInterrupt\n"
        "entrypoints.run_here(task, ['wfplan-task'])\n"
        "print('not reached')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == -signal.SIGINT
    assert "not reached" not in done.stdout
