"""Pegasus 5 transformation catalog YAML, as ``Pegasus.api.TransformationCatalog`` writes it.

Profile values may be YAML numbers or booleans; they are stored as strings. Pegasus's
``containers`` list, and ``hooks``/``metadata``/``checksum`` on entries, are accepted and
not kept (wfplan does not use them); a site's ``container`` keeps the container's name.

>>> tc = loads("transformations: [{name: ls, sites: [{name: local, pfn: /bin/ls}]}]")
>>> tc.lookup(None, "ls", None).sites[0].pfn
'/bin/ls'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from catalogs._common import (
    as_list,
    as_mapping,
    check_keys,
    fail,
    load_file,
    optional,
    profiles,
    profiles_to_dict,
    required,
    scalar,
)
from catalogs.atomic import atomic_write_text
from catalogs.transformation import (
    Transformation,
    TransformationCatalog,
    TransformationSite,
    TransformationType,
)
from catalogs.yamlio import dump_yaml, load_yaml

PEGASUS_VERSION = "5.0"
_TOP_KEYS = frozenset({"pegasus", "transformations", "containers"})
_TR_KEYS = frozenset(
    {"namespace", "name", "version", "sites", "profiles", "requires", "hooks", "metadata"}
    | {"checksum"}
)
# a site's optional details: field of TransformationSite -> key in the document
_DETAIL_KEYS = {
    "arch": "arch",
    "os_type": "os.type",
    "os_release": "os.release",
    "os_version": "os.version",
    "container": "container",
}
_SITE_KEYS = frozenset(
    {"name", "pfn", "type", *_DETAIL_KEYS.values()} | {"profiles", "metadata", "bypass"}
)


def parse_type(value: object, where: str, source: str | None) -> TransformationType:
    """``installed``/``stageable`` in any case (the text format writes ``INSTALLED``)."""
    text = scalar(value, f"{where}: type", source).strip().lower()
    try:
        return TransformationType(text)
    except ValueError:
        raise fail(where, f"type {value!r} is not installed or stageable", source)


def from_dict(d: object, source: str | None = None) -> TransformationCatalog:
    """A catalog from a parsed ``{transformations: [...]}`` document (also the
    ``transformationCatalog`` inlined in a Pegasus workflow)."""
    if d is None:
        return TransformationCatalog(source=source)
    top = as_mapping(d, "transformation catalog", source)
    check_keys(top, _TOP_KEYS, "transformation catalog", source)
    if top.get("containers") is not None:
        as_list(top["containers"], "containers", source)
    entries = top.get("transformations")
    if entries is None:
        return TransformationCatalog(source=source)
    items = as_list(entries, "transformations", source)
    trs = tuple(_transformation(i, e, source) for i, e in enumerate(items, start=1))
    return TransformationCatalog(transformations=trs, source=source)


def _transformation(number: int, entry: object, source: str | None) -> Transformation:
    where = f"transformation {number}"
    e = as_mapping(entry, where, source)
    name = required(e, "name", where, source)
    namespace = optional(e, "namespace", where, source)
    version = optional(e, "version", where, source)
    key = f"{namespace}::{name}" if namespace else name
    where = f"transformation {number} ({key}{':' + version if version else ''})"
    check_keys(e, _TR_KEYS, where, source)
    sites = tuple(
        _site(f"{where}: sites[{k}]", s, source)
        for k, s in enumerate(as_list(e.get("sites") or [], f"{where}: sites", source))
    )
    requires = tuple(
        scalar(r, f"{where}: requires", source)
        for r in as_list(e.get("requires") or [], f"{where}: requires", source)
    )
    return Transformation(
        namespace=namespace,
        name=name,
        version=version,
        sites=sites,
        profiles=profiles(e.get("profiles"), where, source),
        requires=requires,
    )


def _site(where: str, entry: object, source: str | None) -> TransformationSite:
    s = as_mapping(entry, where, source)
    name = required(s, "name", where, source)
    where = f"{where} (site {name!r})"
    check_keys(s, _SITE_KEYS, where, source)
    kind = TransformationType.INSTALLED
    if s.get("type") is not None:
        kind = parse_type(s["type"], where, source)
    return TransformationSite(
        name=name,
        pfn=required(s, "pfn", where, source),
        type=kind,
        profiles=profiles(s.get("profiles"), where, source),
        **{field: optional(s, key, where, source) for field, key in _DETAIL_KEYS.items()},
    )


def to_dict(catalog: TransformationCatalog) -> dict[str, Any]:
    """The Pegasus 5 document for ``catalog`` (entries in catalog order)."""
    return {
        "pegasus": PEGASUS_VERSION,
        "transformations": [_tr_dict(t) for t in catalog.transformations],
    }


def _tr_dict(t: Transformation) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if t.namespace:
        d["namespace"] = t.namespace
    d["name"] = t.name
    if t.version:
        d["version"] = t.version
    if t.requires:
        d["requires"] = list(t.requires)
    d["sites"] = [_site_dict(s) for s in t.sites]
    if t.profiles:
        d["profiles"] = profiles_to_dict(t.profiles)
    return d


def _site_dict(s: TransformationSite) -> dict[str, Any]:
    d: dict[str, Any] = {"name": s.name, "pfn": s.pfn, "type": s.type.value}
    for field, key in _DETAIL_KEYS.items():
        value = getattr(s, field)
        if value is not None:
            d[key] = value
    if s.profiles:
        d["profiles"] = profiles_to_dict(s.profiles)
    return d


def loads(text: str, source: str | None = None) -> TransformationCatalog:
    return from_dict(load_yaml(text, source), source)


def load(path: str | Path) -> TransformationCatalog:
    return load_file(path, loads)


def dumps(catalog: TransformationCatalog) -> str:
    return dump_yaml(to_dict(catalog))


def dump(catalog: TransformationCatalog, path: str | Path) -> None:
    """Write ``catalog`` to ``path`` atomically (temporary file, then rename)."""
    atomic_write_text(Path(path), dumps(catalog))
