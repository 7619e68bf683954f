"""The planner: the ordered pass pipeline, ``plan(workflow, catalogs, options)``.

Validation, then Pegasus's order: replica lookup + feasibility, data reuse, site selection,
clustering, replica selection + staging, registration, create-dir, cleanup. Every pass is
pure; this module only threads values through them and puts the concrete DAG in a
deterministic order (nodes by level, kind and name; edges sorted).

>>> from planner.model.workflow import Workflow
>>> plan(Workflow(name="empty", jobs=()), Catalogs(), PlanOptions()).nodes
()
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from itertools import chain
from operator import attrgetter, itemgetter
from typing import Any, Literal

from pydantic import Field

from catalogs.replica import ReplicaCatalog
from catalogs.transformation import TransformationCatalog
from planner.errors import CycleError, PlannerError
from planner.input_model import InputModel
from planner.model.auxiliary import MAXJOBS
from planner.model.concrete import ConcreteWorkflow, DataConfiguration, Node, NodeKind
from planner.model.generations import generations
from planner.model.graph import JobGraph, build_job_graph
from planner.model.staging import StagingOptions
from planner.model.workflow import Workflow
from planner.passes.cleanup import cleanup
from planner.passes.cluster import cluster
from planner.passes.create_dirs import create_dirs
from planner.passes.reduce import reduce
from planner.passes.register import register
from planner.passes.replicas import lookup_replicas
from planner.passes.select_replicas import select_replicas
from planner.passes.select_sites import Placement, normalise_selector, select_sites
from planner.passes.stage import stage
from planner.passes.staging_sites import staging_sites
from planner.passes.subworkflows import attach, future_replicas, through_edges, workflow_file_url
from planner.passes.subworkflows import check as check_subworkflows
from planner.passes.validate import validate
from planner.properties import as_profiles, truthy
from planner.site_dirs import SiteDirs
from planner.tools.deadlines import BadLimit, planned_limits
from sites.model import DirectoryType, SiteCatalog
from sites.style import SiteStyle, site_style

__all__ = ["Catalogs", "PlanOptions", "plan"]

_KIND_ORDER = {kind: i for i, kind in enumerate(NodeKind)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalogs:
    """The three catalogs a plan consults (the workflow's inline ones are merged after)."""

    replicas: ReplicaCatalog = field(default_factory=ReplicaCatalog)
    transformations: TransformationCatalog = field(default_factory=TransformationCatalog)
    sites: SiteCatalog = field(default_factory=SiteCatalog)


class PlanOptions(InputModel):
    """What ``wfplan plan`` was asked for. ``None`` means "from the properties, else
    Pegasus's default"; an explicit value beats both."""

    sites: tuple[str, ...] = ()  # execution site candidates; empty: all but local
    output_site: str = "local"
    submit_dir: str | None = None  # absolute; the default output RC lives there
    staging_sites: dict[str, str] = Field(default_factory=dict)  # exec -> staging
    data_configuration: DataConfiguration | None = None
    cluster: tuple[str, ...] = ()  # "horizontal", "label", "whole", applied left to right
    reuse_scope: Literal["full", "partial", "none"] | None = None
    cleanup: Literal["inplace", "leaf", "none"] | None = None
    site_selector: str | None = None
    seed: int | None = None  # None: pegasus.selector.site.seed, else 0
    output_rc: str | None = None
    properties: dict[str, str] = Field(default_factory=dict)


def plan(workflow: Workflow, catalogs: Catalogs, options: PlanOptions) -> ConcreteWorkflow:
    """Plan ``workflow``: validation first (same messages as ``wfplan validate``), then the
    passes. Raises a :class:`planner.errors.WfplanError` subclass on bad input."""
    rc, tc, sc = _merged(workflow, catalogs)
    sub_urls: dict[str, str] = {}
    if workflow.subworkflows:
        rc, sub_urls = _subworkflow_files(workflow, rc, sc, options.output_site)
        known = set(workflow.dependencies)
        extra = tuple(e for e in through_edges(workflow) if e not in known)
        if extra:
            workflow = replace(workflow, dependencies=workflow.dependencies + extra)
    graph = build_job_graph(workflow)
    _validate(workflow, rc, tc, sc, graph)
    props = options.properties
    transfer_http = _transfer_limits(props)
    try:
        topo = graph.topological_order()
    except CycleError as exc:
        raise CycleError(exc.message, source=workflow.source)
    levels = graph.levels(topo)

    # Every file the workflow names: read ones, then written ones (reuse needs those).
    # Feasibility (a replica for every raw input) was checked by validation.
    replicas = lookup_replicas(chain(graph.consumers, graph.producer), rc)

    scope = options.reuse_scope or props.get("pegasus.data.reuse.scope", "full").lower()
    if scope not in ("full", "partial", "none"):
        raise PlannerError(f"unknown data reuse scope {scope!r} (full, partial or none)")
    reduction = reduce(workflow, graph, replicas, scope, topo)
    pruned = reduction.pruned_ids
    jobs = workflow.job_by_id
    kept = [job for job in workflow.jobs if job.id not in pruned] if pruned else list(workflow.jobs)

    candidates = list(options.sites) or [s for s in sc.names if s != "local"]
    selector = options.site_selector or props.get("pegasus.selector.site", "random")
    seed = (
        options.seed
        if options.seed is not None
        else (_int(props.get("pegasus.selector.site.seed")) or 0)
    )
    prop_profiles = as_profiles(props)
    placements = select_sites(
        workflow,
        graph,
        kept,
        tc,
        sc,
        candidates,
        selector=normalise_selector(selector),
        seed=seed,
        properties=prop_profiles,
        topo_order=topo,
    )
    site_styles = _site_styles(placements.values(), sc)
    # each job's index in the topological order: cluster members run in it
    position = dict(zip(topo, range(len(topo)), strict=True)) if options.cluster else None
    auto_lines: tuple[str, ...] = ()
    if "auto" in options.cluster:
        # --cluster auto (issue 6, planner/passes/autocluster.py): clusters.num per
        # horizontal group chosen by simulated makespan; recorded in options below.
        from planner.passes.autocluster import plan_auto_cluster

        units, auto_lines = plan_auto_cluster(
            kept, levels, placements, graph.edges(), sc, options.cluster, props, position
        )
    else:
        units = cluster(kept, levels, placements, options.cluster, position)

    staging = _staging_options(workflow.name, options, props)
    layout = staging_sites(units, placements, sc, staging)
    chosen = select_replicas(jobs, graph, layout, pruned, replicas, staging)
    staged, why = stage(
        jobs, graph, units, placements, pruned, layout, chosen, rc.checksums.get, sc, staging
    )
    to_register = {
        use.lfn for job in kept for use in job.outputs if use.stage_out and use.register_replica
    }
    clustered_jobs = sum(len(u.jobs) for u in units if u.clustered)
    # The job graph, placements and units are not needed after staging; at 10^6 jobs they
    # are about a gigabyte that would otherwise stay alive through the peak (cleanup).
    del graph, placements, units, kept, levels, position, topo, replicas, layout, chosen
    staged = register(staged, to_register, options.output_site, staging.retry)
    del to_register
    staged = create_dirs(staged, workflow.name, staging.retry)
    cleanup_scope = options.cleanup or props.get("pegasus.file.cleanup.scope", "inplace")
    staged = cleanup(
        staged,
        workflow.name,
        cleanup_scope if cleanup_scope in ("inplace", "leaf", "none") else "inplace",
        clusters_num=_int(props.get("pegasus.file.cleanup.clusters.num")),
        clusters_size=_int(props.get("pegasus.file.cleanup.clusters.size")),
        retry=staging.retry,
    )
    # The residency map (one entry per file and site) is only for cleanup: dropped before
    # the final ordering builds its own maps over every node and edge.
    nodes_in, edges_in = staged.nodes, staged.edges
    del staged
    nodes, edges = _finalise(nodes_in, edges_in, workflow)
    del nodes_in, edges_in
    for p in reduction.pruned:
        why[p.job] = (f"pruned: {p.reason}", *why.get(p.job, ()))
    record: dict[str, Any] = {
        "sites": candidates,
        "output_site": options.output_site,
        "data_configuration": staging.data_configuration.value,
        "staging_sites": dict(sorted(options.staging_sites.items())),
        "cluster": list(options.cluster),
        "reuse_scope": scope,
        "cleanup": cleanup_scope,
        "site_selector": normalise_selector(selector),
        "seed": seed,
        "output_rc": _output_rc(workflow.name, options),
        "dagman_maxjobs": dict(MAXJOBS),
        "integrity": staging.integrity,
        "clustered_jobs": clustered_jobs,
    }
    if auto_lines:  # --cluster auto: why these cluster counts (issue 6)
        record["cluster_auto"] = list(auto_lines)
    if options.submit_dir is not None:
        record["submit_dir"] = options.submit_dir
    if transfer_http:  # only when asked, so plans without it keep their bytes
        record["transfer_http"] = transfer_http
    if workflow.subworkflows:  # what their PRE scripts plan with (issue 17)
        record["properties"] = dict(sorted(props.items()))
    cw = ConcreteWorkflow(
        name=workflow.name,
        nodes=nodes,
        edges=edges,
        pruned=reduction.pruned,
        options=record,
        # in plan order (deterministic); plan.json sorts them by job id
        decisions=why,
        site_styles=site_styles,
    )
    return attach(cw, workflow, sub_urls, staging.retry)


def _subworkflow_files(
    workflow: Workflow, rc: ReplicaCatalog, sc: SiteCatalog, output_site: str
) -> tuple[ReplicaCatalog, dict[str, str]]:
    """The replica catalog with the sub-workflows' outputs where they will be staged out
    to, and each sub-workflow's file (a file a job of this workflow writes is read from
    the output site, where it is staged out to)."""
    check_subworkflows(workflow)
    made = {u.lfn for job in workflow.jobs for u in job.uses if u.is_output and u.stage_out}
    needs_storage = made or any(sub.outputs for sub in workflow.subworkflows)
    out_url = SiteDirs(sc).url(output_site, DirectoryType.LOCAL_STORAGE)[0] if needs_storage else ""
    urls = {
        sub.id: f"{out_url}/{sub.file}"
        if sub.file in made and not rc.has(sub.file)
        else workflow_file_url(sub, rc, workflow.source)
        for sub in workflow.subworkflows
    }
    future = future_replicas(workflow, output_site, out_url)
    return (rc.merged(future) if future.replicas else rc), urls


def _merged(
    workflow: Workflow, catalogs: Catalogs
) -> tuple[ReplicaCatalog, TransformationCatalog, SiteCatalog]:
    rc, tc, sc = catalogs.replicas, catalogs.transformations, catalogs.sites
    if workflow.replica_catalog is not None:
        rc = rc.merged(workflow.replica_catalog) if rc.replicas else workflow.replica_catalog
    if workflow.transformation_catalog is not None:
        tc = (
            tc.merged(workflow.transformation_catalog)
            if tc.transformations
            else workflow.transformation_catalog
        )
    if workflow.site_catalog is not None:
        listed = {s.name for s in sc.sites}
        extra = tuple(s for s in workflow.site_catalog.sites if s.name not in listed)
        if extra:
            sc = SiteCatalog(
                sites=sc.sites + extra, source=sc.source or workflow.site_catalog.source
            )
    return rc, tc, sc


def _site_styles(placements: Iterable[Placement], sc: SiteCatalog) -> dict[str, SiteStyle]:
    """The style of every site a job was placed on (``local`` runs jobs in the local
    universe whatever its profiles say). A site whose style lacks what it needs (a grids
    entry) is refused here, naming the site and the catalog, before anything is written."""
    used = set(map(_SITE_OF, placements))
    used.discard("local")
    styles: dict[str, SiteStyle] = {}
    for name in sorted(used):
        site = sc.get(name)
        if site is not None:
            styles[name] = site_style(site, sc.source)
    return styles


_SITE_OF = itemgetter(0)  # Placement.site, at C speed


def _validate(
    workflow: Workflow,
    rc: ReplicaCatalog,
    tc: TransformationCatalog,
    sc: SiteCatalog,
    graph: JobGraph,
) -> None:
    validate(workflow, replicas=rc, transformations=tc, graph=graph, sites=sc)


def _staging_options(name: str, options: PlanOptions, props: Mapping[str, str]) -> StagingOptions:
    if options.data_configuration is not None:
        dc = options.data_configuration
    else:
        value = props.get("pegasus.data.configuration", "condorio").strip().lower()
        try:
            dc = DataConfiguration(value)
        except ValueError:
            raise PlannerError(
                f"pegasus.data.configuration {value!r} is not one of sharedfs, nonsharedfs, condorio"
            )
    return StagingOptions(
        workflow=name,
        output_site=options.output_site,
        data_configuration=dc,
        force_data_configuration=options.data_configuration is not None,
        staging_sites=options.staging_sites,
        replica_selector=props.get("pegasus.selector.replica", "default"),
        bypass_input_staging=truthy(props.get("pegasus.transfer.bypass.input.staging")),
        stagein_clusters=_int(props.get("pegasus.stagein.clusters")),
        stageout_clusters=_int(props.get("pegasus.stageout.clusters")),
        retry=props.get("dagman.retry", "1"),
        properties=props,
        integrity=_integrity(props),
    )


def _transfer_limits(props: Mapping[str, str]) -> dict[str, Any]:
    """The ``pegasus.transfer.http.*`` properties as the transfer manifests' ``"http"``."""
    try:
        return planned_limits(props, "the properties")
    except BadLimit as exc:
        raise PlannerError(str(exc))


INTEGRITY_LEVELS = ("full", "nosymlink", "none")


def _integrity(props: Mapping[str, str]) -> str:
    value = props.get("pegasus.integrity.checking", "full").strip().lower()
    if value not in INTEGRITY_LEVELS:
        raise PlannerError(
            f"pegasus.integrity.checking {value!r} is not one of {', '.join(INTEGRITY_LEVELS)}"
        )
    return value


def _output_rc(name: str, options: PlanOptions) -> str:
    if options.output_rc:
        return os.path.abspath(options.output_rc)
    base = options.submit_dir or "."
    return os.path.abspath(os.path.join(base, f"{name}-outputs.db"))


def _int(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise PlannerError(f"property value {value!r} is not an integer")


def _finalise(
    staged_nodes: tuple[Node, ...], staged_edges: tuple[tuple[str, str], ...], workflow: Workflow
) -> tuple[tuple[Node, ...], tuple[tuple[str, str], ...]]:
    """Levels over the concrete DAG (roots are 1), a cycle check, a stable order."""
    index = dict(zip(map(_BY_NAME, staged_nodes), range(len(staged_nodes)), strict=True))
    if len(index) != len(staged_nodes):
        count = Counter(n.name for n in staged_nodes)
        twice = next(name for name, k in count.items() if k > 1)
        raise PlannerError(
            f"two DAG nodes would share the name {twice!r} (job ids that differ only "
            "in characters other than letters, digits, '_' and '-')",
            source=workflow.source,
        )
    # Passes emit edges in a deterministic order and never the same edge twice (staging
    # keeps its edges in a dict; every later pass only adds edges into its own new nodes),
    # so there is nothing to deduplicate: hashing 10^7 edges would cost seconds.
    edges = staged_edges
    by_index = index.__getitem__
    levels, stuck = generations(
        len(staged_nodes),
        map(by_index, map(_PARENT, edges)),
        map(by_index, map(_CHILD, edges)),
        len(edges),
    )
    del index
    nodes: list[Node] = []
    for depth, generation in enumerate(levels, start=1):
        placed = list(map(staged_nodes.__getitem__, generation))
        placed = [node if node.level == depth else replace(node, level=depth) for node in placed]
        nodes += _by_kind_and_name(placed)
    if stuck:
        raise CycleError(
            "clustering would create a cycle in the concrete DAG (a label or whole-workflow "
            "cluster spans jobs with other jobs between them); nodes involved include "
            f"{', '.join(sorted(staged_nodes[i].name for i in stuck)[:5])}",
            source=workflow.source,
        )
    return tuple(nodes), edges


_BY_NAME = attrgetter("name")
_KIND_OF = attrgetter("kind")
_PARENT, _CHILD = itemgetter(0), itemgetter(1)


def _by_kind_and_name(placed: list[Node]) -> list[Node]:
    """``placed`` sorted by (kind in NodeKind order, name), with C-level sort keys: one
    level of a large plan holds 10^5-10^6 nodes of one or two kinds."""
    kinds = list(map(_KIND_OF, placed))
    first = kinds[0]
    if kinds.count(first) == len(kinds):
        placed.sort(key=_BY_NAME)
        return placed
    # one pass to group (each kind read once: a read of a model's field is not cheap)
    groups: dict[NodeKind, list[Node]] = {}
    for kind, node in zip(kinds, placed, strict=True):
        same = groups.get(kind)
        if same is None:
            groups[kind] = [node]
        else:
            same.append(node)
    out: list[Node] = []
    for kind in sorted(groups, key=_KIND_ORDER.__getitem__):
        same = groups[kind]
        same.sort(key=_BY_NAME)
        out += same
    return out
