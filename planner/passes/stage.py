"""Pass 6: data staging (with pass 5, replica selection, applied to each raw input).

For every compute/cluster unit the data configuration decides the staging site:
``sharedfs`` the execution site, ``nonsharedfs`` ``--staging-site exec=staging`` (default the
execution site), ``condorio`` ``local``. The workflow's files live on a staging site in
``<sharedScratch path>/<workflow name>``. Raw inputs (and outputs of pruned jobs) are
staged in from their best replica; a file produced on another staging site is moved by
``stage_inter``; outputs with ``stageOut: true`` go to the output site's ``localStorage``,
named by LFN. Transfers are grouped per (kind, staging site, level) into
``ceil(jobs on the level / 10)`` nodes (``pegasus.stagein.clusters`` /
``pegasus.stageout.clusters`` override), files dealt round robin; one file is never
moved twice to the same site. A ``stageable`` executable is staged in like a raw input
(named ``namespace-name-version``, made executable) and the job runs that copy.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from catalogs.replica import PFN
from planner.errors import PlannerError
from planner.model.base import Namespace, profile
from planner.model.concrete import (
    RECORD_SUFFIX,
    DataConfiguration,
    Node,
    NodeKind,
    Task,
    Transfer,
    record_name,
)
from planner.model.graph import JobGraph

# the link kinds as the model compares them (by identity: Use.is_input / is_output inline)
from planner.model.workflow import _CHECKPOINT, _INOUT, _INPUT, _OUTPUT, Job, Use
from planner.passes.cluster import Unit, safe_name
from planner.passes.replicas import order_pfns, url_of
from planner.passes.select_sites import Placement
from sites.model import DirectoryType, Operation, SiteCatalog

__all__ = [
    "Residency",
    "SiteDirs",
    "StagePlan",
    "StagingOptions",
    "dagman_profiles",
    "stage",
]

# Pegasus's PRIORITY per node kind (compute nodes get 10 x depth) and DAGMan categories.
PRIORITY = {
    NodeKind.CREATE_DIR: 800,
    NodeKind.STAGE_IN: 700,
    NodeKind.STAGE_INTER: 700,
    NodeKind.STAGE_OUT: 900,
    NodeKind.REGISTER: 900,
    NodeKind.CLEANUP: 1000,
}
CATEGORY = {
    NodeKind.STAGE_IN: "stagein",
    NodeKind.STAGE_INTER: "stagein",
    NodeKind.STAGE_OUT: "stageout",
    NodeKind.CLEANUP: "cleanup",
    NodeKind.REGISTER: "registration",
}
MAXJOBS = {"stagein": 10, "stageout": 10, "cleanup": 4, "registration": 1}


_NO_ENV: dict[str, str] = Task._field_defaults["environment"]  # shared, read-only


class StagingError(PlannerError):
    """A site lacks the directory the data configuration needs."""


@dataclass(frozen=True)
class StagingOptions:
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


@dataclass(slots=True)
class Residency:
    """A file on a staging site: its URL, the node that puts it there and the nodes that
    read it there (compute, stage_inter, stage_out)."""

    url: str
    writer: str | None
    readers: list[str] = field(default_factory=list)
    original: bool = False  # the URL is a replica's own location: never remove it
    # the input transfer URL -> job dir, shared by the readers (a file read by 10^5 jobs
    # is described once)
    pull: Transfer | None = None


@dataclass(frozen=True)
class StagePlan:
    """The concrete DAG so far. Passes after staging return new StagePlans."""

    nodes: tuple[Node, ...]
    edges: tuple[tuple[str, str], ...]
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


class SiteDirs:
    """Directory URLs per site, looked up once (errors name the site catalog).

    A directory's file servers say how it is reached (Pegasus's ``operation``): files are
    read through the first ``get``/``all`` server and written through the first
    ``put``/``all`` server. A directory without file servers is ``file://<path>`` both
    ways."""

    def __init__(self, sites: SiteCatalog) -> None:
        self._sites = sites
        self._cache: dict[tuple[str, DirectoryType], tuple[str | None, str | None, str]] = {}

    def lookup(self, site: str, kind: DirectoryType) -> tuple[str | None, str | None, str]:
        """(read URL, write URL, path); a URL is None when no file server offers it."""
        key = (site, kind)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        entry = self._sites.get(site)
        directory = entry.directory(kind) if entry is not None else None
        if directory is None:
            raise StagingError(
                f"site {site!r} has no {kind.value} directory "
                f"({'not in the site catalog' if entry is None else 'needed to stage data there'})",
                source=self._sites.source,
            )
        path = directory.path.rstrip("/")
        servers = directory.file_servers
        if not servers:
            read: str | None = "file://" + directory.path
            write: str | None = read
        else:
            read = next((s.url for s in servers if s.operation != Operation.PUT), None)
            write = next((s.url for s in servers if s.operation != Operation.GET), None)
        read = read.rstrip("/") if read is not None else None
        write = write.rstrip("/") if write is not None else None
        if write == read:
            write = read  # one string: callers tell the usual case apart by identity
        hit = self._cache[key] = (read, write, path)
        return hit

    def _missing(self, site: str, kind: DirectoryType, needed: str, have: str) -> StagingError:
        return StagingError(
            f"site {site!r}: its {kind.value} directory has only {have} file servers, "
            f"but wfplan must {needed} files there (add a file server with operation "
            f"{'get' if have == 'put' else 'put'} or all)",
            source=self._sites.source,
        )

    def url(self, site: str, kind: DirectoryType) -> tuple[str, str]:
        """(read URL, path) of a site's directory of ``kind``."""
        read, _, path = self.lookup(site, kind)
        if read is None:
            raise self._missing(site, kind, "read", "put")
        return read, path

    def write_url(self, site: str, kind: DirectoryType) -> str:
        """The URL files are written to in a site's directory of ``kind``."""
        _, write, _ = self.lookup(site, kind)
        if write is None:
            raise self._missing(site, kind, "write", "get")
        return write

    def urls(self, site: str, kind: DirectoryType) -> tuple[str, str, str]:
        """(read URL, write URL, path): a directory files are both written to and read from.

        The two URLs are the same string object when one server does both (or there is
        none), so callers can tell the usual case apart by identity."""
        read, write, path = self.lookup(site, kind)
        if read is None or write is None:
            raise self._missing(site, kind, "write and read", "put" if read is None else "get")
        return read, write, path


def dagman_profiles(
    merged: Mapping[Namespace, Mapping[str, str]] | None, kind: NodeKind, depth: int, retry: str
) -> dict[Namespace, dict[str, str]]:
    """Node profiles with Pegasus's DAG extras filled in (explicit dagman profiles win).

    Auxiliary nodes (no profiles of their own) share one read-only dict per kind."""
    if merged is None:
        return _aux_profiles(kind, retry)
    return _with_extras(merged, kind, depth, retry)


@functools.lru_cache(maxsize=64)
def _aux_profiles(kind: NodeKind, retry: str) -> dict[Namespace, dict[str, str]]:
    return _with_extras(None, kind, 0, retry)


def _with_extras(
    merged: Mapping[Namespace, Mapping[str, str]] | None, kind: NodeKind, depth: int, retry: str
) -> dict[Namespace, dict[str, str]]:
    out = {ns: dict(v) for ns, v in (merged or {}).items()}
    dag = out.setdefault(Namespace.DAGMAN, {})
    dag.setdefault("retry", retry)
    dag.setdefault("priority", str(PRIORITY.get(kind, 10 * depth)))
    if kind in CATEGORY:
        dag.setdefault("category", CATEGORY[kind])
    return out


_WAITING = "\x00waiting"  # a transfer node's name, not known yet
_STAGE_OUT = NodeKind.STAGE_OUT


class _Request(NamedTuple):
    """One file to move, before requests are grouped into transfer nodes. Its readers
    (stage_in, stage_inter) are kept beside it, in ``stage``'s ``readers_of`` map: a tuple is
    built at C speed, and a plan makes one request per staged file."""

    kind: NodeKind
    site: str  # staging site the node serves (dst for stage-in/inter, src for stage-out)
    level: int
    local: bool
    transfer: Transfer
    parent: str | None = None  # at most one: the producer (stage_inter, stage_out)


def stage(
    jobs: Mapping[str, Job],
    graph: JobGraph,
    units: Sequence[Unit],
    placements: Mapping[str, Placement],
    pruned: frozenset[str],
    replicas: Mapping[str, tuple[PFN, ...]],
    sha256: Callable[[str], str | None],
    sites: SiteCatalog,
    options: StagingOptions,
) -> tuple[StagePlan, dict[str, tuple[str, ...]]]:
    """Build compute/cluster nodes with their inputs/outputs and the transfer nodes.

    Returns the plan and, per abstract job, the "why" lines: where it runs, then its files.
    """
    dirs = SiteDirs(sites)
    wf = options.workflow
    unit_of: dict[str, Unit] = {}
    for unit in units:
        for job_id in unit.jobs:
            unit_of[job_id] = unit
    staging_of: dict[str, tuple[str, DataConfiguration]] = {}
    workdirs: dict[str, str] = {}
    writedirs: dict[str, str] = {}  # only sites whose write URL differs from the read URL
    workpaths: dict[str, str] = {}

    def workdir(site: str) -> str:
        if site not in workdirs:
            url, put_url, path = dirs.urls(site, DirectoryType.SHARED_SCRATCH)
            workdirs[site] = f"{url}/{wf}"
            if put_url is not url:
                writedirs[site] = f"{put_url}/{wf}"
            workpaths[site] = f"{path}/{wf}"
        return workdirs[site]

    # (site, profiles) -> (staging site, data configuration): one shared pair per
    # combination, not a tuple per unit
    pair_of: dict[str, dict[int, tuple[str, DataConfiguration]]] = {}
    for unit in units:
        prof = placements[unit.jobs[0]].profiles
        known_pairs = pair_of.get(unit.site)
        if known_pairs is None:
            known_pairs = pair_of[unit.site] = {}
        pair = known_pairs.get(id(prof))
        if pair is not None:
            staging_of[unit.name] = pair
            continue
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
            staging = unit.site
        elif dc == DataConfiguration.NONSHAREDFS:
            staging = options.staging_sites.get(unit.site, unit.site)
        else:
            staging = "local"
        workdir(staging)
        staging_of[unit.name] = known_pairs[id(prof)] = (staging, dc)

    out_base: list[str] = []  # computed on first use: only needed when a file is staged out
    read_urls: dict[str, str] = {}

    def out_dir() -> str:
        if not out_base:
            where = (options.output_site, DirectoryType.LOCAL_STORAGE)
            out_base.append(dirs.write_url(*where))
            read = dirs.lookup(*where)[0]
            if read is not None and read != out_base[0]:
                read_urls[out_base[0]] = read
        return out_base[0]

    per_level: dict[tuple[int, str], int] = {}
    for unit in units:
        slot = (unit.level, staging_of[unit.name][0])
        per_level[slot] = per_level.get(slot, 0) + 1

    requests: dict[tuple[NodeKind, str, str], _Request] = {}
    readers_of: dict[tuple[NodeKind, str, str], list[str]] = {}  # request -> reading units
    residency: dict[tuple[str, str], Residency] = {}
    # per job: the placement reason, then lines about its files; jobs with no file lines
    # share one tuple per reason
    why: dict[str, tuple[str, ...]] = {}
    notes: dict[str, list[str]] = {}  # file lines of the unit being staged
    nodes: list[Node] = []
    edges: dict[tuple[str, str], None] = {}  # insertion-ordered: same input, same order
    bypass_all = options.bypass_input_staging
    checking = options.integrity != "none"
    nosymlink = options.integrity == "nosymlink"
    if not checking:
        sha256 = _no_checksum  # pegasus.integrity.checking = none: nothing is verified
    else:
        _refuse_record_names(graph, units)

    ranking: dict[tuple[str, str], tuple[tuple[PFN, ...], tuple[str, ...]]] = {}
    dagman: dict[tuple[int, int], dict[Namespace, dict[str, str]]] = {}
    runtimes: dict[int, float | None] = {}
    plain_reasons: dict[str, tuple[str]] = {}  # placement reasons are shared strings

    def pulled(res: Residency, lfn: str, digest: str | None, size: int | None) -> Transfer:
        """The input transfer staging URL -> job dir, one object per file and site unless
        readers declare different sizes."""
        move = res.pull
        if move is None or move.size != size or move.sha256 != digest:
            move = Transfer(
                lfn=lfn, src=(res.url,), dst=lfn, sha256=digest, size=size, site=staging
            )
            if res.pull is None:
                res.pull = move
        return move

    # Residencies that wait for a transfer node's name: (residency, reader index or -1 for
    # the writer, request key), filled in once the requests are grouped into nodes.
    fixups: list[tuple[Residency, int, tuple[NodeKind, str, str]]] = []

    def wait_read(res: Residency, key: tuple[NodeKind, str, str]) -> None:
        fixups.append((res, len(res.readers), key))
        res.readers.append(_WAITING)

    def wait_write(res: Residency, key: tuple[NodeKind, str, str]) -> None:
        fixups.append((res, -1, key))
        res.writer = _WAITING

    def record_moved_for(
        unit: Unit,
        staging: str,
        producer: str,
        p_staging: str,
        p_meta: str,
        base: str,
        wbase: str,
    ) -> None:
        """A stage_inter of ``producer``'s checksum record to ``unit``'s staging site,
        once per (record, site), beside the files it describes."""
        name = record_name(producer)
        key = (NodeKind.STAGE_INTER, name, staging)
        readers = readers_of.get(key)
        if readers is not None:
            readers.append(unit.name)
            return
        at = f"{base}/{name}"
        move = Transfer(
            lfn=name, src=(p_meta,), dst=at if wbase is base else f"{wbase}/{name}", site=staging
        )
        requests[key] = _Request._make(
            (NodeKind.STAGE_INTER, staging, unit.level, p_staging == "local", move, producer),
        )
        readers_of[key] = [unit.name]
        wait_read(resident(name, p_staging, p_meta), key)
        wait_write(resident(name, staging, at), key)

    def resident(lfn: str, site: str, url: str) -> Residency:
        res = residency.get((lfn, site))
        if res is None:
            res = residency[(lfn, site)] = Residency(url=url, writer=None)
        return res

    def stage_executables(
        unit: Unit, staging: str, dc: DataConfiguration, inputs: list[Transfer]
    ) -> dict[str, str]:
        """Stage the unit's stageable executables to its staging site, as Pegasus does:
        one stage-in per (executable, site), however many jobs run it, made executable
        there and in the job's directory. Returns job id -> the path its task runs:
        the staged copy in the shared scratch (sharedfs), else the copy in the job's own
        directory (``./<name>``), where the cluster runner or HTCondor puts it."""
        run_as: dict[str, str] = {}
        for job_id in unit.jobs:
            place = placements[job_id]
            if not place.stageable:
                continue
            name = _staged_name(jobs[job_id])
            wbase = writedirs.get(staging, workdirs[staging])
            # sharedfs: the copy in the shared scratch, unless it is written through a
            # file server (which keeps no modes): then, like elsewhere, ./<name> in the
            # job's directory, which the cluster runner makes executable
            run_as[job_id] = (
                f"{workpaths[staging]}/{name}"
                if dc is DataConfiguration.SHAREDFS and wbase.startswith("file://")
                else f"./{name}"
            )
            src = _as_url(place.executable)
            key = (NodeKind.STAGE_IN, name, staging)
            if name in graph.consumers or name in graph.producer:
                raise StagingError(
                    f"job {job_id}: its staged executable {name!r} has the name of a "
                    "file of the workflow (they would share one place on the staging site)"
                )
            request = requests.get(key)
            if request is None:
                known = residency[(name, staging)] = Residency(
                    url=f"{workdirs[staging]}/{name}", writer=None
                )
                move = Transfer(
                    lfn=name, src=(src,), dst=f"{wbase}/{name}", site=staging, executable=True
                )
                requests[key] = _Request._make(
                    (NodeKind.STAGE_IN, staging, unit.level, src.startswith("file://"), move, None),
                )
                readers_of[key] = []
                wait_write(known, key)
            elif request.transfer.src != (src,):
                raise StagingError(
                    f"job {job_id}: staged executable {name!r} would come from {src} and "
                    f"from {request.transfer.src[0]} on staging site {staging!r} (give the "
                    "transformation's stageable entries one source, or a version each)"
                )
            notes.setdefault(job_id, []).append(f"executable {name}: staged from {src}")
            readers = readers_of[key]
            if readers and readers[-1] == unit.name:
                continue  # another member of this cluster runs the same copy
            readers.append(unit.name)
            known = residency[(name, staging)]
            known.readers.append(unit.name)
            inputs.append(
                Transfer(lfn=name, src=(known.url,), dst=name, site=staging, executable=True)
            )
        return run_as

    output_site = options.output_site
    for unit in units:
        staging, dc = staging_of[unit.name]
        base = workdirs[staging]
        wbase = writedirs.get(staging, base)  # files go in through it; `base is wbase` usually
        # a tuple is searched faster than a set is built, for the usual one-job unit
        members = unit.jobs if len(unit.jobs) < 8 else set(unit.jobs)
        produced: dict[str, Use] = {}
        read: dict[str, tuple[Use, str]] = {}
        for job_id in unit.jobs:
            job = jobs[job_id]
            for use in job.uses:
                # each field read once: a pydantic model's attribute reads take its
                # __getattr__ hook, about four times the cost of a plain object's
                link, lfn = use.link, use.lfn
                if (link is _INPUT or link is _INOUT) and lfn not in produced and lfn not in read:
                    read[lfn] = (use, job_id)
                if (link is _OUTPUT or link is _INOUT or link is _CHECKPOINT) and (
                    lfn not in produced
                ):
                    produced[lfn] = use
        inputs: list[Transfer] = []
        for lfn, (use, reader) in read.items():
            if lfn in produced and use.link.value != "inout":
                continue
            producer = graph.producer.get(lfn)
            if producer == reader:
                producer = None  # inout on an existing file: it comes from its replica
            if producer is not None and producer in members:
                continue
            # the producer's residency already holds this string: one copy per file
            known = residency.get((lfn, staging))
            at = known.url if known is not None else f"{base}/{lfn}"
            size = use.size
            if producer is not None and producer not in pruned:
                p_unit = unit_of[producer]
                p_staging = staging_of[p_unit.name][0]
                # made by this plan: its sha256 is the one its producer records when it
                # runs (a replica's checksum would describe an older copy)
                p_meta = f"{workdirs[p_staging]}/{record_name(p_unit.name)}" if checking else None
                if p_staging != staging:
                    src = f"{workdirs[p_staging]}/{lfn}"
                    key = (NodeKind.STAGE_INTER, lfn, staging)
                    if key not in requests:
                        move = Transfer(
                            lfn=lfn,
                            src=(src,),
                            dst=at if wbase is base else f"{wbase}/{lfn}",
                            size=use.size,
                            site=staging,
                            meta=p_meta,
                        )
                        requests[key] = _Request._make(
                            (
                                NodeKind.STAGE_INTER,
                                staging,
                                unit.level,
                                p_staging == "local",
                                move,
                                p_unit.name,
                            ),
                        )
                        readers_of[key] = [unit.name]
                        wait_read(resident(lfn, p_staging, src), key)
                        if p_meta is not None:  # it reads the producer's record too
                            wait_read(resident(record_name(p_unit.name), p_staging, p_meta), key)
                        known = resident(lfn, staging, at)
                        wait_write(known, key)
                    else:
                        readers_of[key].append(unit.name)
                    if p_meta is not None:
                        record_moved_for(unit, staging, p_unit.name, p_staging, p_meta, base, wbase)
                if known is None:
                    known = residency[(lfn, staging)] = Residency(url=at, writer=None)
                known.readers.append(unit.name)
                pull = known.pull
                # the job checks the record of the node that made the file, on its own
                # staging site (stage_inter brought a copy of it with the file)
                here = None
                if p_meta is not None:
                    # the record of the last node that wrote it here: an inout job may
                    # have rewritten its producer's file
                    writer = known.writer
                    if writer is None or writer is _WAITING:
                        writer = p_unit.name
                    if writer == p_unit.name and p_staging == staging:
                        here = p_meta
                    else:
                        here = f"{base}/{record_name(writer)}"
                    record = resident(record_name(writer), staging, here)
                    if not record.readers or record.readers[-1] != unit.name:
                        record.readers.append(unit.name)
                if pull is None or pull.size != size or pull.meta != here:
                    pull = Transfer(
                        lfn=lfn, dst=lfn, src=(known.url,), size=size, site=staging, meta=here
                    )
                    if known.pull is None:
                        known.pull = pull
                inputs.append(pull)
                continue
            pfns = replicas.get(lfn, ())
            if not pfns:
                continue  # an optional input without a replica
            ranked = ranking.get((lfn, staging))
            if ranked is None:
                ordered = order_pfns(
                    lfn, pfns, staging, options.replica_selector, options.properties
                )
                ranked = ranking[(lfn, staging)] = (
                    ordered,
                    tuple(dict.fromkeys(url_of(p) for p in ordered)),
                )
            ordered, urls = ranked
            digest = sha256(lfn)
            if (use.bypass or bypass_all) and dc != DataConfiguration.SHAREDFS:
                inputs.append(Transfer(lfn=lfn, src=urls, dst=lfn, sha256=digest, size=use.size))
                for job_id in unit.jobs:
                    notes.setdefault(job_id, []).append(
                        f"input {lfn}: bypass staging, read from {urls[0]}"
                    )
                continue
            if known is None:
                known = residency[(lfn, staging)] = Residency(url=at, writer=None)
            if urls[0] == at:
                known.original = True
            else:
                symlink = (
                    ordered[0].site == staging
                    and urls[0].startswith("file://")
                    and (wbase is base or wbase.startswith("file://"))
                )
                if nosymlink and symlink:
                    digest = None  # pegasus.integrity.checking = nosymlink
                key = (NodeKind.STAGE_IN, lfn, staging)
                if key not in requests:
                    local = ordered[0].site == "local" or urls[0].startswith("file://")
                    move = Transfer(
                        lfn=lfn,
                        src=urls,
                        dst=at if wbase is base else f"{wbase}/{lfn}",
                        sha256=digest,
                        symlink=symlink,
                        size=use.size,
                        site=staging,
                    )
                    requests[key] = _Request._make(
                        (NodeKind.STAGE_IN, staging, unit.level, local, move, None)
                    )
                    readers_of[key] = [unit.name]
                    wait_write(known, key)
                    for job_id in unit.jobs:
                        notes.setdefault(job_id, []).append(
                            f"input {lfn}: replica {urls[0]}@{ordered[0].site}"
                            + (f" (fallbacks: {len(urls) - 1})" if len(urls) > 1 else "")
                            + (" symlinked" if symlink else "")
                        )
                else:
                    readers_of[key].append(unit.name)
            known.readers.append(unit.name)
            inputs.append(pulled(known, lfn, digest, size))

        first = placements[unit.jobs[0]]
        run_as: dict[str, str] = {}  # job id -> the staged copy its task runs
        if first.stageable or (
            len(unit.jobs) > 1 and any(placements[j].stageable for j in unit.jobs)
        ):
            run_as = stage_executables(unit, staging, dc, inputs)
        outputs: list[Transfer] = []
        clustered = len(unit.jobs) > 1
        # where this node records the sha256 of what it makes (one string per node);
        # the record is a file on the staging site like the outputs (cleanup removes it)
        own_meta = own_record = None
        if checking and produced:
            name = record_name(unit.name)
            own_record = resident(name, staging, f"{base}/{name}")
            own_record.writer = unit.name
            own_meta = own_record.url if wbase is base else f"{wbase}/{name}"
        for lfn, use in produced.items():
            if clustered and not use.stage_out:
                consumers = graph.consumers.get(lfn, ())
                outside = any(c not in members and c not in pruned for c in consumers)
                if not outside and any(c in members for c in consumers):
                    continue  # internal to the cluster
            at = f"{base}/{lfn}"
            size = use.size
            outputs.append(
                Transfer._make(  # Transfer(): job dir -> staging site, fields in order
                    (
                        lfn,
                        at if wbase is base else f"{wbase}/{lfn}",
                        (lfn,),
                        None,
                        False,
                        size,
                        staging,
                        False,
                        use.optional,
                        own_meta,
                    ),
                )
            )
            file_at = (lfn, staging)
            res = residency.get(file_at)
            if res is None:
                res = residency[file_at] = Residency(at, None)
            res.writer = unit.name
            if use.stage_out:
                key = (_STAGE_OUT, lfn, output_site)
                if key not in requests:
                    move = Transfer(
                        lfn=lfn,
                        src=(at,),
                        dst=f"{out_base[0] if out_base else out_dir()}/{lfn}",
                        size=size,
                        site=output_site,
                        meta=None if own_record is None else own_record.url,
                    )
                    requests[key] = _Request._make(
                        (_STAGE_OUT, staging, unit.level, staging == "local", move, unit.name),
                    )
                    fixups.append((res, len(res.readers), key))  # wait_read, inline
                    res.readers.append(_WAITING)
                    if own_record is not None:
                        wait_read(own_record, key)

        task_list = []
        single = not clustered  # a plain node is named for its job's transformation
        for j in unit.jobs:
            job, place = jobs[j], placements[j]
            profiles_id = id(place.profiles)
            if profiles_id in runtimes:
                runtime = runtimes[profiles_id]
            else:
                # merged profiles are shared by the jobs with the same ones (select_sites)
                runtime = runtimes[profiles_id] = _runtime(place)
            task_list.append(
                Task._make(  # a Task, fields in order
                    (
                        j,
                        unit.transformation
                        if single and unit.transformation
                        else job.transformation,
                        run_as[j] if place.stageable else place.executable,
                        job.arguments,
                        place.profiles.get(Namespace.ENV) or _NO_ENV,
                        job.stdin,
                        job.stdout,
                        job.stderr,
                        runtime,
                    ),
                )
            )
        tasks = tuple(task_list)
        dkey = (id(first.profiles), unit.level)
        node_profiles = dagman.get(dkey)
        if node_profiles is None:
            node_profiles = dagman[dkey] = dagman_profiles(
                first.profiles, NodeKind.COMPUTE, unit.level, options.retry
            )
        if unit.clustered:
            reasons: tuple[str, ...] = (
                first.reason,
                f"cluster of {len(unit.jobs)}: {unit.reason}",
            )
        else:
            reasons = plain_reasons.get(first.reason) or plain_reasons.setdefault(
                first.reason, (first.reason,)
            )
        nodes.append(
            Node(
                name=unit.name,
                kind=NodeKind.CLUSTER if unit.clustered else NodeKind.COMPUTE,
                site=unit.site,
                level=unit.level,
                transformation=unit.transformation,
                jobs=unit.jobs,
                tasks=tasks,
                files=(),
                inputs=tuple(inputs),
                outputs=tuple(outputs),
                working_dir=workpaths[staging],
                data_configuration=dc,
                staging_site=staging,
                profiles=node_profiles,
                reasons=reasons,
            )
        )
        if unit.clustered or len(unit.jobs) > 1:
            into = (f"clustered into {unit.name}",) if unit.clustered else ()
            for job_id in unit.jobs:
                lines = notes.pop(job_id, ())
                why[job_id] = (placements[job_id].reason, *lines, *into)
        else:
            job_id = unit.jobs[0]
            lines = notes.pop(job_id, ())
            why[job_id] = (first.reason, *lines) if lines else reasons

    for p, children in graph.succ.items():
        if p in pruned:
            continue
        pu = unit_of[p].name
        for c in children:
            if c not in pruned:
                cu = unit_of[c].name
                if pu != cu:
                    edges[(pu, cu)] = None

    # Outputs of pruned jobs that must still reach the output site: staged from a replica.
    for job_id in jobs if pruned else ():
        if job_id not in pruned:
            continue
        for use in jobs[job_id].outputs:
            key = (NodeKind.STAGE_OUT, use.lfn, options.output_site)
            if not use.stage_out or use.lfn not in replicas or key in requests:
                continue
            pfns = replicas[use.lfn]
            if any(p.site == options.output_site for p in pfns):
                continue
            ordered = order_pfns(
                use.lfn, pfns, options.output_site, options.replica_selector, options.properties
            )
            urls = tuple(dict.fromkeys(url_of(p) for p in ordered))
            move = Transfer(
                lfn=use.lfn,
                src=urls,
                dst=f"{out_dir()}/{use.lfn}",
                sha256=sha256(use.lfn),
                size=use.size,
                site=options.output_site,
            )
            site = ordered[0].site
            requests[key] = _Request(NodeKind.STAGE_OUT, site, 1, site == "local", move)
            line = f"pruned; output {use.lfn} staged out from {urls[0]}"
            why[job_id] = (*why.get(job_id, ()), line)

    names = _transfer_nodes(requests, per_level, options)
    for req_key, req in requests.items():
        name = names[req_key]
        if req.parent is not None:
            edges[(req.parent, name)] = None
        for child in readers_of.get(req_key, ()):
            edges[(name, child)] = None
    nodes.extend(_build_transfer_nodes(requests, names, options.retry))
    # Only the names are needed from here on: free the per-file maps before the last copies.
    requests.clear()
    readers_of.clear()
    ranking.clear()
    for res, i, key in reversed(fixups):  # the last request to write a file is its writer
        if i < 0:
            if res.writer is _WAITING:
                res.writer = names[key]
        else:
            res.readers[i] = names[key]
    fixups.clear()
    names.clear()
    edge_tuple = tuple(edges)
    edges.clear()
    plan = StagePlan(
        nodes=tuple(nodes),
        edges=edge_tuple,
        residency=residency,
        workdirs=workdirs,
        writedirs=writedirs,
        read_urls=read_urls,
    )
    return plan, why


def _transfer_nodes(
    requests: Mapping[tuple[NodeKind, str, str], _Request],
    per_level: Mapping[tuple[int, str], int],
    options: StagingOptions,
) -> dict[tuple[NodeKind, str, str], str]:
    groups: dict[tuple[NodeKind, str, int, bool], list[tuple[NodeKind, str, str]]] = {}
    for key, req in requests.items():
        groups.setdefault((req.kind, req.site, req.level, req.local), []).append(key)
    names: dict[tuple[NodeKind, str, str], str] = {}
    for (kind, site, level, local), keys in groups.items():
        override = (
            options.stageout_clusters if kind == NodeKind.STAGE_OUT else options.stagein_clusters
        )
        jobs_on_level = per_level.get((level, site), 1)
        count = override if override else math.ceil(jobs_on_level / 10)
        count = max(1, min(len(keys), count))
        prefix = {
            NodeKind.STAGE_IN: "stage_in",
            NodeKind.STAGE_INTER: "stage_inter",
            NodeKind.STAGE_OUT: "stage_out",
        }[kind]
        where = "local" if local else "remote"
        labels = [safe_name(f"{prefix}_{where}_{site}_{level}_{k}") for k in range(count)]
        for i, key in enumerate(keys):
            names[key] = labels[i % count]
    return names


def _build_transfer_nodes(
    requests: Mapping[tuple[NodeKind, str, str], _Request],
    names: Mapping[tuple[NodeKind, str, str], str],
    retry: str,
) -> list[Node]:
    files: dict[str, list[Transfer]] = {}
    meta: dict[str, _Request] = {}
    for key, req in requests.items():
        name = names[key]
        files.setdefault(name, []).append(req.transfer)
        meta.setdefault(name, req)
    return [
        Node(
            name=name,
            kind=meta[name].kind,
            site="local",
            level=meta[name].level,
            transformation=None,
            jobs=(),
            tasks=(),
            files=tuple(transfers),
            inputs=(),
            outputs=(),
            working_dir=None,
            data_configuration=None,
            staging_site=meta[name].site,
            profiles=dagman_profiles(None, meta[name].kind, 0, retry),
            reasons=(),
        )
        for name, transfers in files.items()
    ]


def _no_checksum(lfn: str) -> None:
    return None


def _refuse_record_names(graph: JobGraph, units: Sequence[Unit]) -> None:
    """A file named like a node's checksum record (``<node>.meta``) would be overwritten
    by it on the staging site. Only names ending in ``.meta`` are looked up."""
    records = [
        lfn
        for files in (graph.producer, graph.consumers)
        for lfn in files
        if lfn.endswith(RECORD_SUFFIX)
    ]
    if not records:
        return
    names = {unit.name for unit in units}
    for lfn in records:
        node = lfn[: -len(RECORD_SUFFIX)]
        if node in names:
            raise StagingError(
                f"LFN {lfn!r} has the name of node {node}'s checksum record "
                "(integrity checking writes it beside the node's outputs); rename the file "
                "or set pegasus.integrity.checking = none"
            )


_UNSAFE_FILE_NAME = re.compile(r"[^A-Za-z0-9._+-]")


def _staged_name(job: Job) -> str:
    """The file name of a job's staged executable: Pegasus's ``namespace-name-version``
    (absent parts left out), with any character a file name or an HTCondor file list
    cannot hold replaced by ``_``.

    >>> _staged_name(Job(id="A", namespace="pegasus", name="keg", version="5.0"))
    'pegasus-keg-5.0'
    """
    parts = [p for p in (job.namespace, job.name, job.version) if p]
    name = _UNSAFE_FILE_NAME.sub("_", "-".join(parts))
    return "_" + name if name.startswith(".") else name


def _as_url(pfn: str) -> str:
    return "file://" + pfn if pfn.startswith("/") else pfn


def _runtime(place: Placement) -> float | None:
    value = profile(place.profiles, Namespace.PEGASUS, "runtime")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
