"""``wfplan subplan REQUEST``: the PRE script of a sub-workflow node (issue 17).

``wfplan plan`` writes one request per ``pegasusWorkflow`` job (planner/emit/subdag.py);
when DAGMan (or ``wfplan run``) finds the node ready, this plans the sub-workflow into its
directory with the parent's catalogs, properties, output site and output replica catalog.
The parent's output replica catalog is searched first, so a sub-workflow reuses what the
parent or an earlier sibling produced.

A retried node runs its PRE script again. Like pegasus-plan for a sub-workflow, it plans
into the same directory, and keeps the plan already there when nothing it was planned
from has changed (the request, the workflow file, the catalogs): the sub-DAG's rescue
file and journal then stay valid and the sub-DAG resumes where it stopped. When the
workflow file or a catalog changed, it plans again, replacing the directory; data reuse
through the output replica catalog then prunes the jobs whose outputs were registered.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

STAMP = ".subplan"  # in the sub-workflow's directory: the digest it was planned from


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("request", metavar="REQUEST", help="the node's <node>.subwf.json")


def run(args: argparse.Namespace) -> int:
    from planner.commands.plan import add_arguments as plan_arguments
    from planner.commands.plan import plan_into

    request = _read(Path(args.request))
    target = Path(request["dir"])
    digest = _digest(Path(args.request), request)
    stamp = target / STAMP
    if (target / f"{request['dag']}.dag").is_file() and _text(stamp) == digest:
        print(f"sub-workflow {request['job']}: kept the plan in {target} (inputs unchanged)")
        return 0
    parser = argparse.ArgumentParser(prog="wfplan plan")
    plan_arguments(parser)
    code = plan_into(
        parser.parse_args(plan_argv(request)), replace=True, dag_name=str(request["dag"])
    )
    stamp.write_text(digest + "\n", encoding="utf-8")
    return code


def plan_argv(request: dict[str, Any]) -> list[str]:
    """The ``wfplan plan`` command line for a request: the parent's settings first, the
    sub-workflow's own arguments last (they win)."""
    argv = [str(request["workflow"]), "--dir", str(request["dir"])]
    output_rc = request.get("output_rc")
    if output_rc and Path(output_rc).is_file():
        argv += ["--rc", str(output_rc)]
    catalogs = request.get("catalogs") or {}
    if "rc" in catalogs:
        argv += ["--rc", catalogs["rc"]]
    for role in ("tc", "sc"):
        if role in catalogs:
            argv += [f"--{role}", catalogs[role]]
    argv += ["--output-site", str(request.get("output_site") or "local")]
    if output_rc:
        argv += ["--output-rc", str(output_rc)]
    for key, value in sorted((request.get("properties") or {}).items()):
        argv.append(f"-D{key}={value}")
    if request.get("data_configuration"):
        argv += ["--data-configuration", str(request["data_configuration"])]
    return [*argv, *request.get("arguments", [])]


def _read(path: Path) -> dict[str, Any]:
    from planner.errors import PlannerError

    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlannerError(f"cannot read sub-workflow request: {exc}", source=str(path))
    if not isinstance(value, dict) or not {"dir", "dag", "workflow", "job"} <= value.keys():
        raise PlannerError("not a sub-workflow request (dir, dag, workflow, job)", source=str(path))
    return value


def _digest(path: Path, request: dict[str, Any]) -> str:
    """sha256 over the request and every file it plans from, output catalog excepted
    (it grows as jobs finish, which is no reason to plan again)."""
    h = hashlib.sha256()
    for item in (
        path,
        Path(request["workflow"]),
        *map(Path, (request.get("catalogs") or {}).values()),
    ):
        h.update(str(item).encode() + b"\0")
        try:
            h.update(item.read_bytes())
        except OSError:
            h.update(b"\1missing")
    return h.hexdigest()


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
