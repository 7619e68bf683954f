"""Shared pieces of the models: the frozen base class, profile namespaces and profiles."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from enum import Enum

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Base for every value object: immutable, no unknown fields."""

    # defer_build: a model class gets its validator when first validated, not at import
    # (most are only ever built by the fast constructors; ~45 ms off every start)
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


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


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large acyclic structures.

    Readers and passes allocate millions of small objects and no cycles; each full
    collection rescans them all (it doubled to tripled load and planning times at 10^5
    jobs). The previous state is restored on exit.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
