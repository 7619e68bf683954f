"""``wfplan submit SUBMIT_DIR``: hand the DAG to an HTCondor schedd (htcondor bindings)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Iterator


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
    from planner.engine.runner import find_dag
    from planner.errors import EngineError

    dag = find_dag(args.submit_dir)
    try:
        with warnings.catch_warnings():
            # Without a pool configuration the bindings warn and fall back to a null
            # one; the missing pool is reported below as one clear line instead.
            warnings.simplefilter("ignore", UserWarning)
            import htcondor
    except ImportError as exc:
        raise EngineError(f"the htcondor bindings are not installed ({exc}); pip install htcondor")
    options: dict[str, object] = {}
    if args.batch_name:
        options["batch-name"] = args.batch_name
    if args.maxjobs is not None:
        options["maxjobs"] = args.maxjobs
    if args.force:
        options["force"] = True
    try:
        with _quiet():
            description = htcondor.Submit.from_dag(str(dag), options)
    except Exception as exc:  # the bindings raise their own error types
        raise EngineError(f"cannot prepare DAGMan submission: {_one_line(exc)}", source=str(dag))
    try:
        with _quiet():
            schedd = htcondor.Schedd()
            result = schedd.submit(description)
    except Exception as exc:
        raise EngineError(
            f"no HTCondor schedd reachable ({_one_line(exc)}); 'wfplan run "
            f"{args.submit_dir}' runs the DAG here instead",
            source=str(dag),
        )
    print(f"submitted {dag.name}: DAGMan job {result.cluster()}.0")
    return 0


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence what the C++ bindings print themselves (their error is reported once)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
