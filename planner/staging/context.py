"""The staging pass's working state, shared by its parts while one plan is staged."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from planner.model.base import Namespace
from planner.model.concrete import DataConfiguration, NodeKind, Transfer
from planner.model.graph import JobGraph
from planner.model.staging import ReplicaSelection, Residency, StagingLayout, StagingOptions
from planner.model.unit import Unit
from planner.model.workflow import Job
from planner.passes.select_sites import Placement
from planner.site_dirs import SiteDirs
from sites.model import DirectoryType

__all__ = ["WAITING", "Request", "RequestKey", "StageContext", "UnitSite"]

WAITING = "\x00waiting"  # a transfer node's name, not known yet

RequestKey = tuple[NodeKind, str, str]  # (kind, LFN, the site the file goes to)


class Request(NamedTuple):
    """One file to move, before requests are grouped into transfer nodes. Its readers
    (stage_in, stage_inter) are kept beside it, in ``StageContext.readers_of``: a tuple is
    built at C speed, and a plan makes one request per staged file."""

    kind: NodeKind
    site: str  # staging site the node serves (dst for stage-in/inter, src for stage-out)
    level: int
    local: bool
    transfer: Transfer
    parent: str | None = None  # at most one: the producer (stage_inter, stage_out)


@dataclass(frozen=True, slots=True)
class UnitSite:
    """Where one unit's files live: its staging site, data configuration, and the
    working directory's read URL ``base`` and write URL ``wbase`` (the same string
    object, ``wbase is base``, unless the site writes through another file server).

    A slotted class, not a tuple: its fields are read several times per file, and one
    is made per (staging site, data configuration), not per unit."""

    staging: str
    dc: DataConfiguration
    base: str
    wbase: str


class StageContext:
    """The inputs of one staging run and what it has built so far: the transfer requests
    and their readers, where each file lives, and the residencies waiting for the name
    of the transfer node that reads or writes them."""

    __slots__ = (
        "checking",
        "chosen",
        "dagman",
        "dirs",
        "fixups",
        "graph",
        "jobs",
        "layout",
        "nosymlink",
        "notes",
        "options",
        "out_base",
        "placements",
        "plain_reasons",
        "pruned",
        "read_urls",
        "readers_of",
        "requests",
        "residency",
        "runtimes",
        "sha256",
        "unit_sites",
        "why",
    )

    def __init__(
        self,
        jobs: Mapping[str, Job],
        graph: JobGraph,
        placements: Mapping[str, Placement],
        pruned: frozenset[str],
        layout: StagingLayout,
        chosen: ReplicaSelection,
        sha256: Callable[[str], str | None],
        dirs: SiteDirs,
        options: StagingOptions,
    ) -> None:
        self.jobs = jobs
        self.graph = graph
        self.placements = placements
        self.pruned = pruned
        self.layout = layout
        self.chosen = chosen
        self.options = options
        self.checking = options.integrity != "none"
        self.nosymlink = options.integrity == "nosymlink"
        # pegasus.integrity.checking = none: nothing is verified
        self.sha256 = sha256 if self.checking else _no_checksum
        self.dirs = dirs
        self.requests: dict[RequestKey, Request] = {}
        self.readers_of: dict[RequestKey, list[str]] = {}  # request -> reading units
        self.residency: dict[tuple[str, str], Residency] = {}
        # (residency, reader index or -1 for the writer, request key), filled in once
        # the requests are grouped into nodes
        self.fixups: list[tuple[Residency, int, RequestKey]] = []
        self.notes: dict[str, list[str]] = {}  # file lines of the unit being staged
        # per job: the placement reason, then lines about its files; jobs with no file
        # lines share one tuple per reason
        self.why: dict[str, tuple[str, ...]] = {}
        self.out_base: str | None = None  # only needed when a file is staged out
        self.read_urls: dict[str, str] = {}
        self.dagman: dict[tuple[int, int], dict[Namespace, dict[str, str]]] = {}
        self.runtimes: dict[int, float | None] = {}
        self.plain_reasons: dict[str, tuple[str]] = {}  # placement reasons are shared
        # id of a (staging site, data configuration) pair of the layout -> its UnitSite
        self.unit_sites: dict[int, UnitSite] = {}

    def unit_site(self, unit: Unit) -> UnitSite:
        """Where ``unit``'s files live (one value per pair the layout shares)."""
        pair = self.layout.staging_of[unit.name]
        where = self.unit_sites.get(id(pair))
        if where is None:
            staging, dc = pair
            base = self.layout.workdirs[staging]
            # files go in through the write URL; `wbase is base` usually
            wbase = self.layout.writedirs.get(staging, base)
            where = self.unit_sites[id(pair)] = UnitSite(staging, dc, base, wbase)
        return where

    def resident(self, lfn: str, site: str, url: str) -> Residency:
        """The residency of ``lfn`` on ``site``, made at ``url`` if it has none yet."""
        res = self.residency.get((lfn, site))
        if res is None:
            res = self.residency[(lfn, site)] = Residency(url, None)
        return res

    def wait_read(self, res: Residency, key: RequestKey) -> None:
        """The transfer node of request ``key`` reads ``res`` (its name comes later)."""
        self.fixups.append((res, len(res.readers), key))
        res.readers.append(WAITING)

    def wait_write(self, res: Residency, key: RequestKey) -> None:
        """The transfer node of request ``key`` writes ``res`` (its name comes later)."""
        self.fixups.append((res, -1, key))
        res.writer = WAITING

    def settle(self, names: Mapping[RequestKey, str]) -> None:
        """Put the transfer nodes' names in the residencies that wait for them."""
        for res, i, key in reversed(self.fixups):  # the last request to write is the writer
            if i < 0:
                if res.writer is WAITING:
                    res.writer = names[key]
            else:
                res.readers[i] = names[key]
        self.fixups.clear()

    def out_dir(self) -> str:
        """The output site's storage URL files are staged out to."""
        if self.out_base is None:
            where = (self.options.output_site, DirectoryType.LOCAL_STORAGE)
            self.out_base = self.dirs.write_url(*where)
            read = self.dirs.lookup(*where)[0]
            if read is not None and read != self.out_base:
                self.read_urls[self.out_base] = read
        return self.out_base

    def note(self, job_ids: tuple[str, ...], line: str) -> None:
        """A line about a file for ``wfplan explain``, for each of ``job_ids``."""
        notes = self.notes
        for job_id in job_ids:
            notes.setdefault(job_id, []).append(line)


def _no_checksum(lfn: str) -> None:
    return None
