"""The URLs and paths of the sites' directories, as the site catalog gives them."""

from __future__ import annotations

from planner.errors import StagingError
from sites.model import DirectoryType, Operation, SiteCatalog

__all__ = ["SiteDirs"]


class SiteDirs:
    """Directory URLs per site, looked up once (errors name the site catalog).

    A directory's file servers say how it is reached (Pegasus's ``operation``): files are
    read through the first ``get``/``all`` server and written through the first
    ``put``/``all`` server. A directory without file servers is ``file://<path>`` both
    ways."""

    def __init__(self, sites: SiteCatalog) -> None:
        self._sites = sites
        self._cache: dict[tuple[str, DirectoryType], tuple[str | None, str | None, str]] = {}

    def lookup(self, site: str, kind: DirectoryType) -> tuple[str | None, str | None, str]:
        """(read URL, write URL, path); a URL is None when no file server offers it."""
        key = (site, kind)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        entry = self._sites.get(site)
        directory = entry.directory(kind) if entry is not None else None
        if directory is None:
            raise StagingError(
                f"site {site!r} has no {kind.value} directory "
                f"({'not in the site catalog' if entry is None else 'needed to stage data there'})",
                source=self._sites.source,
            )
        path = directory.path.rstrip("/")
        servers = directory.file_servers
        if not servers:
            read: str | None = "file://" + directory.path
            write: str | None = read
        else:
            read = next((s.url for s in servers if s.operation != Operation.PUT), None)
            write = next((s.url for s in servers if s.operation != Operation.GET), None)
        read = read.rstrip("/") if read is not None else None
        write = write.rstrip("/") if write is not None else None
        if write == read:
            write = read  # one string: callers tell the usual case apart by identity
        hit = self._cache[key] = (read, write, path)
        return hit

    def _missing(self, site: str, kind: DirectoryType, needed: str, have: str) -> StagingError:
        return StagingError(
            f"site {site!r}: its {kind.value} directory has only {have} file servers, "
            f"but wfplan must {needed} files there (add a file server with operation "
            f"{'get' if have == 'put' else 'put'} or all)",
            source=self._sites.source,
        )

    def url(self, site: str, kind: DirectoryType) -> tuple[str, str]:
        """(read URL, path) of a site's directory of ``kind``."""
        read, _, path = self.lookup(site, kind)
        if read is None:
            raise self._missing(site, kind, "read", "put")
        return read, path

    def write_url(self, site: str, kind: DirectoryType) -> str:
        """The URL files are written to in a site's directory of ``kind``."""
        _, write, _ = self.lookup(site, kind)
        if write is None:
            raise self._missing(site, kind, "write", "get")
        return write

    def urls(self, site: str, kind: DirectoryType) -> tuple[str, str, str]:
        """(read URL, write URL, path): a directory files are both written to and read from.

        The two URLs are the same string object when one server does both (or there is
        none), so callers can tell the usual case apart by identity."""
        read, write, path = self.lookup(site, kind)
        if read is None or write is None:
            raise self._missing(site, kind, "write and read", "put" if read is None else "get")
        return read, write, path
