"""The embedded engine and HTCondor DAGMan take over each other's submit directories.

DAGMan enters recovery mode when it finds ``<dag>.lock`` and then replays
``<dag>.nodes.log``; the engine must leave neither behind, and must continue from what a
DAGMan left (its lock with no DAGMan running, its node log, its rescue files).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.engine.dagfile import parse_dag_text, parse_rescue
from planner.engine.dagman_state import lock_pid, recover
from planner.engine.runner import Engine, engine_running, newest_rescue
from planner.engine.userlog import (
    LogEvent,
    yield_events,
    yield_submit_lines,
    yield_terminated_lines,
)
from planner.errors import EngineError

SCHEDD = "<192.168.1.10:9618?addrs=192.168.1.10-9618&alias=submit.example.org&noUDP&sock=schedd_1021_3e4a>"
STARTD = "<192.168.1.21:9618?addrs=192.168.1.21-9618&alias=worker1.example.org&noUDP&sock=startd_988_1c2b>"


def _submitted(cluster: int, node: str, when: str) -> str:
    return (
        f"000 ({cluster}.000.000) 2026-12-03 {when} Job submitted from host: {SCHEDD}\n"
        f"    DAG Node: {node}\n...\n"
        f"001 ({cluster}.000.000) 2026-12-03 {when} Job executing on host: {STARTD}\n"
        "\tSlotName: slot1_1@worker1.example.org\n"
        '\tCondorScratchDir = "/var/lib/condor/execute/dir_4242"\n'
        "\tCpus = 1\n\tDisk = 1024\n\tMemory = 128\n...\n"
        f"006 ({cluster}.000.000) 2026-12-03 {when} Image size of job updated: 2500\n"
        "\t3  -  MemoryUsage of job (MB)\n\t2500  -  ResidentSetSize of job (KB)\n...\n"
    )


def _terminated(cluster: int, rc: int, when: str) -> str:
    usage = "Usr 0 00:00:00, Sys 0 00:00:00"
    return (
        f"005 ({cluster}.000.000) 2026-12-03 {when} Job terminated.\n"
        f"\t(1) Normal termination (return value {rc})\n"
        f"\t\t{usage}  -  Run Remote Usage\n\t\t{usage}  -  Run Local Usage\n"
        f"\t\t{usage}  -  Total Remote Usage\n\t\t{usage}  -  Total Local Usage\n"
        "\t0  -  Run Bytes Sent By Job\n\t12  -  Run Bytes Received By Job\n"
        "\t0  -  Total Bytes Sent By Job\n\t12  -  Total Bytes Received By Job\n"
        "\tPartitionable Resources :    Usage  Request Allocated \n"
        "\t   Cpus                 :                 1         1 \n"
        "\t   Disk (KB)            :       40      1024   1048576 \n"
        "\t   Memory (MB)          :        3       128       128 \n"
        "\n"
        f"\tJob terminated of its own accord at 2026-12-03T{when}Z with exit-code {rc}.\n...\n"
    )


def _post(cluster: int, node: str, rc: int, when: str) -> str:
    return (
        f"016 ({cluster}.000.000) 2026-12-03 {when} POST Script terminated.\n"
        f"\t(1) Normal termination (return value {rc})\n"
        f"    DAG Node: {node}\n...\n"
    )


# E was done in an earlier DAGMan run (rescue001); in the last one A (job + POST) and D
# (no POST) finished, F's POST failed, B was still running when that DAGMan died.
NODES_LOG = (
    _submitted(1234, "A", "12:00:01")
    + _terminated(1234, 0, "12:00:10")
    + _post(1234, "A", 0, "12:00:16")
    + _submitted(1235, "F", "12:00:02")
    + _terminated(1235, 2, "12:00:11")
    + _post(1235, "F", 2, "12:00:17")
    + _submitted(1236, "B", "12:00:21")
    + _submitted(1237, "D", "12:00:21")
    + _terminated(1237, 0, "12:00:30")
)
RESCUE001 = """\
# Rescue DAG file, created after running
#   the w.dag DAG file
# Created 12/3/2026 11:50:02 UTC
# Rescue DAG version: 2.0.1 (partial)
#
# Total number of Nodes: 6
# Nodes premarked DONE: 1
# Nodes that failed: 1
#   A,<ENDLIST>

DONE E
"""
DAG = """\
JOB E ok.sub
JOB A ok.sub
JOB B ok.sub
JOB C ok.sub
JOB D ok.sub
JOB F ok.sub
SCRIPT POST A /bin/true
SCRIPT POST F /bin/true
PARENT E CHILD A
PARENT A CHILD B D
PARENT B CHILD C
"""


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _lock_text(pid: int) -> str:
    """A lock as condor_dagman writes it (its ProcessId, then a confirmation)."""
    return (
        f"PPID = 1021\nPID = {pid}\nPRECISION = 1\nTIME_UNITS_IN_SECS = 100.000000\n"
        "BDAY = 1746151\nCONTROL_TIME = 1764763197\n"
        "CONFIRM = 1746158\nCONTROL_TIME = 1764763197\n"
    )


@pytest.fixture
def dagman_leftovers(write: Callable[[str, str], Path], sh_submit) -> Path:
    write("ok.sub", sh_submit("echo $(JOB) >> ran.txt"))
    dag = write("w.dag", DAG)
    write("w.dag.rescue001", RESCUE001)
    write("w.dag.nodes.log", NODES_LOG)
    write("w.dag.lock", _lock_text(_dead_pid()))
    write("w.dag.condor.sub", "# Filename: w.dag.condor.sub\nuniverse = scheduler\nqueue\n")
    return dag


def test_fixture_log_is_what_htcondor_reads(dagman_leftovers: Path) -> None:
    os.environ.setdefault("CONDOR_CONFIG", "/dev/null")
    import htcondor

    log = str(dagman_leftovers.with_name("w.dag.nodes.log"))
    theirs = [
        (int(e.type), e.cluster, e.get("LogNotes"), e.get("ReturnValue"))
        for e in htcondor.JobEventLog(log).events(0)
    ]
    ours = [
        (e.code, e.cluster, None if e.node is None else f"DAG Node: {e.node}", e.return_value)
        for e in yield_events(NODES_LOG.splitlines())
    ]
    # The bindings report the POST script's node in its own attribute, not LogNotes.
    assert [t[:2] for t in theirs] == [o[:2] for o in ours]
    assert [t[3] for t in theirs] == [o[3] for o in ours]
    assert [t[2] for t in theirs if t[0] == 0] == [o[2] for o in ours if o[0] == 0]


def test_run_takes_over_what_dagman_left(dagman_leftovers: Path, run_dag) -> None:
    dag = dagman_leftovers
    result, said = run_dag(dag, slots=1)
    assert result.succeeded, said
    # Only what DAGMan had not finished runs: B (still queued when it died), its child C,
    # and F (whose POST failed); E (rescue001), A and D (node log) do not.
    assert sorted((dag.parent / "ran.txt").read_text().split()) == ["B", "C", "F"]
    assert "took over from condor_dagman" in said and "(B)" in said
    assert not dag.with_name("w.dag.lock").exists()  # a later DAGMan starts afresh ...
    rescue = newest_rescue(dag)
    assert rescue is not None and rescue.name == "w.dag.rescue002"  # ... from this file
    assert sorted(parse_rescue(rescue, Engine(dag).dag)) == ["A", "D", "E"]


def test_run_with_force_ignores_dagman_state_but_removes_its_lock(
    dagman_leftovers: Path,
) -> None:
    out = io.StringIO()
    result = Engine(dagman_leftovers, slots=1, progress=False, fresh=True, out=out).run()
    assert result.succeeded
    ran = (dagman_leftovers.parent / "ran.txt").read_text().split()
    assert sorted(ran) == ["A", "B", "C", "D", "E", "F"]
    assert not dagman_leftovers.with_name("w.dag.lock").exists()


def test_run_refuses_a_dag_a_live_dagman_runs(dagman_leftovers: Path, tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "condor_dagman"
    fake.parent.mkdir()
    fake.symlink_to("/bin/sleep")
    proc = subprocess.Popen([str(fake), "30"])
    _wait_for_exec(proc.pid)
    try:
        dagman_leftovers.with_name("w.dag.lock").write_text(_lock_text(proc.pid))
        with pytest.raises(EngineError, match=rf"condor_dagman \(pid {proc.pid}\) is running"):
            Engine(dagman_leftovers, slots=1, progress=False).run()
    finally:
        proc.kill()
        proc.wait()
    assert not (dagman_leftovers.parent / "ran.txt").exists()


def test_empty_lock_of_an_older_engine_is_removed_not_replayed(
    write: Callable[[str, str], Path], sh_submit, run_dag
) -> None:
    write("ok.sub", sh_submit("echo $(JOB) >> ran.txt"))
    dag = write("w.dag", "JOB A ok.sub\nJOB B ok.sub\nPARENT A CHILD B\n")
    write("w.dag.lock", "")
    write("w.dag.nodes.log", "".join(yield_submit_lines(4242, "A", "2026-01-02 03:04:05")))
    result, said = run_dag(dag)
    assert result.succeeded
    assert "removed w.dag.lock, a lock no DAGMan wrote" in said
    assert (dag.parent / "ran.txt").read_text().split() == ["A", "B"]
    assert not dag.with_name("w.dag.lock").exists()


def test_failed_run_leaves_nothing_dagman_takes_for_recovery_state(
    write: Callable[[str, str], Path], sh_submit, run_dag
) -> None:
    write("ok.sub", sh_submit("true"))
    write("bad.sub", sh_submit("exit 3"))
    dag = write(
        "w.dag", "JOB A ok.sub\nJOB B bad.sub\nJOB C ok.sub\nPARENT A CHILD B\nPARENT B CHILD C\n"
    )
    result, _ = run_dag(dag)
    assert not result.succeeded
    leftovers = sorted(p.name for p in dag.parent.iterdir())
    # No lock file (DAGMan would enter recovery mode) and no node log under DAGMan's name
    # (its cluster ids would be the engine's pids): the next DAGMan applies the rescue file.
    assert "w.dag.lock" not in leftovers and "w.dag.nodes.log" not in leftovers
    assert "w.dag.wfplan.lock" not in leftovers
    assert "w.dag.wfplan.nodes.log" in leftovers
    assert result.rescue is not None and parse_rescue(result.rescue, Engine(dag).dag) == ["A"]


def test_engine_killed_with_9_blocks_neither_engine(
    write: Callable[[str, str], Path], sh_submit
) -> None:
    write("a.sub", sh_submit("echo $(JOB) >> ran.txt"))
    write("slow.sub", sh_submit("sleep 30"))
    dag = write("w.dag", "JOB A a.sub\nJOB S slow.sub\nPARENT A CHILD S\n")
    cmd = [sys.executable, "-m", "planner.cli", "run", str(dag), "-j", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = dag.with_name("w.dag.journal")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if journal.exists() and '"start": "S"' in journal.read_text():
            break
        time.sleep(0.02)
    assert engine_running(dag)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not engine_running(dag)  # the kernel dropped the dead engine's flock
    assert not dag.with_name("w.dag.lock").exists()  # nothing sends DAGMan into recovery
    write("slow.sub", sh_submit("echo $(JOB) >> ran.txt"))
    result = Engine(dag, slots=1, progress=False, out=io.StringIO()).run()
    assert result.succeeded and result.nodes_run == 1
    assert (dag.parent / "ran.txt").read_text().split() == ["A", "S"]


# ---- the pure parts ---------------------------------------------------------------------


def test_lock_pid_reads_only_dagman_process_ids() -> None:
    assert lock_pid(_lock_text(4242)) == 4242
    assert lock_pid("") is None and lock_pid("4242\n") is None


def test_recover_lets_the_post_script_decide() -> None:
    dag = parse_dag_text(
        "JOB A a.sub\nJOB B b.sub\nJOB C c.sub\nJOB D d.sub\nSCRIPT POST A x\nSCRIPT POST B x\n",
        "w.dag",
    )
    events = [
        LogEvent(0, 1, 0, "A"),
        LogEvent(5, 1, 0, return_value=1),
        LogEvent(16, 1, 0, "A", return_value=0),  # job failed, POST succeeded: done
        LogEvent(0, 2, 0, "B"),
        LogEvent(5, 2, 0, return_value=0),  # POST not run yet: not done
        LogEvent(0, 3, 0, "C"),
        LogEvent(5, 3, 0, return_value=1),
        LogEvent(0, 4, 0, "C"),
        LogEvent(5, 4, 0, return_value=0),  # the retry succeeded
        LogEvent(0, 5, 0, "D"),
        LogEvent(9, 5, 0),  # aborted
        LogEvent(0, 6, 0, "Z"),  # a node this DAG lacks
        LogEvent(5, 6, 0, return_value=0),
    ]
    got = recover(dag, events)
    assert got.done == {"A", "C"}
    assert got.unfinished == set()
    assert recover(dag, events[:1]).unfinished == {"A"}
    assert recover(dag, []).done == set()


@given(
    st.lists(
        st.tuples(
            st.integers(1, 10**7),
            st.from_regex(r"[A-Za-z0-9_+-]{1,20}", fullmatch=True),
            st.integers(-64, 255),
        ),
        max_size=8,
    )
)
def test_events_the_engine_writes_read_back(jobs: list[tuple[int, str, int]]) -> None:
    text = ""
    for cluster, node, rc in jobs:
        text += "".join(yield_submit_lines(cluster, node, "2026-01-02 03:04:05"))
        text += "".join(yield_terminated_lines(cluster, "2026-01-02 03:04:06", rc))
    got = list(yield_events(text.splitlines()))
    want = []
    for cluster, node, rc in jobs:
        want += [LogEvent(0, cluster, 0, node), LogEvent(1, cluster, 0)]
        if rc >= 0:
            want.append(LogEvent(5, cluster, 0, return_value=rc))
        else:
            want.append(LogEvent(5, cluster, 0, signal=-rc))
    assert got == want


def test_torn_last_event_is_not_read() -> None:
    text = "".join(yield_submit_lines(7, "A", "2026-01-02 03:04:05"))
    torn = text + "005 (007.000.000) 2026-01-02 03:04:06 Job terminated.\n\t(1) Normal"
    assert [e.code for e in yield_events(torn.splitlines())] == [0, 1]


def _wait_for_exec(pid: int) -> None:
    """Until the child has exec'd, /proc shows the forking Python, not condor_dagman."""
    from planner.engine.dagman_state import live_dagman

    deadline = time.monotonic() + 10
    while not live_dagman(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
