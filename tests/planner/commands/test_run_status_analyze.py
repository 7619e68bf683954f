"""wfplan run / status / analyze / submit through the CLI on a hand-written DAG."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from planner.cli import main


def _dag(tmp: Path, b_script: str) -> Path:
    (tmp / "ok.sub").write_text(
        "executable = /bin/sh\narguments = \"-c 'echo $(JOB) >> ran.txt'\"\nerror = $(JOB).err\nqueue\n"
    )
    (tmp / "b.sub").write_text(
        f"executable = /bin/sh\narguments = \"-c '{b_script}'\"\n"
        'output = B.out\nerror = B.err\n+wfplan_transformation = "ns::bee:1"\nqueue\n'
    )
    (tmp / "w.dag").write_text(
        "JOB A ok.sub\nJOB B b.sub\nJOB C ok.sub\nPARENT A CHILD B\nPARENT B CHILD C\n"
    )
    return tmp


def test_failed_run_names_rescue_then_status_and_analyze_explain(tmp_path: Path, capsys):
    d = _dag(tmp_path, "echo line1 >&2; echo boom-reason >&2; exit 3")
    assert main(["run", str(d), "-j", "1"]) == 1
    captured = capsys.readouterr()
    assert "w.dag failed: 1 node(s) failed (B), 1 unrunnable" in captured.err
    assert "rescue file" in captured.err and "w.dag.rescue001" in captured.err
    assert "ns::bee:1" in captured.out  # the summary names the transformation

    assert main(["status", str(d)]) == 0
    assert (
        "w.dag: failed: 1/3 done, 0 running, 0 waiting, 1 failed, 1 unrunnable"
        in capsys.readouterr().out
    )

    assert main(["analyze", str(d)]) == 1
    report = capsys.readouterr().out
    assert "failed node B: job exited with 3, 1 attempt(s)" in report
    assert "command: /bin/sh -c" in report
    assert "| boom-reason" in report and "| line1" in report

    (d / "b.sub").write_text((d / "b.sub").read_text().replace("exit 3", "exit 0"))
    assert main(["run", str(d / "w.dag"), "-j", "1"]) == 0
    assert (d / "ran.txt").read_text().split() == ["A", "C"]


def test_analyze_names_the_job_code_behind_a_failing_post_script(tmp_path: Path, capsys):
    d = _dag(tmp_path, "exit 4")
    with open(d / "w.dag", "a") as fh:
        fh.write("SCRIPT POST B /bin/sh -c false\n")
    assert main(["run", str(d)]) == 1
    capsys.readouterr()
    assert main(["analyze", str(d)]) == 1
    assert "failed node B: job exited with 4, POST script returned 1" in capsys.readouterr().out


def test_status_before_any_run(tmp_path: Path, capsys):
    d = _dag(tmp_path, "true")
    assert main(["status", str(d)]) == 0
    assert "not run yet" in capsys.readouterr().out


def test_missing_dir_is_one_clear_error(tmp_path: Path, capsys):
    assert main(["run", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such submit directory" in err[0]


def test_submit_without_a_pool_is_one_clear_line(tmp_path: Path, capsys):
    d = _dag(tmp_path, "true")
    assert main(["submit", str(d)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("wfplan: error: ") and "w.dag" in err[0]
    assert "Traceback" not in err[0]


def test_ctrl_c_stops_and_the_next_run_resumes(tmp_path: Path):
    d = _dag(tmp_path, "sleep 30")
    proc = subprocess.Popen(
        [sys.executable, "-m", "planner.cli", "run", str(d), "-j", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and '"start": "B"' not in _read(d / "w.dag.journal", "B"):
        time.sleep(0.02)
    shown = ""
    while time.monotonic() < deadline and "running: B" not in shown:
        time.sleep(0.1)  # the status file is rewritten every 0.5 s
        shown = subprocess.run(
            [sys.executable, "-m", "planner.cli", "status", str(d)], capture_output=True, text=True
        ).stdout
    assert shown.startswith("w.dag: running: 1/3 done, 1 running") and "running: B" in shown
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted" in err
    pid = next(
        json.loads(x)["pid"]
        for x in (d / "w.dag.journal").read_text().splitlines()
        if '"start": "B"' in x
    )
    assert not Path(f"/proc/{pid}").exists()  # the job was stopped and reaped
    assert subprocess.run(
        [sys.executable, "-m", "planner.cli", "status", str(d)], capture_output=True, text=True
    ).stdout.startswith("w.dag: interrupted")
    (d / "b.sub").write_text((d / "b.sub").read_text().replace("sleep 30", "true"))
    assert main(["run", str(d), "-j", "1"]) == 0
    assert (d / "ran.txt").read_text().split() == ["A", "C"]


def _read(path: Path, node: str) -> str:
    if not path.exists():
        return ""
    return "\n".join(line for line in path.read_text().splitlines() if f'"{node}"' in line)
