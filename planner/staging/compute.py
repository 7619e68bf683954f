"""A unit's compute or cluster node: its files (inputs, outputs, executables), its
tasks and profiles, and the "why" lines of its jobs."""

from __future__ import annotations

from planner.model.auxiliary import dagman_profiles
from planner.model.base import Namespace, profile
from planner.model.concrete import Node, NodeKind, Task, Transfer, node
from planner.model.placement import Placement
from planner.model.unit import Unit
from planner.staging.context import StageContext, UnitSite
from planner.staging.executables import stage_executables
from planner.staging.inputs import stage_inputs, unit_files
from planner.staging.outputs import stage_outputs

__all__ = ["stage_unit"]

_NO_ENV: dict[str, str] = Task._field_defaults["environment"]  # shared, read-only


def stage_unit(cx: StageContext, unit: Unit) -> Node:
    """The unit's node; its transfers are asked for in ``cx``."""
    where = cx.unit_site(unit)
    # a tuple is searched faster than a set is built, for the usual one-job unit
    members = unit.jobs if len(unit.jobs) < 8 else set(unit.jobs)
    read, produced = unit_files(cx, unit)
    inputs = stage_inputs(cx, unit, where, read, produced, members)
    first = cx.placements[unit.jobs[0]]
    run_as: dict[str, str] = {}  # job id -> the staged copy its task runs
    if first.stageable or (
        len(unit.jobs) > 1 and any(cx.placements[j].stageable for j in unit.jobs)
    ):
        run_as = stage_executables(cx, unit, where, inputs)
    outputs = stage_outputs(cx, unit, where, produced, members)
    node = _node(cx, unit, where, first, _tasks(cx, unit, run_as), inputs, outputs)
    _explain(cx, unit, first, node.reasons)
    return node


def _tasks(cx: StageContext, unit: Unit, run_as: dict[str, str]) -> tuple[Task, ...]:
    task_list = []
    single = len(unit.jobs) == 1  # a plain node is named for its job's transformation
    jobs, placements, runtimes = cx.jobs, cx.placements, cx.runtimes
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
                    unit.transformation if single and unit.transformation else job.transformation,
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
    return tuple(task_list)


def _node(
    cx: StageContext,
    unit: Unit,
    where: UnitSite,
    first: Placement,
    tasks: tuple[Task, ...],
    inputs: list[Transfer],
    outputs: list[Transfer],
) -> Node:
    dkey = (id(first.profiles), unit.level)
    node_profiles = cx.dagman.get(dkey)
    if node_profiles is None:
        node_profiles = cx.dagman[dkey] = dagman_profiles(
            first.profiles, NodeKind.COMPUTE, unit.level, cx.options.retry
        )
    if unit.clustered:
        reasons: tuple[str, ...] = (first.reason, f"cluster of {len(unit.jobs)}: {unit.reason}")
    else:
        plain = cx.plain_reasons
        reasons = plain.get(first.reason) or plain.setdefault(first.reason, (first.reason,))
    return node(
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
        working_dir=cx.layout.workpaths[where.staging],
        data_configuration=where.dc,
        staging_site=where.staging,
        profiles=node_profiles,
        reasons=reasons,
    )


def _explain(cx: StageContext, unit: Unit, first: Placement, reasons: tuple[str, ...]) -> None:
    """Each job's "why" lines: where it runs, its files, the cluster it joined."""
    notes, why = cx.notes, cx.why
    if unit.clustered or len(unit.jobs) > 1:
        into = (f"clustered into {unit.name}",) if unit.clustered else ()
        for job_id in unit.jobs:
            lines = notes.pop(job_id, ())
            why[job_id] = (cx.placements[job_id].reason, *lines, *into)
    else:
        job_id = unit.jobs[0]
        lines = notes.pop(job_id, ())
        why[job_id] = (first.reason, *lines) if lines else reasons


def _runtime(place: Placement) -> float | None:
    value = profile(place.profiles, Namespace.PEGASUS, "runtime")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
