"""Pegasus 5 replica catalog YAML, as ``Pegasus.api.ReplicaCatalog.write()`` produces it.

>>> cat = loads("replicas: [{lfn: f.a, pfns: [{site: local, pfn: /data/f.a}]}]")
>>> cat.lookup("f.a")[0].url
'/data/f.a'
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from catalogs._common import (
    as_list,
    as_mapping,
    build_replica_catalog,
    check_keys,
    check_pattern,
    fail,
    load_file,
    required,
    scalar,
)
from catalogs.atomic import atomic_write_text
from catalogs.errors import CatalogFormatError
from catalogs.replica import PFN, Replica, ReplicaCatalog
from catalogs.yamlio import as_bool, load_yaml, yaml_str

PEGASUS_VERSION = "5.0"
_TOP_KEYS = frozenset({"pegasus", "replicas"})
_ENTRY_KEYS = frozenset({"lfn", "pfns", "checksum", "metadata", "regex"})
_PFN_KEYS = frozenset({"site", "pfn"})


def from_dict(d: object, source: str | None = None) -> ReplicaCatalog:
    """A catalog from a parsed ``{replicas: [...]}`` document (also the ``replicaCatalog``
    inlined in a Pegasus workflow)."""
    if d is None:
        return ReplicaCatalog(source=source)
    top = as_mapping(d, "replica catalog", source)
    check_keys(top, _TOP_KEYS, "replica catalog", source)
    entries = top.get("replicas")
    if entries is None:
        return ReplicaCatalog(source=source)
    items = as_list(entries, "replicas", source)
    built: list[Replica] = []
    append = built.append
    for entry in items:
        replica = _canonical(entry)
        if replica is None:
            break
        append(replica)
    else:  # every entry has the plain shape and is fully checked
        return ReplicaCatalog(replicas=tuple(built), source=source)
    rows = [_row(entry) or _replica(i, entry, source) for i, entry in enumerate(items, start=1)]
    return build_replica_catalog(rows, source)


def _canonical(e: object) -> Replica | None:
    """The entry if it has exactly the shape Pegasus writes (every field checked here),
    else None: then :func:`_replica` converts it or says what is wrong. The common case
    must be cheap: a 100,000-entry catalog runs this 100,000 times."""
    row = _row(e)
    if row is None:
        return None
    return Replica(
        lfn=row["lfn"],
        pfns=tuple([PFN(url=p["url"], site=p["site"]) for p in row["pfns"]]),
        sha256=row["sha256"],
        metadata=row["metadata"],
    )


def _row(e: object) -> dict[str, Any] | None:
    """The entry as model fields (in declaration order, ``regex`` left out) if it has
    exactly the shape Pegasus writes, else None."""
    if type(e) is not dict or not e.keys() <= _ENTRY_KEYS:
        return None
    lfn, raw_pfns = e.get("lfn"), e.get("pfns")
    if type(lfn) is not str or not lfn or type(raw_pfns) is not list or not raw_pfns:
        return None
    pfns = []
    for p in raw_pfns:
        if type(p) is not dict or len(p) != 2:
            return None
        url, site = p.get("pfn"), p.get("site")
        if type(url) is not str or type(site) is not str or not url or not site:
            return None
        pfns.append({"url": url, "site": site})
    sha256 = None
    checksum = e.get("checksum")
    if checksum is not None:
        if type(checksum) is not dict or len(checksum) != 1:
            return None
        sha256 = checksum.get("sha256")
        if type(sha256) is not str:
            return None
    metadata = e.get("metadata")
    if metadata is not None and (
        type(metadata) is not dict
        or not all(type(k) is str and type(v) is str for k, v in metadata.items())
    ):
        return None
    if e.get("regex", False) is not False:
        return None
    return {"lfn": lfn, "pfns": pfns, "sha256": sha256, "metadata": metadata or {}}


def _replica(number: int, entry: object, source: str | None) -> dict[str, Any]:
    where = f"replica {number}"
    e = as_mapping(entry, where, source)
    lfn = required(e, "lfn", where, source)
    where = f"replica {number} (lfn {lfn!r})"
    check_keys(e, _ENTRY_KEYS, where, source)
    raw_pfns = e.get("pfns")
    if raw_pfns is None:
        raise CatalogFormatError(f"{where} has no pfns", source=source)
    pfn_list = as_list(raw_pfns, f"{where}: pfns", source)
    if not pfn_list:
        raise fail(where, "pfns is empty", source)
    pfns = []
    for k, raw in enumerate(pfn_list):
        p_where = f"{where}: pfns[{k}]"
        p = as_mapping(raw, p_where, source)
        check_keys(p, _PFN_KEYS, p_where, source)
        pfns.append(
            {
                "url": required(p, "pfn", p_where, source),
                "site": required(p, "site", p_where, source),
            }
        )
    sha256 = None
    checksum = e.get("checksum")
    if checksum is not None:
        c = as_mapping(checksum, f"{where}: checksum", source)
        check_keys(c, frozenset({"sha256"}), f"{where}: checksum", source)
        if c.get("sha256") is not None:
            sha256 = scalar(c["sha256"], f"{where}: checksum.sha256", source)
    metadata: dict[str, str] = {}
    if e.get("metadata") is not None:
        m = as_mapping(e["metadata"], f"{where}: metadata", source)
        metadata = {str(k): scalar(v, f"{where}: metadata.{k}", source) for k, v in m.items()}
    regex = False
    if e.get("regex") is not None:
        regex = as_bool(e["regex"], f"{where}: regex", source)
    if regex:
        check_pattern(lfn, where, source)
    return {"lfn": lfn, "pfns": pfns, "sha256": sha256, "metadata": metadata, "regex": regex}


def to_dict(catalog: ReplicaCatalog) -> dict[str, Any]:
    """The Pegasus 5 document for ``catalog`` (entries in catalog order, metadata sorted)."""
    return {"pegasus": PEGASUS_VERSION, "replicas": [_entry(r) for r in catalog.replicas]}


def _entry(rep: Replica) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "lfn": rep.lfn,
        "pfns": [{"site": p.site, "pfn": p.url} for p in rep.pfns],
    }
    if rep.sha256:
        entry["checksum"] = {"sha256": rep.sha256}
    if rep.metadata:
        entry["metadata"] = dict(sorted(rep.metadata.items()))
    if rep.regex:
        entry["regex"] = True
    return entry


def loads(text: str, source: str | None = None) -> ReplicaCatalog:
    return from_dict(load_yaml(text, source), source)


def load(path: str | Path) -> ReplicaCatalog:
    return load_file(path, loads)


def iter_lines(catalog: ReplicaCatalog) -> Iterator[str]:
    """The document :func:`to_dict` describes, written directly: PyYAML's dumper needs
    about 100 microseconds per entry (minutes for a large catalog), this a few."""
    yield f"pegasus: {yaml_str(PEGASUS_VERSION)}\n"
    if not catalog.replicas:
        yield "replicas: []\n"
        return
    yield "replicas:\n"
    for rep in catalog.replicas:
        yield f"- lfn: {yaml_str(rep.lfn)}\n  pfns:\n"
        for p in rep.pfns:
            yield f"  - site: {yaml_str(p.site)}\n    pfn: {yaml_str(p.url)}\n"
        if rep.sha256:
            yield f"  checksum:\n    sha256: {yaml_str(rep.sha256)}\n"
        if rep.metadata:
            yield "  metadata:\n"
            for key, value in sorted(rep.metadata.items()):
                yield f"    {yaml_str(key)}: {yaml_str(value)}\n"
        if rep.regex:
            yield "  regex: true\n"


def dumps(catalog: ReplicaCatalog) -> str:
    return "".join(iter_lines(catalog))


def dump(catalog: ReplicaCatalog, path: str | Path) -> None:
    """Write ``catalog`` to ``path`` atomically (temporary file, then rename)."""
    atomic_write_text(Path(path), dumps(catalog))
