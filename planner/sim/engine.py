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
    site_slots = _checked_slots(graph, slots)
    run = _Run(graph, site_slots, overhead)
    if overhead.cycle <= 0:
        _run_continuous(run, overhead.release_delay)
    else:
        _run_in_cycles(run, overhead)
    if run.done != len(graph) or any(run.waiting):
        stuck = next(graph.names[i] for i, w in enumerate(run.waiting) if w)
        raise SimulationError(f"the plan has a dependency cycle (node {stuck!r} never runs)")
    return SimResult(
        graph=graph,
        slots=site_slots,
        start=tuple(run.start),
        finish=tuple(run.finish),
        slot=tuple(run.slot),
        submitted=tuple(run.submitted),
        makespan=max(run.finish, default=0.0),
        critical_path=_critical_path(run.finish, run.last_parent),
    )


def _checked_slots(graph: SimGraph, slots: Mapping[str, int]) -> dict[str, int]:
    """``slots`` as a dict, once every site of the graph has at least one slot."""
    for site in sorted(set(graph.sites)):
        count = slots.get(site)
        if count is None:
            raise SimulationError(f"no slot count for site {site!r} (use --slots {site}=N)")
        if count < 1:
            raise SimulationError(f"site {site!r} has {count} slots; it needs at least 1")
    return dict(slots)


class _Categories:
    """DAGMan CATEGORY + MAXJOBS: a node whose category is at its limit waits, unsubmitted,
    until a node of that category finishes."""

    def __init__(self, graph: SimGraph) -> None:
        self.limits = {c: m for c, m in graph.category_limits.items() if m >= 1}
        self.of: list[str | None] = [
            c if c in self.limits else None for c in (graph.categories or (None,) * len(graph))
        ]
        self.running = dict.fromkeys(self.limits, 0)
        self.held: dict[str, deque[int]] = {c: deque() for c in self.limits}

    def admit(self, i: int) -> bool:
        """Whether node ``i`` may be submitted now; if not, it is held until a release."""
        c = self.of[i]
        if c is None:
            return True
        if self.running[c] >= self.limits[c]:
            self.held[c].append(i)
            return False
        self.running[c] += 1
        return True

    def release(self, i: int) -> int | None:
        """Node ``i`` finished: the held node of its category that may go next, if any."""
        c = self.of[i]
        if c is None:
            return None
        self.running[c] -= 1
        return self.held[c].popleft() if self.held[c] else None


class _Run:
    """The simulation's working state: per-node times, free slots per site and the event
    heap. Private to :func:`simulate`, which turns it into a frozen :class:`SimResult`."""

    __slots__ = ("categories", "children", "delay", "done", "duration", "events", "finish",
                 "free", "graph", "job_cost", "last_parent", "sites", "slot", "start",
                 "submitted", "task_cost", "tasks", "waiting")  # fmt: skip

    def __init__(self, graph: SimGraph, slots: Mapping[str, int], overhead: OverheadModel) -> None:
        n = len(graph)
        self.graph = graph
        # Read once here, not per submission: submit() is the simulator's inner loop.
        self.sites, self.duration, self.tasks = graph.sites, graph.duration, graph.tasks
        self.delay = overhead.scheduling_delay
        self.job_cost, self.task_cost = overhead.job_overhead, overhead.task_overhead
        self.children: list[list[int]] = [[] for _ in range(n)]
        self.waiting = [len(ps) for ps in graph.parents]
        for c, ps in enumerate(graph.parents):
            for p in ps:
                self.children[p].append(c)
        self.free = {s: [(0.0, k) for k in range(slots[s])] for s in slots}
        self.start = [0.0] * n
        self.finish = [0.0] * n
        self.slot = [0] * n
        self.submitted = [0.0] * n
        self.last_parent = [-1] * n
        self.events: list[tuple[float, int, int]] = []  # (time, 0 finish | 1 submit, node)
        self.done = 0
        self.categories = _Categories(graph)

    def roots(self) -> list[int]:
        return [i for i, w in enumerate(self.waiting) if w == 0]

    def submit(self, i: int, t: float) -> None:
        """Node ``i`` submitted at ``t``: it takes its site's earliest free slot."""
        self.submitted[i] = t
        heap = self.free[self.sites[i]]
        slot_free, k = heapq.heappop(heap)
        begin = max(slot_free, t + self.delay)
        # Summed left to right from ``begin`` (not ``begin + node_cost``): float rounding
        # would otherwise move finish times in the last bit.
        end = begin + self.duration[i] + self.job_cost + self.task_cost * self.tasks[i]
        self.start[i] = begin
        self.finish[i] = end
        self.slot[i] = k
        heapq.heappush(heap, (end, k))
        heapq.heappush(self.events, (end, 0, i))

    def finished(self, i: int) -> list[int]:
        """Node ``i`` is noticed as finished: the children it was the last parent of."""
        self.done += 1
        waiting = self.waiting
        released: list[int] = []
        for c in self.children[i]:
            waiting[c] -= 1
            if waiting[c] == 0:
                self.last_parent[c] = i
                released.append(c)
        return released


def _run_continuous(run: _Run, release: float) -> None:
    """Continuous engine: children are submitted ``release`` seconds after their last
    parent finishes. Submission requests are events too, so slots are handed out in time
    order (FIFO) and the schedule is exact."""
    events, admit, submit = run.events, run.categories.admit, run.submit
    for i in run.roots():
        heapq.heappush(events, (0.0, 1, i))
    while events:
        t, phase, i = heapq.heappop(events)
        if phase == 1:
            if admit(i):
                submit(i, t)
            continue
        j = run.categories.release(i)
        if j is not None and admit(j):
            submit(j, t)
        for c in run.finished(i):
            heapq.heappush(events, (t + release, 1, c))


def _run_in_cycles(run: _Run, overhead: OverheadModel) -> None:
    """DAGMan's cycles: at most ``max_submits_per_cycle`` submissions a cycle, and a finish
    is noticed at the first cycle ``release_delay`` after it."""
    cap = overhead.max_submits_per_cycle or len(run.graph) + 1
    cycle, release = overhead.cycle, overhead.release_delay
    ready = deque(run.roots())
    events, admit, submit = run.events, run.categories.admit, run.submit
    release_token, finished = run.categories.release, run.finished
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
            return
        t = tick * cycle
        while events and events[0][0] + release <= t + 1e-9:
            _, _, i = heapq.heappop(events)
            j = release_token(i)
            if j is not None:
                ready.append(j)
            ready.extend(finished(i))


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
