"""Pass 1 (replica lookup + feasibility) and pass 5 (replica selection).

:func:`lookup_replicas` resolves every LFN the planner may need against the replica
catalog once (regex entries included), so later passes never scan the catalog again.
:func:`check_feasibility` fails when a workflow input has no replica; :func:`order_pfns`
ranks the PFNs of one file for one destination site (best first, the rest kept as
ordered fallbacks).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from catalogs.replica import PFN, ReplicaCatalog
from planner.errors import MissingReplica, PlannerError, Problems
from planner.model.graph import JobGraph
from planner.model.workflow import Workflow

__all__ = ["ReplicaSelectionError", "check_feasibility", "lookup_replicas", "order_pfns", "url_of"]

SELECTORS = ("default", "regex", "restricted", "local")


class ReplicaSelectionError(PlannerError):
    """No usable replica remains for a file after the replica selector's rules."""


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


def _jobs(ids: list[str]) -> str:
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return ("job " if len(ids) == 1 else "jobs ") + shown


def url_of(pfn: PFN) -> str:
    """A PFN as an absolute URL: a bare absolute path becomes ``file://``."""
    return "file://" + pfn.url if pfn.url.startswith("/") else pfn.url


def order_pfns(
    lfn: str,
    pfns: tuple[PFN, ...],
    site: str,
    selector: str = "default",
    properties: Mapping[str, str] | None = None,
) -> tuple[PFN, ...]:
    """Rank one file's replicas for a destination ``site``, best first.

    Default: replicas on ``site`` first, then ``file://`` on ``local``, then the rest
    (catalog order within each class). ``local`` keeps only replicas on ``local``;
    ``restricted`` drops sites named in ``pegasus.selector.replica.*.ignore.stagein.sites``
    and ranks ``...prefer.stagein.sites`` first; ``regex`` ranks by the patterns in
    ``pegasus.selector.replica.regex.rank.N`` (lowest N first, unmatched last).
    """
    props = properties or {}
    kind = selector.lower()
    if kind == "local":
        kept = tuple(p for p in pfns if p.site == "local")
        if not kept:
            raise ReplicaSelectionError(
                f"replica selector Local: LFN {lfn!r} has no replica on site local "
                f"(has: {', '.join(sorted({p.site for p in pfns}))})"
            )
        return kept
    if kind == "restricted":
        ignore = _sites(props.get("pegasus.selector.replica.*.ignore.stagein.sites"))
        prefer = _sites(props.get("pegasus.selector.replica.*.prefer.stagein.sites"))
        kept = tuple(p for p in pfns if p.site not in ignore)
        if not kept:
            raise ReplicaSelectionError(
                f"replica selector Restricted: every replica of LFN {lfn!r} is on an "
                f"ignored site ({', '.join(sorted(ignore))})"
            )
        return tuple(sorted(kept, key=lambda p: (p.site not in prefer, _rank(p, site))))
    if kind == "regex":
        ranks = _regex_ranks(props)
        return tuple(sorted(pfns, key=lambda p: (_regex_rank(p, ranks), _rank(p, site))))
    return tuple(sorted(pfns, key=lambda p: _rank(p, site)))


def _rank(pfn: PFN, site: str) -> int:
    if pfn.site == site:
        return 0
    if pfn.site == "local" and url_of(pfn).startswith("file://"):
        return 1
    return 2


def _sites(value: str | None) -> frozenset[str]:
    return frozenset(s.strip() for s in (value or "").split(",") if s.strip())


def _regex_ranks(props: Mapping[str, str]) -> list[re.Pattern[str]]:
    prefix = "pegasus.selector.replica.regex.rank."
    ranked = sorted(
        (int(k[len(prefix) :]), v)
        for k, v in props.items()
        if k.startswith(prefix) and k[len(prefix) :].isdigit()
    )
    return [re.compile(pattern) for _, pattern in ranked]


def _regex_rank(pfn: PFN, ranks: list[re.Pattern[str]]) -> int:
    for i, pattern in enumerate(ranks):
        if pattern.search(pfn.url):
            return i
    return len(ranks)
