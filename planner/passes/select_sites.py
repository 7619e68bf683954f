"""Pass 3: site selection.

A job may run on a candidate site when the transformation catalog has an ``installed``
entry for that site, or a ``stageable`` entry anywhere (the executable is then staged into
the job's working directory), and the entry's arch/os match the site's. A
``selector.execution.site`` (or the older ``hints.execution.site``) profile pins the job.
Selectors: ``random`` (seeded, deterministic), ``round-robin``, ``group``
(``pegasus.group``: one site per group), ``heft`` (each site's ``pegasus.runtime``, merged
as the job will see it there, and the sites' ``pegasus.slots``). Profiles are merged with
Pegasus's precedence, highest first: TC > site > job > properties. A placed job's reason
also names every candidate that was rejected and why.
"""

from __future__ import annotations

import functools
import heapq
import random
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from catalogs.transformation import (
    Transformation,
    TransformationCatalog,
    TransformationSite,
    TransformationType,
)
from planner.errors import NoEligibleSite, PlannerError, Problems, UnknownTransformation
from planner.model.base import Namespace, Profiles, merge_profiles, profile
from planner.model.graph import JobGraph
from planner.model.placement import Placement, runtime_of
from planner.model.workflow import Job, Workflow
from sites.defaults import slots
from sites.model import Site, SiteCatalog

__all__ = ["SELECTORS", "catalog_profiles", "normalise_selector", "select_sites"]

SELECTORS = ("random", "round-robin", "group", "heft")
_ALIASES = {"roundrobin": "round-robin", "round_robin": "round-robin"}
_NAMESPACES = {ns.value: ns for ns in Namespace}


def catalog_profiles(raw: Mapping[str, Mapping[str, str]]) -> dict[Namespace, dict[str, str]]:
    """Catalog profiles keyed by namespace name -> keyed by :class:`Namespace`."""
    return {_NAMESPACES[k]: dict(v) for k, v in raw.items() if k in _NAMESPACES}


def normalise_selector(name: str) -> str:
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in SELECTORS:
        raise PlannerError(f"unknown site selector {name!r} (choose from {', '.join(SELECTORS)})")
    return key


def select_sites(
    workflow: Workflow,
    graph: JobGraph,
    jobs: Sequence[Job],
    transformations: TransformationCatalog,
    sites: SiteCatalog,
    candidates: Sequence[str],
    *,
    selector: str = "random",
    seed: int = 0,
    properties: Profiles | None = None,
    topo_order: Sequence[str] = (),
) -> dict[str, Placement]:
    """Place every job of ``jobs`` (workflow order) on one of ``candidates``.

    Raises :class:`Problems` with one :class:`NoEligibleSite` per unplaceable job, each
    saying why every candidate was rejected.
    """
    kind = normalise_selector(selector)
    props: Profiles = properties or {}
    site_objs = {name: sites.get(name) for name in candidates}
    site_profiles = {
        name: catalog_profiles(s.profiles) for name, s in site_objs.items() if s is not None
    }
    found = _eligibility(workflow, jobs, transformations, sites, site_objs)
    runtimes = _Runtimes(props, site_profiles)
    chosen = _choose(kind, jobs, found, seed, props, sites, graph, topo_order, runtimes)
    return _placements(jobs, chosen, found, props, site_profiles)


# A job's eligible (site, TC entry) pairs, in candidate order; jobs with the same
# transformation and candidates share one list.
_Options = list[tuple[str, TransformationSite]]


class _Eligibility(NamedTuple):
    """Where each job may run, and the facts behind it, keyed by job id."""

    eligible: dict[str, _Options]
    txs: dict[str, Transformation]
    rejected_of: dict[int, str]  # id(eligible list) -> why the other candidates were not
    pinned_jobs: dict[str, str]  # job id -> the profile that pinned it


def _eligibility(
    workflow: Workflow,
    jobs: Sequence[Job],
    transformations: TransformationCatalog,
    sites: SiteCatalog,
    site_objs: Mapping[str, Site | None],
) -> _Eligibility:
    """Each job's transformation and eligible sites; raises :class:`Problems` naming every
    job that has none."""
    found = _Eligibility({}, {}, {}, {})
    eligible, txs, rejected_of, pinned_jobs = found
    all_names = tuple(site_objs)
    problems: list[PlannerError] = []
    cache: dict[tuple[int, tuple[str, ...]], tuple[_Options, str]] = {}
    tx_of: dict[tuple[str | None, str, str | None], Transformation | None] = {}
    for job in jobs:
        tx_key = (job.namespace, job.name, job.version)
        tx = (
            tx_of[tx_key]
            if tx_key in tx_of
            else tx_of.setdefault(tx_key, transformations.lookup(*tx_key))
        )
        if tx is None:
            problems.append(_unknown(job, transformations.source or workflow.source))
            continue
        txs[job.id] = tx
        pinned, pinned_by = _pin(job.profiles)
        if pinned:
            pinned_jobs[job.id] = pinned_by
        names = (pinned,) if pinned else all_names
        key = (id(tx), names)
        if key not in cache:
            ok, rejected = cache[key] = _eligible(
                tx, names, site_objs if not pinned else {pinned: sites.get(pinned)}
            )
            rejected_of[id(ok)] = rejected
        ok, rejected = cache[key]
        if not ok:
            problems.append(
                NoEligibleSite(
                    f"job {job.id} ({job.name}): no eligible site: "
                    f"{rejected or 'no candidate sites'}",
                    source=workflow.source,
                )
            )
            continue
        eligible[job.id] = ok
    if problems:
        raise Problems(problems)
    return found


def _unknown(job: Job, source: str | None) -> UnknownTransformation:
    return UnknownTransformation(
        f"job {job.id}: transformation {job.transformation!r} is not in the transformation catalog",
        source=source,
    )


def _placements(
    jobs: Sequence[Job],
    chosen: Mapping[str, tuple[str, str]],
    found: _Eligibility,
    props: Profiles,
    site_profiles: Mapping[str, dict[Namespace, dict[str, str]]],
) -> dict[str, Placement]:
    """Each job's placement on its chosen site, with the TC entry it runs there."""
    placements: dict[str, Placement] = {}
    shared: dict[tuple[object, ...], dict[Namespace, dict[str, str]]] = {}
    shared_by_id: dict[tuple[str, int, int], dict[Namespace, dict[str, str]]] = {}
    keep: list[object] = []
    entries: dict[int, dict[str, TransformationSite]] = {}
    # (site, selector's reason, TC entry, eligible list) -> (executable, stageable,
    # explanation): a few distinct ones however many jobs
    # (site, selector's reason, TC entry, eligible list, merged profiles) -> one
    # Placement shared by every job it describes: a few distinct ones however many jobs
    made: dict[tuple[str, str, int, int, int], Placement] = {}
    eligible, txs, rejected_of = found.eligible, found.txs, found.rejected_of
    for job in jobs:
        job_id = job.id
        site_name, reason = chosen[job_id]
        options = eligible[job_id]
        by_site = entries.get(id(options))
        if by_site is None:
            by_site = entries[id(options)] = dict(reversed(options))
        entry = by_site[site_name]
        # Jobs share one merged dict per (site, entry, own profiles by content): read-only
        # downstream, and 10^6 copies would cost seconds and ~700 bytes per job. The key
        # keeps the profiles' order, so a shared dict iterates as the job's own would.
        # Readers often share one profiles dict between jobs: looked up by identity first.
        own = job.profiles
        same = (site_name, id(entry), id(own))
        merged = shared_by_id.get(same)
        if merged is None:
            tx = txs[job_id]
            merged = _shared_merge(shared, site_name, entry, own, tx, props, site_profiles)
            shared_by_id[same] = merged
            keep.append(own)  # its id stays valid while this pass runs
        key = (site_name, reason, id(entry), id(options), id(merged))
        placement = made.get(key)
        if placement is None:
            rejected = rejected_of[id(options)]
            placement = made[key] = _placement(
                site_name, reason, entry, txs[job_id], merged, rejected
            )
        placements[job_id] = placement
    return placements


def _placement(
    site: str,
    reason: str,
    entry: TransformationSite,
    tx: Transformation,
    merged: dict[Namespace, dict[str, str]],
    rejected: str,
) -> Placement:
    stageable = entry.type == TransformationType.STAGEABLE
    how = "stageable executable staged in" if stageable else "installed"
    why = _why(site, reason, tx.key, how, entry.pfn, rejected)
    return Placement(site, entry.pfn, stageable, merged, why)


def _shared_merge(
    shared: dict[tuple[object, ...], dict[Namespace, dict[str, str]]],
    site_name: str,
    entry: TransformationSite,
    own: Profiles,
    tx: Transformation,
    props: Profiles,
    site_profiles: Mapping[str, dict[Namespace, dict[str, str]]],
) -> dict[Namespace, dict[str, str]]:
    """The merged profiles for (site, entry, own profiles by content), made once."""
    share: tuple[object, ...] = (
        (site_name, id(entry), *((ns, *v.items()) for ns, v in own.items()))
        if own
        else (site_name, id(entry))
    )
    merged = shared.get(share)
    if merged is None:
        merged = shared[share] = merge_profiles(
            props,
            own,
            site_profiles.get(site_name, {}),
            catalog_profiles(tx.profiles),
            catalog_profiles(entry.profiles),
        )
    return merged


@functools.lru_cache(maxsize=4096)
def _why(site: str, reason: str, tx: str, how: str, pfn: str, rejected: str) -> str:
    """One shared string per distinct explanation (10^6 jobs share a handful); it names
    the candidates that could not run the job, so ``explain`` answers "why not there"."""
    text = f"site {site}: {reason}; {tx} {how} ({pfn})"
    return f"{text}; rejected: {rejected}" if rejected else text


# Pegasus 4 wrote the pin as ``hints.execution.site``; 5 renamed the namespace ``selector``
# and still reads the old one.
_PIN_NAMESPACES = (Namespace.SELECTOR, Namespace.HINTS)


def _pin(own: Profiles) -> tuple[str | None, str]:
    """The site a job's own profiles pin it to, and which profile did."""
    if not own:
        return None, ""
    for ns in _PIN_NAMESPACES:
        values = own.get(ns)
        site = values.get("execution.site") if values else None
        if site:
            return site, f"{ns.value}.execution.site"
    return None, ""


def _among(how: str, names: list[str]) -> str:
    return _among_cached(how, tuple(names))


@functools.lru_cache(maxsize=4096)
def _among_cached(how: str, names: tuple[str, ...]) -> str:
    return f"{how} among {', '.join(names)}"


def _eligible(
    tx: Transformation, names: Sequence[str], site_objs: Mapping[str, Site | None]
) -> tuple[list[tuple[str, TransformationSite]], str]:
    ok: list[tuple[str, TransformationSite]] = []
    rejected: list[str] = []
    stageable = [e for e in tx.sites if e.type == TransformationType.STAGEABLE]
    for name in names:
        site = site_objs.get(name)
        if site is None:
            rejected.append(f"{name}: not in the site catalog")
            continue
        installed = [
            e for e in tx.sites if e.name == name and e.type == TransformationType.INSTALLED
        ]
        entries = installed + stageable
        if not entries:
            rejected.append(f"{name}: no TC entry for {tx.name}")
            continue
        mismatch = ""
        for entry in entries:
            mismatch = _mismatch(entry, site)
            if not mismatch:
                ok.append((name, entry))
                break
        else:
            rejected.append(f"{name}: {mismatch}")
    why = "; ".join(rejected)
    if ok:
        return ok, why
    return ok, (why or "no candidate sites") + _installed_elsewhere(tx, names)


def _installed_elsewhere(tx: Transformation, names: Sequence[str]) -> str:
    """Where the TC does install ``tx``, when none of the candidates was one of them."""
    others = sorted({e.name for e in tx.sites} - set(names))
    if not others:
        return ""
    return f" (the TC installs {tx.name} only at {', '.join(others)}, not a candidate site)"


def _mismatch(entry: TransformationSite, site: Site) -> str:
    if entry.arch and site.arch and entry.arch != site.arch:
        return f"arch {entry.arch} != {site.arch}"
    if entry.os_type and site.os_type and entry.os_type.lower() != site.os_type.lower():
        return f"os {entry.os_type} != {site.os_type}"
    return ""


def _choose(
    kind: str,
    jobs: Sequence[Job],
    found: _Eligibility,
    seed: int,
    props: Profiles,
    sites: SiteCatalog,
    graph: JobGraph,
    topo_order: Sequence[str],
    runtimes: _Runtimes,
) -> dict[str, tuple[str, str]]:
    """(site, the selector's reason) of every job: pinned jobs first, then the others
    by the selector."""
    eligible = found.eligible
    chosen = {
        job_id: (eligible[job_id][0][0], f"pinned by {by}")
        for job_id, by in found.pinned_jobs.items()
    }
    if kind == "heft":
        pinned = dict(chosen)
        chosen.update(_heft(jobs, eligible, found.txs, sites, graph, topo_order, pinned, runtimes))
        return chosen
    free = [job for job in jobs if job.id not in chosen]
    if kind == "round-robin":
        chosen.update(_round_robin(free, eligible))
    else:
        chosen.update(_drawn(free, eligible, random.Random(seed), seed, props, kind == "group"))
    return chosen


def _round_robin(
    jobs: Sequence[Job], eligible: Mapping[str, _Options]
) -> dict[str, tuple[str, str]]:
    """Each job on the next of its eligible sites, one counter over all jobs."""
    chosen: dict[str, tuple[str, str]] = {}
    names_of: dict[int, tuple[list[str], str]] = {}
    for counter, job in enumerate(jobs):
        options = eligible[job.id]
        known = names_of.get(id(options))
        if known is None:
            listed = [s for s, _ in options]
            known = names_of[id(options)] = (listed, _among("round-robin", listed))
        names, reason = known
        chosen[job.id] = (names[counter % len(names)], reason)
    return chosen


def _drawn(
    jobs: Sequence[Job],
    eligible: Mapping[str, _Options],
    rng: random.Random,
    seed: int,
    props: Profiles,
    grouped: bool,
) -> dict[str, tuple[str, str]]:
    """Each job on a site drawn from its eligible ones by the seeded generator; with
    ``grouped``, every job of one ``pegasus.group`` on the site drawn for the group's
    first job (jobs without a group are drawn alone)."""
    chosen: dict[str, tuple[str, str]] = {}
    random_how = f"random (seed {seed})"
    groups: dict[str, str] = {}
    names_of: dict[int, tuple[list[str], str, tuple[str, str]]] = {}
    # With one eligible site everywhere the generator's draws are never used: skipping
    # them gives the same placements.
    one_site_each = all(len(options) == 1 for options in eligible.values())
    for job in jobs:
        options = eligible[job.id]
        known = names_of.get(id(options))
        if known is None:
            listed = [s for s, _ in options]
            among = _among(random_how, listed)
            known = names_of[id(options)] = (listed, among, (listed[0], among))
        names, random_reason, first_pair = known
        group = (
            profile(merge_profiles(props, job.profiles), Namespace.PEGASUS, "group")
            if grouped
            else None
        )
        if group is not None:
            chosen[job.id] = _group_site(job, group, groups, names, rng)
        elif one_site_each:
            chosen[job.id] = first_pair  # shared: read-only
        else:
            chosen[job.id] = (rng.choice(names), random_reason)
    return chosen


def _group_site(
    job: Job, group: str, groups: dict[str, str], names: list[str], rng: random.Random
) -> tuple[str, str]:
    """The site of ``job``'s group (drawn now when the job is the group's first)."""
    if group not in groups:
        groups[group] = rng.choice(names)
    site = groups[group]
    if site not in names:
        raise NoEligibleSite(
            f"job {job.id} ({job.name}): group {group!r} runs on {site}, "
            f"where this job cannot run (eligible: {', '.join(names)})"
        )
    return site, f"group {group}"


class _Runtimes:
    """``pegasus.runtime`` of a job on a site, merged as the job will see it there (TC
    entry > transformation > site > job > properties): the same value staging records as
    the task's runtime and the simulator runs. Computed once per distinct (job profiles,
    site, TC entry), not per job."""

    def __init__(
        self, props: Profiles, site_profiles: Mapping[str, dict[Namespace, dict[str, str]]]
    ) -> None:
        self._props = props
        self._site_profiles = site_profiles
        self._known: dict[tuple[int, str, int], float] = {}
        self._keep: list[object] = []  # keeps the ids in the keys valid

    def of(self, job: Job, tx: Transformation, site: str, entry: TransformationSite) -> float:
        own = job.profiles
        key = (id(own), site, id(entry))
        value = self._known.get(key)
        if value is None:
            merged = merge_profiles(
                self._props,
                own,
                self._site_profiles.get(site, {}),
                catalog_profiles(tx.profiles),
                catalog_profiles(entry.profiles),
            )
            value = self._known[key] = runtime_of(merged) or 1.0
            self._keep.append(own)
        return value


def _heft(
    jobs: Sequence[Job],
    eligible: Mapping[str, list[tuple[str, TransformationSite]]],
    txs: Mapping[str, Transformation],
    sites: SiteCatalog,
    graph: JobGraph,
    topo_order: Sequence[str],
    pinned: Mapping[str, tuple[str, str]],
    runtimes: _Runtimes,
) -> dict[str, tuple[str, str]]:
    """HEFT without communication costs: jobs by decreasing upward rank (over each job's
    mean runtime on its eligible sites, as in Topcuoglu et al.), each on the site where
    it finishes earliest given that site's runtime and slots."""
    placed = {j.id for j in jobs}
    # job id -> [(site, runtime there)], in eligible order (pinned: only that site)
    costs: dict[str, list[tuple[str, float]]] = {}
    for job in jobs:
        tx = txs[job.id]
        options = eligible[job.id]
        if job.id in pinned:
            site = pinned[job.id][0]
            options = [(s, e) for s, e in options if s == site]
        costs[job.id] = [(s, runtimes.of(job, tx, s, e)) for s, e in options]
    order = [j for j in topo_order if j in placed] or [j.id for j in jobs]
    rank: dict[str, float] = {}
    for job_id in reversed(order):
        below = [rank[c] for c in graph.children(job_id) if c in rank]
        mean = sum(r for _, r in costs[job_id]) / len(costs[job_id])
        rank[job_id] = mean + max(below, default=0.0)
    position = {j: i for i, j in enumerate(order)}
    slots: dict[str, list[float]] = {}
    finish: dict[str, float] = {}
    chosen: dict[str, tuple[str, str]] = {}
    for job_id in sorted(order, key=lambda j: (-rank[j], position[j])):
        ready = max((finish.get(p, 0.0) for p in graph.parents(job_id)), default=0.0)
        best: tuple[float, str] | None = None
        for name, runtime in costs[job_id]:
            heap = slots.setdefault(name, [0.0] * _slots(sites.get(name)))
            eft = max(ready, heap[0]) + runtime
            if best is None or eft < best[0]:
                best = (eft, name)
        assert best is not None
        eft, name = best
        heapq.heapreplace(slots[name], eft)
        finish[job_id] = eft
        if job_id not in pinned:
            chosen[job_id] = (name, f"heft: earliest finish {eft:g} s (rank {rank[job_id]:g})")
    return chosen


def _slots(site: Site | None) -> int:
    return slots(site) if site is not None else 1
