"""Stageable executables: staged in like a raw input, named Pegasus's way, made
executable, and run from the copy."""

from __future__ import annotations

import re

from planner.errors import StagingError
from planner.model.concrete import DataConfiguration, NodeKind, Transfer
from planner.model.unit import Unit
from planner.model.workflow import Job
from planner.staging.context import StageContext, UnitSite, make_request

__all__ = ["stage_executables", "staged_name"]

_UNSAFE_FILE_NAME = re.compile(r"[^A-Za-z0-9._+-]")


def stage_executables(
    cx: StageContext, unit: Unit, where: UnitSite, inputs: list[Transfer]
) -> dict[str, str]:
    """Stage the unit's stageable executables to its staging site, as Pegasus does: one
    stage-in per (executable, site), however many jobs run it, made executable there and
    in the job's directory. Returns job id -> the path its task runs: the staged copy in
    the shared scratch (sharedfs), else the copy in the job's own directory
    (``./<name>``), where the cluster runner or HTCondor puts it."""
    run_as: dict[str, str] = {}
    staging = where.staging
    for job_id in unit.jobs:
        place = cx.placements[job_id]
        if not place.stageable:
            continue
        name = staged_name(cx.jobs[job_id])
        # sharedfs: the copy in the shared scratch, unless it is written through a file
        # server (which keeps no modes): then, like elsewhere, ./<name> in the job's
        # directory, which the cluster runner makes executable
        run_as[job_id] = (
            f"{cx.layout.workpaths[staging]}/{name}"
            if where.dc is DataConfiguration.SHAREDFS and where.wbase.startswith("file://")
            else f"./{name}"
        )
        src = _as_url(place.executable)
        key = _request(cx, unit, where, job_id, name, src)
        cx.note((job_id,), f"executable {name}: staged from {src}")
        readers = cx.readers_of[key]
        if readers and readers[-1] == unit.name:
            continue  # another member of this cluster runs the same copy
        readers.append(unit.name)
        table = cx.residency
        known = table.on(staging)[name]
        table.add_reader(known, unit.name)
        url = table.urls[known]
        inputs.append(Transfer(lfn=name, src=(url,), dst=name, site=staging, executable=True))
    return run_as


def _request(
    cx: StageContext, unit: Unit, where: UnitSite, job_id: str, name: str, src: str
) -> tuple[NodeKind, str, str]:
    """Ask for the stage-in of executable ``name`` from ``src``, once per staging site."""
    staging = where.staging
    key = (NodeKind.STAGE_IN, name, staging)
    if name in cx.graph.consumers or name in cx.graph.producer:
        raise StagingError(
            f"job {job_id}: its staged executable {name!r} has the name of a "
            "file of the workflow (they would share one place on the staging site)"
        )
    request = cx.requests.get(key)
    if request is None:
        known = cx.residency.add(name, staging, f"{cx.layout.workdirs[staging]}/{name}")
        move = Transfer(
            lfn=name, src=(src,), dst=f"{where.wbase}/{name}", site=staging, executable=True
        )
        cx.requests[key] = make_request(
            (NodeKind.STAGE_IN, staging, unit.level, src.startswith("file://"), move, None),
        )
        cx.readers_of[key] = []
        cx.wait_write(known, key)
    elif request.transfer.src != (src,):
        raise StagingError(
            f"job {job_id}: staged executable {name!r} would come from {src} and "
            f"from {request.transfer.src[0]} on staging site {staging!r} (give the "
            "transformation's stageable entries one source, or a version each)"
        )
    return key


def staged_name(job: Job) -> str:
    """The file name of a job's staged executable: Pegasus's ``namespace-name-version``
    (absent parts left out), with any character a file name or an HTCondor file list
    cannot hold replaced by ``_``.

    >>> staged_name(Job(id="A", namespace="pegasus", name="keg", version="5.0"))
    'pegasus-keg-5.0'
    """
    parts = [p for p in (job.namespace, job.name, job.version) if p]
    name = _UNSAFE_FILE_NAME.sub("_", "-".join(parts))
    return "_" + name if name.startswith(".") else name


def _as_url(pfn: str) -> str:
    return "file://" + pfn if pfn.startswith("/") else pfn
