"""``wfplan info WF [--json]``: jobs by transformation, levels, inputs/outputs, sizes."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from planner.commands.common import add_workflow_argument

if TYPE_CHECKING:
    from planner.model.workflow import Workflow

SHOWN = 5  # file names shown per list in the text form


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workflow_argument(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON object instead")


def summary(workflow: Workflow) -> dict[str, Any]:
    """The facts ``info`` prints, as a JSON-ready dict (lists in workflow order)."""
    from planner.errors import CycleError
    from planner.model.graph import build_job_graph

    graph = build_job_graph(workflow)
    by_tx: dict[str, int] = {}
    for job in workflow.jobs:
        by_tx[job.transformation] = by_tx.get(job.transformation, 0) + 1
    sizes: dict[str, int | None] = {}
    for job in workflow.jobs:
        for use in job.uses:
            if sizes.get(use.lfn) is None:
                sizes[use.lfn] = use.size
    outputs = [lfn for lfn in graph.producer if lfn not in graph.consumers]
    try:
        levels: int | None = max(graph.levels().values(), default=0)
    except CycleError:
        levels = None  # a cycle: `wfplan validate` names it
    return {
        "name": workflow.name,
        "source": workflow.source,
        "jobs": len(workflow.jobs),
        "transformations": dict(sorted(by_tx.items(), key=lambda kv: (-kv[1], kv[0]))),
        "levels": levels,
        "edges": graph.number_of_edges(),
        "files": len(sizes),
        "bytes": sum(size for size in sizes.values() if size is not None),
        "inputs": graph.workflow_inputs(),
        "outputs": outputs,
    }


def _few(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f", ... ({len(items) - SHOWN} more)" if len(items) > SHOWN else "")


def format_text(info: dict[str, Any]) -> str:
    levels = info["levels"] if info["levels"] is not None else "n/a (the graph has a cycle)"
    lines = [
        f"workflow: {info['name']}",
        f"source: {info['source']}",
        f"jobs: {info['jobs']}",
        f"levels: {levels}",
        f"edges: {info['edges']}",
        f"files: {info['files']}",
        f"total bytes: {info['bytes']}",
        f"workflow inputs: {len(info['inputs'])}"
        + (f" ({_few(info['inputs'])})" if info["inputs"] else ""),
        f"workflow outputs: {len(info['outputs'])}"
        + (f" ({_few(info['outputs'])})" if info["outputs"] else ""),
        "jobs by transformation:",
    ]
    width = max((len(tx) for tx in info["transformations"]), default=0)
    lines += [f"  {tx:<{width}}  {n}" for tx, n in info["transformations"].items()]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from planner.commands.common import load_workflow

    info = summary(load_workflow(args.workflow))
    print(json.dumps(info, indent=2) if args.json else format_text(info))
    return 0
