"""``wfplan status SUBMIT_DIR``: progress counts of the latest run of a submit directory."""

from __future__ import annotations

import argparse
import json
import os


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
    if doc is None:
        print(f"{dag.name}: not run yet")
        return 0
    state = doc.get("state", "?")
    if state == "running" and not _alive(int(doc.get("pid", 0))):
        state = "interrupted (the engine is gone; 'wfplan run' resumes)"
        doc["state"] = "interrupted"
    if args.json:
        print(json.dumps(doc, indent=1))
        return 0
    counts = doc.get("counts", {})
    total = doc.get("total", 0)
    running = sum(counts.get(k, 0) for k in ("pre", "job", "post"))
    waiting = sum(counts.get(k, 0) for k in ("waiting", "ready", "queued"))
    print(
        f"{dag.name}: {state}: {counts.get('done', 0)}/{total} done, {running} running, "
        f"{waiting} waiting, {counts.get('failed', 0)} failed, "
        f"{counts.get('unrunnable', 0)} unrunnable"
    )
    if doc["state"] == "running" and doc.get("running"):
        print("running: " + ", ".join(doc["running"]))
    if doc.get("rescue"):
        print(f"rescue file: {doc['rescue']}")
    return 0
