"""Pass 2: data reuse (Pegasus's two-pass reduction).

Pass 1: a job is prunable iff it has at least one output and every output either has a
replica, or has ``stageOut: false`` and is read by none of its children.
Pass 2, bottom-up: a job not yet pruned is pruned iff all its children are pruned and every
output with ``stageOut: true`` has a replica. Jobs with no outputs are never pruned.
Scope ``partial`` considers only jobs with profile ``pegasus.enable_for_data_reuse: true``;
``none`` (``--force``) prunes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from catalogs.replica import PFN
from planner.model.base import Namespace, profile
from planner.model.concrete import Pruned
from planner.model.graph import JobGraph
from planner.model.workflow import Job, Workflow

__all__ = ["SCOPES", "Reduction", "reduce"]

SCOPES = ("full", "partial", "none")


@dataclass(frozen=True)
class Reduction:
    """The jobs pruned (in workflow order, with Pegasus-style reasons)."""

    pruned: tuple[Pruned, ...] = ()
    pruned_ids: frozenset[str] = field(default_factory=frozenset)


def reduce(
    workflow: Workflow,
    graph: JobGraph,
    replicas: Mapping[str, tuple[PFN, ...]],
    scope: str = "full",
    order: Sequence[str] | None = None,
) -> Reduction:
    """Prune jobs whose outputs already exist. ``order`` is a topological order of job ids
    (computed if absent); the result never depends on dict iteration order."""
    if scope == "none" or not workflow.jobs:
        return Reduction()
    jobs = workflow.job_by_id
    eligible = (
        (lambda job: True) if scope == "full" else (lambda job: _enabled(job))  # partial
    )
    reasons: dict[str, str] = {}
    for job in workflow.jobs:
        outputs = job.outputs
        if not outputs:
            continue
        first = outputs[0]
        if first.stage_out and first.lfn not in replicas:
            continue  # pass 1 would stop at this output: the usual case, decided cheaply
        if job.id in reasons or not eligible(job):
            continue
        why = _pass1(job, graph, replicas)
        if why is not None:
            reasons[job.id] = why
    if not reasons:
        return Reduction()  # pass 2 prunes only parents of pruned jobs
    topo = order if order is not None else graph.topological_order()
    for job_id in reversed(topo):
        job = jobs[job_id]
        if job_id in reasons or not job.outputs or not eligible(job):
            continue
        children = graph.succ[job_id]
        if not children or any(c not in reasons for c in children):
            continue
        if all(u.lfn in replicas for u in job.outputs if u.stage_out):
            reasons[job_id] = "all children pruned"
    pruned = tuple(Pruned(job=j.id, reason=reasons[j.id]) for j in workflow.jobs if j.id in reasons)
    return Reduction(pruned=pruned, pruned_ids=frozenset(reasons))


def _enabled(job: Job) -> bool:
    value = profile(job.profiles, Namespace.PEGASUS, "enable_for_data_reuse")
    return value is not None and value.strip().lower() in ("true", "yes", "1")


def _pass1(job: Job, graph: JobGraph, replicas: Mapping[str, tuple[PFN, ...]]) -> str | None:
    outputs = job.outputs
    if not outputs:
        return None
    found: list[str] = []
    transient: list[str] = []
    for use in outputs:
        pfns = replicas.get(use.lfn)
        if pfns:
            found.append(f"{use.lfn}@{pfns[0].site}")
        elif not use.stage_out and not any(c != job.id for c in graph.consumers.get(use.lfn, ())):
            transient.append(use.lfn)
        else:
            return None
    parts = []
    if found:
        parts.append("all outputs have replicas: " + ", ".join(found))
    if transient:
        parts.append("not staged out and read by no child: " + ", ".join(transient))
    return "; ".join(parts)
