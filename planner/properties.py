"""Pegasus properties: ``key = value`` lines (``pegasus.properties``, ``--conf``) and
``-Dkey=value`` on the command line.

Only the reading lives here (:func:`load_properties` opens a file, the rest is pure). Layers
merge in Pegasus's order, lowest first: ``~/.pegasusrc``, the ``--conf`` file, then each
``-D`` (:func:`merge_layers`). Keys keep Pegasus's spelling, e.g. ``pegasus.data.configuration``,
``pegasus.selector.site``, ``pegasus.clusterer.preference``, ``dagman.retry``. Keys whose
first word is a profile namespace (``pegasus.``, ``condor.``, ``dagman.``, ``env.``,
``globus.``, ``selector.``) also act as the lowest layer of profiles (:func:`as_profiles`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path

from planner.errors import PlannerError
from planner.model.base import Namespace

__all__ = [
    "CATALOG_FILE_KEYS",
    "PropertiesError",
    "as_profiles",
    "load_properties",
    "merge_layers",
    "parse_define",
    "parse_properties",
    "truthy",
    "unknown_keys",
]

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
        "pegasus.integrity.checking",
    }
)


# Where Pegasus users name their catalogs; a --sc/--tc/--rc on the command line wins.
CATALOG_FILE_KEYS = {
    "sc": "pegasus.catalog.site.file",
    "tc": "pegasus.catalog.transformation.file",
    "rc": "pegasus.catalog.replica.file",
}

# Every key wfplan reads, as a property or as a profile a property sets for every job.
KNOWN_KEYS = PLANNER_KEYS | frozenset(
    {
        *CATALOG_FILE_KEYS.values(),
        # the catalogs' formats: wfplan tells them from the files, so these are accepted
        "pegasus.catalog.site",
        "pegasus.catalog.transformation",
        "pegasus.catalog.replica",
        "pegasus.stagein.clusters",
        "pegasus.stageout.clusters",
        "pegasus.clusters.size",
        "pegasus.clusters.num",
        "pegasus.clusters.maxruntime",
        "pegasus.clusterer.preference",
        "pegasus.runtime",
        "pegasus.label",
        "pegasus.group",
        "pegasus.enable_for_data_reuse",
        "pegasus.slots",
        "pegasus.style",
        "pegasus.cores",
        "pegasus.memory",
        "pegasus.diskspace",
        "selector.execution.site",
        "dagman.retry",
    }
)
# Families of keys: Pegasus's replica selector settings, and namespaces whose keys are
# passed on as they are (submit commands, environment variables, DAGMan settings).
KNOWN_PREFIXES = (
    "pegasus.selector.replica.",
    "condor.",
    "env.",
    "globus.",
    "dagman.",
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


def parse_define(text: str) -> tuple[str, str]:
    """One ``-Dkey=value`` (given without its ``-D``), as pegasus-plan takes it.

    >>> parse_define("pegasus.catalog.site.file=sites.yml")
    ('pegasus.catalog.site.file', 'sites.yml')
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise PropertiesError(f"-D{text}: expected -Dkey=value")
    return key, value.strip()


def merge_layers(layers: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """One mapping from layers given lowest first: a later layer's key wins."""
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update(layer)
    return merged


def unknown_keys(properties: Iterable[str]) -> list[tuple[str, str | None]]:
    """The keys wfplan does not use, each with the nearest key it knows (or None).

    >>> unknown_keys(["clusters.num", "pegasus.clusters.size", "env.PATH"])
    [('clusters.num', 'pegasus.clusters.num')]
    """
    known = sorted(KNOWN_KEYS)
    out: list[tuple[str, str | None]] = []
    for key in properties:
        if key in KNOWN_KEYS or key.startswith(KNOWN_PREFIXES):
            continue
        nearest = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        out.append((key, nearest[0] if nearest else None))
    return out


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
