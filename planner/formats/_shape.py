"""Value checks shared by the readers and their job builder: each failure is one
FormatError naming the item.
"""

from __future__ import annotations

from typing import Any

from catalogs.yamlio import as_bool as yaml_bool
from planner.errors import FormatError
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


def job_where(index: int, job_id: Any) -> str:
    """How messages name a job: ``job 3 (id 'ID4')`` (1-based position)."""
    return f"job {index + 1}" + (f" (id {job_id!r})" if job_id is not None else "")
