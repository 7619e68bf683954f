"""``wfplan plan WF --dir SUBMIT_DIR ...``: plan a workflow into a DAGMan submit directory.

Validation and the passes run first (nothing is written when they fail); then the summary
table is printed and the emitter writes the submit directory atomically. ``--dry-run``
prints the summary only.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from planner.commands.common import (
    add_catalog_options,
    add_property_options,
    add_workflow_argument,
)

if TYPE_CHECKING:
    from catalogs.replica import ReplicaCatalog
    from planner.model.concrete import ConcreteWorkflow, Transfer
    from planner.plan import Catalogs, PlanOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workflow_argument(parser)
    add_catalog_options(parser)
    parser.add_argument("--dir", metavar="SUBMIT_DIR", help="submit directory to write")
    parser.add_argument(
        "--sites", metavar="A,B", help="execution site candidates (default: all but local)"
    )
    parser.add_argument("--output-site", default="local", help="where outputs go (default local)")
    parser.add_argument(
        "--staging-site",
        action="append",
        default=[],
        metavar="EXEC=STAGING",
        help="staging site per execution site (nonsharedfs); repeatable or comma separated",
    )
    parser.add_argument(
        "--data-configuration",
        choices=("sharedfs", "nonsharedfs", "condorio"),
        help="how data reaches jobs (default: site profile, properties, else condorio)",
    )
    parser.add_argument(
        "--cluster",
        metavar="horizontal[,label][,whole]|auto",
        help="clustering methods, left to right (whole: one cluster per site); auto: "
        "clusters.num per level chosen by simulation (docs/experiments.md)",
    )
    parser.add_argument(
        "--force", action="store_true", help="no data reuse (same as --reuse-scope none)"
    )
    parser.add_argument("--reuse-scope", choices=("full", "partial", "none"))
    parser.add_argument("--cleanup", choices=("inplace", "leaf", "none"))
    parser.add_argument("--site-selector", choices=("random", "round-robin", "group", "heft"))
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of the random site selector (default 0)"
    )
    parser.add_argument(
        "--output-rc", metavar="PATH", help="output replica catalog (SQLite; default in --dir)"
    )
    add_property_options(parser)
    parser.add_argument(
        "--submit-files",
        choices=("shared", "per-node"),
        default="shared",
        help="one .sub per kind/transformation/site with per-node DAG VARS (default), "
        "or one .sub per node as Pegasus writes",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="plan and print the summary; write nothing"
    )


def run(args: argparse.Namespace) -> int:
    return plan_into(args)


def plan_into(
    args: argparse.Namespace, *, replace: bool = False, dag_name: str | None = None
) -> int:
    """``wfplan plan``; ``replace`` an existing submit dir whole, and name the DAG (and the
    plan) ``dag_name`` instead of the workflow: what a sub-workflow's PRE script needs."""
    from planner.commands.common import load_for_planning, read_properties
    from planner.errors import PlannerError
    from planner.plan import plan

    if not args.dir and not args.dry_run:
        raise PlannerError("wfplan plan needs --dir SUBMIT_DIR (or --dry-run)")
    submit_dir = Path(args.dir or "submit").absolute()
    if not args.dry_run:
        from planner.emit import check_submit_dir

        check_submit_dir(submit_dir, replace)  # before any work: a refused --dir wastes none
    properties = read_properties(args)
    workflow, catalogs = load_for_planning(args, submit_dir.parent)
    options = options_from_args(args, submit_dir, properties)
    # What the summary and the writer need of the catalogs is taken now, and plan() gets
    # the only references to the workflow and the catalogs (a call takes its arguments
    # over): it lets the abstract jobs go once its passes are done with them, so they are
    # not alive while the rest of the plan is built and written (at 10^5 fan-out jobs
    # 145 MB of the 449 MB of objects alive when plan() returned).
    size_of = known_sizes(catalogs.replicas)
    # a sub-workflow node exists only for a sub-workflow job of the workflow
    wanted = workflow.subworkflows and not args.dry_run
    sub_catalogs = subworkflow_catalogs(catalogs) if wanted else {}
    workflows, given = [workflow], [catalogs]
    del workflow, catalogs
    cw = plan(workflows.pop(), given.pop(), options)
    if dag_name is not None:
        cw = dataclasses.replace(cw, name=dag_name)
    print_summary(cw, sys.stdout, size_of=size_of)
    if args.dry_run:
        return 0
    from planner.emit import write_submit_dir

    write_submit_dir(
        cw,
        submit_dir,
        # a sub-workflow's catalogs are its parent's, kept in the parent's submit dir
        catalog_files=catalog_files(args) if dag_name is None else {},
        emit_mode=args.submit_files,
        force=replace,
        subworkflow_catalogs=sub_catalogs if cw.subworkflows else {},
    )
    print(f"submit dir: {submit_dir}")
    return 0


def subworkflow_catalogs(catalogs: Catalogs) -> dict[str, str]:
    """The catalogs this plan used (files and inline ones merged, the default sites
    included), as YAML: a sub-workflow is planned with them."""
    from catalogs import replica_yaml, transformation_yaml
    from sites import site_yaml

    return {
        "rc": replica_yaml.dumps(catalogs.replicas),
        "tc": transformation_yaml.dumps(catalogs.transformations),
        "sc": site_yaml.dumps(catalogs.sites),
    }


def options_from_args(
    args: argparse.Namespace, submit_dir: Path, properties: Mapping[str, str]
) -> PlanOptions:
    from planner.errors import PlannerError
    from planner.model.concrete import DataConfiguration
    from planner.plan import PlanOptions

    staging: dict[str, str] = {}
    for item in _split(args.staging_site):
        exec_site, sep, staging_site = item.partition("=")
        if not sep or not exec_site or not staging_site:
            raise PlannerError(f"--staging-site {item!r}: expected EXEC=STAGING")
        staging[exec_site] = staging_site
    reuse = "none" if args.force else args.reuse_scope
    return PlanOptions(
        sites=tuple(_split([args.sites] if args.sites else [])),
        output_site=args.output_site,
        submit_dir=str(submit_dir),
        staging_sites=staging,
        data_configuration=DataConfiguration(args.data_configuration)
        if args.data_configuration
        else None,
        cluster=tuple(_split([args.cluster] if args.cluster else [])),
        reuse_scope=reuse,
        cleanup=args.cleanup,
        site_selector=args.site_selector,
        seed=args.seed,
        output_rc=str(Path(args.output_rc).absolute()) if args.output_rc else None,
        properties=dict(properties),
    )


def catalog_files(args: argparse.Namespace) -> dict[str, Path]:
    """The catalog files to copy into the submit dir, by a unique plain name."""
    paths = [*(args.rc or []), *([args.tc] if args.tc else []), *([args.sc] if args.sc else [])]
    if args.conf:
        paths.append(args.conf)
    out: dict[str, Path] = {}
    for i, raw in enumerate(paths):
        path = Path(raw)
        name = path.name if path.name not in out else f"{i}-{path.name}"
        out[name] = path
    return out


def _split(values: Sequence[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


SizeOf = Callable[["Transfer"], "int | None"]


def _declared(transfer: Transfer) -> int | None:
    return transfer.size


def known_sizes(replicas: ReplicaCatalog) -> SizeOf:
    """The size of a staged file, where known before the run: declared in the workflow
    (``size``), else in the replica catalog (metadata ``size``), else that of the local
    file it is copied from (``file://`` URLs; each file looked at once)."""
    from urllib.parse import unquote, urlsplit

    in_catalog: dict[str, int] = {}
    for rep in replicas.replicas:
        value = rep.metadata.get("size", "")
        if not rep.regex and value.isdigit() and rep.lfn not in in_catalog:
            in_catalog[rep.lfn] = int(value)
    on_disk: dict[str, int | None] = {}

    def size_of(transfer: Transfer) -> int | None:
        if transfer.size is not None:
            return transfer.size
        if transfer.lfn in in_catalog:
            return in_catalog[transfer.lfn]
        if not transfer.src or not transfer.src[0].startswith("file:"):
            return None
        url = transfer.src[0]
        if url not in on_disk:
            try:
                on_disk[url] = os.stat(unquote(urlsplit(url).path)).st_size
            except OSError:  # not there yet: a job's output, staged out after the run
                on_disk[url] = None
        return on_disk[url]

    return size_of


def data_configurations(cw: ConcreteWorkflow) -> dict[str, list[str]]:
    """Each data configuration in force and the execution sites it applies to."""
    from planner.model.concrete import NodeKind

    compute, cluster = NodeKind.COMPUTE, NodeKind.CLUSTER
    default = str(cw.options.get("data_configuration"))
    by_site: dict[str, str] = {}
    for node in cw.nodes:
        kind = node.kind
        if (kind is compute or kind is cluster) and node.site not in by_site:
            dc = node.data_configuration
            by_site[node.site] = dc.value if dc is not None else default
    out: dict[str, list[str]] = {}
    for site in sorted(by_site):
        out.setdefault(by_site[site], []).append(site)
    return out


def headline(cw: ConcreteWorkflow) -> str:
    """``workflow NAME: condorio at condorpool; sharedfs at hpc`` (each configuration
    with its sites), or the planned default when no job is left to run."""
    per_site = data_configurations(cw)
    if not per_site:
        return f"workflow {cw.name}: {cw.options.get('data_configuration')}"
    parts = [f"{dc} at {', '.join(sites)}" for dc, sites in sorted(per_site.items())]
    return f"workflow {cw.name}: {'; '.join(parts)}"


def summarize(cw: ConcreteWorkflow, size_of: SizeOf = _declared) -> list[str]:
    """The end-of-plan table: nodes by kind and site, pruned jobs, files staged, bytes;
    ``size_of`` gives the size of a staged file that declares none.

    One pass over the nodes, kinds compared by identity (an enum's ``.value`` is a
    Python-level lookup, 10^5 times per plan at 10^5 jobs)."""
    from planner.model.concrete import RECORD_SUFFIX, NodeKind

    stage_in, stage_inter, stage_out = NodeKind.STAGE_IN, NodeKind.STAGE_INTER, NodeKind.STAGE_OUT
    counts: dict[tuple[NodeKind, str], int] = {}
    jobs = staged = size = unknown = 0
    names: set[str] | None = None  # the node names, once a transfer may be a record
    for node in cw.nodes:
        kind = node.kind
        site = node.staging_site if node.site == "local" and node.staging_site else node.site
        key = (kind, site)
        counts[key] = counts.get(key, 0) + 1
        jobs += len(node.jobs)
        if kind is stage_in or kind is stage_inter or kind is stage_out:
            for transfer in node.files:
                lfn = transfer.lfn
                # integrity's checksum records (<node>.meta) are wfplan's own files, not
                # the workflow's
                if lfn.endswith(RECORD_SUFFIX):
                    names = {n.name for n in cw.nodes} if names is None else names
                    if lfn[: -len(RECORD_SUFFIX)] in names:
                        continue
                staged += 1
                # a declared size wins in every size_of: asked only when there is none
                known = transfer.size
                if known is None:
                    known = size_of(transfer)
                if known is None:
                    unknown += 1
                else:
                    size += known
    rows = sorted((kind.value, site, n) for (kind, site), n in counts.items())
    width = max([len(k) + len(s) + 3 for k, s, _ in rows] + [20])
    lines = [f"{'kind @ site':<{width}} {'nodes':>8}"]
    for kind_name, site, n in rows:
        lines.append(f"{kind_name + ' @ ' + site:<{width}} {n:>8}")
    lines.append(f"{'total nodes':<{width}} {len(cw.nodes):>8}")
    lines.append(f"{'jobs planned':<{width}} {jobs:>8}")
    lines.append(f"{'jobs pruned (reuse)':<{width}} {len(cw.pruned):>8}")
    lines.append(f"{'files staged':<{width}} {staged:>8}")
    lines.append(f"{'bytes staged (known)':<{width}} {size:>8}")
    if unknown:
        lines.append(f"{'files, size unknown':<{width}} {unknown:>8}")
    return lines


_CLUSTER_KEYS = ("clusters.size", "clusters.num", "clusters.maxruntime")


def notes(cw: ConcreteWorkflow) -> list[str]:
    """What the user asked for that quietly did nothing: ``--cluster horizontal`` with no
    profile saying how many jobs to merge (Pegasus's default is one job per cluster)."""
    from planner.model.base import Namespace

    if "horizontal" not in (cw.options.get("cluster") or ()):
        return []
    for node in cw.nodes:
        if node.kind.value in ("compute", "cluster"):
            pegasus = node.profiles.get(Namespace.PEGASUS)
            if pegasus and any(key in pegasus for key in _CLUSTER_KEYS):
                return []
    return [
        "note: --cluster horizontal merged nothing: no pegasus.clusters.size or "
        "pegasus.clusters.num is set (on the jobs, transformations or sites, or as a "
        "property such as -Dpegasus.clusters.size=10), and the default is one job per cluster"
    ]


def print_summary(cw: ConcreteWorkflow, out: TextIO, size_of: SizeOf = _declared) -> None:
    out.write(headline(cw) + "\n")
    out.write("\n".join([*summarize(cw, size_of), *notes(cw)]) + "\n")
