"""Pass 5b: replica selection, ``pegasus.selector.replica``.

For every raw input (a file no job of this plan makes: read from the replica catalog) and
every staging site that reads it, the replicas ranked best first, the rest kept as
ordered fallbacks. The outputs of pruned jobs that must still reach the output site are
ranked for the output site. Staging reads the choice; it never ranks replicas itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from catalogs.replica import PFN
from planner.errors import PlannerError
from planner.model.graph import JobGraph
from planner.model.staging import (
    ReplicaChoice,
    ReplicaSelection,
    StagingLayout,
    StagingOptions,
)
from planner.model.workflow import Job

__all__ = ["SELECTORS", "ReplicaSelectionError", "order_pfns", "select_replicas", "url_of"]

SELECTORS = ("default", "regex", "restricted", "local")


class ReplicaSelectionError(PlannerError):
    """No usable replica remains for a file after the replica selector's rules."""


def select_replicas(
    jobs: Mapping[str, Job],
    graph: JobGraph,
    layout: StagingLayout,
    pruned: frozenset[str],
    replicas: Mapping[str, tuple[PFN, ...]],
    options: StagingOptions,
) -> ReplicaSelection:
    """The replicas each staging site reads, and those pruned outputs are copied from."""
    reads: dict[tuple[str, str], ReplicaChoice] = {}
    for key in _reads(graph, layout, pruned, replicas):
        if key not in reads:
            reads[key] = _choose(key[0], replicas[key[0]], key[1], options)
    output_site = options.output_site
    outputs: dict[str, ReplicaChoice] = {}
    for job_id in jobs if pruned else ():  # in workflow order: the same input, the same error
        if job_id not in pruned:
            continue
        for use in jobs[job_id].outputs:
            pfns = replicas.get(use.lfn)
            if use.stage_out and pfns and all(p.site != output_site for p in pfns):
                outputs[use.lfn] = _choose(use.lfn, pfns, output_site, options)
    return ReplicaSelection(reads, outputs)


def _reads(
    graph: JobGraph,
    layout: StagingLayout,
    pruned: frozenset[str],
    replicas: Mapping[str, tuple[PFN, ...]],
) -> Iterable[tuple[str, str]]:
    """(LFN, staging site) for every replica a unit reads: one no job of the plan makes,
    or one the job reading it rewrites in place (``inout``)."""
    producer_of, consumers_of = graph.producer, graph.consumers
    unit_of, staging_of = layout.unit_of, layout.staging_of
    for lfn in replicas:
        producer = producer_of.get(lfn)
        made = producer is not None and producer not in pruned
        for reader in consumers_of.get(lfn, ()):
            if reader in pruned or (made and reader != producer):
                continue
            yield lfn, staging_of[unit_of[reader].name][0]


def _choose(lfn: str, pfns: tuple[PFN, ...], site: str, options: StagingOptions) -> ReplicaChoice:
    ordered = order_pfns(lfn, pfns, site, options.replica_selector, options.properties)
    return ReplicaChoice(ordered[0].site, tuple(dict.fromkeys(url_of(p) for p in ordered)))


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
