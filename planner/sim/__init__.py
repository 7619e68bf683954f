"""The makespan simulator used for clustering experiments.

Reads a plan record (``plan.json``, or the same dict in memory), simulates it on the
sites' slots under an overhead model (``none``, ``dagman``, ``local`` or a JSON file)
and reports the makespan, per-site utilisation and the critical path.

>>> from planner.sim import simulate_record, NONE
>>> rec = {"nodes": [{"name": f"j{i}", "kind": "compute", "site": "s", "parents": [],
...                   "runtime": 10, "jobs": [f"j{i}"]} for i in range(100)]}
>>> simulate_record(rec, {"s": 10}, NONE).makespan
100.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from planner.sim.engine import SimResult, node_cost, simulate
from planner.sim.errors import SimulationError
from planner.sim.model import (
    DAGMAN,
    DAGMAN_2005,
    NONE,
    Network,
    OverheadModel,
    SimGraph,
    load_overhead,
)
from planner.sim.record import graph_from_record, read_plan_record
from planner.sim.slots import site_slots

__all__ = [
    "DAGMAN",
    "DAGMAN_2005",
    "NONE",
    "Network",
    "OverheadModel",
    "SimGraph",
    "SimResult",
    "SimulationError",
    "graph_from_record",
    "load_overhead",
    "node_cost",
    "read_plan_record",
    "simulate",
    "simulate_record",
]


def simulate_record(
    record: Mapping[str, Any],
    slots: Mapping[str, int],
    overhead: OverheadModel,
    network: Network | None = None,
) -> SimResult:
    """Simulate a plan record dict; ``slots`` may use ``"*"`` for every site."""
    graph = graph_from_record(record, network)
    return simulate(graph, site_slots(graph.sites, None, slots), overhead)
