"""The simulator's error conditions (part of the one hierarchy rooted at WfplanError)."""

from __future__ import annotations

from planner.errors import PlannerError


class SimulationError(PlannerError):
    """A plan record, overhead model or slot setting cannot be simulated."""
