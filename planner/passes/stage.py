"""Pass 6: data staging, after the staging sites (pass 5a) and the replicas (pass 5b)
are chosen.

Every unit becomes a compute or cluster node whose inputs and outputs say how each file
reaches its working directory and where its outputs go (``planner/staging/``). Raw
inputs (and outputs of pruned jobs) are staged in from the replica replica selection
chose; a file produced on another staging site is moved by ``stage_inter``; outputs with
``stageOut: true`` go to the output site's ``localStorage``, named by LFN. The transfer
requests are grouped per (kind, staging site, level) into ``ceil(jobs on the level /
10)`` nodes (``pegasus.stagein.clusters`` / ``pegasus.stageout.clusters`` override),
files dealt round robin; one file is never moved twice to the same site. A
``stageable`` executable is staged in like a raw input (named
``namespace-name-version``, made executable) and the job runs that copy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from planner.errors import StagingError
from planner.model.concrete import RECORD_SUFFIX
from planner.model.graph import JobGraph
from planner.model.placement import Placement
from planner.model.staging import ReplicaSelection, StagePlan, StagingLayout, StagingOptions
from planner.model.unit import Unit
from planner.model.workflow import Job
from planner.site_dirs import SiteDirs
from planner.staging.compute import stage_unit
from planner.staging.context import StageContext
from planner.staging.outputs import stage_pruned_outputs
from planner.staging.transfers import transfer_names, transfer_nodes
from sites.model import SiteCatalog

__all__ = ["stage"]


def stage(
    jobs: Mapping[str, Job],
    graph: JobGraph,
    units: Sequence[Unit],
    placements: Mapping[str, Placement],
    pruned: frozenset[str],
    layout: StagingLayout,
    chosen: ReplicaSelection,
    sha256: Callable[[str], str | None],
    sites: SiteCatalog,
    options: StagingOptions,
) -> tuple[StagePlan, dict[str, tuple[str, ...]]]:
    """Build compute/cluster nodes with their inputs/outputs and the transfer nodes.

    Returns the plan and, per abstract job, the "why" lines: where it runs, then its files.
    """
    if options.integrity != "none":
        _refuse_record_names(graph, units)
    cx = StageContext(
        jobs, graph, placements, pruned, layout, chosen, sha256, SiteDirs(sites), options
    )
    nodes = [stage_unit(cx, unit) for unit in units]
    edges = _unit_edges(graph, pruned, layout.unit_of)
    if pruned:
        stage_pruned_outputs(cx, (jobs[j] for j in jobs if j in pruned))
    names = transfer_names(cx.requests, layout.per_level, options)
    for key, req in cx.requests.items():
        name = names[key]
        if req.parent is not None:
            edges[(req.parent, name)] = None
        for child in cx.readers_of.get(key, ()):
            edges[(name, child)] = None
    nodes.extend(transfer_nodes(cx.requests, names, options.retry))
    # Only the names are needed from here on: free the per-file maps before the last copies.
    cx.requests.clear()
    cx.readers_of.clear()
    cx.settle(names)
    names.clear()
    edge_tuple = tuple(edges)
    edges.clear()
    plan = StagePlan(
        nodes=tuple(nodes),
        edges=edge_tuple,
        residency=cx.residency,
        workdirs=layout.workdirs,
        writedirs=layout.writedirs,
        read_urls=cx.read_urls,
    )
    return plan, cx.why


def _unit_edges(
    graph: JobGraph, pruned: frozenset[str], unit_of: Mapping[str, Unit]
) -> dict[tuple[str, str], None]:
    """The edges between units, from the jobs' edges (insertion-ordered: same input,
    same order)."""
    edges: dict[tuple[str, str], None] = {}
    for p, children in graph.succ.items():
        if p in pruned:
            continue
        pu = unit_of[p].name
        for c in children:
            if c not in pruned:
                cu = unit_of[c].name
                if pu != cu:
                    edges[(pu, cu)] = None
    return edges


def _refuse_record_names(graph: JobGraph, units: Sequence[Unit]) -> None:
    """A file named like a node's checksum record (``<node>.meta``) would be overwritten
    by it on the staging site. Only names ending in ``.meta`` are looked up."""
    records = [
        lfn
        for files in (graph.producer, graph.consumers)
        for lfn in files
        if lfn.endswith(RECORD_SUFFIX)
    ]
    if not records:
        return
    names = {unit.name for unit in units}
    for lfn in records:
        node = lfn[: -len(RECORD_SUFFIX)]
        if node in names:
            raise StagingError(
                f"LFN {lfn!r} has the name of node {node}'s checksum record "
                "(integrity checking writes it beside the node's outputs); rename the file "
                "or set pegasus.integrity.checking = none"
            )
