"""Shared pieces of the plan's values: profile namespaces and profiles."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum


class Namespace(str, Enum):
    """Pegasus's profile namespaces (a file using any of them must load)."""

    PEGASUS = "pegasus"
    CONDOR = "condor"
    DAGMAN = "dagman"
    ENV = "env"
    GLOBUS = "globus"
    SELECTOR = "selector"
    HINTS = "hints"
    STAT = "stat"


# namespace -> key -> value. Keys keep Pegasus's spelling (e.g. "clusters.size").
Profiles = Mapping[Namespace, Mapping[str, str]]


def profile(profiles: Profiles, namespace: Namespace, key: str) -> str | None:
    """The value of one profile key, or None.

    >>> profile({Namespace.PEGASUS: {"clusters.size": "4"}}, Namespace.PEGASUS, "clusters.size")
    '4'
    """
    values = profiles.get(namespace)
    return None if values is None else values.get(key)


def merge_profiles(*layers: Profiles) -> dict[Namespace, dict[str, str]]:
    """Merge profile layers, lowest precedence first (later layers win key by key)."""
    merged: dict[Namespace, dict[str, str]] = {}
    for layer in layers:
        for ns, values in layer.items():
            merged.setdefault(ns, {}).update(values)
    return merged
