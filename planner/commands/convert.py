"""``wfplan convert IN OUT``: read any supported format, write Pegasus 5.0 YAML."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="IN", help="workflow: .yml/.yaml, .xml/.dax or .json")
    parser.add_argument(
        "output",
        metavar="OUT",
        help="where to write; the extension picks the format: only .yml/.yaml (Pegasus 5.0 "
        "YAML) is writable, DAX and WfFormat are read-only",
    )


def run(args: argparse.Namespace) -> int:
    from planner.formats import check_writable, dump_workflow, load_workflow

    check_writable(args.output)
    workflow = load_workflow(args.input)
    dump_workflow(workflow, args.output)
    print(f"wrote {args.output}: {workflow.name}: {len(workflow.jobs)} jobs")
    return 0
