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

Two halves, run by the pipeline as two passes: :func:`request_transfers` (the compute
and cluster nodes and the files to move, from the units' edges :func:`unit_edges` and
the graph's file maps :func:`file_maps`) and :func:`group_transfers` (the transfer
nodes). The job graph, placements, units and layout are freed between them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from planner.errors import StagingError
from planner.model.concrete import RECORD_SUFFIX
from planner.model.edges import EdgeList
from planner.model.graph import JobGraph
from planner.model.placement import Placement
from planner.model.staging import ReplicaSelection, StagePlan, StagingLayout, StagingOptions
from planner.model.unit import Unit
from planner.model.workflow import Job
from planner.site_dirs import SiteDirs
from planner.staging.compute import stage_unit
from planner.staging.context import Requested, StageContext
from planner.staging.outputs import stage_pruned_outputs
from planner.staging.transfers import transfer_names, transfer_nodes
from sites.model import SiteCatalog

__all__ = ["file_maps", "group_transfers", "request_transfers", "unit_edges"]


def file_maps(graph: JobGraph) -> JobGraph:
    """The job graph's file maps alone (producer, consumers): all that staging reads
    once the units' edges are made. The pipeline frees the rest of the graph (its
    neighbour maps and order, a third of it) before staging builds its nodes."""
    return replace(graph, succ={}, pred={}, order=(), ends=(), cyclic=())


def request_transfers(
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
    edges: EdgeList,
) -> Requested:
    """The compute/cluster nodes with their inputs/outputs, the files to move (not yet
    grouped into transfer nodes), and the units' ``edges`` (:func:`unit_edges`).
    ``graph`` needs only its file maps (:func:`file_maps`)."""
    if options.integrity != "none":
        _refuse_record_names(graph, units)
    cx = StageContext(
        jobs, graph, placements, pruned, layout, chosen, sha256, SiteDirs(sites), options
    )
    nodes = tuple(stage_unit(cx, unit) for unit in units)
    if pruned:
        stage_pruned_outputs(cx, (jobs[j] for j in jobs if j in pruned))
    # the plan so far: the transfer nodes and their edges are added to it next
    plan = StagePlan(
        nodes=nodes,
        edges=edges.freeze(),
        residency=cx.residency,
        workdirs=layout.workdirs,
        writedirs=layout.writedirs,
        read_urls=cx.read_urls,
    )
    return Requested(plan, cx.requests, cx.readers_of, cx.fixups, cx.why, layout.per_level)


def group_transfers(
    requested: Requested, options: StagingOptions
) -> tuple[StagePlan, dict[str, tuple[str, ...]]]:
    """The requested files grouped into stage_in, stage_inter and stage_out nodes, with
    their edges; the plan and each job's "why" lines. Empties ``requested``'s maps of
    requests as it goes (only this pass reads them)."""
    requests, readers_of, units = requested.requests, requested.readers_of, requested.plan
    names = transfer_names(requests, requested.per_level, options)
    edges = EdgeList(units.edges)
    # Every transfer edge has a transfer node at one end and no unit edge has: only
    # transfer edges can repeat one another (several files of one node, one producer).
    add_new = edges.add_new
    for key, req in requests.items():
        name = names[key]
        if req.parent is not None:
            add_new(req.parent, name)
        for child in readers_of.get(key, ()):
            add_new(name, child)
    nodes = units.nodes + tuple(transfer_nodes(requests, names, options.retry))
    # Only the names are needed from here on: free the per-file maps before the last copies.
    requests.clear()
    readers_of.clear()
    requested.fixups.settle(names, units.residency)
    names.clear()
    return replace(units, nodes=nodes, edges=edges.freeze()), requested.why


def unit_edges(
    graph: JobGraph, units: Sequence[Unit], pruned: frozenset[str], unit_of: Mapping[str, Unit]
) -> EdgeList:
    """The edges between units, from the jobs' edges (same input, same order).

    Without clustering every unit is one job and the jobs' edges are distinct, so the
    units' edges are too: no set of the edges seen is needed (at 10^5 jobs it would
    hold some 250,000 of them)."""
    edges = EdgeList()
    add = edges.add if len(units) == len(unit_of) else edges.add_new
    succ = graph.succ
    for unit in units:
        pu = unit.name
        for p in unit.jobs:
            for c in succ[p]:
                if c not in pruned:
                    cu = unit_of[c].name
                    if pu != cu:
                        add(pu, cu)
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
