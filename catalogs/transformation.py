"""Transformation catalog model: where each logical program is installed or stageable.

Loaders: ``catalogs.transformation_yaml``, ``catalogs.transformation_text``.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    # defer_build: a model class gets its validator when first validated, not at import
    # (most are only ever built by the fast constructors; ~45 ms off every start)
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class TransformationType(StrEnum):
    INSTALLED = "installed"
    STAGEABLE = "stageable"


# Profiles here are plain nested dicts keyed by namespace name ("pegasus", "env", ...);
# the planner converts them to planner.model.base.Namespace keys.
CatalogProfiles = dict[str, dict[str, str]]


class TransformationSite(_Frozen):
    """One site's copy of a transformation."""

    name: str
    pfn: str
    type: TransformationType = TransformationType.INSTALLED
    arch: str | None = None
    os_type: str | None = None
    os_release: str | None = None
    os_version: str | None = None
    container: str | None = None
    profiles: CatalogProfiles = Field(default_factory=dict)


class Transformation(_Frozen):
    namespace: str | None = None
    name: str
    version: str | None = None
    sites: tuple[TransformationSite, ...] = ()
    profiles: CatalogProfiles = Field(default_factory=dict)
    requires: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        key = f"{self.namespace}::{self.name}" if self.namespace else self.name
        return f"{key}:{self.version}" if self.version else key


class TransformationCatalog(_Frozen):
    transformations: tuple[Transformation, ...] = ()
    source: str | None = None

    @cached_property
    def _index(self) -> dict[tuple[str | None, str, str | None], Transformation]:
        return {(t.namespace, t.name, t.version): t for t in self.transformations}

    @cached_property
    def _by_name(self) -> dict[str, list[Transformation]]:
        index: dict[str, list[Transformation]] = {}
        for t in self.transformations:
            index.setdefault(t.name, []).append(t)
        return index

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
