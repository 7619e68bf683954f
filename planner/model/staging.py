"""What staging hands to the passes after it: the concrete DAG so far and where each
file lives on each staging site."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from planner.model.concrete import DataConfiguration, Node, Transfer
from planner.model.unit import Unit

__all__ = [
    "ReplicaChoice",
    "ReplicaSelection",
    "Residency",
    "StagePlan",
    "StagingLayout",
    "StagingOptions",
]


@dataclass(frozen=True, slots=True)
class StagingOptions:
    """The options and ``pegasus.*`` properties the staging passes read."""

    workflow: str
    output_site: str = "local"
    data_configuration: DataConfiguration = DataConfiguration.CONDORIO
    force_data_configuration: bool = False  # given on the command line: beats site profiles
    staging_sites: Mapping[str, str] = field(default_factory=dict)
    replica_selector: str = "default"
    bypass_input_staging: bool = False
    stagein_clusters: int | None = None
    stageout_clusters: int | None = None
    retry: str = "1"
    properties: Mapping[str, str] = field(default_factory=dict)
    # pegasus.integrity.checking: full (default), nosymlink (files staged as symbolic
    # links are not hashed) or none (no checksum is computed or verified)
    integrity: str = "full"


@dataclass(frozen=True, slots=True)
class StagingLayout:
    """Where each unit's files live: its staging site and data configuration, and each
    staging site's working directory."""

    unit_of: Mapping[str, Unit]  # job id -> the unit that runs it
    # unit name -> (staging site, data configuration); units with the same site and
    # profiles share one pair
    staging_of: Mapping[str, tuple[str, DataConfiguration]]
    workdirs: Mapping[str, str]  # staging site -> working directory URL (read through)
    writedirs: Mapping[str, str]  # only sites whose write URL differs from the read URL
    workpaths: Mapping[str, str]  # staging site -> working directory path
    per_level: Mapping[tuple[int, str], int]  # (level, staging site) -> units there


class ReplicaChoice(NamedTuple):
    """The replicas one staging site reads a file from: the best one's site and the
    distinct URLs, best first (the rest are fallbacks)."""

    site: str
    urls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReplicaSelection:
    """Which replicas staging copies, chosen by ``pegasus.selector.replica``."""

    # (LFN, staging site) -> the replicas a raw input is staged in from
    reads: Mapping[tuple[str, str], ReplicaChoice]
    # LFN -> the replicas a pruned job's output is staged out from (to the output site)
    outputs: Mapping[str, ReplicaChoice]


@dataclass(slots=True)
class Residency:
    """A file on a staging site: its URL, the node that puts it there and the nodes that
    read it there (compute, stage_inter, stage_out, register).

    Mutable on purpose: staging fills one per file and site as it meets the readers, and
    at 10^6 jobs a copy per reader would be the plan's memory peak."""

    url: str
    writer: str | None
    readers: list[str] = field(default_factory=list)
    original: bool = False  # the URL is a replica's own location: never remove it
    # the input transfer URL -> job dir, shared by the readers (a file read by 10^5 jobs
    # is described once)
    pull: Transfer | None = None


@dataclass(frozen=True, slots=True)
class StagePlan:
    """The concrete DAG so far. Passes after staging return new StagePlans, made with
    ``dataclasses.replace``."""

    nodes: tuple[Node, ...]
    edges: Sequence[tuple[str, str]]  # (parent, child) names: an Edges from the passes
    residency: Mapping[tuple[str, str], Residency]  # (lfn, staging site) -> where/who
    workdirs: Mapping[str, str]  # staging site -> working directory URL (files read there)
    # staging site -> the working directory's URL for writing, only where it is not the
    # reading one (a site behind a file server with separate put and get URLs)
    writedirs: Mapping[str, str] = field(default_factory=dict)
    # a directory's write URL -> its read URL where they differ (the output site's
    # storage): registered replicas name the URL the next plan reads them from
    read_urls: Mapping[str, str] = field(default_factory=dict)

    def write_dir(self, site: str) -> str:
        """The URL a staging site's working directory is written (and cleaned) through."""
        return self.writedirs.get(site) or self.workdirs[site]

    def read_url(self, url: str) -> str:
        """``url`` (written through a put server) as it is read back (through get)."""
        for write, read in self.read_urls.items():
            if url.startswith(write + "/"):
                return read + url[len(write) :]
        return url
