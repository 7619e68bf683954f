"""Pegasus 5 site catalog YAML, as ``Pegasus.api.SiteCatalog.write()`` produces it.

Pegasus's extra keys (``os.release``, ``os.version``, a directory's ``sharedFileSystem``,
every grid field) are accepted; grids are kept as string mappings.

>>> sc = loads("sites: [{name: cluster, directories: [{type: sharedScratch, path: /s}]}]")
>>> sc.get("cluster").directories[0].type.value
'sharedScratch'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from catalogs._common import (
    as_list,
    as_mapping,
    check_keys,
    fail,
    optional,
    profiles,
    profiles_to_dict,
    read_text,
    required,
    scalar,
)
from catalogs.atomic import atomic_write_text
from catalogs.errors import CatalogFormatError
from catalogs.yamlio import as_bool, dump_yaml, load_yaml
from sites.model import Directory, DirectoryType, FileServer, Operation, Site, SiteCatalog

PEGASUS_VERSION = "5.0"
_TOP_KEYS = frozenset({"pegasus", "sites"})
_SITE_KEYS = frozenset(
    {"name", "arch", "os.type", "os.release", "os.version", "directories", "grids"}
    | {"profiles", "metadata"}
)
_DIR_KEYS = frozenset({"type", "path", "sharedFileSystem", "fileServers"})
_SERVER_KEYS = frozenset({"url", "operation", "profiles"})
_DIR_TYPES = ", ".join(t.value for t in DirectoryType)


def from_dict(d: object, source: str | None = None) -> SiteCatalog:
    """A catalog from a parsed ``{sites: [...]}`` document (also the ``siteCatalog``
    inlined in a Pegasus workflow). Defaults are not added here: see ``sites.defaults``."""
    if d is None:
        return SiteCatalog(source=source)
    top = as_mapping(d, "site catalog", source)
    check_keys(top, _TOP_KEYS, "site catalog", source)
    entries = top.get("sites")
    if entries is None:
        return SiteCatalog(source=source)
    items = as_list(entries, "sites", source)
    sites = tuple(_site(i, e, source) for i, e in enumerate(items, start=1))
    seen: set[str] = set()
    for site in sites:
        if site.name in seen:
            raise CatalogFormatError(f"site {site.name!r} is listed twice", source=source)
        seen.add(site.name)
    return SiteCatalog(sites=sites, source=source)


def _site(number: int, entry: object, source: str | None) -> Site:
    where = f"site {number}"
    e = as_mapping(entry, where, source)
    name = required(e, "name", where, source)
    where = f"site {number} ({name!r})"
    check_keys(e, _SITE_KEYS, where, source)
    dirs = as_list(e.get("directories") or [], f"{where}: directories", source)
    grids = as_list(e.get("grids") or [], f"{where}: grids", source)
    return Site(
        name=name,
        arch=optional(e, "arch", where, source),
        os_type=optional(e, "os.type", where, source),
        os_release=optional(e, "os.release", where, source),
        os_version=optional(e, "os.version", where, source),
        directories=tuple(
            _directory(f"{where}: directories[{k}]", d, source) for k, d in enumerate(dirs)
        ),
        grids=tuple(_grid(f"{where}: grids[{k}]", g, source) for k, g in enumerate(grids)),
        profiles=profiles(e.get("profiles"), where, source),
    )


def _directory(where: str, entry: object, source: str | None) -> Directory:
    d = as_mapping(entry, where, source)
    check_keys(d, _DIR_KEYS, where, source)
    raw_type = required(d, "type", where, source)
    try:
        kind = DirectoryType(raw_type)
    except ValueError:
        raise fail(where, f"unknown directory type {raw_type!r} (known: {_DIR_TYPES})", source)
    where = f"{where} ({raw_type})"
    servers = []
    for k, raw in enumerate(as_list(d.get("fileServers") or [], f"{where}: fileServers", source)):
        s_where = f"{where}: fileServers[{k}]"
        s = as_mapping(raw, s_where, source)
        check_keys(s, _SERVER_KEYS, s_where, source)
        op = Operation.ALL
        if s.get("operation") is not None:
            raw_op = scalar(s["operation"], s_where, source)
            try:
                op = Operation(raw_op.lower())
            except ValueError:
                raise fail(s_where, f"operation {raw_op!r} is not all, get or put", source)
        servers.append(
            FileServer(
                url=required(s, "url", s_where, source),
                operation=op,
                profiles=profiles(s.get("profiles"), s_where, source),
            )
        )
    shared = False
    if d.get("sharedFileSystem") is not None:
        shared = as_bool(d["sharedFileSystem"], f"{where}: sharedFileSystem", source)
    return Directory(
        type=kind,
        path=required(d, "path", where, source),
        file_servers=tuple(servers),
        shared_file_system=shared,
    )


def _grid(where: str, entry: object, source: str | None) -> dict[str, str]:
    g = as_mapping(entry, where, source)
    return {str(k): scalar(v, f"{where}: {k}", source) for k, v in g.items() if v is not None}


def to_dict(catalog: SiteCatalog) -> dict[str, Any]:
    """The Pegasus 5 document for ``catalog`` (sites in catalog order)."""
    return {"pegasus": PEGASUS_VERSION, "sites": [_site_dict(s) for s in catalog.sites]}


def _site_dict(s: Site) -> dict[str, Any]:
    d: dict[str, Any] = {"name": s.name}
    for key, value in (
        ("arch", s.arch),
        ("os.type", s.os_type),
        ("os.release", s.os_release),
        ("os.version", s.os_version),
    ):
        if value is not None:
            d[key] = value
    d["directories"] = [
        {
            "type": dr.type.value,
            "path": dr.path,
            "sharedFileSystem": dr.shared_file_system,
            "fileServers": [_server_dict(f) for f in dr.file_servers],
        }
        for dr in s.directories
    ]
    if s.grids:
        d["grids"] = [dict(g) for g in s.grids]
    if s.profiles:
        d["profiles"] = profiles_to_dict(s.profiles)
    return d


def _server_dict(f: FileServer) -> dict[str, Any]:
    d: dict[str, Any] = {"url": f.url, "operation": f.operation.value}
    if f.profiles:
        d["profiles"] = profiles_to_dict(f.profiles)
    return d


def loads(text: str, source: str | None = None) -> SiteCatalog:
    return from_dict(load_yaml(text, source), source)


def load(path: str | Path) -> SiteCatalog:
    path = Path(path)
    return loads(read_text(path), str(path))


def dumps(catalog: SiteCatalog) -> str:
    return dump_yaml(to_dict(catalog))


def dump(catalog: SiteCatalog, path: str | Path) -> None:
    """Write ``catalog`` to ``path`` atomically (temporary file, then rename)."""
    atomic_write_text(Path(path), dumps(catalog))
