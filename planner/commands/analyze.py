"""``wfplan analyze SUBMIT_DIR``: each failed node with its exit code, command and stderr.

A failed sub-workflow node is followed into its sub-DAG, whose report is printed under
it, indented, down to the level where a job failed.
"""

from __future__ import annotations

import argparse
from collections import deque
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wfplan analyze``."""
    parser.add_argument("submit_dir", metavar="SUBMIT_DIR", help="submit directory or .dag file")
    parser.add_argument(
        "-n", "--lines", type=int, default=20, help="stderr lines to show per node (default 20)"
    )


def tail(path: Path, lines: int) -> list[str]:
    """The last ``lines`` lines of a text file (empty when it is missing)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return [line.rstrip("\n") for line in deque(fh, maxlen=lines)]
    except OSError:
        return []


def _outcome(f: dict[str, object]) -> str:
    """``job exited with 2, POST script returned 1`` and the like."""
    phase, rc, job = f.get("phase"), f.get("return"), f.get("job_return")
    if phase == "pre":
        return f"PRE script returned {rc} (the job did not run)"
    if phase == "post":
        return f"job exited with {job}, POST script returned {rc}"
    return f"job exited with {rc}"


def run(args: argparse.Namespace) -> int:
    """Print a pegasus-analyzer-like report; exit 1 when nodes failed, else 0."""
    from planner.engine.runner import read_status

    dag, doc = read_status(args.submit_dir)
    for line in report(dag, doc, args.lines):
        print(line)
    return 1 if doc is not None and doc.get("failed") else 0


def report(dag: Path, doc: dict[str, Any] | None, n: int) -> list[str]:
    """The report of one DAG, with the reports of its failed sub-DAGs nested in it."""
    if doc is None:
        return [f"{dag.name}: not run yet"]
    counts = doc.get("counts", {})
    failed = doc.get("failed", [])
    out = [
        f"{dag.name}: {doc.get('state')}: {counts.get('done', 0)}/{doc.get('total', 0)} done, "
        f"{len(failed)} failed, {counts.get('unrunnable', 0)} unrunnable"
    ]
    subs = _sub_dags(dag)
    for f in failed:
        out.append("")
        out.append(f"failed node {f['node']}: {_outcome(f)}, {f.get('attempts', 1)} attempt(s)")
        if f.get("message"):
            out.append(f"  reason:  {f['message']}")
        if f.get("command"):
            out.append(f"  command: {f['command']}")
        if f.get("submit_file"):
            out.append(f"  submit:  {f['submit_file']}")
        for label in ("stderr", "stdout"):
            if not f.get(label):
                continue
            lines = tail(Path(f[label]), n)
            out.append(f"  {label}:  {f[label]}" + ("" if lines else " (empty)"))
            out.extend(f"    | {line}" for line in lines)
        out.extend(_inside(f["node"], subs, n))
    if doc.get("rescue"):
        out.append("")
        out.append(f"rescue file: {doc['rescue']} ('wfplan run' resumes from it)")
    return out


def _sub_dags(dag: Path) -> dict[str, Path]:
    from planner.engine.subdag import sub_dags
    from planner.errors import WfplanError

    try:
        return dict(sub_dags(dag))
    except WfplanError:
        return {}


def _inside(node: str, subs: dict[str, Path], n: int) -> list[str]:
    """A failed sub-workflow node's own sub-DAG report, indented."""
    from planner.engine.runner import read_status

    path = subs.get(node)
    if path is None or not path.is_file():
        return []
    inner = report(path, read_status(path)[1], n)
    return ["", f"  inside {node} ({path}):", *(f"    {line}" if line else "" for line in inner)]
