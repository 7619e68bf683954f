"""Pass 1: replica lookup and feasibility.

:func:`lookup_replicas` resolves every LFN the planner may need against the replica
catalog once (regex entries included), so later passes never scan the catalog again.
:func:`check_feasibility` fails when a workflow input has no replica. Which replica each
staging site reads is chosen later, by replica selection (``select_replicas``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from catalogs.replica import PFN, ReplicaCatalog
from planner.errors import MissingReplica, Problems
from planner.model.graph import JobGraph
from planner.model.workflow import Workflow

__all__ = ["check_feasibility", "lookup_replicas"]


def lookup_replicas(lfns: Iterable[str], catalog: ReplicaCatalog) -> dict[str, tuple[PFN, ...]]:
    """LFN -> its PFNs (catalog order) for every LFN that has at least one."""
    return catalog.lookup_many(dict.fromkeys(lfns))


def check_feasibility(
    workflow: Workflow,
    graph: JobGraph,
    replicas: Mapping[str, tuple[PFN, ...]],
    source: str | None,
) -> None:
    """Every file read but produced by no job needs a replica (optional uses excepted).

    Raises :class:`Problems` holding one :class:`MissingReplica` per LFN, naming the jobs
    that need it, e.g. ``rc.yml: no replica for LFN 'f.a' (needed by job ID1)``.
    """
    optional_only: dict[str, bool] = {}
    for job in workflow.jobs:
        for use in job.inputs:
            if use.lfn not in graph.producer:
                optional_only[use.lfn] = optional_only.get(use.lfn, True) and use.optional
    problems = [
        MissingReplica(
            f"no replica for LFN {lfn!r} (needed by {_jobs(graph.consumers.get(lfn, []))})",
            source=source or workflow.source,
        )
        for lfn in graph.workflow_inputs()
        if lfn not in replicas and not optional_only.get(lfn, False)
    ]
    if problems:
        raise Problems(problems)


def _jobs(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return ("job " if len(ids) == 1 else "jobs ") + shown
