"""Pegasus properties: ``key = value`` lines (``pegasus.properties``, ``--conf``).

Only the reading lives here (:func:`load_properties` opens the file, :func:`parse_properties`
is pure). Keys keep Pegasus's spelling, e.g. ``pegasus.data.configuration``,
``pegasus.selector.site``, ``pegasus.clusterer.preference``, ``dagman.retry``. Keys whose
first word is a profile namespace (``pegasus.``, ``condor.``, ``dagman.``, ``env.``,
``globus.``, ``selector.``) also act as the lowest layer of profiles (:func:`as_profiles`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from planner.errors import PlannerError
from planner.model.base import Namespace

__all__ = ["PropertiesError", "as_profiles", "load_properties", "parse_properties", "truthy"]

# Properties that steer the planner itself rather than a job; they never become profiles.
PLANNER_KEYS = frozenset(
    {
        "pegasus.data.configuration",
        "pegasus.selector.site",
        "pegasus.selector.replica",
        "pegasus.selector.site.seed",
        "pegasus.data.reuse.scope",
        "pegasus.transfer.bypass.input.staging",
        "pegasus.file.cleanup.scope",
        "pegasus.file.cleanup.strategy",
        "pegasus.file.cleanup.clusters.num",
        "pegasus.file.cleanup.clusters.size",
    }
)


class PropertiesError(PlannerError):
    """A properties file has a line that is not ``key = value``."""


def parse_properties(text: str, source: str | None = None) -> dict[str, str]:
    """Parse ``key = value`` lines; ``#``/``!`` start a comment line; later keys win.

    >>> parse_properties("pegasus.selector.site = RoundRobin\\n# note\\n")
    {'pegasus.selector.site': 'RoundRobin'}
    """
    props: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or not key:
            raise PropertiesError(
                f"line {number}: expected 'key = value', got {raw!r}", source=source
            )
        props[key] = value.strip()
    return props


def load_properties(path: Path) -> dict[str, str]:
    """Read a properties file (errors name the file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PropertiesError(f"cannot read properties: {exc.strerror}", source=str(path))
    return parse_properties(text, source=str(path))


_NAMESPACES = {ns.value: ns for ns in Namespace}


def as_profiles(properties: Mapping[str, str]) -> dict[Namespace, dict[str, str]]:
    """The profile layer properties define: ``condor.request_memory = 2048`` becomes
    ``{Namespace.CONDOR: {"request_memory": "2048"}}``; planner settings are left out."""
    layer: dict[Namespace, dict[str, str]] = {}
    for key in sorted(properties):
        if key in PLANNER_KEYS:
            continue
        prefix, dot, rest = key.partition(".")
        ns = _NAMESPACES.get(prefix)
        if ns is None or not dot or not rest:
            continue
        layer.setdefault(ns, {})[rest] = properties[key]
    return layer


def truthy(value: str | None) -> bool:
    """Pegasus's booleans: ``true``/``yes``/``on``/``1`` (any case)."""
    return value is not None and value.strip().lower() in ("true", "yes", "on", "1")
