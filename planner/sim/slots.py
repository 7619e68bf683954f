"""Slot counts per site: ``--slots site=N`` over the submit dir's copied site catalog
(profile ``pegasus.slots``, default 1, as ``sites.defaults.slots`` reads it)."""

from __future__ import annotations

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


def _catalog_slots(site: Site | None, source: str | None) -> int:
    from sites.defaults import slots

    return 1 if site is None else slots(site, source)


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
            out[name] = _catalog_slots(
                catalog.get(name) if catalog else None, catalog.source if catalog else None
            )
    return out
