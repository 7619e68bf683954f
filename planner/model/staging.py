"""What staging hands to the passes after it: the concrete DAG so far and where each
file lives on each staging site."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from planner.model.concrete import DataConfiguration, Node, Transfer
from planner.model.unit import Unit

__all__ = [
    "ReplicaChoice",
    "ReplicaSelection",
    "Residencies",
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


# A residency's readers are a tuple, grown by concatenation (most files have two to six
# readers: a tuple of them is half the size of a list); past this many, a list, so that a
# file read by every job (10^5..10^6 readers) is not copied once per reader.
TUPLE_READERS = 16


def more_readers(had: Sequence[str], name: str) -> list[str]:
    """``had``, a residency's readers (at least :data:`TUPLE_READERS` of them), with
    ``name`` after them: a list, appended to in place once it is one. The passes add
    the first readers themselves, ``had + (name,)``, where a call would cost more than
    the append."""
    if had.__class__ is list:
        had.append(name)
        return had
    return [*had, name]


class Residencies:
    """Where each file lives on each staging site: its URL, the node that puts it there
    (``writers``) and the nodes that read it there (compute, stage_inter, stage_out,
    register). A residency is a number, ``r``, into the columns.

    A table, not an object per file: a plan of 10^5 jobs has some 225,000 residencies,
    and an object each with its ``(lfn, site)`` key tuple and its list of readers took
    about 250 bytes; here one is an entry in its site's index (LFN -> number), a slot in
    each column and a tuple of its readers.

    Mutable on purpose: staging fills it as it meets the readers, registration adds
    readers, cleanup reads it last and may empty it (:meth:`clear`).

    >>> table = Residencies()
    >>> r = table.add("f", "s", "file:///s/f", "job")
    >>> table.add_reader(r, "so")
    >>> table.find("f", "s"), table.urls[r], table.readers[r]
    (0, 'file:///s/f', ('so',))
    """

    __slots__ = ("_sites", "lfns", "original", "pulls", "readers", "urls", "writers")

    def __init__(self) -> None:
        self._sites: dict[str, dict[str, int]] = {}  # staging site -> LFN -> r
        self.lfns: list[str] = []
        self.urls: list[str] = []
        self.writers: list[str | None] = []
        # 1: the URL is a replica's own location, never removed
        self.original = bytearray()
        # the input transfer URL -> job dir, shared by the readers (a file read by 10^5
        # jobs is described once)
        self.pulls: list[Transfer | None] = []
        # the readers of each, in the order they were added (see TUPLE_READERS); add
        # them with add_reader
        self.readers: list[Sequence[str]] = []

    def __len__(self) -> int:
        return len(self.urls)

    def on(self, site: str) -> dict[str, int]:
        """The index of ``site`` (LFN -> residency), for lookups in a loop; read-only."""
        index = self._sites.get(site)
        if index is None:
            index = self._sites[site] = {}
        return index

    def find(self, lfn: str, site: str) -> int | None:
        """The residency of ``lfn`` on ``site``, if it has one."""
        index = self._sites.get(site)
        return None if index is None else index.get(lfn)

    def add(self, lfn: str, site: str, url: str, writer: str | None = None) -> int:
        """A new residency of ``lfn`` on ``site`` (it has none yet) at ``url``."""
        r = len(self.urls)
        index = self._sites.get(site)
        if index is None:
            index = self._sites[site] = {}
        index[lfn] = r
        self.lfns.append(lfn)
        self.urls.append(url)
        self.writers.append(writer)
        self.original.append(0)
        self.pulls.append(None)
        self.readers.append(())
        return r

    def resident(self, lfn: str, site: str, url: str) -> int:
        """The residency of ``lfn`` on ``site``, made at ``url`` if it has none yet."""
        r = self.on(site).get(lfn)
        return self.add(lfn, site, url) if r is None else r

    def add_reader(self, r: int, name: str) -> None:
        """``name`` reads residency ``r`` (after its readers so far)."""
        column = self.readers
        had = column[r]
        # concatenation: a 2-3 item tuple is built faster so than by unpacking
        column[r] = had + (name,) if len(had) < TUPLE_READERS else more_readers(had, name)  # type: ignore[operator]  # noqa: RUF005

    def sites(self) -> list[tuple[str, Mapping[str, int]]]:
        """(staging site, its index) in the order the sites were first used."""
        return list(self._sites.items())

    def forget_index(self) -> None:
        """Drop the sites' indexes and what only staging reads (``pulls``, ``original``):
        cleanup, which reads the table last, goes by residency number (:meth:`sites`,
        :meth:`find` and :meth:`add` see an empty table after)."""
        self._sites = {}
        self.pulls = []
        self.original = bytearray()

    def forget_readers(self, done: Iterable[int]) -> None:
        """Drop the readers of the residencies ``done`` (cleanup has made their removals)."""
        readers = self.readers
        for r in done:
            readers[r] = ()

    def clear(self) -> None:
        """Forget every residency (the pipeline's cleanup: nothing reads them after)."""
        self._sites = {}
        for column in (self.lfns, self.urls, self.writers, self.pulls, self.readers):
            column.clear()
        self.original = bytearray()


@dataclass(frozen=True, slots=True)
class StagePlan:
    """The concrete DAG so far. Passes after staging return new StagePlans, made with
    ``dataclasses.replace``."""

    nodes: tuple[Node, ...]
    edges: Sequence[tuple[str, str]]  # (parent, child) names: an Edges from the passes
    residency: Residencies  # where each file is on each staging site, and who uses it
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
