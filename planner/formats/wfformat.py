"""WfCommons WfFormat JSON (read-only): schema 1.4/1.5, and the older inline-file layout.

1.5: ``workflow.specification.tasks[]`` (``id``, ``parents``, ``children``, ``inputFiles``,
``outputFiles``), ``workflow.specification.files[]`` (``id``, ``sizeInBytes``) and
``workflow.execution.tasks[]`` (``runtimeInSeconds``, ``command.program``,
``command.arguments``). Older files keep everything in ``workflow.tasks[]`` with inline
``files: [{link, name, sizeInBytes|size}]``. The transformation is ``command.program``
(falling back to the task's ``category``, then its ``name``); the runtime becomes profile
``pegasus.runtime``; declared parent/child edges are kept even with no file behind them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from planner.errors import FormatError
from planner.formats._shape import as_size, job_where, make_job, need_str, new_use
from planner.model.base import Namespace, no_gc
from planner.model.workflow import Job, LinkType, Use, Workflow


def load(path: str | os.PathLike[str]) -> Workflow:
    """Read a WfFormat JSON file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read workflow: {exc}", source=str(path)) from None
    return loads(text, str(path))


def loads(text: str, source: str | None = None) -> Workflow:
    """Parse WfFormat JSON text; ``source`` names it in error messages."""
    with no_gc():
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FormatError(
                f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                source=source,
            ) from None
        return from_dict(doc, source)


def _mapping(value: object, where: str, source: str | None) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise FormatError(f"{where} must be an object", source=source)
    return value


def _list(value: object, where: str, source: str | None) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FormatError(f"{where} must be a list", source=source)
    return value


def from_dict(doc: object, source: str | None = None) -> Workflow:
    """Build a Workflow from a parsed WfFormat document."""
    doc = _mapping(doc, "the document", source)
    wf = _mapping(doc.get("workflow"), "'workflow'", source)
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        name = Path(source).stem if source else "workflow"
    if "specification" in wf:
        spec = _mapping(wf["specification"], "'workflow.specification'", source)
        execution = _mapping(wf.get("execution") or {}, "'workflow.execution'", source)
        tasks = _list(spec.get("tasks"), "'workflow.specification.tasks'", source)
        sizes = _file_sizes(
            _list(spec.get("files"), "'workflow.specification.files'", source), source
        )
        runs = _executions(
            _list(execution.get("tasks"), "'workflow.execution.tasks'", source), source
        )
        built = [_task_15(i, t, sizes, runs, source) for i, t in enumerate(tasks)]
    else:
        tasks = _list(wf.get("tasks"), "'workflow.tasks'", source)
        built = [_task_old(i, t, source) for i, t in enumerate(tasks)]
    if not built:
        raise FormatError("workflow has no tasks", source=source)
    # parents may name a task by its name in old files; map names to ids
    by_name: dict[str, str] = {}
    for job_task in tasks:
        if isinstance(job_task, Mapping) and "name" in job_task and "id" in job_task:
            by_name.setdefault(str(job_task["name"]), str(job_task["id"]))
    ids = {job.id for job, _, _ in built}
    edges: dict[tuple[str, str], None] = {}
    for job, parents, children in built:
        for p in parents:
            edges[(p if p in ids else by_name.get(p, p), job.id)] = None
        for c in children:
            edges[(job.id, c if c in ids else by_name.get(c, c))] = None
    # 1.4 instances of planned runs hold the planner's own transfer/auxiliary tasks
    # (stage-in, create-dir, ...): they are not part of the abstract workflow, so they
    # are dropped and their parents linked to their children
    added = {
        str(t.get("id", t.get("name")))
        for t in tasks
        if isinstance(t, Mapping) and t.get("type") in ("transfer", "auxiliary")
    }
    jobs = tuple(job for job, _, _ in built if job.id not in added)
    if not jobs:
        raise FormatError("workflow has no compute tasks", source=source)
    if added:
        edges = _splice(edges, added)
    return Workflow.model_construct(
        name=name,
        jobs=jobs,
        dependencies=tuple(edges),
        replica_catalog=None,
        transformation_catalog=None,
        site_catalog=None,
        metadata={},
        source=source,
    )


def _splice(edges: dict[tuple[str, str], None], removed: set[str]) -> dict[tuple[str, str], None]:
    """The edges among the remaining tasks, with paths through removed tasks kept."""
    succ: dict[str, dict[str, None]] = {}
    pred: dict[str, dict[str, None]] = {}
    for p, c in edges:
        succ.setdefault(p, {})[c] = None
        pred.setdefault(c, {})[p] = None
    for r in sorted(removed):
        parents, children = pred.pop(r, {}), succ.pop(r, {})
        for p in parents:
            succ.get(p, {}).pop(r, None)
        for c in children:
            pred.get(c, {}).pop(r, None)
        for p in parents:
            for c in children:
                if p != c:
                    succ.setdefault(p, {})[c] = None
                    pred.setdefault(c, {})[p] = None
    kept = {(p, c): None for p, children in succ.items() for c in children}
    ordered = {edge: None for edge in edges if edge in kept}
    ordered.update(kept)
    return ordered


def _file_sizes(files: list[Any], source: str | None) -> dict[str, int | None]:
    sizes: dict[str, int | None] = {}
    for k, entry in enumerate(files):
        where = f"files[{k}]"
        if not isinstance(entry, Mapping) or entry.get("id") is None:
            raise FormatError(f"{where} has no id", source=source)
        size = entry.get("sizeInBytes")
        lfn = str(entry["id"])
        sizes[lfn] = None if size is None else as_size(size, f"{where} (id {lfn!r})", source)
    return sizes


def _executions(tasks: list[Any], source: str | None) -> dict[str, Mapping[str, Any]]:
    runs: dict[str, Mapping[str, Any]] = {}
    for k, entry in enumerate(tasks):
        if not isinstance(entry, Mapping) or entry.get("id") is None:
            raise FormatError(f"execution.tasks[{k}] has no id", source=source)
        runs[str(entry["id"])] = entry
    return runs


def _command(
    run: Mapping[str, Any], task: Mapping[str, Any], where: str, source: str | None
) -> tuple[str, tuple[str, ...]]:
    command = run.get("command") or {}
    if not isinstance(command, Mapping):
        raise FormatError(f"{where}: 'command' must be an object", source=source)
    program = command.get("program") or task.get("category") or task.get("name")
    if not program:
        raise FormatError(f"{where}: no command.program, category or name", source=source)
    raw_args = command.get("arguments") or []
    if isinstance(raw_args, str):
        raw_args = raw_args.split()
    if not isinstance(raw_args, list):
        raise FormatError(f"{where}: command.arguments must be a list", source=source)
    args = tuple(
        need_str(a, f"{where}: command.arguments[{k}]", source) for k, a in enumerate(raw_args)
    )
    return str(program), args


def _profiles(
    run: Mapping[str, Any], where: str, source: str | None
) -> dict[Namespace, dict[str, str]]:
    runtime = run.get("runtimeInSeconds", run.get("runtime"))
    if runtime is None:
        return {}
    if isinstance(runtime, bool) or not isinstance(runtime, int | float):
        raise FormatError(f"{where}: runtime must be a number, got {runtime!r}", source=source)
    return {Namespace.PEGASUS: {"runtime": repr(runtime)}}


def _refs(task: Mapping[str, Any], key: str, where: str, source: str | None) -> list[str]:
    return [str(x) for x in _list(task.get(key), f"{where}: '{key}'", source)]


def _task_15(
    index: int,
    task: object,
    sizes: dict[str, int | None],
    runs: dict[str, Mapping[str, Any]],
    source: str | None,
) -> tuple[Job, list[str], list[str]]:
    if not isinstance(task, Mapping):
        raise FormatError(f"task {index + 1} is not an object", source=source)
    task_id = task.get("id")
    where = job_where(index, task_id).replace("job", "task", 1)
    if task_id is None or task_id == "":
        raise FormatError(f"{where} has no id", source=source)
    run = runs.get(str(task_id), {})
    program, args = _command(run, task, where, source)
    uses: list[Use] = []
    for key, link in (("inputFiles", LinkType.INPUT), ("outputFiles", LinkType.OUTPUT)):
        for lfn in _refs(task, key, where, source):
            uses.append(_use(lfn, link, sizes.get(lfn)))
    job = make_job(
        id=str(task_id),
        name=program,
        arguments=args,
        uses=tuple(uses),
        profiles=_profiles(run, where, source),
    )
    return job, _refs(task, "parents", where, source), _refs(task, "children", where, source)


def _task_old(index: int, task: object, source: str | None) -> tuple[Job, list[str], list[str]]:
    if not isinstance(task, Mapping):
        raise FormatError(f"task {index + 1} is not an object", source=source)
    task_id = task.get("id", task.get("name"))
    where = job_where(index, task_id).replace("job", "task", 1)
    if task_id is None or task_id == "":
        raise FormatError(f"{where} has no id", source=source)
    program, args = _command(task, task, where, source)
    uses: list[Use] = []
    for k, entry in enumerate(_list(task.get("files"), f"{where}: 'files'", source)):
        if not isinstance(entry, Mapping):
            raise FormatError(f"{where}: files[{k}] is not an object", source=source)
        lfn = entry.get("name", entry.get("id"))
        if lfn is None or lfn == "":
            raise FormatError(f"{where}: files[{k}] has no name", source=source)
        link = {"input": LinkType.INPUT, "output": LinkType.OUTPUT}.get(str(entry.get("link")))
        if link is None:
            raise FormatError(
                f"{where}: files[{k}] (name {lfn!r}): link must be input or output, "
                f"got {entry.get('link')!r}",
                source=source,
            )
        size = entry.get("sizeInBytes", entry.get("size"))
        uses.append(
            _use(
                str(lfn),
                link,
                None if size is None else as_size(size, f"{where}: files[{k}]", source),
            )
        )
    job = make_job(
        id=str(task_id),
        name=program,
        arguments=args,
        uses=tuple(uses),
        profiles=_profiles(task, where, source),
    )
    return job, _refs(task, "parents", where, source), _refs(task, "children", where, source)


def _use(lfn: str, link: LinkType, size: int | None) -> Use:
    return new_use(
        {
            "lfn": lfn,
            "link": link,
            "stage_out": True,
            "register_replica": True,
            "optional": False,
            "bypass": False,
            "size": size,
        }
    )
