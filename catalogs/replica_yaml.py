"""Pegasus 5 replica catalog YAML, as ``Pegasus.api.ReplicaCatalog.write()`` produces it.

>>> cat = loads("replicas: [{lfn: f.a, pfns: [{site: local, pfn: /data/f.a}]}]")
>>> cat.lookup("f.a")[0].url
'/data/f.a'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from catalogs._common import (
    as_list,
    as_mapping,
    atomic_write_text,
    check_keys,
    check_pattern,
    fail,
    read_text,
    required,
    scalar,
)
from catalogs.errors import CatalogFormatError
from catalogs.replica import PFN, Replica, ReplicaCatalog
from catalogs.yamlio import as_bool, dump_yaml, load_yaml

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
    replicas = [_replica(i, entry, source) for i, entry in enumerate(items, start=1)]
    return ReplicaCatalog.model_construct(replicas=tuple(replicas), source=source)


def _replica(number: int, entry: object, source: str | None) -> Replica:
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
            PFN.model_construct(
                url=required(p, "pfn", p_where, source), site=required(p, "site", p_where, source)
            )
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
    return Replica.model_construct(
        lfn=lfn, pfns=tuple(pfns), sha256=sha256, metadata=metadata, regex=regex
    )


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
    path = Path(path)
    return loads(read_text(path), str(path))


def dumps(catalog: ReplicaCatalog) -> str:
    return dump_yaml(to_dict(catalog))


def dump(catalog: ReplicaCatalog, path: str | Path) -> None:
    """Write ``catalog`` to ``path`` atomically (temporary file, then rename)."""
    atomic_write_text(Path(path), dumps(catalog))
