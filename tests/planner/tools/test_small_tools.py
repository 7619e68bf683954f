"""wfplan-mkdir, wfplan-cleanup, wfplan-exitcode and wfplan-cluster."""

from __future__ import annotations

import json
from pathlib import Path

from planner.tools import cleanup, cluster, exitcode, mkdir


def test_mkdir_makes_nested_dirs_and_is_idempotent(tmp_path: Path):
    d = tmp_path / "a" / "b"
    assert mkdir.main([d.as_uri(), str(tmp_path / "c")]) == 0
    assert mkdir.main([d.as_uri()]) == 0
    assert d.is_dir() and (tmp_path / "c").is_dir()


def test_mkdir_rejects_remote_urls(tmp_path: Path, capsys):
    assert mkdir.main(["gsiftp://host/x"]) == 1
    assert "gsiftp://host/x" in capsys.readouterr().err


def test_cleanup_removes_files_and_tolerates_missing(tmp_path: Path):
    f = tmp_path / "f.txt"
    f.write_text("x")
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"files": [f.as_uri(), (tmp_path / "gone").as_uri()]}))
    assert cleanup.main([str(m)]) == 0
    assert not f.exists()


def test_exitcode(capsys):
    assert exitcode.main(["N", "0"]) == 0
    assert exitcode.main(["N", "3"]) == 1
    assert exitcode.main(["N", "-9"]) == 1
    out = capsys.readouterr().out
    assert "node N failed: job exited with 3" in out and "SIGKILL" in out


def _cluster_manifest(tmp_path: Path, tasks: list[dict[str, object]], **extra: object) -> str:
    m = tmp_path / "c.json"
    m.write_text(json.dumps({"tasks": tasks, **extra}))
    return str(m)


def test_cluster_runs_tasks_in_order_and_stops_at_first_failure(
    tmp_path: Path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    tasks = [
        {"id": "t1", "executable": "/bin/sh", "arguments": ["-c", "echo one > log"]},
        {"id": "t2", "executable": "/bin/sh", "arguments": ["-c", "exit 4"]},
        {"id": "t3", "executable": "/bin/sh", "arguments": ["-c", "echo three >> log"]},
    ]
    assert cluster.main([_cluster_manifest(tmp_path, tasks)]) == 4
    out = capsys.readouterr().out
    assert "task t1 exit 0" in out and "task t2 exit 4" in out and "t3" not in out
    assert (tmp_path / "log").read_text() == "one\n"


def test_cluster_stdio_and_environment(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("abc\n")
    tasks = [
        {
            "id": "t",
            "executable": "/bin/sh",
            "arguments": ["-c", "tr a-z A-Z; echo $GREETING"],
            "environment": {"GREETING": "hi"},
            "stdin": "in.txt",
            "stdout": "out.txt",
            "stderr": "err.txt",
        }
    ]
    assert cluster.main([_cluster_manifest(tmp_path, tasks)]) == 0
    assert (tmp_path / "out.txt").read_text() == "ABC\nhi\n"


def test_cluster_scratch_mode_pulls_inputs_and_pushes_outputs(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "x.in").write_text("5\n")
    tasks = [{"id": "t", "executable": "/bin/sh", "arguments": ["-c", "cat x.in x.in > x.out"]}]
    m = _cluster_manifest(
        tmp_path,
        tasks,
        scratch=True,
        inputs=[{"lfn": "x.in", "src": [(staging / "x.in").as_uri()], "dst": "x.in"}],
        outputs=[{"lfn": "x.out", "src": ["x.out"], "dst": (staging / "x.out").as_uri()}],
    )
    assert cluster.main([m]) == 0
    assert (staging / "x.out").read_text() == "5\n5\n"
    assert not (tmp_path / "x.out").exists()


def test_cluster_makes_the_staged_executables_it_names_executable(
    tmp_path: Path, capsys, monkeypatch
):
    # HTCondor's sandbox: the staged copy arrived as a plain input file (mode 0644)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ns-t-1.0").write_text("#!/bin/sh\necho ran > out.txt\n")
    (tmp_path / "ns-t-1.0").chmod(0o644)
    tasks = [{"id": "t", "executable": "./ns-t-1.0", "arguments": []}]
    assert cluster.main([_cluster_manifest(tmp_path, tasks)]) == 127
    assert "Permission denied" in capsys.readouterr().out
    assert cluster.main([_cluster_manifest(tmp_path, tasks, executables=["ns-t-1.0"])]) == 0
    assert (tmp_path / "out.txt").read_text() == "ran\n"
    assert (tmp_path / "ns-t-1.0").stat().st_mode & 0o777 == 0o755
    capsys.readouterr()
    assert cluster.main([_cluster_manifest(tmp_path, tasks, executables=["missing"])]) == 0
    assert "cannot make" in capsys.readouterr().out
