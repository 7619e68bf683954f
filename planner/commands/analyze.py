"""``wfplan analyze SUBMIT_DIR``: each failed node with its exit code, command and stderr."""

from __future__ import annotations

import argparse
from collections import deque
from pathlib import Path


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
    if doc is None:
        print(f"{dag.name}: not run yet")
        return 0
    counts = doc.get("counts", {})
    failed = doc.get("failed", [])
    print(
        f"{dag.name}: {doc.get('state')}: {counts.get('done', 0)}/{doc.get('total', 0)} done, "
        f"{len(failed)} failed, {counts.get('unrunnable', 0)} unrunnable"
    )
    for f in failed:
        print()
        print(f"failed node {f['node']}: {_outcome(f)}, {f.get('attempts', 1)} attempt(s)")
        if f.get("message"):
            print(f"  reason:  {f['message']}")
        if f.get("command"):
            print(f"  command: {f['command']}")
        if f.get("submit_file"):
            print(f"  submit:  {f['submit_file']}")
        for label in ("stderr", "stdout"):
            if not f.get(label):
                continue
            lines = tail(Path(f[label]), args.lines)
            print(f"  {label}:  {f[label]}" + ("" if lines else " (empty)"))
            for line in lines:
                print(f"    | {line}")
    if doc.get("rescue"):
        print()
        print(f"rescue file: {doc['rescue']} ('wfplan run' resumes from it)")
    return 1 if failed else 0
