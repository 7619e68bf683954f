"""What a plan is asked for, resolved once: every option and property the passes read.

``plan()`` builds one :class:`PlanContext` from the command line's :class:`PlanOptions`
and the ``pegasus.*`` (and ``dagman.retry``, ``wfplan.cluster.auto.*``) properties
before the first pass runs, and hands it to every pass. This is the one module that reads
properties for the planner: an explicit option beats the property, the property beats
Pegasus's default, and a bad value is refused here, naming the property.

>>> ctx = plan_context("wf", PlanOptions(properties={"pegasus.data.reuse.scope": "NONE"}))
>>> ctx.reuse_scope, ctx.site_selector, ctx.seed
('none', 'random', 0)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from planner.errors import PlannerError
from planner.input_model import InputModel
from planner.model.base import Profiles
from planner.model.concrete import DataConfiguration
from planner.model.staging import StagingOptions
from planner.passes.select_sites import normalise_selector
from planner.properties import as_profiles, truthy
from planner.tools.deadlines import BadLimit, planned_limits

__all__ = ["INTEGRITY_LEVELS", "PlanContext", "PlanOptions", "plan_context"]

INTEGRITY_LEVELS = ("full", "nosymlink", "none")
REUSE_SCOPES = ("full", "partial", "none")
CLEANUP_SCOPES = ("inplace", "leaf", "none")
# Properties read by ``--cluster auto`` (wfplan's own keys, not Pegasus's).
AUTO_SLOTS = "wfplan.cluster.auto.slots"  # "N" or "site=N,site=N"; default: pegasus.slots
AUTO_OVERHEAD = "wfplan.cluster.auto.overhead"  # none|dagman|dagman-2005|local|FILE


class PlanOptions(InputModel):
    """What ``wfplan plan`` was asked for. ``None`` means "from the properties, else
    Pegasus's default"; an explicit value beats both."""

    sites: tuple[str, ...] = ()  # execution site candidates; empty: all but local
    output_site: str = "local"
    submit_dir: str | None = None  # absolute; the default output RC lives there
    staging_sites: dict[str, str] = Field(default_factory=dict)  # exec -> staging
    data_configuration: DataConfiguration | None = None
    cluster: tuple[str, ...] = ()  # "horizontal", "label", "whole", applied left to right
    reuse_scope: Literal["full", "partial", "none"] | None = None
    cleanup: Literal["inplace", "leaf", "none"] | None = None
    site_selector: str | None = None
    seed: int | None = None  # None: pegasus.selector.site.seed, else 0
    output_rc: str | None = None
    properties: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanContext:
    """Every setting of one plan, resolved (see the module docstring)."""

    options: PlanOptions  # as given: the candidates, output site, clustering methods
    properties: Mapping[str, str]  # as given: recorded for sub-workflows' PRE scripts
    profiles: Profiles  # the profile layer the properties define (lowest precedence)
    reuse_scope: str
    site_selector: str  # normalised
    seed: int
    staging: StagingOptions
    cleanup_scope: str
    cleanup_clusters_num: int | None
    cleanup_clusters_size: int | None
    transfer_http: dict[str, Any]  # the transfer manifests' "http" limits; empty: none
    auto_slots: tuple[str, ...]  # --cluster auto: slot overrides, "SITE=N" or "N"
    auto_overhead: str  # --cluster auto: the overhead model's name or file
    output_rc: str  # absolute path of the output replica catalog


def plan_context(workflow_name: str, options: PlanOptions) -> PlanContext:
    """Resolve ``options`` and their properties for planning ``workflow_name``."""
    props = options.properties
    cleanup_scope = options.cleanup or props.get("pegasus.file.cleanup.scope", "inplace")
    auto_slots = props.get(AUTO_SLOTS, "")
    return PlanContext(
        options=options,
        properties=props,
        profiles=as_profiles(props),
        reuse_scope=_reuse_scope(options, props),
        site_selector=normalise_selector(
            options.site_selector or props.get("pegasus.selector.site", "random")
        ),
        seed=options.seed
        if options.seed is not None
        else (_int(props.get("pegasus.selector.site.seed")) or 0),
        staging=_staging_options(workflow_name, options, props),
        cleanup_scope=cleanup_scope if cleanup_scope in CLEANUP_SCOPES else "inplace",
        cleanup_clusters_num=_int(props.get("pegasus.file.cleanup.clusters.num")),
        cleanup_clusters_size=_int(props.get("pegasus.file.cleanup.clusters.size")),
        transfer_http=_transfer_limits(props),
        auto_slots=tuple(v.strip() for v in auto_slots.split(",") if v.strip()),
        auto_overhead=props.get(AUTO_OVERHEAD, "dagman"),
        output_rc=_output_rc(workflow_name, options),
    )


def _reuse_scope(options: PlanOptions, props: Mapping[str, str]) -> str:
    scope = options.reuse_scope or props.get("pegasus.data.reuse.scope", "full").lower()
    if scope not in REUSE_SCOPES:
        raise PlannerError(f"unknown data reuse scope {scope!r} (full, partial or none)")
    return scope


def _staging_options(name: str, options: PlanOptions, props: Mapping[str, str]) -> StagingOptions:
    return StagingOptions(
        workflow=name,
        output_site=options.output_site,
        data_configuration=_data_configuration(options, props),
        force_data_configuration=options.data_configuration is not None,
        staging_sites=options.staging_sites,
        replica_selector=props.get("pegasus.selector.replica", "default"),
        bypass_input_staging=truthy(props.get("pegasus.transfer.bypass.input.staging")),
        stagein_clusters=_int(props.get("pegasus.stagein.clusters")),
        stageout_clusters=_int(props.get("pegasus.stageout.clusters")),
        retry=props.get("dagman.retry", "1"),
        properties=props,
        integrity=_integrity(props),
    )


def _data_configuration(options: PlanOptions, props: Mapping[str, str]) -> DataConfiguration:
    if options.data_configuration is not None:
        return options.data_configuration
    value = props.get("pegasus.data.configuration", "condorio").strip().lower()
    try:
        return DataConfiguration(value)
    except ValueError:
        raise PlannerError(
            f"pegasus.data.configuration {value!r} is not one of sharedfs, nonsharedfs, condorio"
        )


def _transfer_limits(props: Mapping[str, str]) -> dict[str, Any]:
    """The ``pegasus.transfer.http.*`` properties as the transfer manifests' ``"http"``."""
    try:
        return planned_limits(props, "the properties")
    except BadLimit as exc:
        raise PlannerError(str(exc))


def _integrity(props: Mapping[str, str]) -> str:
    value = props.get("pegasus.integrity.checking", "full").strip().lower()
    if value not in INTEGRITY_LEVELS:
        raise PlannerError(
            f"pegasus.integrity.checking {value!r} is not one of {', '.join(INTEGRITY_LEVELS)}"
        )
    return value


def _output_rc(name: str, options: PlanOptions) -> str:
    if options.output_rc:
        return os.path.abspath(options.output_rc)
    base = options.submit_dir or "."
    return os.path.abspath(os.path.join(base, f"{name}-outputs.db"))


def _int(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise PlannerError(f"property value {value!r} is not an integer")
