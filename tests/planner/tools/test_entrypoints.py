"""Console scripts of this package run in a forked child of a Python that is already up
(planner/tools/entrypoints.py) and wfplan-cluster uses that for its tasks."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.tools.entrypoints import JobProcess, entry_point, same_interpreter, spawn
from tests.planner.tools.pycount import interpreter_counter, started

SCRIPTS = Path(sysconfig.get_path("scripts"))
CHANGED: list[str] = []


def _wait(pid: int) -> int:
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _run(func, tmp_path: Path, argv=("prog", "a b"), env=None, new_session=False):
    out, err = tmp_path / "out", tmp_path / "err"
    with open(os.devnull, "rb") as i, open(out, "wb") as o, open(err, "wb") as e:
        job = JobProcess(
            list(argv),
            tmp_path,
            env if env is not None else {"ONLY": "this"},
            (i.fileno(), o.fileno(), e.fileno()),
            new_session,
        )
        pid = spawn(func, job)
    return _wait(pid), out.read_text(), err.read_text(), pid


def test_child_gets_its_own_argv_cwd_environment_streams_and_process(tmp_path: Path):
    def job() -> int:
        CHANGED.append("child")  # must not show in the parent
        print(json.dumps([sys.argv, os.getcwd(), dict(os.environ), os.getpid(), os.getsid(0)]))
        print("to stderr", file=sys.stderr)
        return 3

    code, out, err, pid = _run(job, tmp_path, new_session=True)
    argv, cwd, env, child_pid, sid = json.loads(out)
    assert code == 3 and err == "to stderr\n"
    assert argv == ["prog", "a b"] and cwd == str(tmp_path) and env == {"ONLY": "this"}
    assert child_pid == pid != os.getpid() and sid == pid
    assert CHANGED == [] and os.environ.get("ONLY") is None


def test_child_exit_status_follows_sys_exit_exceptions_and_signals(tmp_path: Path):
    def message() -> None:
        sys.exit("bad input")

    def boom() -> int:
        raise RuntimeError("boom")

    def killed() -> int:
        os.kill(os.getpid(), signal.SIGKILL)
        return 0

    assert _run(message, tmp_path)[:3] == (1, "", "bad input\n")
    code, _, err, _ = _run(boom, tmp_path)
    assert code == 1 and "Traceback" in err and "RuntimeError: boom" in err
    assert _run(killed, tmp_path)[0] == -signal.SIGKILL


@settings(max_examples=12, deadline=None)
@given(
    st.one_of(
        st.none(),
        st.integers(min_value=-300, max_value=600),
        st.text(alphabet="abc xyz", max_size=8),
    )
)
def test_child_exits_as_a_fresh_interpreter_would(tmp_path_factory, value):
    tmp_path = tmp_path_factory.mktemp("exit")
    fresh = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.exit({value!r})"],
        capture_output=True,
        text=True,
    )
    code, _, err, _ = _run(lambda: value, tmp_path)
    assert (code, err) == (fresh.returncode, fresh.stderr)


def test_only_this_environments_console_scripts_are_recognised(tmp_path: Path):
    exitcode = SCRIPTS / "wfplan-exitcode"
    assert entry_point(str(exitcode), tmp_path, None) == "planner.tools.exitcode:main"
    assert entry_point("wfplan-exitcode", tmp_path, str(SCRIPTS)) == "planner.tools.exitcode:main"
    assert entry_point("wfplan-exitcode", tmp_path, "/nonexistent") is None
    copy = tmp_path / "wfplan-exitcode"
    shutil.copy(exitcode, copy)  # another file, even with the same text, starts a process
    assert entry_point(str(copy), tmp_path, None) is None
    assert entry_point("/bin/sh", tmp_path, None) is None


def test_python_variables_decide_whether_a_fork_can_stand_for_a_start():
    base = {"PATH": "/bin", "PYTHONPATH": "/x"}
    assert same_interpreter({"PYTHONPATH": "/x", "OTHER": "1"}, base)
    assert not same_interpreter({"PATH": "/bin"}, base)
    assert not same_interpreter({"PYTHONPATH": "/x", "PYTHONHASHSEED": "0"}, base)
    assert same_interpreter({"PYTHONPATH": "/x", "PYTHONUNBUFFERED": "1"}, base)


def _cluster(tmp_path: Path, tasks: list[dict[str, object]], env: dict[str, str]):
    manifest = tmp_path / "c.json"
    manifest.write_text(json.dumps({"tasks": tasks}))
    return subprocess.run(
        [str(SCRIPTS / "wfplan-cluster"), str(manifest)],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )


def test_a_cluster_of_python_tools_starts_one_interpreter(tmp_path: Path):
    hook, counts = interpreter_counter(tmp_path)
    tool = str(SCRIPTS / "wfplan-exitcode")
    tasks = [
        {"id": "ID1", "executable": str(SCRIPTS / "wfplan-mkdir"), "arguments": ["d1", "d2"]},
        {"id": "ID2", "executable": tool, "arguments": ["N", "0"]},
        {"id": "ID3", "executable": "wfplan-mkdir", "arguments": ["d3"]},
        {"id": "ID4", "executable": tool, "arguments": ["N", "3"], "stdout": "o4", "stderr": "e4"},
        {"id": "ID5", "executable": tool, "arguments": ["N", "0"]},
    ]
    done = _cluster(tmp_path, tasks, {**hook, "PATH": f"{SCRIPTS}:{os.environ['PATH']}"})
    assert started(counts) == 1, done.stderr
    assert done.returncode == 1
    assert "task ID4 exit 1" in done.stdout and "ID5" not in done.stdout
    assert all((tmp_path / d).is_dir() for d in ("d1", "d2", "d3"))
    assert (tmp_path / "o4").read_text() == "node N failed: job exited with 3\n"


def test_a_task_that_needs_another_interpreter_gets_one(tmp_path: Path):
    hook, counts = interpreter_counter(tmp_path)
    tool = str(SCRIPTS / "wfplan-exitcode")
    tasks = [
        {"id": "ID1", "executable": tool, "arguments": ["N", "0"]},
        {
            "id": "ID2",
            "executable": tool,
            "arguments": ["N", "0"],
            "environment": {"PYTHONHASHSEED": "7"},
        },
        {"id": "ID3", "executable": "/bin/sh", "arguments": ["-c", "exit 0"]},
    ]
    done = _cluster(tmp_path, tasks, hook)
    assert done.returncode == 0, done.stderr
    assert started(counts) == 2  # the cluster and ID2


def test_a_job_run_through_its_integrity_checks_starts_one_interpreter(tmp_path: Path):
    # ``wfplan-cluster --job`` wraps every plain compute job (integrity checking): a tool
    # of this package runs forked from it, not as a second interpreter
    hook, counts = interpreter_counter(tmp_path)
    (tmp_path / "in.txt").write_text("x")
    digest = hashlib.sha256(b"x").hexdigest()
    argv = [str(SCRIPTS / "wfplan-cluster"), "--job", "--sha256", "in.txt", digest]
    argv += ["--", str(SCRIPTS / "wfplan-mkdir"), "made"]
    done = subprocess.run(
        argv, cwd=tmp_path, env={**os.environ, **hook}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "made").is_dir()
    assert started(counts) == 1
