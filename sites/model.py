"""Site catalog model. Sites ``local`` (the submit host) and ``condorpool`` always exist.

Loaders: ``sites.site_yaml``. Defaults for ``local``/``condorpool``: ``sites.defaults``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class DirectoryType(StrEnum):
    SHARED_SCRATCH = "sharedScratch"
    SHARED_STORAGE = "sharedStorage"
    LOCAL_SCRATCH = "localScratch"
    LOCAL_STORAGE = "localStorage"


class Operation(StrEnum):
    ALL = "all"
    GET = "get"
    PUT = "put"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileServer:
    url: str  # e.g. file:///data/scratch or http://127.0.0.1:8000/scratch
    operation: Operation = Operation.ALL
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Directory:
    type: DirectoryType
    path: str
    file_servers: tuple[FileServer, ...] = ()
    shared_file_system: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    name: str
    arch: str | None = None
    os_type: str | None = None
    os_release: str | None = None
    os_version: str | None = None
    directories: tuple[Directory, ...] = ()
    grids: tuple[dict[str, str], ...] = ()
    # namespace name -> key -> value, e.g. {"pegasus": {"data.configuration": "sharedfs"}}
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)

    def directory(self, kind: DirectoryType) -> Directory | None:
        for d in self.directories:
            if d.type == kind:
                return d
        return None

    def profile(self, namespace: str, key: str) -> str | None:
        return self.profiles.get(namespace, {}).get(key)


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteCatalog:
    """Sites by name (the index is a field built with the catalog)."""

    sites: tuple[Site, ...] = ()
    source: str | None = None
    _index: dict[str, Site] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {s.name: s for s in self.sites})

    def get(self, name: str) -> Site | None:
        return self._index.get(name)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sites]
