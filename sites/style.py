"""How jobs reach a site: the ``pegasus.style`` site profile and the site's ``grids``.

Pegasus's styles, as wfplan writes them (docs/catalogs.md, "Site styles"):

* ``condor`` (the default): a vanilla-universe job in the submit host's own pool.
* ``condorc``: a grid-universe job handed to the remote schedd of the site's ``grids``
  entry of type ``condor``: ``grid_resource = condor <schedd> <collector>`` (the collector
  is the site's ``condor.condor_collector`` profile, else the schedd's host), and the
  universe it runs in there as ``remote_universe`` (the site's ``condor.universe``, else
  vanilla).
* ``glite``: a grid-universe job for HTCondor's batch GAHP, which submits it to the
  site's batch system: ``grid_resource = batch <slurm|pbs|sge|lsf> [user@host]``, from the
  site's ``condor.grid_resource`` profile or its ``grids`` entry of type ``batch``.

A style that needs a grids entry the site lacks is refused with the site and the catalog
named, when the plan puts a job there.

>>> from sites.model import Site
>>> site = Site(name="hpc", grids=({"type": "batch", "contact": "me@login.hpc.org",
...     "scheduler": "slurm", "jobtype": "compute"},), profiles={"pegasus": {"style": "glite"}})
>>> site_style(site).grid_resource
'batch slurm me@login.hpc.org'
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import NamedTuple

from catalogs.errors import CatalogFormatError
from sites.model import Site


class Style(StrEnum):
    CONDOR = "condor"
    CONDORC = "condorc"
    GLITE = "glite"


# The batch systems HTCondor's batch GAHP submits to (grid_resource = batch <type> ...).
BATCH_SYSTEMS = ("slurm", "pbs", "sge", "lsf")
# A batch contact naming the submit host itself: no ssh hop (grid_resource without host).
_LOCAL_CONTACTS = frozenset({"", "localhost", "127.0.0.1"})
# Condor profile keys a grid style consumes at site level: never written per job as is.
STYLE_CONDOR_KEYS = frozenset({"universe", "grid_resource", "condor_collector"})


class SiteStyle(NamedTuple):
    """What every job on one site carries because of the site's style."""

    style: Style = Style.CONDOR
    grid_resource: str | None = None  # set: a grid-universe job
    remote_universe: str | None = None  # condorc: the universe in the remote pool

    def record(self) -> dict[str, str]:
        """The plan record's view (plan.json ``sites``)."""
        return {k: str(v) for k, v in self._asdict().items() if v is not None}


CONDOR_STYLE = SiteStyle()


def site_style(site: Site, source: str | None = None) -> SiteStyle:
    """The style of ``site``; a :class:`CatalogFormatError` naming the site and ``source``
    when the style is unknown or lacks what it needs."""
    raw = site.profile("pegasus", "style")
    name = (raw or Style.CONDOR.value).strip().lower()
    try:
        style = Style(name)
    except ValueError:
        known = ", ".join(s.value for s in Style)
        raise _error(site, f"profile pegasus.style {raw!r} is not one of {known}", source)
    condor = site.profiles.get("condor", {})
    if style is Style.CONDORC:
        return _condorc(site, condor, source)
    if style is Style.GLITE:
        return _glite(site, condor, source)
    return CONDOR_STYLE


def _condorc(site: Site, condor: Mapping[str, str], source: str | None) -> SiteStyle:
    needed = "a grids entry of type condor whose contact is the remote schedd"
    grid = _grid(site, Style.CONDORC, "condor", needed, source)
    schedd = _word(site, grid.get("contact", ""), "grids contact (the remote schedd)", source)
    collector = condor.get("condor_collector") or schedd.rpartition("@")[2]
    collector = _word(site, collector, "condor.condor_collector", source)
    universe = _word(site, condor.get("universe") or "vanilla", "condor.universe", source)
    return SiteStyle(Style.CONDORC, f"condor {schedd} {collector}", universe.lower())


def _glite(site: Site, condor: Mapping[str, str], source: str | None) -> SiteStyle:
    explicit = condor.get("grid_resource")
    if explicit:
        words = explicit.split()
        if len(words) not in (2, 3) or words[0].lower() != "batch":
            raise _error(
                site,
                f"condor.grid_resource {explicit!r} is not 'batch <system> [user@host]'",
                source,
            )
        _system(site, words[1], "condor.grid_resource", source)
        return SiteStyle(Style.GLITE, " ".join([w.lower() for w in words[:2]] + words[2:]))
    needed = (
        "a grids entry of type batch (scheduler slurm, pbs, sge or lsf) or a "
        "condor.grid_resource profile"
    )
    grid = _grid(site, Style.GLITE, "batch", needed, source)
    system = _system(site, grid.get("scheduler", ""), "grids scheduler", source)
    contact = grid.get("contact", "").strip()
    resource = f"batch {system}"
    if contact not in _LOCAL_CONTACTS:
        resource += " " + _word(site, contact, "grids contact", source)
    return SiteStyle(Style.GLITE, resource)


def _grid(
    site: Site, style: Style, kind: str, needed: str, source: str | None
) -> Mapping[str, str]:
    """The site's grids entry of type ``kind`` for compute jobs: ``jobtype: compute``
    first, then one without a jobtype, then any; none is an error saying what
    ``style`` needs."""
    matching = [g for g in site.grids if g.get("type", "").lower() == kind]
    for wanted in ("compute", None):
        for g in matching:
            if (g.get("jobtype") or None) == wanted:
                return g
    if not matching:
        raise _error(site, f"pegasus.style {style.value} needs {needed}", source)
    return matching[0]


def _system(site: Site, value: str, what: str, source: str | None) -> str:
    system = value.strip().lower()
    if system not in BATCH_SYSTEMS:
        raise _error(
            site, f"{what} {value!r} is not a batch system ({', '.join(BATCH_SYSTEMS)})", source
        )
    return system


def _word(site: Site, value: str, what: str, source: str | None) -> str:
    """One host-like word: grid_resource is split on whitespace."""
    text = value.strip()
    if not text or any(c.isspace() or c in '"\\' for c in text):
        raise _error(site, f"{what} {value!r} must be one word (a host or user@host)", source)
    return text


def _error(site: Site, message: str, source: str | None) -> CatalogFormatError:
    return CatalogFormatError(f"site {site.name!r}: {message}", source=source)
