"""``wfplan submit SUBMIT_DIR``: hand the DAG to an HTCondor schedd (htcondor bindings)."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wfplan submit``."""
    parser.add_argument("submit_dir", metavar="SUBMIT_DIR", help="submit directory or .dag file")
    parser.add_argument("--batch-name", default=None, help="HTCondor batch name of the DAG")
    parser.add_argument(
        "--maxjobs", type=int, default=None, help="DAGMan -maxjobs (jobs in the queue at once)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite old DAGMan files")


def run(args: argparse.Namespace) -> int:
    """Submit with ``Submit.from_dag`` and print the DAGMan job id."""
    from planner.engine.runner import engine_running, find_dag, newest_rescue
    from planner.errors import EngineError

    dag = find_dag(args.submit_dir)  # absolute: DAGMan's files are named from it
    if engine_running(dag):
        raise EngineError(
            "'wfplan run' is running this DAG; let it end (or stop it) before submitting",
            source=str(dag),
        )
    _refuse_live_dagman(dag)
    _hand_over_engine_state(dag, args)
    try:
        with warnings.catch_warnings():
            # Without a pool configuration the bindings warn and fall back to a null
            # one; the missing pool is reported below as one clear line instead.
            warnings.simplefilter("ignore", UserWarning)
            import htcondor
    except ImportError as exc:
        raise EngineError(f"the htcondor bindings are not installed ({exc}); pip install htcondor")
    options = _dag_options(args)
    condor_sub = dag.with_name(dag.name + ".condor.sub")
    had_condor_sub = condor_sub.exists()
    try:
        with _captured() as said:
            description = htcondor.Submit.from_dag(str(dag), options)
    except Exception as exc:  # the bindings raise their own error types
        raise EngineError(_prepare_failure(exc, said.text, dag, args.submit_dir), source=str(dag))
    # DAGMan itself runs in the submit directory too, as after `cd DIR; condor_submit_dag`.
    description["initialdir"] = str(dag.parent)
    try:
        with _captured():
            schedd = htcondor.Schedd()
            result = schedd.submit(description)
    except Exception as exc:
        if not had_condor_sub:
            # Nothing was queued: the file from_dag wrote must not make the next attempt
            # look like a second submission.
            condor_sub.unlink(missing_ok=True)
        raise EngineError(
            f"no HTCondor schedd reachable ({_one_line(exc)}); 'wfplan run "
            f"{args.submit_dir}' runs the DAG here instead",
            source=str(dag),
        )
    rescue = newest_rescue(dag)
    resumes = f"; it applies {rescue.name}" if rescue is not None and not args.force else ""
    print(f"submitted {dag.name}: DAGMan job {result.cluster()}.0{resumes}")
    return 0


def _dag_options(args: argparse.Namespace) -> dict[str, object]:
    """condor_submit_dag's options. UseDagDir: the .dag names its .sub files relative to
    its own folder, so DAGMan must read them there wherever wfplan was started from."""
    options: dict[str, object] = {"UseDagDir": True}
    if args.batch_name:
        options["batch-name"] = args.batch_name
    if args.maxjobs is not None:
        options["maxjobs"] = args.maxjobs
    if args.force:
        options["force"] = True
    return options


def _hand_over_engine_state(dag: Path, args: argparse.Namespace, top: Path | None = None) -> None:
    """What 'wfplan run' finished but wrote no rescue file for (it was stopped by Ctrl-C or
    kill -9) goes into one, so DAGMan does not run those nodes again; --force reruns all.
    Sub-DAGs too, at every level: DAGMan applies each one's rescue file when it runs it."""
    from planner.engine.subdag import sub_dags

    top = top or dag.parent
    _hand_over_one(dag, args, top)
    for _, sub in sub_dags(dag):
        if sub.is_file():
            _hand_over_engine_state(sub, args, top)


def _hand_over_one(dag: Path, args: argparse.Namespace, top: Path) -> None:
    from planner.engine.runner import jobs_left_running, rescue_from_journal
    from planner.errors import EngineError

    running = jobs_left_running(dag)
    if running:
        pids = ", ".join(map(str, running))
        raise EngineError(
            f"jobs a killed 'wfplan run' started still run (pid {pids}); 'wfplan run "
            f"{args.submit_dir}' stops them and resumes, or stop them before submitting",
            source=str(dag),
        )
    written = None if args.force else rescue_from_journal(dag)
    if written is not None:
        where = written.relative_to(top) if written.is_relative_to(top) else written
        print(f"wrote {where}: the nodes 'wfplan run' finished, for DAGMan to skip")


def _refuse_live_dagman(dag: Path) -> None:
    from planner.engine.dagman_state import dagman_lock, running_dagman
    from planner.errors import EngineError

    pid = running_dagman(dag)
    if pid is not None:
        raise EngineError(
            f"condor_dagman (pid {pid}) is already running this DAG "
            f"({dagman_lock(dag).name}); condor_q shows it",
            source=str(dag),
        )


_IN_THE_WAY = re.compile(r'ERROR: "([^"]+)" already exists')


def _prepare_failure(exc: BaseException, said: str, dag: Path, given: str) -> str:
    """One line for a failed ``from_dag``. The bindings raise only "Unable to write
    condor_dagman output files" and print the reason (which files, which option)
    themselves; name those files and wfplan's own option instead."""
    in_the_way = [Path(m.group(1)).name for m in _IN_THE_WAY.finditer(said)]
    if in_the_way:
        names = ", ".join(in_the_way)
        verb, them = ("exists", "it") if len(in_the_way) == 1 else ("exist", "them")
        return (
            f"this DAG was submitted before: DAGMan's {names} already {verb} and there is "
            f"no rescue file to resume from; 'wfplan submit --force {given}' overwrites "
            f"{them} and runs the whole DAG again"
        )
    return f"cannot prepare DAGMan submission: {_one_line(exc)}"


class _Said:
    """What the C++ bindings printed while captured (set when the capture ends)."""

    text = ""


@contextlib.contextmanager
def _captured() -> Iterator[_Said]:
    """Keep what the C++ bindings print themselves off the terminal (their error is
    reported once, as one line), but keep it readable: it holds the reason."""
    sys.stdout.flush()
    sys.stderr.flush()
    said = _Said()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as sink:
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield said
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            said.text = sink.read().decode("utf-8", errors="replace")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
