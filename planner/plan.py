"""The planner: ``plan(workflow, catalogs, options)``, an ordered pipeline of passes.

Each pass is a function ``name(state, ctx) -> state``: ``ctx`` (:class:`PlanContext`,
planner/plan_context.py) holds every option and property, resolved once before the first
pass; :class:`PlanState` holds what the passes have made so far and is never changed in
place (each pass returns a copy with its own fields set, ``dataclasses.replace``).
:data:`PASSES` lists them in Pegasus's order: catalogs, sub-workflow files, the job graph,
validation, replica lookup, data reuse, site selection, clustering, replica selection and
staging, registration, create-dir, cleanup, the final ordering (nodes by level, kind and
name), the plan record, sub-workflow nodes. docs/planning.md describes each one.

>>> from planner.model.workflow import Workflow
>>> plan(Workflow(name="empty", jobs=()), Catalogs(), PlanOptions()).nodes
()
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from operator import attrgetter, itemgetter
from typing import Any, TypeVar, cast

from catalogs.replica import PFN, ReplicaCatalog
from catalogs.transformation import TransformationCatalog
from planner.errors import CycleError, PlannerError
from planner.grouping import by_key
from planner.model.auxiliary import MAXJOBS
from planner.model.concrete import ConcreteWorkflow, Node, NodeKind, at_level
from planner.model.edges import Edges
from planner.model.generations import generations
from planner.model.graph import JobGraph, build_job_graph
from planner.model.placement import Placement
from planner.model.staging import ReplicaSelection, StagePlan, StagingLayout
from planner.model.workflow import Job, Workflow
from planner.passes.cleanup import cleanup
from planner.passes.cluster import Unit, cluster
from planner.passes.create_dirs import create_dirs
from planner.passes.reduce import Reduction, reduce
from planner.passes.register import register
from planner.passes.replicas import lookup_replicas
from planner.passes.select_replicas import select_replicas
from planner.passes.select_sites import select_sites
from planner.passes.stage import file_maps, group_transfers, request_transfers, unit_edges
from planner.passes.staging_sites import staging_sites
from planner.passes.subworkflows import attach, future_replicas, through_edges, workflow_file_url
from planner.passes.subworkflows import check as check_subworkflows
from planner.passes.validate import validate
from planner.plan_context import PlanContext, PlanOptions, plan_context
from planner.site_dirs import SiteDirs
from planner.staging.context import Requested
from sites.model import DirectoryType, SiteCatalog
from sites.style import SiteStyle, site_style

__all__ = ["PASSES", "Catalogs", "PlanOptions", "PlanState", "plan"]

_KIND_ORDER = {kind: i for i, kind in enumerate(NodeKind)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalogs:
    """The three catalogs a plan consults (the workflow's inline ones are merged after)."""

    replicas: ReplicaCatalog = field(default_factory=ReplicaCatalog)
    transformations: TransformationCatalog = field(default_factory=TransformationCatalog)
    sites: SiteCatalog = field(default_factory=SiteCatalog)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanState:
    """What the passes have made so far. A value a later pass no longer needs is set back
    to ``None`` by the pass that used it last: at 10^6 jobs the job graph, placements and
    units are about a gigabyte that would otherwise stay alive through cleanup."""

    workflow: Workflow
    catalogs: Catalogs  # the given ones merged with the workflow's inline catalogs
    sub_urls: Mapping[str, str] = field(default_factory=dict)  # sub-workflow id -> its file
    graph: JobGraph | None = None
    topo: tuple[str, ...] = ()  # job ids, parents first
    levels: Mapping[str, int] = field(default_factory=dict)
    replicas: Mapping[str, tuple[PFN, ...]] = field(default_factory=dict)
    reduction: Reduction | None = None
    kept: tuple[Job, ...] = ()  # the jobs data reuse did not prune, in workflow order
    candidates: tuple[str, ...] = ()  # execution sites considered
    placements: Mapping[str, Placement] = field(default_factory=dict)
    site_styles: Mapping[str, SiteStyle] = field(default_factory=dict)
    units: tuple[Unit, ...] = ()
    auto_lines: tuple[str, ...] = ()  # --cluster auto: why these cluster counts
    layout: StagingLayout | None = None  # each unit's staging site and directories
    chosen: ReplicaSelection | None = None  # the replicas each staging site reads
    requested: Requested | None = None  # staging's files to move, not yet in nodes
    staged: StagePlan | None = None
    why: dict[str, tuple[str, ...]] = field(default_factory=dict)  # job id -> decisions
    to_register: frozenset[str] = frozenset()
    clustered_jobs: int = 0
    nodes: tuple[Node, ...] = ()
    edges: Sequence[tuple[str, str]] = ()  # an Edges from staging on
    result: ConcreteWorkflow | None = None


Pass = Callable[[PlanState, PlanContext], PlanState]
_T = TypeVar("_T")


def _made(value: _T | None, what: str) -> _T:
    """``value``, which an earlier pass made (the pipeline's order guarantees it)."""
    if value is None:
        raise PlannerError(f"internal: the plan has no {what} yet (pass order)")
    return value


def plan(workflow: Workflow, catalogs: Catalogs, options: PlanOptions) -> ConcreteWorkflow:
    """Plan ``workflow``: validation first (same messages as ``wfplan validate``), then the
    passes. Raises a :class:`planner.errors.WfplanError` subclass on bad input."""
    ctx = plan_context(workflow.name, options)
    # Each pass is handed the only reference to the state: the list is emptied before the
    # call, and a call takes its arguments over. A pass can so let go of a large value it
    # has read (the final ordering frees each old node as it makes its new one, instead
    # of holding two copies of every node). Nothing else depends on it.
    held = [PlanState(workflow=workflow, catalogs=catalogs)]
    del workflow, catalogs  # the state's alone, when the caller handed over its own
    for step in PASSES:
        held.append(step(held.pop(), ctx))
    return _made(held[0].result, "concrete workflow")


def merge_catalogs(state: PlanState, ctx: PlanContext) -> PlanState:
    """The given catalogs with the workflow's inline ones (the given ones win)."""
    workflow, given = state.workflow, state.catalogs
    rc, tc, sc = given.replicas, given.transformations, given.sites
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
    return replace(state, catalogs=Catalogs(replicas=rc, transformations=tc, sites=sc))


def subworkflow_files(state: PlanState, ctx: PlanContext) -> PlanState:
    """Sub-workflow jobs: checked; the files they will write added to the replica catalog
    where they will be staged out to; each one's workflow file; the edges through them."""
    workflow = state.workflow
    if not workflow.subworkflows:
        return state
    rc, sc = state.catalogs.replicas, state.catalogs.sites
    output_site = ctx.options.output_site
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
    known = set(workflow.dependencies)
    extra = tuple(e for e in through_edges(workflow) if e not in known)
    if extra:
        workflow = replace(workflow, dependencies=workflow.dependencies + extra)
    catalogs = replace(state.catalogs, replicas=rc.merged(future)) if future.replicas else None
    return replace(state, workflow=workflow, sub_urls=urls, catalogs=catalogs or state.catalogs)


def job_graph(state: PlanState, ctx: PlanContext) -> PlanState:
    """The job graph (explicit and file edges) with its topological generations."""
    return replace(state, graph=build_job_graph(state.workflow))


def check_workflow(state: PlanState, ctx: PlanContext) -> PlanState:
    """Validation, as ``wfplan validate`` does it; then the order and levels of the jobs."""
    c, graph = state.catalogs, _made(state.graph, "job graph")
    validate(
        state.workflow,
        replicas=c.replicas,
        transformations=c.transformations,
        graph=graph,
        sites=c.sites,
    )
    try:
        topo = graph.topological_order()
    except CycleError as exc:
        raise CycleError(exc.message, source=state.workflow.source)
    return replace(state, topo=topo, levels=graph.levels())


def find_replicas(state: PlanState, ctx: PlanContext) -> PlanState:
    """Every file the workflow names: read ones, then written ones (reuse needs those).
    Feasibility (a replica for every raw input) was checked by validation."""
    graph = _made(state.graph, "job graph")
    found = lookup_replicas(chain(graph.consumers, graph.producer), state.catalogs.replicas)
    return replace(state, replicas=found)


def reuse_data(state: PlanState, ctx: PlanContext) -> PlanState:
    """Data reuse: jobs whose outputs exist already are pruned."""
    workflow, graph = state.workflow, _made(state.graph, "job graph")
    reduction = reduce(workflow, graph, state.replicas, ctx.reuse_scope, state.topo)
    pruned = reduction.pruned_ids
    kept = tuple(job for job in workflow.jobs if job.id not in pruned) if pruned else workflow.jobs
    return replace(state, reduction=reduction, kept=kept)


def place_jobs(state: PlanState, ctx: PlanContext) -> PlanState:
    """Site selection for the kept jobs, and the style of every site used."""
    sc = state.catalogs.sites
    candidates = ctx.options.sites or tuple(s for s in sc.names if s != "local")
    placements = select_sites(
        state.workflow,
        _made(state.graph, "job graph"),
        state.kept,
        state.catalogs.transformations,
        sc,
        list(candidates),
        selector=ctx.site_selector,
        seed=ctx.seed,
        properties=ctx.profiles,
        topo_order=state.topo,
    )
    styles = _site_styles(placements.values(), sc)
    return replace(state, candidates=candidates, placements=placements, site_styles=styles)


def cluster_jobs(state: PlanState, ctx: PlanContext) -> PlanState:
    """Clustering: the units (compute or cluster nodes to be) of the kept jobs."""
    methods = ctx.options.cluster
    # each job's index in the topological order: cluster members run in it
    position = dict(zip(state.topo, range(len(state.topo)), strict=True)) if methods else None
    if "auto" not in methods:
        units = cluster(state.kept, state.levels, state.placements, methods, position)
        return replace(state, units=tuple(units))
    # --cluster auto (issue 6, planner/passes/autocluster.py): clusters.num per horizontal
    # group chosen by simulated makespan; the reasons go into the plan record.
    from planner.passes.autocluster import plan_auto_cluster

    auto_units, lines = plan_auto_cluster(
        state.kept,
        state.levels,
        state.placements,
        _made(state.graph, "job graph").edges(),
        state.catalogs.sites,
        methods,
        ctx.auto_slots,
        ctx.auto_overhead,
        position,
    )
    return replace(state, units=tuple(auto_units), auto_lines=lines)


def choose_staging_sites(state: PlanState, ctx: PlanContext) -> PlanState:
    """Each unit's data configuration, staging site and working directories."""
    layout = staging_sites(list(state.units), state.placements, state.catalogs.sites, ctx.staging)
    return replace(state, layout=layout)


def choose_replicas(state: PlanState, ctx: PlanContext) -> PlanState:
    """For each raw input and staging site reading it, the replicas ranked by
    ``pegasus.selector.replica``."""
    chosen = select_replicas(
        state.workflow.job_by_id,
        _made(state.graph, "job graph"),
        _made(state.layout, "staging layout"),
        _made(state.reduction, "data reuse").pruned_ids,
        state.replicas,
        ctx.staging,
    )
    return replace(state, chosen=chosen, replicas={})


def stage_files(state: PlanState, ctx: PlanContext) -> PlanState:
    """Staging, first half: the compute and cluster nodes and the files to move. What
    only staging reads leaves the state first (see PlanState), and the job graph is cut
    down to its file maps once the units' edges are made: plan() hands a pass the only
    reference to the state, so these are freed as staging goes, not after it."""
    graph, layout = _made(state.graph, "job graph"), _made(state.layout, "staging layout")
    units, pruned = list(state.units), _made(state.reduction, "data reuse").pruned_ids
    edges = unit_edges(graph, units, pruned, layout.unit_of)
    files = file_maps(graph)
    del graph
    placements, chosen = state.placements, _made(state.chosen, "replica selection")
    state = replace(
        state,
        to_register=frozenset(
            use.lfn
            for job in state.kept
            for use in job.outputs
            if use.stage_out and use.register_replica
        ),
        clustered_jobs=sum(len(u.jobs) for u in units if u.clustered),
        graph=None,
        placements={},
        units=(),
        kept=(),
        levels={},
        topo=(),
        layout=None,
        chosen=None,
    )
    requested = request_transfers(
        state.workflow.job_by_id,
        files,
        units,
        placements,
        pruned,
        layout,
        chosen,
        state.catalogs.replicas.checksums.get,
        state.catalogs.sites,
        ctx.staging,
        edges,
    )
    return replace(state, requested=requested)


def group_transfer_nodes(state: PlanState, ctx: PlanContext) -> PlanState:
    """Staging, second half: the files to move grouped into transfer nodes. The abstract
    jobs were last read by the first half (see :func:`_without_jobs`)."""
    requested = _made(state.requested, "transfer requests")
    state = replace(state, requested=None, workflow=_without_jobs(state.workflow))
    staged, why = group_transfers(requested, ctx.staging)
    return replace(state, staged=staged, why=why)


def _without_jobs(workflow: Workflow) -> Workflow:
    """The workflow as the passes after staging read it: its name and source (and its
    sub-workflows, whose nodes' edges need the jobs: then it is kept whole). Cleanup and
    the final ordering, which make the plan's last large values, can so reuse the jobs'
    memory (a third of what a fan-out plan holds after staging)."""
    if workflow.subworkflows:
        return workflow
    return Workflow(name=workflow.name, jobs=(), source=workflow.source)


def register_outputs(state: PlanState, ctx: PlanContext) -> PlanState:
    """Registration nodes for the outputs to record in the output replica catalog."""
    staged = _made(state.staged, "staging plan")
    out = register(staged, state.to_register, ctx.options.output_site, ctx.staging.retry)
    return replace(state, staged=out, to_register=frozenset())


def create_directories(state: PlanState, ctx: PlanContext) -> PlanState:
    """Create-dir nodes: each site directory made before anything is written there."""
    staged = _made(state.staged, "staging plan")
    out = create_dirs(staged, state.workflow.name, ctx.staging.retry)
    return replace(state, staged=out)


def clean_up(state: PlanState, ctx: PlanContext) -> PlanState:
    """Cleanup nodes: each staged file removed once its last reader is done. The staging
    plan's residency map (one entry per file and site) is only for cleanup: cleanup
    empties it as it makes the removals (``consume``), and from here on the state holds
    the nodes and edges alone."""
    out = cleanup(
        _made(state.staged, "staging plan"),
        state.workflow.name,
        ctx.cleanup_scope,
        clusters_num=ctx.cleanup_clusters_num,
        clusters_size=ctx.cleanup_clusters_size,
        retry=ctx.staging.retry,
        consume=True,
    )
    return replace(state, staged=None, nodes=out.nodes, edges=out.edges)


def order_nodes(state: PlanState, ctx: PlanContext) -> PlanState:
    """Levels over the concrete DAG, a cycle check and the stable order."""
    staged: list[Node | None] = list(state.nodes)
    edges, workflow = [state.edges], state.workflow
    state = replace(state, nodes=(), edges=())  # nodes and edges are in the lists alone
    nodes, final_edges = _finalise(staged, edges, workflow)
    return replace(state, nodes=nodes, edges=final_edges)


def record(state: PlanState, ctx: PlanContext) -> PlanState:
    """The concrete workflow with the plan record's options and each job's decisions."""
    reduction = _made(state.reduction, "data reuse")
    why = dict(state.why) if reduction.pruned else state.why
    for p in reduction.pruned:
        why[p.job] = (f"pruned: {p.reason}", *why.get(p.job, ()))
    cw = ConcreteWorkflow(
        name=state.workflow.name,
        nodes=state.nodes,
        edges=state.edges,
        pruned=reduction.pruned,
        options=_record_options(state, ctx),
        # in plan order (deterministic); plan.json sorts them by job id
        decisions=why,
        site_styles=dict(state.site_styles),
    )
    return replace(state, result=cw, nodes=(), edges=(), why={})


def attach_subworkflows(state: PlanState, ctx: PlanContext) -> PlanState:
    """Each sub-workflow job as a ``SUBDAG EXTERNAL`` node with its edges."""
    cw = _made(state.result, "concrete workflow")
    return replace(
        state, result=attach(cw, state.workflow, dict(state.sub_urls), ctx.staging.retry)
    )


PASSES: tuple[Pass, ...] = (
    merge_catalogs,
    subworkflow_files,
    job_graph,
    check_workflow,
    find_replicas,
    reuse_data,
    place_jobs,
    cluster_jobs,
    choose_staging_sites,
    choose_replicas,
    stage_files,
    group_transfer_nodes,
    register_outputs,
    create_directories,
    clean_up,
    order_nodes,
    record,
    attach_subworkflows,
)


def _record_options(state: PlanState, ctx: PlanContext) -> dict[str, Any]:
    """The plan record's ``options``: what this plan was asked for, resolved."""
    options, staging = ctx.options, ctx.staging
    out: dict[str, Any] = {
        "sites": list(state.candidates),
        "output_site": options.output_site,
        "data_configuration": staging.data_configuration.value,
        "staging_sites": dict(sorted(options.staging_sites.items())),
        "cluster": list(options.cluster),
        "reuse_scope": ctx.reuse_scope,
        "cleanup": ctx.cleanup_scope,
        "site_selector": ctx.site_selector,
        "seed": ctx.seed,
        "output_rc": ctx.output_rc,
        "dagman_maxjobs": dict(MAXJOBS),
        "integrity": staging.integrity,
        "clustered_jobs": state.clustered_jobs,
    }
    if state.auto_lines:  # --cluster auto: why these cluster counts (issue 6)
        out["cluster_auto"] = list(state.auto_lines)
    if options.submit_dir is not None:
        out["submit_dir"] = options.submit_dir
    if ctx.transfer_http:  # only when asked, so plans without it keep their bytes
        out["transfer_http"] = ctx.transfer_http
    if state.workflow.subworkflows:  # what their PRE scripts plan with (issue 17)
        out["properties"] = dict(sorted(ctx.properties.items()))
    return out


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


def _finalise(
    staged_nodes: list[Node | None],
    staged_edges: list[Sequence[tuple[str, str]]],
    workflow: Workflow,
) -> tuple[tuple[Node, ...], Edges]:
    """Levels over the concrete DAG (roots are 1), a cycle check, a stable order.

    ``staged_nodes`` is used up: each node is dropped from it once placed, so that an old
    node is freed as its copy at the final level is made. ``staged_edges`` holds the
    edges alone and is emptied, so that their builders' name index (a dict over every
    node) is freed before the generations, where a 10^5-job plan peaks."""
    index = dict(zip(map(_BY_NAME, staged_nodes), range(len(staged_nodes)), strict=True))
    if len(index) != len(staged_nodes):
        count = Counter(n.name for n in staged_nodes if n is not None)
        twice = next(name for name, k in count.items() if k > 1)
        raise PlannerError(
            f"two DAG nodes would share the name {twice!r} (job ids that differ only "
            "in characters other than letters, digits, '_' and '-')",
            source=workflow.source,
        )
    # Passes emit edges in a deterministic order and never the same edge twice (staging
    # keeps a set of the edges that may repeat; every later pass only adds edges into its
    # own new nodes), so there is nothing to deduplicate: hashing 10^7 edges would cost
    # seconds. The edges number their own names: each one's position among the nodes.
    given = staged_edges.pop()
    edges = given if isinstance(given, Edges) else Edges.of(given)
    del given
    # the final value is one segment, without the builders' name index
    edges = Edges(edges.names, edges.parents, edges.children)
    at = list(map(index.__getitem__, edges.names)).__getitem__
    del index
    # as arrays of 4-byte indices, which the generations read in place; the index list
    # (an int object per node) goes first
    parents, children = array("I", map(at, edges.parents)), array("I", map(at, edges.children))
    del at
    levels, stuck = generations(len(staged_nodes), parents, children, len(edges))
    del parents, children
    nodes: list[Node] = []
    for depth, generation in enumerate(levels, start=1):
        placed = cast(list[Node], list(map(staged_nodes.__getitem__, generation)))
        for i in generation:
            staged_nodes[i] = None
        for k, node in enumerate(placed):
            if node.level != depth:
                placed[k] = at_level(node, depth)  # the old node goes now
        nodes += _by_kind_and_name(placed)
    if stuck:
        names = sorted(cast(Node, staged_nodes[i]).name for i in stuck)
        raise CycleError(
            "clustering would create a cycle in the concrete DAG (a label or whole-workflow "
            "cluster spans jobs with other jobs between them); nodes involved include "
            f"{', '.join(names[:5])}",
            source=workflow.source,
        )
    return tuple(nodes), edges


_BY_NAME = attrgetter("name")
_KIND_OF = attrgetter("kind")


def _by_kind_and_name(placed: list[Node]) -> list[Node]:
    """``placed`` sorted by (kind in NodeKind order, name), with C-level sort keys: one
    level of a large plan holds 10^5-10^6 nodes of one or two kinds."""
    kinds = list(map(_KIND_OF, placed))
    first = kinds[0]
    if kinds.count(first) == len(kinds):
        placed.sort(key=_BY_NAME)
        return placed
    # one pass to group (each kind read once: a read of a model's field is not cheap)
    groups = by_key(kinds, placed)
    out: list[Node] = []
    for kind in sorted(groups, key=_KIND_ORDER.__getitem__):
        same = groups[kind]
        same.sort(key=_BY_NAME)
        out += same
    return out
