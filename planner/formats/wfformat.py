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

from catalogs.jsonio import JSONTooDeep, loads_json
from planner.errors import FormatError
from planner.formats._shape import as_size, job_where, need_str
from planner.model.base import Namespace
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
    try:
        doc = loads_json(text)
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            source=source,
        ) from None
    except JSONTooDeep as exc:
        raise FormatError(str(exc), source=source) from None
    workflow = from_dict(doc, source)
    del doc  # freed before the collector is back on (see pegasus_yaml.loads)
    return workflow


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
        fast = _FastTasks(sizes, runs).task
        built = [fast(t) or _task_15(i, t, sizes, runs, source) for i, t in enumerate(tasks)]
    else:
        tasks = _list(wf.get("tasks"), "'workflow.tasks'", source)
        built = [_task_old(i, t, source) for i, t in enumerate(tasks)]
    if not built:
        raise FormatError("workflow has no tasks", source=source)
    ids = {job.id for job, _, _ in built}
    by_name: dict[str, str] | None = None
    edges: dict[tuple[str, str], None] = {}
    for job, parents, children in built:
        job_id = job.id
        for p in parents:
            if p not in ids:
                by_name = _ids_by_name(tasks) if by_name is None else by_name
                p = by_name.get(p, p)
            edges[(p, job_id)] = None
        for c in children:
            if c not in ids:
                by_name = _ids_by_name(tasks) if by_name is None else by_name
                c = by_name.get(c, c)
            edges[(job_id, c)] = None
    # 1.4 instances of planned runs hold the planner's own transfer/auxiliary tasks
    # (stage-in, create-dir, ...): they are not part of the abstract workflow, so they
    # are dropped and their parents linked to their children
    added = {
        str(t.get("id", t.get("name")))
        for t in tasks
        if (type(t) is dict or isinstance(t, Mapping))
        and t.get("type") in ("transfer", "auxiliary")
    }
    jobs = tuple(job for job, _, _ in built if job.id not in added)
    if not jobs:
        raise FormatError("workflow has no compute tasks", source=source)
    if added:
        edges = _splice(edges, added)
    return Workflow(
        name=name,
        jobs=jobs,
        dependencies=tuple(edges),
        replica_catalog=None,
        transformation_catalog=None,
        site_catalog=None,
        metadata={},
        source=source,
    )


def _ids_by_name(tasks: list[Any]) -> dict[str, str]:
    """Task ids by task name: parents may name a task by its name in old files."""
    by_name: dict[str, str] = {}
    for job_task in tasks:
        if isinstance(job_task, Mapping) and "name" in job_task and "id" in job_task:
            by_name.setdefault(str(job_task["name"]), str(job_task["id"]))
    return by_name


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
        if type(entry) is dict:  # the common case first: no message strings to format
            lfn = entry.get("id")
            size = entry.get("sizeInBytes")
            if type(lfn) is str and (size is None or (type(size) is int and size >= 0)):
                sizes[lfn] = size
                continue
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


class _FastTasks:
    """Builds 1.5 tasks whose every part has the plain shape (string ids, file names,
    program and arguments; a numeric runtime); :meth:`task` returns None for anything
    else, which :func:`_task_15` then reads or refuses with a message naming the task.
    Equal uses and runtime profiles are built once and shared between jobs."""

    __slots__ = ("_profiles", "_runs", "_sizes", "_uses")

    def __init__(self, sizes: dict[str, int | None], runs: dict[str, Mapping[str, Any]]) -> None:
        self._sizes = sizes
        self._runs = runs
        self._uses: dict[tuple[str, LinkType], Use] = {}
        self._profiles: dict[str, dict[Namespace, dict[str, str]]] = {}

    def task(self, task: object) -> tuple[Job, list[str], list[str]] | None:
        if type(task) is not dict:
            return None
        get = task.get
        task_id = get("id")
        if type(task_id) is not str or not task_id:
            return None
        run = self._runs.get(task_id, _NO_RUN)
        command = run.get("command") or _NO_RUN
        if type(command) is not dict:
            return None
        program = command.get("program") or get("category") or get("name")
        raw_args = command.get("arguments") or ()
        if type(program) is not str or not program:
            return None
        if type(raw_args) is str:
            arguments = tuple(raw_args.split())
        elif type(raw_args) is list or type(raw_args) is tuple:
            arguments = tuple(raw_args)
            for word in arguments:
                if type(word) is not str:
                    return None
        else:
            return None
        uses: list[Use] = []
        cache = self._uses
        sizes = self._sizes
        for key, link in (("inputFiles", LinkType.INPUT), ("outputFiles", LinkType.OUTPUT)):
            lfns = get(key)
            if lfns is None:
                continue
            if type(lfns) is not list:
                return None
            for lfn in lfns:
                if type(lfn) is not str:
                    return None
                use = cache.get((lfn, link))
                if use is None:
                    use = cache[(lfn, link)] = _use(lfn, link, sizes.get(lfn))
                uses.append(use)
        parents = get("parents")
        children = get("children")
        if parents is None:
            parents = []
        if children is None:
            children = []
        if type(parents) is not list or type(children) is not list:
            return None
        for ref in parents:
            if type(ref) is not str:
                return None
        for ref in children:
            if type(ref) is not str:
                return None
        runtime = run.get("runtimeInSeconds", run.get("runtime"))
        if runtime is None:
            profiles: dict[Namespace, dict[str, str]] = {}
        elif type(runtime) is int or type(runtime) is float:
            text = repr(runtime)
            found = self._profiles.get(text)
            if found is None:
                found = self._profiles[text] = {Namespace.PEGASUS: {"runtime": text}}
            profiles = found
        else:
            return None
        job = Job(
            id=task_id, name=program, arguments=arguments, uses=tuple(uses), profiles=profiles
        )
        return job, parents, children


_NO_RUN: Mapping[str, Any] = {}


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
    job = Job(
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
    job = Job(
        id=str(task_id),
        name=program,
        arguments=args,
        uses=tuple(uses),
        profiles=_profiles(task, where, source),
    )
    return job, _refs(task, "parents", where, source), _refs(task, "children", where, source)


def _use(lfn: str, link: LinkType, size: int | None) -> Use:
    return Use(lfn, link, size=size)
