"""What a unit reads and how each input reaches it: from its producer's staging site
(``stage_inter`` when that is another site), or from a replica (``stage_in``, or read in
place with bypass), with the checksum record the job checks it against.

Transfers are built with ``make_transfer`` and its stored slots in order (lfn, dst, src,
size, site, meta, more; ``more_slot`` packs sha256, symlink, executable and optional): a
plan builds several per file, and keyword arguments cost a NamedTuple more than twice as
much."""

from __future__ import annotations

from planner.model.concrete import (
    DataConfiguration,
    NodeKind,
    Transfer,
    make_transfer,
    more_slot,
    record_name,
)
from planner.model.staging import TUPLE_READERS as MANY
from planner.model.staging import ReplicaChoice, Residencies, more_readers
from planner.model.unit import Unit

# the link kinds as the model compares them (by identity: Use.is_input / is_output inline)
from planner.model.workflow import _CHECKPOINT, _INOUT, _INPUT, _OUTPUT, Use
from planner.staging.context import WAITING, StageContext, UnitSite, make_request

__all__ = ["stage_inputs", "unit_files"]

_STAGE_IN, _STAGE_INTER = NodeKind.STAGE_IN, NodeKind.STAGE_INTER
_SHAREDFS = DataConfiguration.SHAREDFS


def unit_files(cx: StageContext, unit: Unit) -> tuple[dict[str, tuple[Use, str]], dict[str, Use]]:
    """The files the unit's jobs read before any member makes them (LFN -> use, first
    reader), and the files they make (LFN -> first use)."""
    produced: dict[str, Use] = {}
    read: dict[str, tuple[Use, str]] = {}
    jobs = cx.jobs
    for job_id in unit.jobs:
        for use in jobs[job_id].uses:
            link, lfn = use.link, use.lfn
            if (link is _INPUT or link is _INOUT) and lfn not in produced and lfn not in read:
                read[lfn] = (use, job_id)
            if (link is _OUTPUT or link is _INOUT or link is _CHECKPOINT) and (lfn not in produced):
                produced[lfn] = use
    return read, produced


def stage_inputs(
    cx: StageContext,
    unit: Unit,
    where: UnitSite,
    read: dict[str, tuple[Use, str]],
    produced: dict[str, Use],
    members: tuple[str, ...] | set[str],
) -> list[Transfer]:
    """How each file the unit reads from outside reaches the job's directory."""
    inputs: list[Transfer] = []
    producer_of, pruned, urls = cx.graph.producer, cx.pruned, cx.residency.urls
    staging, base = where.staging, where.base
    here = where.index
    for lfn, (use, reader) in read.items():
        if lfn in produced and use.link.value != "inout":
            continue
        producer = producer_of.get(lfn)
        if producer == reader:
            producer = None  # inout on an existing file: it comes from its replica
        if producer is not None and producer in members:
            continue
        # the producer's residency already holds this string: one copy per file
        known = here.get(lfn)
        at = urls[known] if known is not None else f"{base}/{lfn}"
        if producer is not None and producer not in pruned:
            inputs.append(_made_input(cx, unit, where, lfn, use, producer, known, at))
            continue
        choice = cx.chosen.reads.get((lfn, staging))
        if choice is not None:  # else an optional input without a replica
            inputs.append(_replica_input(cx, unit, where, lfn, use, choice, known, at))
    return inputs


def _made_input(
    cx: StageContext,
    unit: Unit,
    where: UnitSite,
    lfn: str,
    use: Use,
    producer: str,
    known: int | None,
    at: str,
) -> Transfer:
    """An input made by this plan: on the producer's staging site, moved here by
    ``stage_inter`` when that is another site."""
    layout, staging = cx.layout, where.staging
    p_name = layout.unit_of[producer].name
    p_staging = layout.staging_of[p_name][0]
    # made by this plan: its sha256 is the one its producer records when it runs (a
    # replica's checksum would describe an older copy)
    p_meta = _record_url(cx, where, p_name, p_staging) if cx.checking else None
    size = use.size
    if p_staging != staging:
        moved = _inter(cx, unit, where, lfn, size, p_name, p_staging, p_meta, at)
        if moved is not None:
            known = moved
        if p_meta is not None:
            _record_moved_for(cx, unit, where, p_name, p_staging, p_meta)
    table = cx.residency
    if known is None:
        known = table.add(lfn, staging, at)
    readers = table.readers  # add_reader, inline: one reader per input
    had = readers[known]
    readers[known] = had + (unit.name,) if len(had) < MANY else more_readers(had, unit.name)  # type: ignore[operator]  # noqa: RUF005
    # the job checks the record of the node that made the file, on its own staging site
    # (stage_inter brought a copy of it with the file)
    here = None
    if p_meta is not None:
        here = _record_read(cx, unit, where, p_name, p_staging, p_meta, known)
    return _pulled(table, known, lfn, None, size, staging, here)


def _record_url(cx: StageContext, where: UnitSite, producer: str, p_staging: str) -> str:
    """The URL of ``producer``'s checksum record on its staging site: the string its
    residency holds once the producer is staged (one per record, not one per reader:
    at 10^5 jobs a string per reader was 20 MB)."""
    name = record_name(producer)
    index = where.index if p_staging == where.staging else cx.residency.on(p_staging)
    record = index.get(name)
    return (
        cx.residency.urls[record]
        if record is not None
        else f"{cx.layout.workdirs[p_staging]}/{name}"
    )


def _inter(
    cx: StageContext,
    unit: Unit,
    where: UnitSite,
    lfn: str,
    size: int | None,
    producer: str,
    p_staging: str,
    p_meta: str | None,
    at: str,
) -> int | None:
    """Ask for a ``stage_inter`` of ``lfn`` from the producer's staging site to the
    unit's, once per (file, site). Returns the file's new residency here, or None when
    an earlier reader asked for the move."""
    staging = where.staging
    key = (_STAGE_INTER, lfn, staging)
    if key in cx.requests:
        cx.readers_of[key].append(unit.name)
        return None
    src = f"{cx.layout.workdirs[p_staging]}/{lfn}"
    dst = at if where.wbase is where.base else f"{where.wbase}/{lfn}"
    move = make_transfer((lfn, dst, (src,), size, staging, p_meta, None))
    cx.requests[key] = make_request(
        (_STAGE_INTER, staging, unit.level, p_staging == "local", move, producer)
    )
    cx.readers_of[key] = [unit.name]
    table = cx.residency
    cx.wait_read(table.resident(lfn, p_staging, src), key)
    if p_meta is not None:  # it reads the producer's record too
        cx.wait_read(table.resident(record_name(producer), p_staging, p_meta), key)
    known = table.resident(lfn, staging, at)
    cx.wait_write(known, key)
    return known


def _record_moved_for(
    cx: StageContext, unit: Unit, where: UnitSite, producer: str, p_staging: str, p_meta: str
) -> None:
    """A stage_inter of ``producer``'s checksum record to ``unit``'s staging site, once
    per (record, site), beside the files it describes."""
    staging, base, wbase = where.staging, where.base, where.wbase
    name = record_name(producer)
    key = (_STAGE_INTER, name, staging)
    readers = cx.readers_of.get(key)
    if readers is not None:
        readers.append(unit.name)
        return
    at = f"{base}/{name}"
    dst = at if wbase is base else f"{wbase}/{name}"
    move = make_transfer((name, dst, (p_meta,), None, staging, None, None))
    cx.requests[key] = make_request(
        (_STAGE_INTER, staging, unit.level, p_staging == "local", move, producer),
    )
    cx.readers_of[key] = [unit.name]
    cx.wait_read(cx.residency.resident(name, p_staging, p_meta), key)
    cx.wait_write(cx.residency.resident(name, staging, at), key)


def _record_read(
    cx: StageContext,
    unit: Unit,
    where: UnitSite,
    producer: str,
    p_staging: str,
    p_meta: str,
    known: int,
) -> str:
    """The URL of the checksum record the unit checks a made input against: that of the
    last node that wrote the file here (an inout job may have rewritten its producer's
    file). The unit becomes a reader of that record."""
    table = cx.residency
    writer = table.writers[known]
    if writer is None or writer is WAITING:
        writer = producer
    if writer == producer and p_staging == where.staging:
        here = p_meta
    else:
        here = f"{where.base}/{record_name(writer)}"
    name = record_name(writer)
    record = where.index.get(name)
    if record is None:
        record = table.add(name, where.staging, here)
    readers = table.readers  # add_reader, inline: one reader per made input
    had = readers[record]
    if not had or had[-1] != unit.name:
        readers[record] = had + (unit.name,) if len(had) < MANY else more_readers(had, unit.name)  # type: ignore[operator]  # noqa: RUF005
    return here


def _replica_input(
    cx: StageContext,
    unit: Unit,
    where: UnitSite,
    lfn: str,
    use: Use,
    choice: ReplicaChoice,
    known: int | None,
    at: str,
) -> Transfer:
    """An input read from a replica: in place (bypass), from the staging site's copy
    ``stage_in`` puts there, or where the replica already is on the staging site."""
    _, urls = choice
    digest = cx.sha256(lfn)
    if (use.bypass or cx.options.bypass_input_staging) and where.dc != _SHAREDFS:
        cx.note(unit.jobs, f"input {lfn}: bypass staging, read from {urls[0]}")
        return make_transfer(
            (lfn, lfn, urls, use.size, None, None, more_slot(digest, False, False, False))
        )
    table = cx.residency
    if known is None:
        known = table.add(lfn, where.staging, at)
    if urls[0] == at:
        table.original[known] = 1
    else:
        digest = _stage_in(cx, unit, where, lfn, use.size, choice, digest, known, at)
    readers = table.readers  # add_reader, inline: one reader per input
    had = readers[known]
    readers[known] = had + (unit.name,) if len(had) < MANY else more_readers(had, unit.name)  # type: ignore[operator]  # noqa: RUF005
    return _pulled(table, known, lfn, digest, use.size, where.staging, None)


def _stage_in(
    cx: StageContext,
    unit: Unit,
    where: UnitSite,
    lfn: str,
    size: int | None,
    choice: ReplicaChoice,
    digest: str | None,
    known: int,
    at: str,
) -> str | None:
    """Ask for a ``stage_in`` of ``lfn`` to the unit's staging site, once per (file,
    site). Returns the sha256 the job checks (none for a symbolic link under
    ``nosymlink``)."""
    site, urls = choice
    staging, base, wbase = where.staging, where.base, where.wbase
    symlink = (
        site == staging
        and urls[0].startswith("file://")
        and (wbase is base or wbase.startswith("file://"))
    )
    if cx.nosymlink and symlink:
        digest = None  # pegasus.integrity.checking = nosymlink
    key = (_STAGE_IN, lfn, staging)
    if key in cx.requests:
        cx.readers_of[key].append(unit.name)
        return digest
    local = site == "local" or urls[0].startswith("file://")
    dst = at if wbase is base else f"{wbase}/{lfn}"
    more = more_slot(digest, symlink, False, False)
    move = make_transfer((lfn, dst, urls, size, staging, None, more))
    cx.requests[key] = make_request((_STAGE_IN, staging, unit.level, local, move, None))
    cx.readers_of[key] = [unit.name]
    cx.wait_write(known, key)
    cx.note(
        unit.jobs,
        f"input {lfn}: replica {urls[0]}@{site}"
        + (f" (fallbacks: {len(urls) - 1})" if len(urls) > 1 else "")
        + (" symlinked" if symlink else ""),
    )
    return digest


def _pulled(
    table: Residencies,
    r: int,
    lfn: str,
    digest: str | None,
    size: int | None,
    staging: str,
    meta: str | None,
) -> Transfer:
    """The input transfer staging URL -> job dir, one object per file and site unless
    readers declare different sizes (or check it against different records)."""
    pulls = table.pulls
    move = pulls[r]
    # the ``more`` slot more_slot() makes for a sha256 alone, compared without a call
    more = None if digest is None else (digest, False, False, False)
    if move is None or move.size != size or move.more != more or move.meta != meta:
        move = make_transfer(
            (
                lfn,
                lfn,
                (table.urls[r],),
                size,
                staging,
                meta,
                more,
            )
        )
        if pulls[r] is None:
            pulls[r] = move
    return move
