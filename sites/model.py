"""Site catalog model. Sites ``local`` (the submit host) and ``condorpool`` always exist.

Loaders: ``sites.site_yaml``. Defaults for ``local``/``condorpool``: ``sites.defaults``.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    # defer_build: a model class gets its validator when first validated, not at import
    # (most are only ever built by the fast constructors; ~45 ms off every start)
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class DirectoryType(StrEnum):
    SHARED_SCRATCH = "sharedScratch"
    SHARED_STORAGE = "sharedStorage"
    LOCAL_SCRATCH = "localScratch"
    LOCAL_STORAGE = "localStorage"


class Operation(StrEnum):
    ALL = "all"
    GET = "get"
    PUT = "put"


class FileServer(_Frozen):
    url: str  # e.g. file:///data/scratch or http://127.0.0.1:8000/scratch
    operation: Operation = Operation.ALL
    profiles: dict[str, dict[str, str]] = Field(default_factory=dict)


class Directory(_Frozen):
    type: DirectoryType
    path: str
    file_servers: tuple[FileServer, ...] = ()
    shared_file_system: bool = False


class Site(_Frozen):
    name: str
    arch: str | None = None
    os_type: str | None = None
    os_release: str | None = None
    os_version: str | None = None
    directories: tuple[Directory, ...] = ()
    grids: tuple[dict[str, str], ...] = ()
    # namespace name -> key -> value, e.g. {"pegasus": {"data.configuration": "sharedfs"}}
    profiles: dict[str, dict[str, str]] = Field(default_factory=dict)

    def directory(self, kind: DirectoryType) -> Directory | None:
        for d in self.directories:
            if d.type == kind:
                return d
        return None

    def profile(self, namespace: str, key: str) -> str | None:
        return self.profiles.get(namespace, {}).get(key)


class SiteCatalog(_Frozen):
    sites: tuple[Site, ...] = ()
    source: str | None = None

    @cached_property
    def _index(self) -> dict[str, Site]:
        return {s.name: s for s in self.sites}

    def get(self, name: str) -> Site | None:
        return self._index.get(name)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sites]
