"""Where a job runs: the value site selection makes and the later passes read."""

from __future__ import annotations

from typing import NamedTuple

from planner.model.base import Namespace, Profiles, profile

__all__ = ["Placement", "runtime_of"]


class Placement(NamedTuple):
    """Where one job runs, with which executable, and its merged profiles.

    An immutable NamedTuple: jobs placed alike share one."""

    site: str
    executable: str
    stageable: bool
    profiles: dict[Namespace, dict[str, str]]
    reason: str


def runtime_of(profiles: Profiles) -> float | None:
    """The ``pegasus.runtime`` profile in seconds, or None when absent or not a number."""
    value = profile(profiles, Namespace.PEGASUS, "runtime")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
