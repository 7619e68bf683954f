"""A compute or cluster node to be: what clustering hands to staging."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Unit"]


class Unit(NamedTuple):
    """One compute or cluster node to be: its member job ids in topological order.

    A NamedTuple (immutable, built at C speed): unclustered plans make one per job."""

    name: str
    jobs: tuple[str, ...]
    site: str
    level: int  # the smallest level among the members
    transformation: str | None
    clustered: bool
    reason: str = ""
