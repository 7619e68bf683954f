"""Shape checks and file helpers shared by every catalog loader (catalogs and sites).

Loaders check the shapes they need by hand and then build the catalogs' plain values:
hand checks give messages that name the entry (``replica 3 (lfn 'f.a'): pfns[0] has no
site``), and checked values need no second validation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from catalogs.errors import CatalogFormatError
from catalogs.replica import PFN, Replica, ReplicaCatalog

# Pegasus's profile namespaces; a catalog using any other is refused.
PROFILE_NAMESPACES = frozenset(
    {"pegasus", "condor", "dagman", "env", "globus", "selector", "hints", "stat"}
)


def fail(where: str, problem: str, source: str | None) -> CatalogFormatError:
    """The error for ``problem`` in the entry described by ``where``."""
    return CatalogFormatError(f"{where}: {problem}" if where else problem, source=source)


def as_mapping(value: object, where: str, source: str | None) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise fail(where, f"expected a mapping, got {_kind(value)}", source)
    return value


def as_list(value: object, where: str, source: str | None) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise fail(where, f"expected a list, got {_kind(value)}", source)
    return list(value)


def scalar(value: object, where: str, source: str | None) -> str:
    """A YAML scalar as a string: numbers and booleans are stored as their text
    (``3`` -> ``"3"``, ``true`` -> ``"true"``), as Pegasus does for profile values."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise fail(where, f"expected a string or number, got {_kind(value)}", source)


def required(d: Mapping[str, Any], key: str, where: str, source: str | None) -> str:
    """A required, non-empty scalar field."""
    if key not in d or d[key] is None:
        raise CatalogFormatError(f"{where} has no {key}", source=source)
    text = scalar(d[key], f"{where}: {key}", source)
    if not text:
        raise CatalogFormatError(f"{where}: {key} is empty", source=source)
    return text


def optional(d: Mapping[str, Any], key: str, where: str, source: str | None) -> str | None:
    value = d.get(key)
    return None if value is None else scalar(value, f"{where}: {key}", source)


def check_keys(
    d: Mapping[str, Any], allowed: frozenset[str], where: str, source: str | None
) -> None:
    """Refuse unknown keys (a typo must not be silently ignored); ``x-`` keys are
    extensions and always allowed."""
    for key in d:
        if key not in allowed and not (isinstance(key, str) and key.startswith("x-")):
            raise fail(where, f"unknown key {key!r}", source)


def check_pattern(pattern: str, where: str, source: str | None) -> None:
    """A regex replica's LFN must compile (it is matched against whole LFNs)."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise fail(where, f"invalid regular expression: {exc}", source)


def build_replica_catalog(rows: list[dict[str, Any]], source: str | None) -> ReplicaCatalog:
    """The catalog for entries ``{lfn, pfns: [{url, site}], sha256, metadata, regex}``
    whose shape a loader checked; their scalar types are checked here (a database row
    can hold anything), naming the entry."""
    return ReplicaCatalog(
        replicas=tuple(_replica(i, row, source) for i, row in enumerate(rows, start=1)),
        source=source,
    )


def _replica(number: int, row: dict[str, Any], source: str | None) -> Replica:
    lfn = row["lfn"]
    if type(lfn) is not str:
        raise fail(f"replica {number}", f"lfn must be a string, got {lfn!r}", source)
    where = f"replica {number} (lfn {lfn!r})"
    pfns = []
    for k, p in enumerate(row["pfns"]):
        url, site = p["url"], p["site"]
        if type(url) is not str or type(site) is not str:
            raise fail(where, f"pfns[{k}]: pfn and site must be strings", source)
        pfns.append(PFN(url=url, site=site))
    sha256, metadata = row.get("sha256"), row.get("metadata") or {}
    if sha256 is not None and type(sha256) is not str:
        raise fail(where, f"checksum sha256 must be a string, got {sha256!r}", source)
    if not all(type(k) is str and type(v) is str for k, v in metadata.items()):
        raise fail(where, "metadata keys and values must be strings", source)
    return Replica(
        lfn=lfn,
        pfns=tuple(pfns),
        sha256=sha256,
        metadata=dict(metadata),
        regex=bool(row.get("regex", False)),
    )


def profiles(value: object, where: str, source: str | None) -> dict[str, dict[str, str]]:
    """Pegasus YAML profiles ``{namespace: {key: value}}`` with string values."""
    if value is None:
        return {}
    result: dict[str, dict[str, str]] = {}
    for ns, values in as_mapping(value, f"{where}: profiles", source).items():
        if ns not in PROFILE_NAMESPACES:
            known = ", ".join(sorted(PROFILE_NAMESPACES))
            raise fail(where, f"unknown profile namespace {ns!r} (known: {known})", source)
        inner = as_mapping(values, f"{where}: profiles.{ns}", source)
        result[ns] = {
            str(k): scalar(v, f"{where}: profile {ns}.{k}", source) for k, v in inner.items()
        }
    return result


def profiles_to_dict(profiles: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Profiles for writing: namespaces and keys sorted so output is byte-stable."""
    return {ns: dict(sorted(profiles[ns].items())) for ns in sorted(profiles) if profiles[ns]}


_Catalog = TypeVar("_Catalog")


def load_file(path: str | Path, loads: Callable[[str, str | None], _Catalog]) -> _Catalog:
    """``loads`` of a catalog file's text, with the file named in its messages."""
    path = Path(path)
    return loads(read_text(path), str(path))


def read_text(path: Path) -> str:
    """A catalog file's text; a missing or unreadable file is a CatalogFormatError."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogFormatError("no such file", source=str(path))
    except UnicodeDecodeError as exc:
        raise CatalogFormatError(f"not UTF-8 text (byte {exc.start})", source=str(path))
    except OSError as exc:
        raise CatalogFormatError(f"cannot read: {exc.strerror}", source=str(path))


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return {
        dict: "a mapping",
        list: "a list",
        str: f"the string {value!r}",
        bool: f"the boolean {value!r}",
    }.get(type(value), f"a {type(value).__name__}")
