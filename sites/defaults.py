"""The sites every plan may use even when no catalog lists them, and profile readers.

``local`` is the submit host: a shared scratch and a local storage directory under the
work directory, both reachable through ``file://``. ``condorpool`` is an HTCondor pool with
no shared file system, so data moves with HTCondor's file transfer (``condorio``).

>>> from pathlib import Path
>>> sc = with_defaults(SiteCatalog(), Path("/w"))
>>> sc.names, data_configuration(sc.get("condorpool")), slots(sc.get("local"))
(['local', 'condorpool'], 'condorio', 1)
"""

from __future__ import annotations

from pathlib import Path

from catalogs.errors import CatalogFormatError
from sites.model import Directory, DirectoryType, FileServer, Operation, Site, SiteCatalog

LOCAL = "local"
CONDORPOOL = "condorpool"
DATA_CONFIGURATIONS = frozenset({"sharedfs", "nonsharedfs", "condorio"})


def local_site(work_dir: Path) -> Site:
    """The submit host's default entry, rooted at ``<work_dir>/local``."""
    root = Path(work_dir).absolute() / "local"

    def directory(kind: DirectoryType, path: Path) -> Directory:
        return Directory(
            type=kind,
            path=str(path),
            file_servers=(FileServer(url=path.as_uri(), operation=Operation.ALL),),
        )

    return Site(
        name=LOCAL,
        directories=(
            directory(DirectoryType.SHARED_SCRATCH, root / "scratch"),
            directory(DirectoryType.LOCAL_STORAGE, root / "storage"),
        ),
    )


def condorpool_site() -> Site:
    """An HTCondor pool without a shared file system (Pegasus's ``condorio`` setup)."""
    return Site(
        name=CONDORPOOL,
        profiles={"pegasus": {"data.configuration": "condorio", "style": "condor"}},
    )


def with_defaults(catalog: SiteCatalog, work_dir: Path) -> SiteCatalog:
    """``catalog`` plus ``local`` and ``condorpool`` where it lacks them (appended in that
    order); a site the catalog lists is never replaced."""
    extra = []
    if catalog.get(LOCAL) is None:
        extra.append(local_site(work_dir))
    if catalog.get(CONDORPOOL) is None:
        extra.append(condorpool_site())
    if not extra:
        return catalog
    return SiteCatalog(sites=catalog.sites + tuple(extra), source=catalog.source)


def slots(site: Site, source: str | None = None) -> int:
    """How many jobs the site runs at once: profile ``pegasus.slots`` (default 1)."""
    raw = site.profile("pegasus", "slots")
    if raw is None:
        return 1
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise CatalogFormatError(
            f"site {site.name!r}: profile pegasus.slots must be a positive integer, got {raw!r}",
            source=source,
        )
    return value


def data_configuration(site: Site, source: str | None = None) -> str | None:
    """The site's ``pegasus.data.configuration`` profile (sharedfs, nonsharedfs or
    condorio), or None when unset; any other value is an error naming the site."""
    value = site.profile("pegasus", "data.configuration")
    if value is not None and value not in DATA_CONFIGURATIONS:
        known = ", ".join(sorted(DATA_CONFIGURATIONS))
        raise CatalogFormatError(
            f"site {site.name!r}: profile pegasus.data.configuration {value!r} is not one of {known}",
            source=source,
        )
    return value
