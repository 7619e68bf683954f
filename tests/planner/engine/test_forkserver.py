"""The engine starts this package's console scripts through its fork servers: two Pythons
for the whole run, each job and POST script still a process of its own (engine/forkserver.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import htcondor

from tests.planner.tools.pycount import interpreter_counter, started

SCRIPTS = Path(sysconfig.get_path("scripts"))


def _submit(tool: str, arguments: str, env: dict[str, str]) -> str:
    environment = " ".join(f"{k}={v}" for k, v in sorted(env.items()))
    return (
        "universe = vanilla\n"
        f"executable = {SCRIPTS / tool}\n"
        f'arguments = "{arguments}"\n'
        f'environment = "{environment}"\n'
        "output = $(JOB).out\n"
        "error = $(JOB).err\n"
        "log = tools.log\n"
        "queue\n"
    )


def _tool_dag(tmp_path: Path, env: dict[str, str], extra: str = "") -> Path:
    (tmp_path / "mkdir.sub").write_text(_submit("wfplan-mkdir", "$(dir)", env))
    (tmp_path / "exit.sub").write_text(_submit("wfplan-exitcode", "N $(code)", env))
    (tmp_path / "cluster.sub").write_text(_submit("wfplan-cluster", "c.json", env))
    tool = str(SCRIPTS / "wfplan-exitcode")
    tasks = [
        {"id": "ID1", "executable": str(SCRIPTS / "wfplan-mkdir"), "arguments": ["c1", "c2"]},
        {"id": "ID2", "executable": tool, "arguments": ["M", "0"]},
        {"id": "ID3", "executable": str(SCRIPTS / "wfplan-mkdir"), "arguments": ["c3"]},
    ]
    (tmp_path / "c.json").write_text(json.dumps({"tasks": tasks}))
    post = f"{SCRIPTS / 'wfplan-exitcode'} $JOB $RETURN"
    dag = tmp_path / "tools.dag"
    dag.write_text(
        'JOB A mkdir.sub\nVARS A dir="a"\n'
        'JOB B mkdir.sub\nVARS B dir="b"\n'
        "JOB C cluster.sub\n"
        'JOB F exit.sub\nVARS F code="3"\n'
        f"{extra}"
        "PARENT A CHILD B C F\n" + "".join(f"SCRIPT POST {n} {post}\n" for n in "ABCF")
    )
    return dag


def _job_pids(log: Path) -> list[int]:
    events = htcondor.JobEventLog(str(log)).events(0)
    return [e.cluster for e in events if e.type == htcondor.JobEventType.EXECUTE]


def test_a_run_of_python_tools_starts_only_the_fork_servers(tmp_path, monkeypatch, run_dag):
    hook, counts = interpreter_counter(tmp_path)
    for k, v in hook.items():
        monkeypatch.setenv(k, v)
    dag = _tool_dag(tmp_path, hook)
    result, _ = run_dag(dag)
    # four jobs, three cluster members and four POST scripts: all forked, from the light
    # server (mkdir, exitcode) and the one with every tool preloaded (the cluster)
    assert started(counts) == 2
    assert result.failed == ["F"] and result.done == 3
    assert all((tmp_path / d).is_dir() for d in ("a", "b", "c1", "c2", "c3"))
    assert (tmp_path / "F.out").read_text() == "node N failed: job exited with 3\n"
    assert "task ID3 exit 0" in (tmp_path / "C.out").read_text()
    scripts = dag.with_name(dag.name + ".scripts.out").read_text()
    assert "node F failed: job exited with 1" in scripts
    pids = _job_pids(tmp_path / "tools.log")
    assert len(set(pids)) == 4 and os.getpid() not in pids


KILL_SERVER = """
import os, signal
engine = os.getppid()
for entry in os.listdir("/proc"):
    try:
        stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        cmd = open(f"/proc/{entry}/cmdline", "rb").read()
    except OSError:
        continue
    if int(stat[1]) == engine and b"planner.engine.forkserver" in cmd:
        os.kill(int(entry), signal.SIGKILL)
        print("killed", entry)
"""


def test_jobs_start_as_processes_when_the_fork_server_dies(tmp_path, monkeypatch, run_dag):
    hook, counts = interpreter_counter(tmp_path)
    for k, v in hook.items():
        monkeypatch.setenv(k, v)
    (tmp_path / "kill.sub").write_text(
        "universe = vanilla\n"
        f"executable = {sys.executable}\n"
        "arguments = \"-c 'exec(open(''kill.py'').read())'\"\n"
        "output = K.out\nerror = K.err\nqueue\n"
    )
    (tmp_path / "kill.py").write_text(KILL_SERVER)
    dag = _tool_dag(tmp_path, hook, "JOB K kill.sub\nPARENT A CHILD K\nPARENT K CHILD B C\n")
    result, _ = run_dag(dag)
    assert (tmp_path / "K.out").read_text().startswith("killed")
    assert result.failed == ["F"] and result.done == 4
    assert all((tmp_path / d).is_dir() for d in ("a", "b", "c1", "c2", "c3"))
    assert started(counts) > 1  # B, C and their POST scripts needed interpreters of their own


def test_orphans_the_engine_adopts_are_reaped(write, sh_submit, run_dag, tmp_path):
    # the engine adopts its jobs' orphans for the run (it is a child subreaper then)
    write("bg.sub", sh_submit("sleep 0.2 & echo $! > bg.pid"))
    write("wait.sub", sh_submit("sleep 1"))
    dag = write("bg.dag", "JOB A bg.sub\nJOB B wait.sub\nPARENT A CHILD B\n")
    result, _ = run_dag(dag)
    assert result.succeeded
    pid = int((tmp_path / "bg.pid").read_text())
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        state = "gone"
    assert state == "gone"


def _sleeping_cluster(tmp_path: Path) -> None:
    """cluster.sub: a forked wfplan-cluster whose task records its pid and sleeps."""
    (tmp_path / "cluster.sub").write_text(_submit("wfplan-cluster", "c.json", {}))
    task = {
        "id": "ID1",
        "executable": "/bin/sh",
        "arguments": ["-c", "echo $$ > task.pid; sleep 30"],
    }
    (tmp_path / "c.json").write_text(json.dumps({"tasks": [task]}))


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_abort_kills_a_forked_job_and_what_it_started(tmp_path, write, sh_submit, run_dag):
    _sleeping_cluster(tmp_path)
    write("bad.sub", sh_submit("while [ ! -s task.pid ]; do sleep 0.05; done; exit 4"))
    dag = write("w.dag", "JOB A cluster.sub\nJOB B bad.sub\nABORT-DAG-ON B 4\n")
    result, _ = run_dag(dag)
    assert result.aborted and result.elapsed < 20
    assert _gone(int((tmp_path / "task.pid").read_text()))


def test_restart_stops_a_forked_job_a_killed_engine_left_running(tmp_path, write, run_dag):
    _sleeping_cluster(tmp_path)
    dag = write("w.dag", "JOB A cluster.sub\n")
    cmd = [sys.executable, "-m", "planner.cli", "run", str(dag), "-j", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (tmp_path / "task.pid").exists():
        time.sleep(0.02)
    time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    task = int((tmp_path / "task.pid").read_text())
    assert not _gone(task)  # the job outlived the engine, as a condor job would
    (tmp_path / "c.json").write_text(json.dumps({"tasks": []}))
    result, out = run_dag(dag)
    assert result.succeeded and "stopped 1 job(s)" in out
    deadline = time.monotonic() + 5
    while not _gone(task) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _gone(task)
