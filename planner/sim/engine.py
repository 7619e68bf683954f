"""The discrete-event simulation: nodes released by their parents, submitted by an
engine with an overhead model, run FIFO on each site's slots.

Cost: every node is submitted once and finishes once; each is a heap push/pop, so
O((n + e) log n). Ties are broken by node index, so results are deterministic.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from planner.sim.errors import SimulationError
from planner.sim.model import OverheadModel, SimGraph


@dataclass(frozen=True)
class SimResult:
    """Per-node start/finish times and slot, the makespan and the critical path."""

    graph: SimGraph
    slots: dict[str, int]
    start: tuple[float, ...]
    finish: tuple[float, ...]
    slot: tuple[int, ...]
    submitted: tuple[float, ...]
    makespan: float
    critical_path: tuple[int, ...]

    def busy(self) -> dict[str, float]:
        """Slot-seconds each site spent running nodes (overheads included)."""
        out = dict.fromkeys(self.slots, 0.0)
        for i, site in enumerate(self.graph.sites):
            out[site] += self.finish[i] - self.start[i]
        return out

    def utilisation(self) -> dict[str, float]:
        """Busy slot-seconds / (slots x makespan), per site, in site-name order."""
        busy = self.busy()
        span = self.makespan
        return {
            s: (busy[s] / (self.slots[s] * span) if span > 0 else 0.0) for s in sorted(self.slots)
        }


def node_cost(graph: SimGraph, i: int, overhead: OverheadModel) -> float:
    """Seconds node ``i`` holds its slot: its duration plus per-job and per-task costs."""
    return graph.duration[i] + overhead.job_overhead + overhead.task_overhead * graph.tasks[i]


def simulate(graph: SimGraph, slots: Mapping[str, int], overhead: OverheadModel) -> SimResult:
    """Simulate ``graph`` on ``slots`` (site -> slot count) under ``overhead``.

    >>> from planner.sim.model import NONE
    >>> g = SimGraph(("a", "b"), ("compute",) * 2, ("s", "s"), (2.0, 3.0), (1, 1), ((), (0,)))
    >>> simulate(g, {"s": 1}, NONE).makespan
    5.0
    """
    n = len(graph)
    site_slots = dict(slots)
    for site in sorted(set(graph.sites)):
        count = site_slots.get(site)
        if count is None:
            raise SimulationError(f"no slot count for site {site!r} (use --slots {site}=N)")
        if count < 1:
            raise SimulationError(f"site {site!r} has {count} slots; it needs at least 1")
    children: list[list[int]] = [[] for _ in range(n)]
    waiting = [0] * n
    for c, ps in enumerate(graph.parents):
        waiting[c] = len(ps)
        for p in ps:
            children[p].append(c)
    free: dict[str, list[tuple[float, int]]] = {
        s: [(0.0, k) for k in range(site_slots[s])] for s in site_slots
    }
    start = [0.0] * n
    finish = [0.0] * n
    slot = [0] * n
    submitted = [0.0] * n
    last_parent = [-1] * n
    events: list[tuple[float, int, int]] = []  # (time, 0 finish | 1 submit, node)
    done = 0
    sched = overhead.scheduling_delay
    cost_job = overhead.job_overhead
    cost_task = overhead.task_overhead
    duration = graph.duration
    tasks = graph.tasks
    sites = graph.sites

    def submit(i: int, t: float) -> None:
        submitted[i] = t
        heap = free[sites[i]]
        slot_free, k = heapq.heappop(heap)
        begin = max(slot_free, t + sched)
        end = begin + duration[i] + cost_job + cost_task * tasks[i]
        start[i] = begin
        finish[i] = end
        slot[i] = k
        heapq.heappush(heap, (end, k))
        heapq.heappush(events, (end, 0, i))

    # DAGMan CATEGORY + MAXJOBS: a node whose category is at its limit waits, unsubmitted,
    # until a node of that category finishes.
    limits = {c: m for c, m in graph.category_limits.items() if m >= 1}
    cat_of: list[str | None] = [
        c if c in limits else None for c in (graph.categories or (None,) * n)
    ]
    running = dict.fromkeys(limits, 0)
    held: dict[str, deque[int]] = {c: deque() for c in limits}

    def admit(i: int) -> bool:
        c = cat_of[i]
        if c is None:
            return True
        if running[c] >= limits[c]:
            held[c].append(i)
            return False
        running[c] += 1
        return True

    def release_token(i: int) -> int | None:
        c = cat_of[i]
        if c is None:
            return None
        running[c] -= 1
        return held[c].popleft() if held[c] else None

    ready: deque[int] = deque(i for i in range(n) if waiting[i] == 0)
    cycle = overhead.cycle
    release = overhead.release_delay
    if cycle <= 0:
        # Continuous engine: children are submitted ``release`` seconds after their last
        # parent finishes. Submission requests are events too, so slots are handed out
        # in time order (FIFO) and the schedule is exact.
        for i in ready:
            heapq.heappush(events, (0.0, 1, i))
        while events:
            t, phase, i = heapq.heappop(events)
            if phase == 1:
                if admit(i):
                    submit(i, t)
                continue
            done += 1
            j = release_token(i)
            if j is not None and admit(j):
                submit(j, t)
            for c in children[i]:
                waiting[c] -= 1
                if waiting[c] == 0:
                    last_parent[c] = i
                    heapq.heappush(events, (t + release, 1, c))
    else:
        cap = overhead.max_submits_per_cycle or n + 1
        t = 0.0
        tick = 0
        while True:
            budget = cap
            while ready and budget > 0:
                i = ready.popleft()
                if admit(i):
                    submit(i, t)
                    budget -= 1
            if ready:
                tick += 1
            elif events:
                # jump to the first cycle at which the next finish is noticed
                tick = max(tick + 1, math.ceil((events[0][0] + release) / cycle - 1e-9))
            else:
                break
            t = tick * cycle
            while events and events[0][0] + release <= t + 1e-9:
                _, _, i = heapq.heappop(events)
                done += 1
                j = release_token(i)
                if j is not None:
                    ready.append(j)
                for c in children[i]:
                    waiting[c] -= 1
                    if waiting[c] == 0:
                        last_parent[c] = i
                        ready.append(c)
    if done != n or any(waiting):
        stuck = next(graph.names[i] for i in range(n) if waiting[i])
        raise SimulationError(f"the plan has a dependency cycle (node {stuck!r} never runs)")
    makespan = max(finish, default=0.0)
    return SimResult(
        graph=graph,
        slots=site_slots,
        start=tuple(start),
        finish=tuple(finish),
        slot=tuple(slot),
        submitted=tuple(submitted),
        makespan=makespan,
        critical_path=_critical_path(finish, last_parent),
    )


def _critical_path(finish: list[float], last_parent: list[int]) -> tuple[int, ...]:
    """From the last node to finish back through the parent that released each node."""
    if not finish:
        return ()
    i = max(range(len(finish)), key=lambda k: (finish[k], -k))
    path = [i]
    while last_parent[i] >= 0:
        i = last_parent[i]
        path.append(i)
    return tuple(reversed(path))
