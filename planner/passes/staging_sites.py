"""Pass 5a: the staging site and data configuration of every unit.

``sharedfs`` stages a unit's files on its execution site, ``nonsharedfs`` on
``--staging-site exec=staging`` (default the execution site), ``condorio`` on ``local``.
A job's ``pegasus.data.configuration`` profile picks the configuration unless one was
given on the command line. The workflow's files live on a staging site in
``<sharedScratch path>/<workflow name>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from planner.errors import PlannerError
from planner.model.base import Namespace, Profiles, profile
from planner.model.concrete import DataConfiguration
from planner.model.placement import Placement
from planner.model.staging import StagingLayout, StagingOptions
from planner.model.unit import Unit
from planner.site_dirs import SiteDirs
from sites.model import DirectoryType, SiteCatalog

__all__ = ["staging_sites"]


def staging_sites(
    units: Sequence[Unit],
    placements: Mapping[str, Placement],
    sites: SiteCatalog,
    options: StagingOptions,
) -> StagingLayout:
    """Each unit's staging site, and the working directory of each staging site."""
    unit_of: dict[str, Unit] = {}
    for unit in units:
        for job_id in unit.jobs:
            unit_of[job_id] = unit
    staging_of, pairs = _staging_of(units, placements, options)
    workdirs, writedirs, workpaths = _workdirs(
        (site for site, _ in pairs), SiteDirs(sites), options.workflow
    )
    per_level: dict[tuple[int, str], int] = {}
    for unit in units:
        slot = (unit.level, staging_of[unit.name][0])
        per_level[slot] = per_level.get(slot, 0) + 1
    return StagingLayout(unit_of, staging_of, workdirs, writedirs, workpaths, per_level)


def _staging_of(
    units: Sequence[Unit], placements: Mapping[str, Placement], options: StagingOptions
) -> tuple[dict[str, tuple[str, DataConfiguration]], list[tuple[str, DataConfiguration]]]:
    """Unit name -> (staging site, data configuration), and the distinct pairs in the
    order the units first name them."""
    # (site, profiles) -> (staging site, data configuration): one shared pair per
    # combination, not a tuple per unit (merged profiles are shared by select_sites)
    staging_of: dict[str, tuple[str, DataConfiguration]] = {}
    pairs: list[tuple[str, DataConfiguration]] = []
    pair_of: dict[str, dict[int, tuple[str, DataConfiguration]]] = {}
    for unit in units:
        prof = placements[unit.jobs[0]].profiles
        known_pairs = pair_of.get(unit.site)
        if known_pairs is None:
            known_pairs = pair_of[unit.site] = {}
        pair = known_pairs.get(id(prof))
        if pair is None:
            pair = known_pairs[id(prof)] = _pair(unit, prof, options)
            pairs.append(pair)
        staging_of[unit.name] = pair
    return staging_of, pairs


def _pair(unit: Unit, prof: Profiles, options: StagingOptions) -> tuple[str, DataConfiguration]:
    value = profile(prof, Namespace.PEGASUS, "data.configuration")
    try:
        dc = (
            DataConfiguration(value.lower())
            if value and not options.force_data_configuration
            else options.data_configuration
        )
    except ValueError:
        raise PlannerError(
            f"job {unit.jobs[0]}: unknown pegasus.data.configuration {value!r} "
            "(sharedfs, nonsharedfs or condorio)"
        )
    if dc == DataConfiguration.SHAREDFS:
        return unit.site, dc
    if dc == DataConfiguration.NONSHAREDFS:
        return options.staging_sites.get(unit.site, unit.site), dc
    return "local", dc


def _workdirs(
    staging: Iterable[str], dirs: SiteDirs, workflow: str
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(read URL, write URL where it differs, path) of each staging site's working
    directory, in the order the units first name the sites."""
    workdirs: dict[str, str] = {}
    writedirs: dict[str, str] = {}
    workpaths: dict[str, str] = {}
    for site in staging:
        if site in workdirs:
            continue
        url, put_url, path = dirs.urls(site, DirectoryType.SHARED_SCRATCH)
        workdirs[site] = f"{url}/{workflow}"
        if put_url is not url:
            writedirs[site] = f"{put_url}/{workflow}"
        workpaths[site] = f"{path}/{workflow}"
    return workdirs, writedirs, workpaths
