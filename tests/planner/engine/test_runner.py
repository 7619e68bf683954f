"""The runner's DAGMan semantics on tiny DAGs of /bin/sh nodes."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from planner.engine.runner import Engine, newest_rescue
from planner.errors import EngineError

DIAMOND = (
    "JOB A a.sub\nJOB B b.sub\nJOB C c.sub\nJOB D d.sub\nPARENT A CHILD B C\nPARENT B C CHILD D\n"
)


def _diamond(write, sh_submit, b_script: str = "echo B >> ran.txt") -> Path:
    for n in "ACD":
        write(f"{n.lower()}.sub", sh_submit(f"echo {n} >> ran.txt"))
    write("b.sub", sh_submit(b_script))
    return write("w.dag", DIAMOND)


def test_diamond_runs_each_node_once_in_dependency_order(write, sh_submit, run_dag):
    dag = _diamond(write, sh_submit)
    result, _ = run_dag(dag)
    assert result.succeeded and result.done == 4 and result.nodes_run == 4
    ran = (dag.parent / "ran.txt").read_text().split()
    assert ran[0] == "A" and ran[-1] == "D" and sorted(ran[1:3]) == ["B", "C"]
    assert result.rescue is None


def test_rerun_after_success_runs_nothing(write, sh_submit, run_dag):
    dag = _diamond(write, sh_submit)
    run_dag(dag)
    result, out = run_dag(dag)
    assert result.succeeded and result.nodes_run == 0
    assert "resumed" in out


def test_retry_two_fails_twice_then_succeeds(write, sh_submit, run_dag, events):
    counter = 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ "$n" -ge 3 ]'
    dag = _diamond(write, sh_submit, counter)
    dag.write_text(dag.read_text() + "RETRY B 2\n")
    result, _ = run_dag(dag)
    assert result.succeeded
    assert (dag.parent / "count").read_text().strip() == "3"
    assert [e["rc"] for e in events(dag) if e["node"] == "B" and e["event"] == "job_end"] == [
        1,
        1,
        0,
    ]
    assert result.summary["sh"].retries == 2


def test_retry_unless_exit_stops_retrying(write, sh_submit, run_dag):
    dag = _diamond(write, sh_submit, "echo x >> tries; exit 7")
    dag.write_text(dag.read_text() + "RETRY B 5 UNLESS-EXIT 7\n")
    result, _ = run_dag(dag)
    assert not result.succeeded
    assert (dag.parent / "tries").read_text().count("x") == 1


def test_permanent_failure_writes_rescue_and_resumed_run_skips_done_nodes(
    write, sh_submit, run_dag
):
    dag = _diamond(write, sh_submit, "test ! -e broken && echo B >> ran.txt")
    write("broken", "")
    result, _ = run_dag(dag)
    assert not result.succeeded
    assert result.failed == ["B"] and result.unrunnable == ["D"]
    rescue = dag.parent / "w.dag.rescue001"
    assert result.rescue == rescue
    assert [line for line in rescue.read_text().splitlines() if line.startswith("DONE")] == [
        "DONE A",
        "DONE C",
    ]
    os.unlink(dag.parent / "broken")
    dag.with_name("w.dag.journal").unlink()  # only the rescue file carries the state
    result2, out = run_dag(dag)
    assert result2.succeeded and "applied w.dag.rescue001" in out
    assert Counter((dag.parent / "ran.txt").read_text().split()) == {"A": 1, "B": 1, "C": 1, "D": 1}
    assert newest_rescue(dag) == rescue


def test_failed_node_does_not_stop_independent_branches(write, sh_submit, run_dag):
    write("ok.sub", sh_submit("echo $0 > /dev/null"))
    write("bad.sub", sh_submit("exit 3"))
    dag = write(
        "w.dag",
        "JOB X bad.sub\nJOB Y ok.sub\nJOB Z ok.sub\nJOB Q ok.sub\n"
        "PARENT X CHILD Y\nPARENT Z CHILD Q\n",
    )
    result, _ = run_dag(dag)
    assert result.failed == ["X"] and result.unrunnable == ["Y"] and result.done == 2


def test_post_script_decides_and_sees_return(write, sh_submit, run_dag):
    write("bad.sub", sh_submit("exit 5"))
    write("post.sh", '#!/bin/sh\necho "$1 $2 $3" >> post.txt\nexit 0\n').chmod(0o755)
    dag = write("w.dag", "JOB A bad.sub\nSCRIPT POST A post.sh $JOB $RETURN x$RETURN\n")
    result, _ = run_dag(dag)
    assert result.succeeded  # job failed, POST succeeded: the node succeeds
    assert (dag.parent / "post.txt").read_text() == "A 5 x$RETURN\n"


def test_signal_killed_job_gives_negative_return(write, sh_submit, run_dag):
    write("kill.sub", sh_submit("kill -9 $$"))
    write("post.sh", '#!/bin/sh\necho "$1" > ret.txt\nexit 1\n').chmod(0o755)
    dag = write("w.dag", "JOB A kill.sub\nSCRIPT POST A post.sh $RETURN\n")
    result, _ = run_dag(dag)
    assert not result.succeeded
    assert (dag.parent / "ret.txt").read_text().strip() == "-9"


def test_pre_script_failure_fails_node_without_running_job(write, sh_submit, run_dag, events):
    write("a.sub", sh_submit("echo ran > ran.txt"))
    dag = write("w.dag", "JOB A a.sub\nSCRIPT PRE A /bin/sh -c false\n")
    result, _ = run_dag(dag)
    assert result.failed == ["A"]
    assert not (dag.parent / "ran.txt").exists()
    assert not [e for e in events(dag) if e["event"] == "job_start"]


def test_priority_orders_ready_nodes(write, sh_submit, run_dag):
    write("n.sub", sh_submit("echo $(JOB) >> order.txt"))
    lines = [f"JOB N{i} n.sub\nPRIORITY N{i} {i}\n" for i in range(5)]
    dag = write("w.dag", "".join(lines))
    run_dag(dag, slots=1)
    assert (dag.parent / "order.txt").read_text().split() == ["N4", "N3", "N2", "N1", "N0"]


def test_a_freed_slot_takes_the_next_job_before_the_post_script_starts(
    write, sh_submit, run_dag, events
):
    # The POST script does not hold a slot (as in DAGMan): the slot A leaves goes to the
    # next ready job at once, not after A's POST script has been started.
    write("n.sub", sh_submit("true"))
    body = "".join(f"JOB N{i} n.sub\nSCRIPT POST N{i} /bin/true\n" for i in range(4))
    dag = write("w.dag", body)
    result, _ = run_dag(dag, slots=1)
    assert result.succeeded
    starts = [(e["event"], e["node"]) for e in events(dag) if e["event"].endswith("_start")]
    for i in range(3):
        nxt = starts.index(("job_start", f"N{i + 1}"))
        assert nxt < starts.index(("post_start", f"N{i}")), starts


def test_end_events_carry_the_cpu_time_of_the_process(write, sh_submit, run_dag, events):
    write("n.sub", sh_submit("true"))
    write("gone.sub", "executable = /nonexistent/tool\nqueue\n")
    dag = write("w.dag", "JOB A n.sub\nSCRIPT POST A /bin/true\nJOB B gone.sub\n")
    run_dag(dag)
    ends = {(e["node"], e["event"]): e for e in events(dag) if e["event"].endswith("_end")}
    for key in (("A", "job_end"), ("A", "post_end")):
        cpu = ends[key]["cpu"]
        assert isinstance(cpu, float) and cpu >= 0.0
    assert "cpu" not in ends[("B", "job_end")]  # never started: no process, no CPU


def test_maxjobs_limits_a_category(write, sh_submit, run_dag):
    # each job records how many of its category run at once, via a lock-free counter dir
    script = (
        "mkdir -p live; touch live/$(JOB); ls live | wc -l >> peak.txt; sleep 0.05; rm live/$(JOB)"
    )
    write("n.sub", sh_submit(script))
    body = "".join(f"JOB N{i} n.sub\nCATEGORY N{i} slow\n" for i in range(6))
    dag = write("w.dag", body + "MAXJOBS slow 1\n")
    result, _ = run_dag(dag, slots=4)
    assert result.succeeded
    assert max(int(x) for x in (dag.parent / "peak.txt").read_text().split()) == 1


def test_request_cpus_counts_slots(write, sh_submit, run_dag):
    script = (
        "mkdir -p live; touch live/$(JOB); ls live | wc -l >> peak.txt; sleep 0.05; rm live/$(JOB)"
    )
    write("n.sub", sh_submit(script, "request_cpus = 2\n"))
    dag = write("w.dag", "".join(f"JOB N{i} n.sub\n" for i in range(4)))
    run_dag(dag, slots=3)
    assert max(int(x) for x in (dag.parent / "peak.txt").read_text().split()) == 1


def test_abort_dag_on_stops_and_final_runs(write, sh_submit, run_dag):
    write("bad.sub", sh_submit("exit 4"))
    write("ok.sub", sh_submit("echo $(JOB) >> ran.txt"))
    dag = write(
        "w.dag",
        "JOB A bad.sub\nJOB B ok.sub\nPARENT A CHILD B\nABORT-DAG-ON A 4\nFINAL F ok.sub\n",
    )
    result, _ = run_dag(dag)
    assert result.aborted
    assert (dag.parent / "ran.txt").read_text().split() == ["F"]
    assert result.succeeded  # a succeeding FINAL makes the DAG succeed (semantics.md §3)
    assert result.rescue is not None and result.rescue.exists()


def test_final_runs_after_failure_and_rescue_comes_first(write, sh_submit, run_dag):
    write("bad.sub", sh_submit("exit 1"))
    write("fin.sub", sh_submit("ls *.rescue* > seen.txt; exit 1"))
    dag = write("w.dag", "JOB A bad.sub\nFINAL F fin.sub\n")
    result, _ = run_dag(dag)
    assert not result.succeeded
    assert (dag.parent / "seen.txt").read_text().strip() == "w.dag.rescue001"


def test_done_and_noop_nodes_do_not_run(write, sh_submit, run_dag):
    write("ok.sub", sh_submit("echo $(JOB) >> ran.txt"))
    dag = write("w.dag", "JOB A ok.sub DONE\nJOB B ok.sub NOOP\nJOB C ok.sub\nPARENT A B CHILD C\n")
    result, _ = run_dag(dag)
    assert result.succeeded and (dag.parent / "ran.txt").read_text().split() == ["C"]


def test_missing_executable_fails_node_with_clear_message(write, run_dag):
    write("x.sub", "executable = /no/such/program\nerror = x.err\nqueue\n")
    dag = write("w.dag", "JOB A x.sub\n")
    result, _ = run_dag(dag)
    assert result.failed == ["A"]
    status = (dag.parent / "w.dag.status").read_text()
    assert "could not start" in status and "/no/such/program" in status


def test_bad_submit_file_is_reported_before_anything_runs(write, sh_submit):
    write("ok.sub", sh_submit("echo A > ran.txt"))
    write("bad.sub", 'executable = /bin/true\narguments = "it\'s"\nqueue\n')
    dag = write("w.dag", "JOB A ok.sub\nJOB B bad.sub\n")
    with pytest.raises(EngineError, match=r"bad\.sub.*node B.*single quote"):
        Engine(dag, slots=1, progress=False).run()
    assert not (dag.parent / "ran.txt").exists()


def test_condorio_transfer_runs_in_scratch_and_brings_outputs_back(write, run_dag):
    write("in/data.txt", "hello\n")
    write(
        "t.sub",
        "universe = vanilla\nexecutable = /bin/sh\n"
        "arguments = \"-c 'pwd > where.txt; tr a-z A-Z < data.txt > result.txt'\"\n"
        "initialdir = out\nshould_transfer_files = YES\nwhen_to_transfer_output = ON_EXIT\n"
        "transfer_input_files = ../in/data.txt\ntransfer_output_files = result.txt, where.txt\n"
        "output = t.out\nerror = t.err\nqueue\n",
    )
    (write("out/.keep", "")).unlink()
    dag = write("w.dag", "JOB T t.sub\n")
    result, _ = run_dag(dag)
    assert result.succeeded
    out = dag.parent / "out"
    assert (out / "result.txt").read_text() == "HELLO\n"
    assert (out / "where.txt").read_text().strip() != str(out)  # ran elsewhere
    assert not (out / "data.txt").exists()
    assert not [p for p in out.iterdir() if "wfplan-part" in p.name]


@pytest.mark.parametrize("shipped", [True, False])
def test_transfer_executable_runs_a_copy_in_the_sandbox(write, run_dag, shipped: bool):
    # HTCondor copies the executable into the sandbox (under its own name) and makes it
    # runnable, unless transfer_executable = false: then the path itself must run
    script = write("tools/job.sh", '#!/bin/sh\necho "$0" > ran.txt\n')
    script.chmod(0o644)
    write(
        "t.sub",
        f"executable = {script}\nshould_transfer_files = YES\n"
        + ("" if shipped else "transfer_executable = false\n")
        + "transfer_output_files = ran.txt\nqueue\n",
    )
    dag = write("w.dag", "JOB T t.sub\n")
    result, _ = run_dag(dag)
    assert result.succeeded is shipped
    if shipped:
        ran = Path((dag.parent / "ran.txt").read_text().strip())
        assert ran.name == "job.sh" and ran.parent != script.parent
        assert not (dag.parent / "job.sh").exists()  # never comes back
    assert script.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("resource", ["condor ce.remote.org cm.remote.org", "batch slurm"])
def test_grid_universe_job_runs_here_with_file_transfer(write, run_dag, resource):
    write("in/data.txt", "hello\n")
    write(
        "t.sub",
        f"universe = grid\ngrid_resource = {resource}\nexecutable = /bin/sh\n"
        "arguments = \"-c 'tr a-z A-Z < data.txt > result.txt'\"\n"
        "initialdir = out\nshould_transfer_files = YES\nwhen_to_transfer_output = ON_EXIT\n"
        "transfer_input_files = ../in/data.txt\ntransfer_output_files = result.txt\n"
        '+remote_cerequirements = PASSENV==1 && CORES=="2"\nbatch_queue = normal\n'
        "output = t.out\nerror = t.err\nqueue\n",
    )
    (write("out/.keep", "")).unlink()
    dag = write("w.dag", "JOB T t.sub\n")
    result, _ = run_dag(dag)
    assert result.succeeded
    assert (dag.parent / "out" / "result.txt").read_text() == "HELLO\n"


def test_missing_transfer_output_fails_the_node(write, run_dag):
    write(
        "t.sub",
        "executable = /bin/true\nshould_transfer_files = YES\n"
        "transfer_output_files = nothing.txt\nqueue\n",
    )
    dag = write("w.dag", "JOB T t.sub\n")
    result, _ = run_dag(dag)
    assert result.failed == ["T"]
    assert "nothing.txt" in (dag.parent / "w.dag.status").read_text()


def test_second_engine_on_same_dag_is_refused(write, sh_submit):
    write("a.sub", sh_submit("true"))
    dag = write("w.dag", "JOB A a.sub\n")
    import fcntl

    with open(dag.with_name("w.dag.wfplan.lock"), "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(EngineError, match="another 'wfplan run'"):
            Engine(dag, slots=1, progress=False).run()


def test_kill_9_then_rerun_completes_without_rerunning_finished_nodes(write, sh_submit, events):
    write("n.sub", sh_submit("sleep 0.15; echo $(JOB) >> ran.txt"))
    names = [f"N{i}" for i in range(8)]
    body = "".join(f"JOB {n} n.sub\n" for n in names)
    body += "".join(f"PARENT {a} CHILD {b}\n" for a, b in itertools.pairwise(names))
    dag = write("w.dag", body)
    cmd = [sys.executable, "-m", "planner.cli", "run", str(dag), "-j", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = dag.with_name("w.dag.journal")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count('"done"') >= 3:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    first = events(dag)
    done_before = {e["node"] for e in first if e["event"] == "node_success"}
    assert 3 <= len(done_before) < len(names)
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    second = events(dag)[len(first) :]
    restarted = {e["node"] for e in second if e["event"] == "job_start"}
    assert not restarted & done_before
    assert {e["node"] for e in second if e["event"] == "node_success"} | done_before == set(names)


def test_restart_stops_jobs_a_killed_engine_left_running(write, sh_submit, run_dag):
    sub = write("n.sub", sh_submit("sleep 30; echo late >> late.txt"))
    dag = write("w.dag", "JOB A n.sub\n")
    cmd = [sys.executable, "-m", "planner.cli", "run", str(dag), "-j", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = dag.with_name("w.dag.journal")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and '"start"' not in (
        journal.read_text() if journal.exists() else ""
    ):
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    orphan = next(json.loads(x) for x in journal.read_text().splitlines() if '"start"' in x)
    sub.write_text(sub.read_text().replace("sleep 30", "true"))
    result, out = run_dag(dag)
    assert result.succeeded and "stopped 1 job(s)" in out
    assert not Path(f"/proc/{orphan['pid']}").exists() or _zombie_or_gone(orphan["pid"])
    assert (dag.parent / "late.txt").read_text() == "late\n"  # only the rerun wrote it


def _zombie_or_gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_progress_line_only_when_asked(write, sh_submit):
    import io

    write("a.sub", sh_submit("true"))
    dag = write("w.dag", "JOB A a.sub\nJOB B a.sub\n")
    out = io.StringIO()
    Engine(dag, slots=1, progress=True, out=out).run()
    assert "\rwfplan run: 2/2 done, 0 running, 0 failed, ETA 0:00:00" in out.getvalue()
    quiet = io.StringIO()
    dag.with_name("w.dag.journal").unlink()
    Engine(dag, slots=1, progress=False, out=quiet).run()
    assert "\r" not in quiet.getvalue()


def test_defer_reruns_the_script_later_without_a_retry(write, sh_submit, run_dag, events):
    write("a.sub", sh_submit("true"))
    write(
        "pre.sh",
        "#!/bin/sh\nif [ -e ok ]; then exit 0; fi\ntouch ok\nexit 3\n",
    ).chmod(0o755)
    dag = write("w.dag", "JOB A a.sub\nSCRIPT DEFER 3 0 PRE A pre.sh\n")
    result, _ = run_dag(dag)
    assert result.succeeded
    ev = [e["event"] for e in events(dag) if e["node"] == "A"]
    assert ev.count("pre_start") == 2 and "node_retry" not in ev


def test_rescue_files_are_numbered_and_the_newest_applies(write, sh_submit, run_dag):
    write("ok.sub", sh_submit("echo $(JOB) >> ran.txt"))
    write("bad.sub", sh_submit("test -e fixed"))
    dag = write("w.dag", "JOB A ok.sub\nJOB B bad.sub\nJOB C ok.sub\nPARENT B CHILD C\n")
    for expected in ("w.dag.rescue001", "w.dag.rescue002"):
        dag.with_name("w.dag.journal").unlink(missing_ok=True)
        result, _ = run_dag(dag)
        assert result.rescue is not None and result.rescue.name == expected
    write("fixed", "")
    dag.with_name("w.dag.journal").unlink()
    result, out = run_dag(dag)
    assert result.succeeded and "applied w.dag.rescue002" in out
    assert (dag.parent / "ran.txt").read_text().split() == ["A", "C"]


def test_all_nodes_and_vars_reach_the_submit_file(write, run_dag):
    write(
        "v.sub",
        "executable = /bin/sh\n"
        "arguments = \"-c 'echo $(greeting) $0 >> out.txt' x$(DOLLAR)y\"\nqueue\n",
    )
    dag = write("w.dag", 'JOB A v.sub\nJOB B v.sub\nVARS ALL_NODES greeting="hello  world"\n')
    result, _ = run_dag(dag)
    assert result.succeeded
    assert (dag.parent / "out.txt").read_text() == "hello world x$y\n" * 2


def test_torn_or_foreign_journal_lines_are_skipped(write, sh_submit, run_dag):
    write("a.sub", sh_submit("echo $(JOB) >> ran.txt"))
    dag = write("w.dag", "JOB A a.sub\nJOB B a.sub\n")
    run_dag(dag)
    journal = dag.with_name("w.dag.journal")
    lines = [x for x in journal.read_text().splitlines() if '"done": "B"' not in x]
    journal.write_text(
        "\n".join(
            [*lines, "7", '{"done": "B'],
        )
        + "\n"
    )  # B's line torn
    result, _ = run_dag(dag)
    assert result.succeeded and result.nodes_run == 1
    assert sorted((dag.parent / "ran.txt").read_text().split()) == ["A", "B", "B"]


def test_dag_that_is_not_text_is_one_clear_error(write):
    dag = write("w.dag", "")
    dag.write_bytes(b"JOB A \xff.sub\n")
    with pytest.raises(EngineError, match=r"w\.dag: not a text file"):
        Engine(dag, slots=1, progress=False)


def test_job_log_is_an_htcondor_user_log(write, sh_submit, run_dag):
    os.environ.setdefault("CONDOR_CONFIG", "/dev/null")
    import htcondor

    write("ok.sub", sh_submit("exit 3", "log = w.log\n"))
    write("kill.sub", sh_submit("kill -9 $$", "log = w.log\n"))
    dag = write(
        "w.dag", "JOB A ok.sub\nJOB B kill.sub\nPARENT A CHILD B\nSCRIPT POST A /bin/true\n"
    )
    run_dag(dag, slots=1)
    events = list(htcondor.JobEventLog(str(dag.parent / "w.log")).events(0))
    kinds = [(e.type.name, e.get("LogNotes")) for e in events]
    assert kinds == [
        ("SUBMIT", "DAG Node: A"),
        ("EXECUTE", None),
        ("JOB_TERMINATED", None),
        ("SUBMIT", "DAG Node: B"),
        ("EXECUTE", None),
        ("JOB_TERMINATED", None),
    ]
    assert events[2]["ReturnValue"] == 3
    assert events[5]["TerminatedBySignal"] == 9 and not events[5]["TerminatedNormally"]
    assert events[0].cluster == events[2].cluster != events[3].cluster
    nodes_log = htcondor.JobEventLog(str(dag.with_name("w.dag.wfplan.nodes.log"))).events(0)
    assert [e.type.name for e in nodes_log] == [k for k, _ in kinds]


def test_job_dir_is_where_submit_file_scripts_and_paths_resolve(write, sh_submit, run_dag):
    write("sub/a.sub", sh_submit("pwd > where.txt"))
    write("sub/post.sh", "#!/bin/sh\npwd > post_where.txt\n").chmod(0o755)
    dag = write("w.dag", "JOB A a.sub DIR sub\nSCRIPT POST A post.sh\n")
    result, _ = run_dag(dag)
    assert result.succeeded
    sub = (dag.parent / "sub").resolve()
    assert Path((sub / "where.txt").read_text().strip()).resolve() == sub
    assert Path((sub / "post_where.txt").read_text().strip()).resolve() == sub


def test_missing_or_binary_submit_file_is_one_clear_error(write):
    dag = write("w.dag", "JOB A missing.sub\n")
    with pytest.raises(EngineError, match=r"missing\.sub: cannot read submit file for node A"):
        Engine(dag, slots=1, progress=False).run()
    write("bin.sub", "").write_bytes(b"executable = \xff\nqueue\n")
    dag.write_text("JOB B bin.sub\n")
    with pytest.raises(EngineError, match=r"bin\.sub: node B: byte 13 is not UTF-8"):
        Engine(dag, slots=1, progress=False).run()


def test_transfer_inputs_from_a_directory_and_an_http_url(write, run_dag):
    import http.server
    import threading

    write("www/remote.txt", "from http\n")
    write("in/sub/a.txt", "A\n")
    www = str(write("www/.keep", "").parent)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=www, **kwargs)

        def log_message(self, format, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/remote.txt"
        write(
            "t.sub",
            "executable = /bin/sh\narguments = \"-c 'cat remote.txt sub/a.txt > both.txt'\"\n"
            f"should_transfer_files = YES\ntransfer_input_files = in/, {url}\n"
            "transfer_output_files = both.txt\nqueue\n",
        )
        dag = write("w.dag", "JOB T t.sub\n")
        result, _ = run_dag(dag)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert result.succeeded
    assert (dag.parent / "both.txt").read_text() == "from http\nA\n"


def test_fresh_run_ignores_journal_and_rescue(write, sh_submit):
    import io

    write("a.sub", sh_submit("echo $(JOB) >> ran.txt"))
    dag = write("w.dag", "JOB A a.sub\n")
    write("w.dag.rescue001", "DONE A\n")
    Engine(dag, slots=1, progress=False, out=io.StringIO()).run()
    assert not (dag.parent / "ran.txt").exists()  # the rescue file marked A done
    out = io.StringIO()
    result = Engine(dag, slots=1, progress=False, out=out, fresh=True).run()
    assert result.nodes_run == 1 and "--force" in out.getvalue()
    assert (dag.parent / "ran.txt").read_text() == "A\n"


def test_input_file_and_one_file_for_output_and_error(write, run_dag):
    # HTCondor opens a file named by both output and error once: both streams land in it
    write("in.txt", "hello\n")
    write(
        "j.sub",
        "executable = /bin/sh\narguments = \"-c 'cat; echo err >&2'\"\ninput = in.txt\n"
        "output = logs/both.txt\nerror = logs/both.txt\nqueue\n",
    )
    dag = write("w.dag", "JOB J j.sub\n")
    result, _ = run_dag(dag)
    assert result.succeeded
    assert (dag.parent / "logs" / "both.txt").read_text() == "hello\nerr\n"
