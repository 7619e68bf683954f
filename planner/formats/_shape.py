"""Shape checks shared by the readers: each failure is one FormatError naming the item.

The readers check the shapes they rely on here and then build the model's plain values,
so nothing that reaches the model is unchecked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalogs.yamlio import as_bool as yaml_bool
from planner.errors import FormatError, UnknownProfileNamespace
from planner.model.base import Namespace
from planner.model.workflow import LinkType

NAMESPACES: dict[str, Namespace] = {ns.value: ns for ns in Namespace}
LINKS: dict[str, LinkType] = {lt.value: lt for lt in LinkType}


def scalar_text(value: object) -> str:
    """A YAML/JSON scalar as the string Pegasus would write (booleans in lower case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_bool(value: object, where: str, source: str | None) -> bool:
    """A boolean under YAML 1.1 or 1.2 rules, else a FormatError naming ``where``."""
    return yaml_bool(value, where, source, error=FormatError)


def as_size(value: object, where: str, source: str | None) -> int:
    """A non-negative byte count (floats such as ``1024.0`` are accepted when whole)."""
    if isinstance(value, bool):
        raise FormatError(f"{where}: size must be a number, got {value!r}", source=source)
    try:
        number = float(value) if isinstance(value, str) else value
        size = int(number) if isinstance(number, int | float) else None
    except (ValueError, OverflowError):
        size = None
    if size is None or size < 0 or size != number:
        raise FormatError(
            f"{where}: size must be a whole number of bytes, got {value!r}", source=source
        )
    return size


def need_str(value: object, where: str, source: str | None) -> str:
    """A non-container scalar as text; missing or nested values are refused."""
    if value is None or isinstance(value, dict | list):
        raise FormatError(f"{where}: expected a string, got {value!r}", source=source)
    return scalar_text(value)


def profiles_from(raw: object, where: str, source: str | None) -> dict[Namespace, dict[str, str]]:
    """``{namespace: {key: value}}`` with Namespace keys and string values."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise FormatError(f"{where}: profiles must be a mapping", source=source)
    out: dict[Namespace, dict[str, str]] = {}
    for ns_name, values in raw.items():
        ns = NAMESPACES.get(str(ns_name).lower())
        if ns is None:
            known = ", ".join(NAMESPACES)
            raise UnknownProfileNamespace(
                f"{where}: unknown profile namespace {ns_name!r} (known: {known})",
                source=source,
            )
        if values is None:
            continue
        if not isinstance(values, Mapping):
            raise FormatError(f"{where}: profiles.{ns_name} must be a mapping", source=source)
        target = out.setdefault(ns, {})
        for key, value in values.items():
            if value is None or isinstance(value, dict | list):
                raise FormatError(
                    f"{where}: profile {ns_name}.{key} must be a scalar, got {value!r}",
                    source=source,
                )
            target[str(key)] = scalar_text(value)
    return out


def job_where(index: int, job_id: Any) -> str:
    """How messages name a job: ``job 3 (id 'ID4')`` (1-based position)."""
    return f"job {index + 1}" + (f" (id {job_id!r})" if job_id is not None else "")
