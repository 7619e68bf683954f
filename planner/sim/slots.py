"""Slot counts per site: ``--slots site=N`` over the submit dir's copied site catalog
(profile ``pegasus.slots``, default 1, as ``sites.defaults.slots`` reads it)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from planner.sim.errors import SimulationError
from sites.model import Site, SiteCatalog


def parse_slot_options(values: Sequence[str]) -> dict[str, int]:
    """``["condorpool=8", "local=2"]`` -> ``{"condorpool": 8, "local": 2}``; a bare ``N``
    is stored under ``"*"`` (every site)."""
    out: dict[str, int] = {}
    for value in values:
        site, sep, count = value.rpartition("=")
        key = site if sep else "*"
        try:
            n = int(count)
        except ValueError:
            raise SimulationError(f"--slots {value!r}: expected SITE=N or N with N an integer")
        if n < 1:
            raise SimulationError(f"--slots {value!r}: a site needs at least 1 slot")
        out[key] = n
    return out


def find_site_catalog(submit_dir: Path) -> SiteCatalog | None:
    """The site catalog the planner copied into ``submit_dir`` (a YAML file whose name
    mentions sites), or None."""
    from sites.loader import load_site_catalog

    candidates = sorted(
        p
        for pattern in ("*site*.yml", "*site*.yaml", "*/*site*.yml", "*/*site*.yaml")
        for p in submit_dir.glob(pattern)
        if p.is_file()
    )
    return load_site_catalog(candidates[0]) if candidates else None


def _catalog_slots(site: Site | None) -> int:
    if site is None:
        return 1
    try:
        # sites.defaults is the catalog engineer's; read the profile ourselves until it lands
        defaults = importlib.import_module("sites.defaults")
        return int(defaults.slots(site))
    except (ImportError, AttributeError):
        value = site.profile("pegasus", "slots")
    try:
        return max(1, int(value)) if value is not None else 1
    except ValueError:
        raise SimulationError(
            f"site {site.name!r}: profile pegasus.slots={value!r} is not an integer"
        )


def site_slots(
    sites: Iterable[str], catalog: SiteCatalog | None, overrides: Mapping[str, int]
) -> dict[str, int]:
    """Slots for every site in ``sites``: an override, else the catalog, else 1."""
    out: dict[str, int] = {}
    for name in sorted(set(sites)):
        if name in overrides:
            out[name] = overrides[name]
        elif "*" in overrides:
            out[name] = overrides["*"]
        else:
            out[name] = _catalog_slots(catalog.get(name) if catalog else None)
    return out
