"""Where a unit's outputs go: to its staging site, each with the checksum record its
node writes there, and to the output site's storage for ``stageOut`` files (also those
of pruned jobs, from a replica)."""

from __future__ import annotations

from collections.abc import Iterable

from planner.model.concrete import NodeKind, Transfer, make_transfer, more_slot, record_name
from planner.model.staging import Residencies
from planner.model.unit import Unit
from planner.model.workflow import Job, Use
from planner.staging.context import Request, StageContext, UnitSite, make_request

__all__ = ["stage_outputs", "stage_pruned_outputs"]

_STAGE_OUT = NodeKind.STAGE_OUT


def stage_outputs(
    cx: StageContext,
    unit: Unit,
    where: UnitSite,
    produced: dict[str, Use],
    members: tuple[str, ...] | set[str],
) -> list[Transfer]:
    """The unit's outputs, job dir -> staging site; files only used inside a cluster stay
    in its directory."""
    staging, base, wbase = where.staging, where.base, where.wbase
    table = cx.residency
    own_record = _own_record(table, unit, where) if cx.checking and produced else None
    # where this node records the sha256 of what it makes (one string per node)
    own_meta = None
    if own_record is not None:
        own_meta = table.urls[own_record] if wbase is base else f"{wbase}/{record_name(unit.name)}"
    clustered = len(unit.jobs) > 1
    outputs: list[Transfer] = []
    here, writers = where.index, table.writers
    for lfn, use in produced.items():
        if clustered and not use.stage_out and _internal(cx, lfn, members):
            continue
        at = f"{base}/{lfn}"
        size = use.size
        outputs.append(
            make_transfer(  # Transfer(): job dir -> staging site, stored slots in order
                (
                    lfn,
                    at if wbase is base else f"{wbase}/{lfn}",
                    (lfn,),
                    size,
                    staging,
                    own_meta,
                    more_slot(None, False, False, True) if use.optional else None,
                ),
            )
        )
        res = here.get(lfn)
        if res is None:
            res = table.add(lfn, staging, at, unit.name)
        else:
            writers[res] = unit.name
        if use.stage_out:
            _stage_out(cx, unit, staging, lfn, at, size, res, own_record)
    return outputs


def _own_record(table: Residencies, unit: Unit, where: UnitSite) -> int:
    """The checksum record the unit's node writes: a file on the staging site like the
    outputs (cleanup removes it)."""
    name = record_name(unit.name)
    record = where.index.get(name)
    if record is None:
        return table.add(name, where.staging, f"{where.base}/{name}", unit.name)
    table.writers[record] = unit.name
    return record


def _internal(cx: StageContext, lfn: str, members: tuple[str, ...] | set[str]) -> bool:
    """A file made and read only inside the cluster (or by pruned jobs)."""
    consumers = cx.graph.consumers.get(lfn, ())
    pruned = cx.pruned
    outside = any(c not in members and c not in pruned for c in consumers)
    return not outside and any(c in members for c in consumers)


def _stage_out(
    cx: StageContext,
    unit: Unit,
    staging: str,
    lfn: str,
    at: str,
    size: int | None,
    res: int,
    own_record: int | None,
) -> None:
    """Ask for a ``stage_out`` of ``lfn`` to the output site, once per file."""
    output_site = cx.options.output_site
    key = (_STAGE_OUT, lfn, output_site)
    if key in cx.requests:
        return
    dst = f"{cx.out_base or cx.out_dir()}/{lfn}"
    table = cx.residency
    meta = None if own_record is None else table.urls[own_record]
    # Transfer's stored slots in order: lfn, dst, src, size, site, meta, more (one
    # stage-out per output: keyword arguments cost twice as much)
    move = make_transfer((lfn, dst, (at,), size, output_site, meta, None))
    cx.requests[key] = make_request(
        (_STAGE_OUT, staging, unit.level, staging == "local", move, unit.name),
    )
    fixups = cx.fixups  # wait_read, inline: one stage-out per output
    fixups.read(table, res, key)
    if own_record is not None:
        fixups.read(table, own_record, key)


def stage_pruned_outputs(cx: StageContext, pruned_jobs: Iterable[Job]) -> None:
    """Outputs of pruned jobs that must still reach the output site: staged out from
    the replica replica selection chose for the output site."""
    output_site = cx.options.output_site
    for job in pruned_jobs:
        for use in job.outputs:
            key = (_STAGE_OUT, use.lfn, output_site)
            choice = cx.chosen.outputs.get(use.lfn)
            if not use.stage_out or choice is None or key in cx.requests:
                continue
            site, urls = choice
            move = Transfer(
                lfn=use.lfn,
                src=urls,
                dst=f"{cx.out_dir()}/{use.lfn}",
                sha256=cx.sha256(use.lfn),
                size=use.size,
                site=output_site,
            )
            cx.requests[key] = Request(_STAGE_OUT, site, 1, site == "local", move)
            line = f"pruned; output {use.lfn} staged out from {urls[0]}"
            cx.why[job.id] = (*cx.why.get(job.id, ()), line)
