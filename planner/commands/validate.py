"""``wfplan validate WF [--rc F]... [--tc F] [--sc F]``: parse and check, all problems at once."""

from __future__ import annotations

import argparse

from planner.commands.common import (
    add_catalog_options,
    add_property_options,
    add_workflow_argument,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workflow_argument(parser)
    add_catalog_options(parser)
    add_property_options(parser)
    parser.epilog = (
        "Replicas are checked when a replica catalog is given (--rc or inline), "
        "transformations when a transformation catalog is (--tc or inline), and the "
        "sites they are installed at when a site catalog is too (--sc or inline). "
        "Prints 'ok: NAME: N jobs, M files' or one line per problem (exit code 1)."
    )


def run(args: argparse.Namespace) -> int:
    from planner.commands.common import load_catalogs, load_workflow, read_properties
    from planner.passes.validate import validate

    read_properties(args)  # the catalog files they name; their warnings
    workflow = load_workflow(args.workflow)
    catalogs = load_catalogs(args, workflow)
    replicas = catalogs.replicas
    if workflow.subworkflows:
        from planner.passes.subworkflows import check, future_replicas

        check(workflow)
        if replicas is not None:  # what sub-workflows write is no missing input
            later = future_replicas(workflow, "local", "file:///sub-workflow-outputs")
            replicas = replicas.merged(later)
    validate(
        workflow,
        replicas=replicas,
        transformations=catalogs.transformations,
        sites=catalogs.sites,
    )
    files = len({use.lfn for job in workflow.jobs for use in job.uses})
    subs = f", {len(workflow.subworkflows)} sub-workflows" if workflow.subworkflows else ""
    print(f"ok: {workflow.name}: {len(workflow.jobs)} jobs{subs}, {files} files")
    return 0
