"""The staging pass's working state, shared by its parts while one plan is staged."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple, cast

from planner.model.base import Namespace
from planner.model.concrete import DataConfiguration, NodeKind, Transfer
from planner.model.graph import JobGraph
from planner.model.placement import Placement
from planner.model.staging import TUPLE_READERS as MANY
from planner.model.staging import (
    ReplicaSelection,
    Residencies,
    StagePlan,
    StagingLayout,
    StagingOptions,
    more_readers,
)
from planner.model.unit import Unit
from planner.model.workflow import Job
from planner.site_dirs import SiteDirs
from sites.model import DirectoryType

__all__ = [
    "WAITING",
    "Fixups",
    "Request",
    "RequestKey",
    "Requested",
    "StageContext",
    "UnitSite",
    "make_request",
]

WAITING = "\x00waiting"  # a transfer node's name, not known yet

RequestKey = tuple[NodeKind, str, str]  # (kind, LFN, the site the file goes to)


class Fixups:
    """The residencies waiting for the name of the transfer node that reads or writes
    them: each wait is a residency, the reader's place among its readers or -1 for its
    writer, and a request key, in three parallel columns (16 bytes a wait: a plan of
    10^5 jobs waits some 225,000 times). Private to one staging run."""

    __slots__ = ("_keys", "_residencies", "_slots")

    def __init__(self) -> None:
        self._residencies: array[int] = array("i")
        self._slots: array[int] = array("i")
        self._keys: list[RequestKey] = []

    def __len__(self) -> int:
        return len(self._keys)

    def write(self, r: int, key: RequestKey) -> None:
        """The transfer node of request ``key`` writes residency ``r``."""
        self._residencies.append(r)
        self._slots.append(-1)
        self._keys.append(key)

    def read(self, table: Residencies, r: int, key: RequestKey) -> None:
        """The transfer node of request ``key`` reads residency ``r`` of ``table``: a
        reader to be named (Residencies.add_reader, inline: one per wait)."""
        readers = table.readers
        had = readers[r]
        k = len(had)
        readers[r] = had + (WAITING,) if k < MANY else more_readers(had, WAITING)  # type: ignore[operator]  # noqa: RUF005
        self._residencies.append(r)
        self._slots.append(k)
        self._keys.append(key)

    def settle(self, names: Mapping[RequestKey, str], table: Residencies) -> None:
        """Put the transfer nodes' names in the residencies of ``table`` that wait for
        them, and forget the waits."""
        writers, readers = table.writers, table.readers
        # the last request to write a file is its writer
        for r, i, key in zip(
            reversed(self._residencies), reversed(self._slots), reversed(self._keys), strict=True
        ):
            if i < 0:
                if writers[r] is WAITING:
                    writers[r] = names[key]
                continue
            had = readers[r]  # the reader's place in a tuple or a list (see Residencies)
            if had.__class__ is list:
                had[i] = names[key]
            else:
                readers[r] = (*had[:i], names[key], *had[i + 1 :])
        self._residencies = array("i")
        self._slots = array("i")
        self._keys.clear()


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


# Request._make from C, without its Python frame (see make_transfer): one per staged file
make_request = cast("Callable[[Iterable[Any]], Request]", partial(tuple.__new__, Request))


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
    index: dict[str, int]  # the staging site's residencies (Residencies.on)


@dataclass(frozen=True, slots=True)
class Requested:
    """What the first half of staging hands the second: the plan so far (the compute
    and cluster nodes, their edges, where each file lives), the files to move
    (``requests``, with the units that read each one after it moved) and the
    residencies waiting for a transfer node's name. The second half empties
    ``requests``, ``readers_of`` and ``fixups``: a plan of 10^5 jobs holds some 250,000
    requests, freed before the plan's last copies.
    """

    plan: StagePlan
    requests: dict[RequestKey, Request]
    readers_of: dict[RequestKey, list[str]]
    fixups: Fixups
    why: dict[str, tuple[str, ...]]
    per_level: Mapping[tuple[int, str], int]


@dataclass(slots=True)
class StageContext:
    """The inputs of one staging run and what it has built so far: the transfer requests
    and their readers, where each file lives, and the residencies waiting for the name
    of the transfer node that reads or writes them. Only the staging pass makes one."""

    jobs: Mapping[str, Job]
    graph: JobGraph
    placements: Mapping[str, Placement]
    pruned: frozenset[str]
    layout: StagingLayout
    chosen: ReplicaSelection
    sha256: Callable[[str], str | None]
    dirs: SiteDirs
    options: StagingOptions
    checking: bool = True
    nosymlink: bool = False
    requests: dict[RequestKey, Request] = field(default_factory=dict)
    readers_of: dict[RequestKey, list[str]] = field(default_factory=dict)  # -> reading units
    residency: Residencies = field(default_factory=Residencies)
    # filled in once the requests are grouped into nodes
    fixups: Fixups = field(default_factory=Fixups)
    notes: dict[str, list[str]] = field(default_factory=dict)  # file lines of this unit
    # per job: the placement reason, then lines about its files; jobs with no file lines
    # share one tuple per reason
    why: dict[str, tuple[str, ...]] = field(default_factory=dict)
    out_base: str | None = None  # only needed when a file is staged out
    read_urls: dict[str, str] = field(default_factory=dict)
    dagman: dict[tuple[int, int], dict[Namespace, dict[str, str]]] = field(default_factory=dict)
    runtimes: dict[int, float | None] = field(default_factory=dict)
    plain_reasons: dict[str, tuple[str]] = field(default_factory=dict)  # shared reasons
    # id of a (staging site, data configuration) pair of the layout -> its UnitSite
    unit_sites: dict[int, UnitSite] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.checking = self.options.integrity != "none"
        self.nosymlink = self.options.integrity == "nosymlink"
        if not self.checking:
            self.sha256 = _no_checksum  # pegasus.integrity.checking = none: nothing verified

    def unit_site(self, unit: Unit) -> UnitSite:
        """Where ``unit``'s files live (one value per pair the layout shares)."""
        pair = self.layout.staging_of[unit.name]
        where = self.unit_sites.get(id(pair))
        if where is None:
            staging, dc = pair
            base = self.layout.workdirs[staging]
            # files go in through the write URL; `wbase is base` usually
            wbase = self.layout.writedirs.get(staging, base)
            index = self.residency.on(staging)
            where = self.unit_sites[id(pair)] = UnitSite(staging, dc, base, wbase, index)
        return where

    def wait_read(self, r: int, key: RequestKey) -> None:
        """The transfer node of request ``key`` reads residency ``r`` (its name comes
        later)."""
        self.fixups.read(self.residency, r, key)

    def wait_write(self, r: int, key: RequestKey) -> None:
        """The transfer node of request ``key`` writes residency ``r`` (its name comes
        later)."""
        self.fixups.write(r, key)
        self.residency.writers[r] = WAITING

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
