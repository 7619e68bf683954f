"""Transformation catalog model: where each logical program is installed or stageable.

Loaders: ``catalogs.transformation_yaml``, ``catalogs.transformation_text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class TransformationType(StrEnum):
    INSTALLED = "installed"
    STAGEABLE = "stageable"


# Profiles here are plain nested dicts keyed by namespace name ("pegasus", "env", ...);
# the planner converts them to planner.model.base.Namespace keys.
CatalogProfiles = dict[str, dict[str, str]]


@dataclass(frozen=True, slots=True, kw_only=True)
class TransformationSite:
    """One site's copy of a transformation."""

    name: str
    pfn: str
    type: TransformationType = TransformationType.INSTALLED
    arch: str | None = None
    os_type: str | None = None
    os_release: str | None = None
    os_version: str | None = None
    container: str | None = None
    profiles: CatalogProfiles = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Transformation:
    namespace: str | None = None
    name: str
    version: str | None = None
    sites: tuple[TransformationSite, ...] = ()
    profiles: CatalogProfiles = field(default_factory=dict)
    requires: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        key = f"{self.namespace}::{self.name}" if self.namespace else self.name
        return f"{key}:{self.version}" if self.version else key


@dataclass(frozen=True, slots=True, kw_only=True)
class TransformationCatalog:
    """Transformations with their lookup indexes (fields built with the catalog)."""

    transformations: tuple[Transformation, ...] = ()
    source: str | None = None
    _index: dict[tuple[str | None, str, str | None], Transformation] = field(
        init=False, repr=False, compare=False
    )
    _by_name: dict[str, list[Transformation]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, list[Transformation]] = {}
        for t in self.transformations:
            by_name.setdefault(t.name, []).append(t)
        index = {(t.namespace, t.name, t.version): t for t in self.transformations}
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_by_name", by_name)

    def lookup(
        self, namespace: str | None, name: str, version: str | None
    ) -> Transformation | None:
        """The entry for ns::name:version. A job that leaves namespace or version out
        matches an entry by name alone when exactly one entry has that name, as
        Pegasus users expect."""
        exact = self._index.get((namespace, name, version))
        if exact is not None:
            return exact
        candidates = [
            t
            for t in self._by_name.get(name, ())
            if (namespace is None or t.namespace == namespace)
            and (version is None or t.version == version)
        ]
        return candidates[0] if len(candidates) == 1 else None

    def merged(self, other: TransformationCatalog) -> TransformationCatalog:
        sources = [s for s in (self.source, other.source) if s]
        return TransformationCatalog(
            transformations=self.transformations + other.transformations,
            source=", ".join(sources) or None,
        )
