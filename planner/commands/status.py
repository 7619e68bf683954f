"""``wfplan status SUBMIT_DIR``: progress counts of the latest run of a submit directory.

A DAG with sub-workflow (``SUBDAG EXTERNAL``) nodes is shown as a tree: each sub-DAG's
line under its node, indented, at every level.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wfplan status``."""
    parser.add_argument("submit_dir", metavar="SUBMIT_DIR", help="submit directory or .dag file")
    parser.add_argument("--json", action="store_true", help="print the status record as JSON")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run(args: argparse.Namespace) -> int:
    """Print the node counts (done, running, failed, ...) and the run's state."""
    from planner.engine.runner import read_status

    dag, doc = read_status(args.submit_dir)
    if args.json:
        print(json.dumps(_tree(dag, doc), indent=1))
        return 0
    for line in _lines(dag, doc):
        print(line)
    return 0


def _tree(dag: Path, doc: dict[str, Any] | None) -> dict[str, Any]:
    """The status record, with ``subdags``: node -> the sub-DAG's record, recursively."""
    from planner.engine.runner import read_status
    from planner.engine.subdag import sub_dags

    out: dict[str, Any] = (
        dict(doc) if doc is not None else {"dag": dag.name, "state": "not run yet"}
    )
    if doc is not None and doc.get("state") == "running" and not _alive(int(doc.get("pid", 0))):
        out["state"] = "interrupted"
    subs = _subs(dag, sub_dags)
    if subs:
        out["subdags"] = {
            node: _tree(path, read_status(path)[1]) if path.is_file() else _unplanned(path)
            for node, path in subs
        }
    return out


def _unplanned(path: Path) -> dict[str, Any]:
    return {"dag": path.name, "state": "not planned yet"}


def _subs(dag: Path, finder: Any) -> list[tuple[str, Path]]:
    from planner.errors import WfplanError

    try:
        found: list[tuple[str, Path]] = finder(dag)
    except WfplanError:
        return []  # the DAG itself is reported on; its sub-DAGs cannot be found
    return found


def _lines(dag: Path, doc: dict[str, Any] | None, indent: str = "") -> list[str]:
    from planner.engine.runner import read_status
    from planner.engine.subdag import sub_dags

    own = [indent + line for line in _own_lines(dag, doc)]
    lines = own[:1]  # the DAG's line, then its sub-DAGs' lines, then its details
    for node, path in _subs(dag, sub_dags):
        inner = indent + "  "
        if not path.is_file():
            lines.append(f"{inner}{node}: {path.name}: not planned yet")
            continue
        sub_lines = _lines(path, read_status(path)[1], inner)
        sub_lines[0] = f"{inner}{node}: {sub_lines[0].lstrip()}"
        lines += sub_lines
    return lines + own[1:]


def _own_lines(dag: Path, doc: dict[str, Any] | None) -> list[str]:
    if doc is None:
        return [f"{dag.name}: not run yet"]
    state = doc.get("state", "?")
    if state == "running" and not _alive(int(doc.get("pid", 0))):
        state = "interrupted (the engine is gone; 'wfplan run' resumes)"
        doc["state"] = "interrupted"
    out: list[str] = []
    counts = doc.get("counts", {})
    total = doc.get("total", 0)
    running = sum(counts.get(k, 0) for k in ("pre", "job", "post"))
    waiting = sum(counts.get(k, 0) for k in ("waiting", "ready", "queued"))
    out.append(
        f"{dag.name}: {state}: {counts.get('done', 0)}/{total} done, {running} running, "
        f"{waiting} waiting, {counts.get('failed', 0)} failed, "
        f"{counts.get('unrunnable', 0)} unrunnable"
    )
    if doc["state"] == "running" and doc.get("running"):
        out.append("running: " + ", ".join(doc["running"]))
    if doc.get("rescue"):
        out.append(f"rescue file: {doc['rescue']}")
    return out
