"""Pass 4: job clustering, after site selection and before data staging.

``methods`` are applied left to right (``--cluster horizontal,label``):

* ``horizontal``: jobs not yet clustered, grouped by (level, transformation, site);
  ``pegasus.clusters.num`` (number of clusters) overrides ``pegasus.clusters.size`` (jobs
  per cluster, default 1: no merging). With ``pegasus.clusterer.preference = Runtime``,
  ``pegasus.runtime`` and ``pegasus.clusters.maxruntime``, jobs are bin-packed (first fit
  decreasing) so no cluster exceeds the maximum runtime.
* ``label``: every unit whose jobs carry profile ``pegasus.label`` is merged with the others
  of that label on the same site: one cluster per label (and site).
* ``whole``: every unit on a site is merged into one cluster for that site (Pegasus's
  whole-workflow clustering); its members run in topological order. With several sites
  whose jobs depend on each other back and forth this would make a cycle, and planning
  stops with a message saying so.

Every unit of one job stays a plain compute node named ``<tx>_<id>``.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Mapping, Sequence

from planner.errors import PlannerError
from planner.model.base import Namespace, profile
from planner.model.placement import Placement, runtime_of
from planner.model.unit import Unit
from planner.model.workflow import Job
from planner.naming import safe_name

__all__ = ["METHODS", "Unit", "cluster"]

METHODS = ("horizontal", "label", "whole")


def cluster(
    jobs: Sequence[Job],
    levels: Mapping[str, int],
    placements: Mapping[str, Placement],
    methods: Sequence[str] = (),
    position: Mapping[str, int] | None = None,
) -> list[Unit]:
    """Group ``jobs`` (workflow order) into units; ``position`` is each job's index in a
    topological order (members of a cluster run in that order)."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise PlannerError(
            f"unknown clustering method {unknown[0]!r} (choose from {', '.join(METHODS)})"
        )
    if not methods:
        return _singletons(jobs, levels, placements)
    pos = position or {j.id: i for i, j in enumerate(jobs)}
    by_id = {j.id: j for j in jobs}
    # Each group: list of job ids; a job belongs to exactly one group.
    groups: list[tuple[list[str], str]] = [([j.id], "") for j in jobs]
    for method in methods:
        groups = (
            _horizontal(groups, by_id, levels, placements)
            if method == "horizontal"
            else _whole(groups, placements)
            if method == "whole"
            else _label(groups, placements)
        )
    units = []
    counters: dict[str, int] = {}
    for members, reason in groups:
        if len(members) == 1:
            units.append(_single_unit(by_id[members[0]], levels, placements))
        else:
            members.sort(key=pos.__getitem__)
            units.append(_cluster_unit(members, reason, by_id, levels, placements, counters))
    return units


def _single_unit(job: Job, levels: Mapping[str, int], placements: Mapping[str, Placement]) -> Unit:
    return Unit(
        safe_name(f"{job.name}_{job.id}"),
        (job.id,),
        placements[job.id].site,
        levels[job.id],
        job.transformation,
        False,
    )


def _cluster_unit(
    members: list[str],
    reason: str,
    by_id: Mapping[str, Job],
    levels: Mapping[str, int],
    placements: Mapping[str, Placement],
    counters: dict[str, int],
) -> Unit:
    """The unit of a group of several jobs (``members`` in run order); ``counters``
    numbers the clusters that share a base name."""
    first = by_id[members[0]]
    site = placements[first.id].site
    level = min(levels[m] for m in members)
    txs = {by_id[m].transformation for m in members}
    base = _cluster_base(reason, first, site, level)
    k = counters[base] = counters.get(base, 0) + 1
    named = reason.startswith(("label", "whole"))
    return Unit(
        name=safe_name(base if named and k == 1 else f"{base}_ID{k}"),
        jobs=tuple(members),
        site=site,
        level=level,
        transformation=txs.pop() if len(txs) == 1 else None,
        clustered=True,
        reason=reason,
    )


def _cluster_base(reason: str, first: Job, site: str, level: int) -> str:
    """A cluster's name before numbering, after the method that made it (Pegasus's
    ``merge_<tx>_PID<level>`` for horizontal clusters)."""
    if reason.startswith("label"):
        return f"merge_{reason.split(' ', 2)[1]}"
    if reason.startswith("whole"):
        return f"merge_whole_{site}"
    parts = [p for p in (first.namespace, first.name, first.version) if p]
    return f"merge_{'-'.join(parts)}_PID{level}"


_UNSAFE_BUT_NEWLINE = re.compile(r"[^A-Za-z0-9_\n-]")
_make_unit = Unit._make


def _singletons(
    jobs: Sequence[Job], levels: Mapping[str, int], placements: Mapping[str, Placement]
) -> list[Unit]:
    """One unit per job (no clustering asked for): what :func:`cluster` makes of
    one-member groups, with the names made safe by one regex over all of them."""
    raw = "\n".join([f"{j.name}_{j.id}" for j in jobs])
    if raw.count("\n") == len(jobs) - 1:  # no name holds a newline of its own
        names = _UNSAFE_BUT_NEWLINE.sub("_", raw).split("\n")
    else:
        names = [safe_name(f"{j.name}_{j.id}") for j in jobs]
    tx_of: dict[tuple[str | None, str, str | None], str] = {}
    units: list[Unit] = []
    for job, name in zip(jobs, names, strict=True):
        key = (job.namespace, job.name, job.version)
        tx = tx_of.get(key)
        if tx is None:
            tx = tx_of[key] = job.transformation
        job_id = job.id
        units.append(
            _make_unit((name, (job_id,), placements[job_id].site, levels[job_id], tx, False, ""))
        )
    return units


def _horizontal(
    groups: list[tuple[list[str], str]],
    jobs: Mapping[str, Job],
    levels: Mapping[str, int],
    placements: Mapping[str, Placement],
) -> list[tuple[list[str], str]]:
    buckets: dict[tuple[int, str, str], list[str]] = {}
    out: list[tuple[list[str], str]] = []
    for members, reason in groups:
        if len(members) > 1:
            out.append((members, reason))
            continue
        job = jobs[members[0]]
        key = (levels[job.id], job.transformation, placements[job.id].site)
        buckets.setdefault(key, []).append(job.id)
    for (level, tx, site), ids in buckets.items():
        prof = placements[ids[0]].profiles
        for chunk, why in _split(ids, prof, placements):
            out.append(
                (
                    chunk,
                    f"horizontal: level {level}, {tx} on {site}, {why}" if len(chunk) > 1 else "",
                )
            )
    return out


def _split(
    ids: list[str], prof: Mapping[Namespace, Mapping[str, str]], placements: Mapping[str, Placement]
) -> list[tuple[list[str], str]]:
    preference = (profile(prof, Namespace.PEGASUS, "clusterer.preference") or "").lower()
    maxruntime = _number(profile(prof, Namespace.PEGASUS, "clusters.maxruntime"))
    if preference == "runtime" and maxruntime:
        return _pack(ids, maxruntime, placements)
    num = _number(profile(prof, Namespace.PEGASUS, "clusters.num"))
    size = _number(profile(prof, Namespace.PEGASUS, "clusters.size"))
    n = len(ids)
    if num and num >= 1:
        count = min(n, int(num))
        base, extra = divmod(n, count)
        chunks, start = [], 0
        for i in range(count):
            end = start + base + (1 if i < extra else 0)
            chunks.append((ids[start:end], f"clusters.num {int(num)}"))
            start = end
        return chunks
    step = max(1, int(size or 1))
    return [(ids[i : i + step], f"clusters.size {step}") for i in range(0, n, step)]


def _pack(
    ids: list[str], maxruntime: float, placements: Mapping[str, Placement]
) -> list[tuple[list[str], str]]:
    """Worst fit decreasing by runtime: each job goes to the least loaded bin that still
    has room, else a new bin. O(n log n); ties broken by bin creation order."""
    runtimes = {j: runtime_of(placements[j].profiles) or 0.0 for j in ids}
    order = sorted(range(len(ids)), key=lambda i: (-runtimes[ids[i]], i))
    bins: list[list[str]] = []
    loads: list[float] = []
    heap: list[tuple[float, int]] = []
    for i in order:
        job_id = ids[i]
        rt = runtimes[job_id]
        if heap and heap[0][0] + rt <= maxruntime:
            load, b = heapq.heappop(heap)
        else:
            b, load = len(bins), 0.0
            bins.append([])
            loads.append(0.0)
        bins[b].append(job_id)
        loads[b] = load + rt
        heapq.heappush(heap, (loads[b], b))
    return [
        (members, f"runtime {load:g} s <= maxruntime {maxruntime:g} s")
        for members, load in zip(bins, loads, strict=True)
    ]


def _label(
    groups: list[tuple[list[str], str]], placements: Mapping[str, Placement]
) -> list[tuple[list[str], str]]:
    labelled: dict[tuple[str, str], list[str]] = {}
    out: list[tuple[list[str], str]] = []
    for members, reason in groups:
        label = profile(placements[members[0]].profiles, Namespace.PEGASUS, "label")
        if label is None:
            out.append((members, reason))
            continue
        labelled.setdefault((label, placements[members[0]].site), []).extend(members)
    for (label, site), members in labelled.items():
        out.append((members, f"label {safe_name(label)} on {site}"))
    return out


def _whole(
    groups: list[tuple[list[str], str]], placements: Mapping[str, Placement]
) -> list[tuple[list[str], str]]:
    by_site: dict[str, list[str]] = {}
    for members, _ in groups:
        by_site.setdefault(placements[members[0]].site, []).extend(members)
    return [(members, f"whole workflow on {site}") for site, members in by_site.items()]


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise PlannerError(f"profile value {value!r} is not a number")


def balanced_count(n: int, per: int) -> int:
    """How many groups of at most ``per`` hold ``n`` items."""
    return max(1, math.ceil(n / per))
