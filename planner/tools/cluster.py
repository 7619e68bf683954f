"""``wfplan-cluster MANIFEST``: run a clustered job's tasks in order (docs/job-tools.md).

The manifest may also be named as ``BUNDLE OFFSET NODE`` (planner.tools.manifest), and a
job of one task may be given on the command line instead (``--job``, see
:func:`parse_job_args`), which needs no manifest file.

Prints ``wfplan-cluster: task ID exit N (T s)`` per task, stops at the first failure and
exits with its code (1 when it was killed by a signal). With ``"scratch": true`` the
tasks run in a fresh directory: ``inputs`` are pulled into it first and ``outputs``
pushed after, as PegasusLite does for nonsharedfs; an output marked ``"optional"`` that
the tasks did not make is skipped. ``executables`` (files in the working directory, put
there by HTCondor's file transfer) are made executable before the first task. With
``"optional_dir"`` (HTCondor file transfer of a node with optional outputs) the
``optional_outputs`` the tasks made are moved into that directory, which is always
created: HTCondor brings back its contents, whatever they are.

Integrity (planner.tools.integrity): before the first task, every file of ``"checks"``
must have its expected sha256 (a scratch job checks its ``inputs`` as it pulls them);
after the last task the sha256 of every file of ``"record"`` is written to the checksum
record, which later readers check against. A mismatch exits 1 before any task runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from planner.tools.entrypoints import (
    JobProcess,
    entry_point,
    load,
    run_here,
    same_interpreter,
    spawn,
)
from planner.tools.integrity import (
    IntegrityError,
    expected_sha256,
    sha256_made,
    verify,
    write_record,
)
from planner.tools.manifest import USAGE_EXIT, manifest_or_usage
from planner.tools.transfer import run_transfers

__all__ = ["check_inputs", "main", "parse_job_args", "record_outputs", "run_tasks"]

JOB_USAGE = (
    "--job [--sha256 LFN HEX]... [--check LFN RECORD]... [--output LFN]... [--record FILE] "
    "-- EXECUTABLE [ARG...]"
)

# Its tasks are other tools: the engine forks it from the fork server that has them all
# imported, so a task forks without importing anything (planner/tools/entrypoints.py).
FORK_RUNS_TOOLS = True


def _open(path: str | None, cwd: Path, mode: str) -> Any:
    if not path:
        return subprocess.DEVNULL if mode == "rb" else None
    p = Path(path) if os.path.isabs(path) else cwd / path
    if mode != "rb":
        p.parent.mkdir(parents=True, exist_ok=True)
    return open(p, mode)


def _fd(handle: Any, default: int) -> int:
    """The descriptor a child gets for one of subprocess's stdin/stdout/stderr values."""
    if handle is None:
        return default
    if handle == subprocess.DEVNULL:
        return os.open(os.devnull, os.O_RDWR)
    return int(handle.fileno())


def _run_task(argv: list[str], cwd: Path, env: dict[str, str], streams: tuple[Any, ...]) -> int:
    """Run one task and return its exit code (negative: killed by that signal).

    A task that is one of this package's console scripts is forked from this process,
    which has already started Python and imported the tools: one interpreter start per
    cluster, not one per task, and each task still has its own process and exit code.
    """
    func = _tool_function(argv[0], cwd, env)
    if func is None:
        return subprocess.call(
            argv, cwd=cwd, env=env, stdin=streams[0], stdout=streams[1], stderr=streams[2]
        )
    fds = [_fd(h, i) for i, h in enumerate(streams)]
    try:
        pid = spawn(func, JobProcess(argv, cwd, env, (fds[0], fds[1], fds[2])))
    finally:
        for fd, h in zip(fds, streams, strict=True):
            if h == subprocess.DEVNULL:
                os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


_loaded: dict[str, Callable[[], object] | None] = {}


def _tool_function(executable: str, cwd: Path, env: dict[str, str]) -> Callable[[], object] | None:
    """The function behind ``executable`` when it is one of this environment's console
    scripts and ``env`` starts an interpreter as this one started; else None."""
    target = entry_point(executable, cwd, env.get("PATH", os.defpath))
    return _function(target) if target is not None and same_interpreter(env) else None


def _function(target: str) -> Callable[[], object] | None:
    """The console script's function, imported once; None when it cannot be imported
    (the task then runs as a process of its own and reports why)."""
    if target not in _loaded:
        try:
            _loaded[target] = load(target)
        except Exception:
            _loaded[target] = None
    return _loaded[target]


def run_tasks(tasks: Sequence[dict[str, Any]], cwd: Path) -> int:
    """Run tasks one after the other in ``cwd``; the first failing task's code, or 0."""
    for task in tasks:
        tid = task.get("id", "?")
        argv = [str(task["executable"]), *(str(a) for a in task.get("arguments", []))]
        env = dict(os.environ)
        env.update({str(k): str(v) for k, v in (task.get("environment") or {}).items()})
        started = time.monotonic()
        handles = []
        try:
            stdin = _open(task.get("stdin"), cwd, "rb")
            stdout = _open(task.get("stdout"), cwd, "wb")
            stderr = _open(task.get("stderr"), cwd, "wb")
            handles = [h for h in (stdin, stdout, stderr) if hasattr(h, "close")]
            sys.stdout.flush()
            code = _run_task(argv, cwd, env, (stdin, stdout, stderr))
        except OSError as exc:
            print(f"wfplan-cluster: task {tid} could not start: {exc.strerror or exc} ({argv[0]})")
            code = 127
        finally:
            for h in handles:
                h.close()
        print(f"wfplan-cluster: task {tid} exit {code} ({time.monotonic() - started:.3f} s)")
        sys.stdout.flush()
        if code != 0:
            print(f"wfplan-cluster: stopping at failed task {tid}", file=sys.stderr)
            return code if code > 0 else 1
    return 0


def make_executable(names: Sequence[str], cwd: Path) -> None:
    """Give the staged executables that arrived in ``cwd`` (HTCondor's sandbox) execute
    permission wherever they have read permission, as PegasusLite's chmod does."""
    for name in names:
        path = cwd / name
        try:
            mode = path.stat().st_mode
            path.chmod(mode | (mode & 0o444) >> 2)
        except OSError as exc:  # the task that runs it then says what is missing
            print(f"wfplan-cluster: cannot make {path} executable: {exc.strerror}")


def collect_optional(cwd: Path, directory: str, lfns: Sequence[str]) -> None:
    """Move the optional outputs that exist in ``cwd`` into ``cwd/directory`` (created
    even when none exists, so HTCondor finds the directory it was told to bring back)."""
    target = cwd / directory
    target.mkdir(exist_ok=True)
    for lfn in lfns:
        src = cwd / str(lfn)
        if src.exists() or src.is_symlink():
            os.replace(src, target / src.name)


def check_inputs(checks: Sequence[dict[str, Any]], cwd: Path) -> list[str]:
    """Compare each file of ``checks`` (``{"lfn", "sha256" or "meta"}``) in ``cwd`` with its
    expected sha256; one problem line per file that differs or cannot be checked."""
    problems = []
    records: dict[str, dict[str, str]] = {}
    for check in checks:
        lfn = str(check.get("lfn", "?"))
        try:
            expected = expected_sha256(lfn, check.get("sha256"), check.get("meta"), cwd, records)
            if expected is not None:
                verify(lfn, cwd / lfn, expected, stamp=True)
        except IntegrityError as exc:
            problems.append(str(exc))
    return problems


def record_outputs(record: dict[str, Any], cwd: Path) -> None:
    """Write the sha256 of each file of ``record["lfns"]`` that exists in ``cwd`` (an
    optional output may not) to the checksum record ``record["file"]``."""
    digests = {}
    for lfn in record.get("lfns", []):
        path = cwd / str(lfn)
        if path.is_file():
            digests[str(lfn)] = sha256_made(path)
    write_record(cwd / str(record["file"]), digests)


def parse_job_args(args: Sequence[str]) -> dict[str, Any] | None:
    """The manifest that the command-line form describes, or None if it is malformed.

    ``--job [--sha256 LFN HEX]... [--check LFN RECORD]... [--output LFN]... [--record
    FILE] -- EXECUTABLE [ARG...]``: one task, run in the working directory; ``--sha256``
    gives an input's sha256, ``--check`` the path or URL of the checksum record holding
    it; the ``--output`` files' sha256 go to the record ``FILE``. Options are read left to
    right, each taking its values, so an LFN may be any string (``--`` included).
    """
    if not args or args[0] != "--job":
        return None
    checks: list[dict[str, Any]] = []
    outputs: list[str] = []
    record: str | None = None
    i, n = 1, len(args)
    while i < n:
        flag = args[i]
        if flag == "--":
            command = list(args[i + 1 :])
            break
        if flag in ("--check", "--sha256") and i + 2 < n:
            key = "meta" if flag == "--check" else "sha256"
            checks.append({"lfn": args[i + 1], key: args[i + 2]})
            i += 3
        elif flag == "--output" and i + 1 < n:
            outputs.append(args[i + 1])
            i += 2
        elif flag == "--record" and i + 1 < n and record is None:
            record = args[i + 1]
            i += 2
        else:
            return None
    else:
        return None
    if not command or (outputs and record is None):
        return None
    doc: dict[str, Any] = {
        "tasks": [{"id": "job", "executable": command[0], "arguments": command[1:]}],
        "checks": checks,
    }
    if record is not None:
        doc["record"] = {"file": record, "lfns": outputs}
    return doc


def _quiet_tasks(tasks: Sequence[dict[str, Any]], cwd: Path) -> int:
    """Run one command-line task as the job itself: its exit code, no task lines."""
    task = tasks[0]
    argv = [str(task["executable"]), *map(str, task["arguments"])]
    func = _tool_function(argv[0], cwd, dict(os.environ))
    if func is not None:
        # A tool of this package runs in this very process: the job is one process with
        # one set of streams and one environment, so the task needs no process of its
        # own, and the job's integrity checks cost neither an interpreter nor a fork.
        return run_here(func, argv)
    try:
        code = _run_task(argv, cwd, dict(os.environ), (None, None, None))
    except OSError as exc:
        print(f"wfplan-cluster: cannot run {argv[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 127
    if code < 0:  # killed: die of the same signal, so the job's end looks the same
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        return 1
    return code


def _checked(doc: dict[str, Any], cwd: Path) -> bool:
    problems = check_inputs(doc.get("checks") or [], cwd)
    for line in problems:
        print(f"wfplan-cluster: input {line}", file=sys.stderr)
    return not problems


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    doc = _job_manifest(args)
    if doc is None:
        return USAGE_EXIT
    if doc.get("scratch"):
        return _run_in_scratch(doc)
    return _run_in_place(doc, command_line=args[0] == "--job")


def _job_manifest(args: Sequence[str]) -> dict[str, Any] | None:
    """The job's manifest: described by a ``--job`` command line, or the manifest the
    arguments name; None, after the usage line of the form tried, when neither fits."""
    if not args or args[0] != "--job":
        return manifest_or_usage(args, "wfplan-cluster")
    parsed = parse_job_args(args)
    if parsed is None:
        print(f"usage: wfplan-cluster {JOB_USAGE}", file=sys.stderr)
    return parsed


def _run_in_place(doc: dict[str, Any], command_line: bool) -> int:
    """Run the tasks in the working directory (HTCondor's sandbox or the shared file
    system); a command-line job runs as its one task, without task lines."""
    tasks = doc.get("tasks", [])
    record = doc.get("record")
    cwd = Path.cwd()
    make_executable(doc.get("executables", []), cwd)
    try:
        if not _checked(doc, cwd):
            return 1
        code = _quiet_tasks(tasks, cwd) if command_line else run_tasks(tasks, cwd)
        if code == 0 and record:
            record_outputs(record, cwd)  # before optional outputs move away
        return code
    finally:
        if doc.get("optional_dir"):
            collect_optional(cwd, str(doc["optional_dir"]), doc.get("optional_outputs", []))


def _run_in_scratch(doc: dict[str, Any]) -> int:
    """Pull the inputs into a fresh directory, run the tasks there, push the outputs;
    the directory is removed whatever happens."""
    scratch = Path(tempfile.mkdtemp(prefix="wfplan-cluster-", dir=os.environ.get("TMPDIR")))
    try:
        problems = run_transfers(doc.get("inputs", []), scratch)
        if problems:
            _report("stage-in", problems)
            return 1
        code = run_tasks(doc.get("tasks", []), scratch)
        if code != 0:
            return code
        problems = _stage_out(doc, scratch)
        _report("stage-out", problems)
        return 1 if problems else 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _report(step: str, problems: Sequence[str]) -> None:
    for line in problems:
        print(f"wfplan-cluster: {step}: {line}", file=sys.stderr)


def _stage_out(doc: dict[str, Any], scratch: Path) -> list[str]:
    """Push the outputs the tasks made (an optional one they did not make is skipped),
    then the checksum record; one problem line per file that did not arrive."""
    record = doc.get("record")
    outputs = [
        t
        for t in doc.get("outputs", [])
        if not (t.get("optional") and not (scratch / str(t.get("lfn", ""))).exists())
    ]
    digests: dict[str, str] | None = {} if record else None
    problems = run_transfers(outputs, scratch, digests)
    if record and digests is not None and not problems:
        # hashed while they were pushed: one read of each output
        problems = _push_record(record, digests, scratch)
    return problems


def _push_record(record: dict[str, Any], digests: dict[str, str], scratch: Path) -> list[str]:
    """Write the checksum record in ``scratch`` and push it to ``record["file"]`` (a URL)."""
    name = str(record["file"]).rstrip("/").rsplit("/", 1)[-1]
    wanted = set(record.get("lfns", []))
    write_record(scratch / name, {k: v for k, v in digests.items() if k in wanted})
    move = {"lfn": name, "src": [name], "dst": record["file"]}
    return run_transfers([move], scratch)


if __name__ == "__main__":
    sys.exit(main())
