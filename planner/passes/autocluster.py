"""``--cluster auto``: choose ``clusters.num`` per horizontal group by simulation.

Horizontal clustering groups jobs by (level, transformation, site). For each group, in
level order, this pass tries a few cluster counts (powers of two up to the site's slots,
the slot count itself, and "no merging") and keeps the one that gives the smallest
simulated makespan of the whole clustered compute graph (coordinate descent: the other
groups keep their current choice). Ties go to fewer clusters. Transfers and auxiliary
nodes are left out of the search; the makespan is that of the compute nodes under the
given slots and overhead model (``planner.sim``).

The search is pure (no files, no clock); each evaluation is one O((n + e) log n)
simulation, and there are at most ``sum(candidates per group)`` of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from planner.model.base import Namespace
from planner.model.placement import Placement, runtime_of
from planner.model.workflow import Job
from planner.passes.cluster import Unit, cluster
from planner.sim.engine import simulate
from planner.sim.model import OverheadModel, SimGraph
from sites.model import SiteCatalog

__all__ = [
    "AutoCluster",
    "Choice",
    "Group",
    "auto_cluster",
    "candidates",
    "choose_counts",
    "plan_auto_cluster",
]


@dataclass(frozen=True)
class Group:
    """Jobs that horizontal clustering may merge: same level, transformation and site."""

    level: int
    transformation: str
    site: str
    members: tuple[int, ...]  # job indices, in the order clusters are cut

    @property
    def label(self) -> str:
        return f"level {self.level}, {self.transformation} on {self.site}"


@dataclass(frozen=True)
class Choice:
    """The chosen cluster count per group, the makespans behind it and why."""

    counts: tuple[int, ...]
    makespan: float
    unclustered_makespan: float
    per_slot_makespan: float  # one cluster per slot on every level
    evaluations: int
    lines: tuple[str, ...]


def candidates(size: int, slots: int) -> list[int]:
    """Cluster counts worth trying for a group of ``size`` jobs on ``slots`` slots.

    >>> candidates(100, 10)
    [1, 2, 4, 8, 10, 100]
    """
    out = {size, min(size, slots)}
    k = 1
    while k <= min(size, slots):
        out.add(k)
        k *= 2
    return sorted(out)


def _chunks(members: Sequence[int], count: int) -> Iterable[Sequence[int]]:
    """Contiguous, balanced chunks, as ``clusters.num`` cuts them in the cluster pass."""
    base, extra = divmod(len(members), count)
    start = 0
    for i in range(count):
        end = start + base + (1 if i < extra else 0)
        yield members[start:end]
        start = end


def clustered_graph(
    runtime: Sequence[float],
    parents: Sequence[Sequence[int]],
    groups: Sequence[Group],
    counts: Sequence[int],
) -> SimGraph:
    """The compute graph after cutting each group into ``counts[g]`` clusters."""
    cid = [0] * len(runtime)
    sites: list[str] = []
    durations: list[float] = []
    tasks: list[int] = []
    for group, count in zip(groups, counts, strict=True):
        for chunk in _chunks(group.members, max(1, min(count, len(group.members)))):
            idx = len(sites)
            total = 0.0
            for m in chunk:
                cid[m] = idx
                total += runtime[m]
            sites.append(group.site)
            durations.append(total)
            tasks.append(len(chunk))
    edges: list[set[int]] = [set() for _ in sites]
    for j, ps in enumerate(parents):
        c = cid[j]
        for p in ps:
            if cid[p] != c:
                edges[c].add(cid[p])
    return SimGraph(
        names=tuple(str(i) for i in range(len(sites))),
        kinds=tuple("cluster" if t > 1 else "compute" for t in tasks),
        sites=tuple(sites),
        duration=tuple(durations),
        tasks=tuple(tasks),
        parents=tuple(tuple(sorted(e)) for e in edges),
    )


def choose_counts(
    runtime: Sequence[float],
    parents: Sequence[Sequence[int]],
    groups: Sequence[Group],
    slots: Mapping[str, int],
    overhead: OverheadModel,
    max_sweeps: int = 2,
    budget: int = 400,
) -> Choice:
    """Pick a cluster count per group minimising the simulated makespan.

    Starts from the better of "no merging" and "one cluster per slot" (so the result is
    never worse than either), then improves one group at a time, level by level, for at
    most ``max_sweeps`` sweeps and ``budget`` simulations (workflows with very many
    groups stop early, keeping the best found so far).

    >>> g = [Group(1, "t", "s", tuple(range(100)))]
    >>> choose_counts([10.0] * 100, [()] * 100, g, {"s": 10}, OverheadModel(job_overhead=1)).counts
    (10,)
    """

    def makespan(counts: Sequence[int]) -> float:
        graph = clustered_graph(runtime, parents, groups, counts)
        return simulate(graph, slots, overhead).makespan

    found, base, per_slot_makespan = _starting_point(makespan, groups, slots)
    start = found.best
    order = sorted(
        range(len(groups)),
        key=lambda g: (groups[g].level, groups[g].transformation, groups[g].site),
    )
    for _ in range(max_sweeps):
        if not found.improved or found.stopped:
            break
        found = _descend(makespan, groups, order, slots, found._replace(improved=False), budget)
    lines = _explain(groups, order, found, base, start, slots, overhead.name, budget)
    return Choice(
        counts=tuple(found.counts),
        makespan=found.best,
        unclustered_makespan=base,
        per_slot_makespan=per_slot_makespan,
        evaluations=found.evaluations,
        lines=lines,
    )


def _starting_point(
    makespan: Callable[[Sequence[int]], float], groups: Sequence[Group], slots: Mapping[str, int]
) -> tuple[_Descent, float, float]:
    """The descent's start, the better of "no merging" and "one cluster per slot" (ties
    go to per slot), with the makespans of both."""
    unclustered = [len(g.members) for g in groups]
    per_slot = [min(len(g.members), slots[g.site]) for g in groups]
    base = makespan(unclustered)
    per_slot_makespan = base if per_slot == unclustered else makespan(per_slot)
    evaluations = 1 if per_slot == unclustered else 2
    if per_slot_makespan <= base + 1e-9:
        counts, start = per_slot, per_slot_makespan
    else:
        counts, start = unclustered, base
    # "improved" so that the first sweep runs
    return _Descent(counts, start, evaluations, improved=True), base, per_slot_makespan


class _Descent(NamedTuple):
    """Where the coordinate descent stands after a sweep."""

    counts: list[int]
    best: float
    evaluations: int
    improved: bool = False
    stopped: bool = False  # the simulation budget ran out


def _explain(
    groups: Sequence[Group],
    order: Sequence[int],
    found: _Descent,
    base: float,
    start: float,
    slots: Mapping[str, int],
    overhead: str,
    budget: int,
) -> tuple[str, ...]:
    """One line per group of several jobs (its count), then the makespans behind them."""
    lines = [
        f"auto: {groups[g].label}: {len(groups[g].members)} jobs -> {found.counts[g]} clusters.num"
        for g in order
        if len(groups[g].members) > 1
    ]
    lines.append(
        f"auto: simulated makespan {base:.1f} s unclustered, {start:.1f} s at the better "
        f"of that and one cluster per slot, {found.best:.1f} s chosen; "
        f"slots {', '.join(f'{s}={n}' for s, n in sorted(slots.items()))}, "
        f"overhead model {overhead}, {found.evaluations} simulations"
        + (f" (stopped at the budget of {budget})" if found.stopped else "")
    )
    return tuple(lines)


def _descend(
    makespan: Callable[[Sequence[int]], float],
    groups: Sequence[Group],
    order: Sequence[int],
    slots: Mapping[str, int],
    at: _Descent,
    budget: int,
) -> _Descent:
    """One sweep: each group in turn tries its candidate counts, the others fixed; a tie
    goes to fewer clusters."""
    counts, best, evaluations, improved = at.counts, at.best, at.evaluations, at.improved
    for g in order:
        size = len(groups[g].members)
        if size < 2:
            continue
        for k in candidates(size, slots[groups[g].site]):
            if k == counts[g]:
                continue
            if evaluations >= budget:
                return _Descent(counts, best, evaluations, improved, stopped=True)
            trial = list(counts)
            trial[g] = k
            value = makespan(trial)
            evaluations += 1
            if value < best - 1e-9 or (abs(value - best) <= 1e-9 and k < counts[g]):
                improved = improved or value < best - 1e-9
                best, counts = value, trial
    return _Descent(counts, best, evaluations, improved)


@dataclass(frozen=True)
class AutoCluster:
    """The units to emit and the explanation to record (plan.json options / explain)."""

    units: list[Unit]
    choice: Choice
    counts: dict[str, int]  # "level L, tx on site" -> clusters.num


def auto_cluster(
    jobs: Sequence[Job],
    levels: Mapping[str, int],
    placements: Mapping[str, Placement],
    edges: Iterable[tuple[str, str]],
    slots: Mapping[str, int],
    overhead: OverheadModel,
    position: Mapping[str, int] | None = None,
) -> AutoCluster:
    """Horizontal clustering with ``clusters.num`` chosen per group by simulation.

    ``edges`` are the job graph's (parent, child) pairs; ``slots`` the slot count of every
    execution site. Jobs keep the cluster pass's grouping and names; each clustered unit's
    reason says the count was chosen automatically.
    """
    index = {j.id: i for i, j in enumerate(jobs)}
    runtime = [runtime_of(placements[j.id].profiles) or 0.0 for j in jobs]
    parents: list[list[int]] = [[] for _ in jobs]
    for p, c in edges:
        if p in index and c in index:
            parents[index[c]].append(index[p])
    buckets: dict[tuple[int, str, str], list[int]] = {}
    for i, j in enumerate(jobs):
        buckets.setdefault((levels[j.id], j.transformation, placements[j.id].site), []).append(i)
    groups = [Group(lv, tx, site, tuple(ms)) for (lv, tx, site), ms in buckets.items()]
    site_slots = {g.site: max(1, int(slots.get(g.site, 1))) for g in groups}
    choice = choose_counts(runtime, parents, groups, site_slots, overhead)
    chosen: dict[str, dict[Namespace, dict[str, str]]] = {}
    for group, count in zip(groups, choice.counts, strict=True):
        for m in group.members:
            job_id = jobs[m].id
            prof = {ns: dict(v) for ns, v in placements[job_id].profiles.items()}
            pegasus = prof.setdefault(Namespace.PEGASUS, {})
            pegasus.pop("clusterer.preference", None)
            pegasus.pop("clusters.size", None)
            pegasus["clusters.num"] = str(count)
            chosen[job_id] = prof
    tuned = {
        job_id: placement._replace(profiles=chosen.get(job_id, placement.profiles))
        for job_id, placement in placements.items()
    }
    units = cluster(jobs, levels, tuned, ["horizontal"], position)
    why = choice.lines[-1]
    units = [u._replace(reason=f"{u.reason} ({why})") if u.clustered else u for u in units]
    counts = {g.label: c for g, c in zip(groups, choice.counts, strict=True)}
    return AutoCluster(units=units, choice=choice, counts=counts)


def plan_auto_cluster(
    jobs: Sequence[Job],
    levels: Mapping[str, int],
    placements: Mapping[str, Placement],
    edges: Iterable[tuple[str, str]],
    site_catalog: SiteCatalog,
    methods: Sequence[str],
    slot_options: Sequence[str] = (),
    overhead_model: str = "dagman",
    position: Mapping[str, int] | None = None,
) -> tuple[list[Unit], tuple[str, ...]]:
    """What ``plan()`` calls for ``--cluster auto``: the units and the explanation lines.

    Slots come from ``slot_options`` (``SITE=N`` or ``N``; the property
    ``wfplan.cluster.auto.slots``) or each site's ``pegasus.slots``; the overhead model is
    named by ``overhead_model`` (``wfplan.cluster.auto.overhead``; ``local`` and FILE read
    a JSON file, the one input this pass reads). Other methods in ``methods`` (e.g.
    ``label``) are applied after, left to right.
    """
    from planner.sim.model import load_overhead
    from planner.sim.slots import parse_slot_options, site_slots

    overrides = parse_slot_options(slot_options)
    sites = {placements[j.id].site for j in jobs}
    slots = site_slots(sites, site_catalog, overrides)
    overhead = load_overhead(overhead_model)
    result = auto_cluster(jobs, levels, placements, edges, slots, overhead, position)
    units = result.units
    rest = [m for m in methods if m not in ("auto", "horizontal")]
    if rest:
        units = _regroup(units, jobs, levels, placements, rest, position)
    return units, result.choice.lines


def _regroup(
    units: list[Unit],
    jobs: Sequence[Job],
    levels: Mapping[str, int],
    placements: Mapping[str, Placement],
    methods: Sequence[str],
    position: Mapping[str, int] | None,
) -> list[Unit]:
    """Apply the other methods to the jobs the auto step left unclustered."""
    free = {j for u in units if not u.clustered for j in u.jobs}
    again = cluster([j for j in jobs if j.id in free], levels, placements, methods, position)
    return [u for u in units if u.clustered] + again
