"""``wfplan-cluster --job`` runs a task that is a tool of this package in its own process:
the job is one process, with the task's exit status, streams and output record.

Each case runs in a child interpreter of its own, as a job does: running a tool in-process
ends with its exit handlers run and forgotten, which must not happen to the test runner.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

SCRIPTS = Path(sysconfig.get_path("scripts"))

# Any process started by the job fails it: os.fork and subprocess.Popen refuse.
NO_FORK = """
import os, subprocess, sys
def refuse(*args, **kwargs):
    raise AssertionError("a process was started")
os.fork = refuse
subprocess.Popen = refuse
from planner.tools import cluster, entrypoints
"""


def _child(cwd: Path, body: str) -> subprocess.CompletedProcess[str]:
    code = NO_FORK + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)


def test_a_tool_task_runs_without_a_process_of_its_own(tmp_path: Path):
    made = tmp_path / "made"
    done = _child(tmp_path, f"""
        argv_before = list(sys.argv)
        code = cluster.main(["--job", "--", {str(SCRIPTS / "wfplan-mkdir")!r}, {made.as_uri()!r}])
        assert sys.argv == argv_before  # the task's argv was its own
        sys.exit(code)
    """)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert made.is_dir()


def test_the_job_exits_with_the_tools_status(tmp_path: Path):
    tool = str(SCRIPTS / "wfplan-exitcode")
    ok = _child(tmp_path, f"sys.exit(cluster.main(['--job', '--', {tool!r}, 'n', '0']))")
    failed = _child(tmp_path, f"sys.exit(cluster.main(['--job', '--', {tool!r}, 'n', '5']))")
    usage = _child(tmp_path, f"sys.exit(cluster.main(['--job', '--', {str(SCRIPTS / 'wfplan-transfer')!r}]))")  # fmt: skip
    assert (ok.returncode, failed.returncode, usage.returncode) == (0, 1, 2), failed.stderr
    assert "node n failed" in failed.stdout


def test_an_uncaught_exception_is_exit_1_with_its_traceback(tmp_path: Path):
    done = _child(
        tmp_path,
        """
        def broken():
            raise RuntimeError("deliberately broken")
        sys.exit(entrypoints.run_here(broken, ["wfplan-broken"]))
    """,
    )
    assert done.returncode == 1
    assert "RuntimeError: deliberately broken" in done.stderr


def test_the_tasks_exit_handlers_run_before_the_job_records_its_outputs(tmp_path: Path):
    """A handler the task registers runs as its script ended: before the record is made,
    and only once."""
    done = _child(
        tmp_path,
        """
        import atexit
        def task():
            atexit.register(print, "task's exit handler")
            return 0
        entrypoints.run_here(task, ["wfplan-task"])
        print("record")
    """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["task's exit handler", "record"]


def test_the_record_covers_what_the_in_process_task_made(tmp_path: Path):
    """End to end, as a job starts: the record of the task's output."""
    args = [str(SCRIPTS / "wfplan-cluster"), "--job", "--output", "made.meta.json",
            "--record", "n.meta", "--", str(SCRIPTS / "wfplan-exitcode"), "n", "0"]  # fmt: skip
    (tmp_path / "made.meta.json").write_text("{}")
    done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    digest = hashlib.sha256(b"{}").hexdigest()
    assert json.loads((tmp_path / "n.meta").read_text()) == {"made.meta.json": digest}


def test_an_interrupted_tool_ends_the_job_by_sigint(tmp_path: Path):
    """Ctrl-C in the task: the job dies of SIGINT, as the task's own process would."""
    done = _child(
        tmp_path,
        """
        def task():
            raise KeyboardInterrupt
        entrypoints.run_here(task, ["wfplan-task"])
        print("not reached")
    """,
    )
    assert done.returncode == -signal.SIGINT
    assert "not reached" not in done.stdout
