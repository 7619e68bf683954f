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
from dataclasses import replace
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

from catalogs.jsonio import JSONTooDeep, loads_json
from planner.errors import FormatError
from planner.formats._shape import as_size, job_where
from planner.formats.records import JobBuilder, JobRecord, Profiles, UseRecord, Vocabulary
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


# How messages name a task's parts (the builder's checked path uses it): 1.5 files are
# counted over inputFiles then outputFiles, the older layout's are its ``files`` entries.
VOCABULARY = Vocabulary(
    job="task", no_id=" has no id", no_name="no command.program, category or name",
    arguments="command.arguments", use="file {1}", lfn="name", no_lfn="has no name",
    link="link",
)  # fmt: skip
VOCABULARY_OLD = replace(VOCABULARY, use="files[{0}]")


# a task's record and its declared parents and children
Task = tuple[JobRecord, list[str], list[str]]


def from_dict(doc: object, source: str | None = None) -> Workflow:
    """Build a Workflow from a parsed WfFormat document."""
    doc = _mapping(doc, "the document", source)
    wf = _mapping(doc.get("workflow"), "'workflow'", source)
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        name = Path(source).stem if source else "workflow"
    if "specification" in wf:
        tasks, built = _specification(wf, source)
    else:
        tasks = _list(wf.get("tasks"), "'workflow.tasks'", source)
        builder = JobBuilder(VOCABULARY_OLD, source)
        built = [_built(builder, _old_task(i, t, source)) for i, t in enumerate(tasks)]
    if not built:
        raise FormatError("workflow has no tasks", source=source)
    edges = _edges(built, tasks)
    # 1.4 instances of planned runs hold the planner's own transfer/auxiliary tasks
    # (stage-in, create-dir, ...): they are not part of the abstract workflow, so they
    # are dropped and their parents linked to their children
    added = {
        str(t.get("id", t.get("name")))
        for t in tasks
        if (type(t) is dict or isinstance(t, Mapping))
        and t.get("type") in ("transfer", "auxiliary")
    }
    jobs = (
        tuple(job for job, _, _ in built if job.id not in added)
        if added
        else tuple(map(_FIRST, built))
    )
    if not jobs:
        raise FormatError("workflow has no compute tasks", source=source)
    if added:
        edges = _splice(edges, added)
    return Workflow(name=name, jobs=jobs, dependencies=tuple(edges), source=source)


def _specification(
    wf: Mapping[str, Any], source: str | None
) -> tuple[list[Any], list[tuple[Job, list[str], list[str]]]]:
    """The 1.5 layout's task entries, and each one's job, parents and children."""
    spec = _mapping(wf["specification"], "'workflow.specification'", source)
    execution = _mapping(wf.get("execution") or {}, "'workflow.execution'", source)
    tasks = _list(spec.get("tasks"), "'workflow.specification.tasks'", source)
    sizes = _file_sizes(_list(spec.get("files"), "'workflow.specification.files'", source), source)
    runs = _executions(_list(execution.get("tasks"), "'workflow.execution.tasks'", source), source)
    builder = JobBuilder(VOCABULARY, source)
    records = _Records(sizes, runs, source, builder)
    plain = records.plain
    return tasks, [plain(t) or _built(builder, records.task(i, t)) for i, t in enumerate(tasks)]


def _built(builder: JobBuilder, task: Task) -> tuple[Job, list[str], list[str]]:
    record, parents, children = task
    return builder.job(record), parents, children


def _edges(
    built: list[tuple[Job, list[str], list[str]]], tasks: list[Any]
) -> dict[tuple[str, str], None]:
    """The declared edges, each once (a task lists its parents and its children, so most
    edges are declared twice), in file order; a reference to a task's name (older files)
    becomes its id."""
    ids = {job.id for job, _, _ in built}
    by_name: dict[str, str] = {}

    def known(refs: list[str]) -> list[str]:
        if not by_name:
            by_name.update(_ids_by_name(tasks))
        return [ref if ref in ids else by_name.get(ref, ref) for ref in refs]

    pairs: list[tuple[str, str]] = []
    append = pairs.append
    extend = pairs.extend
    for job, parents, children in built:
        job_id = job.id
        # one parent or one child is the common case: no set, zip or repeat for it
        if len(parents) == 1:
            ref = parents[0]
            append((ref if ref in ids else known(parents)[0], job_id))
        elif parents:
            extend(zip(parents if ids.issuperset(parents) else known(parents), repeat(job_id)))
        if len(children) == 1:
            ref = children[0]
            append((job_id, ref if ref in ids else known(children)[0]))
        elif children:
            extend(zip(repeat(job_id), children if ids.issuperset(children) else known(children)))
    return dict.fromkeys(pairs)


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
    plain = _plain_file_sizes(files)
    if plain is not None:
        return plain
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


_NONE_TYPE = type(None)


_SIZE_TYPES = frozenset({int, _NONE_TYPE})


def _plain_file_sizes(files: list[Any]) -> dict[str, int | None] | None:
    """The sizes when every entry is a dict with a string ``id`` and an int
    ``sizeInBytes`` (>= 0) or none, each column read and checked in C; else None (the
    loop then checks entry by entry)."""
    if set(map(type, files)) != {dict}:
        return None
    names: list[Any] = list(map(dict.get, files, repeat("id")))
    sizes = list(map(dict.get, files, repeat("sizeInBytes")))
    if set(map(type, names)) != {str} or not _SIZE_TYPES.issuperset(map(type, sizes)):
        return None
    if min(filter(None, sizes), default=0) < 0:
        return None
    return dict(zip(names, sizes, strict=True))


def _executions(tasks: list[Any], source: str | None) -> dict[str, Mapping[str, Any]]:
    if tasks and set(map(type, tasks)) == {dict}:
        ids: list[Any] = list(map(dict.get, tasks, repeat("id")))
        if set(map(type, ids)) == {str}:  # the common case, in C
            return dict(zip(ids, tasks, strict=True))
    runs: dict[str, Mapping[str, Any]] = {}
    for k, entry in enumerate(tasks):
        if not isinstance(entry, Mapping) or entry.get("id") is None:
            raise FormatError(f"execution.tasks[{k}] has no id", source=source)
        runs[str(entry["id"])] = entry
    return runs


_At = tuple[int, object]  # a task's position and id, for messages


def _where(index: int, task_id: object) -> str:
    return job_where(index, task_id).replace("job", "task", 1)


def _command(
    run: Mapping[str, Any], task: Mapping[str, Any], at: _At, source: str | None
) -> tuple[object, list[Any]]:
    """The program (``command.program``, else the task's category, else its name) and
    the argument words, as written (the builder checks them)."""
    command = run.get("command") or _NOTHING
    if type(command) is not dict and not isinstance(command, Mapping):
        raise FormatError(f"{_where(*at)}: 'command' must be an object", source=source)
    program = command.get("program") or task.get("category") or task.get("name")
    if program and type(program) is not str:
        program = str(program)
    raw_args = command.get("arguments") or []
    if type(raw_args) is str:
        return program, raw_args.split()
    if not isinstance(raw_args, list):
        raise FormatError(f"{_where(*at)}: command.arguments must be a list", source=source)
    return program, raw_args


def _runtime(run: Mapping[str, Any], at: _At, source: str | None) -> tuple[object, ...]:
    """The runtime as profile ``pegasus.runtime`` (a flat triple, see the builder)."""
    runtime = run.get("runtimeInSeconds") if "runtimeInSeconds" in run else run.get("runtime")
    if runtime is None:
        return ()
    if type(runtime) is not float and type(runtime) is not int:
        raise FormatError(
            f"{_where(*at)}: runtime must be a number, got {runtime!r}", source=source
        )
    return ("pegasus", "runtime", repr(runtime))


def _refs(task: Mapping[str, Any], key: str, at: _At, source: str | None) -> list[Any]:
    """The entries of one of a task's lists (file names or task ids)."""
    refs = task.get(key)
    if refs is None:
        return []
    if type(refs) is not list:
        raise FormatError(f"{_where(*at)}: '{key}' must be a list", source=source)
    return refs


def _ids(task: Mapping[str, Any], key: str, at: _At, source: str | None) -> list[str]:
    """A task's parents or children, as strings."""
    refs = task.get(key)
    if type(refs) is not list:
        refs = _refs(task, key, at, source)
    for ref in refs:
        if type(ref) is not str:
            return [str(x) for x in refs]
    return refs


_NOTHING: Mapping[str, Any] = {}
_NONE: list[Any] = []  # an absent list, never changed
_NOT_PLAIN = object()  # a value the plain path declines (None means a failed profile)
_INPUT, _OUTPUT = LinkType.INPUT, LinkType.OUTPUT
_make_job = Job.make
_make_use = Use.make
_FIRST = itemgetter(0)


def _or_none_list(value: Any) -> Any:
    """``value``, or the empty list when it is absent (None): a task's lists may be left out."""
    return _NONE if value is None else value


class _Records:
    """Turns 1.5 task entries into records, with their file sizes and execution
    entries (runtime, program, arguments) looked up by id."""

    __slots__ = (
        "_builder", "_float_runtimes", "_inputs", "_outputs", "_runs", "_runtimes", "_sizes",
        "_source",
    )  # fmt: skip

    def __init__(
        self,
        sizes: dict[str, int | None],
        runs: dict[str, Mapping[str, Any]],
        source: str | None,
        builder: JobBuilder | None = None,
    ) -> None:
        self._sizes = sizes
        self._runs = runs
        self._source = source
        self._builder = builder or JobBuilder(VOCABULARY, source)
        # each file's one input use and one output use, by name, shared by every task
        self._inputs: dict[str, Use] = {}
        self._outputs: dict[str, Use] = {}
        # the profiles of each runtime, by its text (as the record path writes it), and
        # of each float runtime but zero by its value (no repr per task)
        self._runtimes: dict[str, Profiles | None] = {}
        self._float_runtimes: dict[float, Profiles | None] = {}

    def plain(self, task: object) -> tuple[Job, list[str], list[str]] | None:
        """A task's job, parents and children, built straight from its entries when
        every value has its plain shape (string id, program, words, file names and
        task ids; a numeric runtime); None for anything else, which :meth:`task` and the
        builder then check. Both ways build equal jobs (property tests)."""
        if type(task) is not dict:
            return None
        get = task.get
        task_id = get("id")
        if type(task_id) is not str or not task_id:
            return None
        run = self._runs.get(task_id, _NOTHING)
        command = run.get("command") or _NOTHING
        if type(command) is not dict and command is not _NOTHING:
            return None
        program = command.get("program") or get("category") or get("name")
        words = command.get("arguments") or ()
        # absent lists are empty; anything else but a list is declined below
        parents = _or_none_list(get("parents"))
        children = _or_none_list(get("children"))
        if not (
            type(program) is str
            and program
            and (type(words) is list or words == ())
            and type(parents) is list
            and type(children) is list
        ):
            return None
        profiles = self._plain_profiles(run)
        if profiles is _NOT_PLAIN:
            return None
        in_names = _or_none_list(get("inputFiles"))
        out_names = _or_none_list(get("outputFiles"))
        if type(in_names) is not list or type(out_names) is not list:
            return None
        try:
            # most files were met before: their shared uses, looked up in C
            found_in: tuple[Any, ...] = tuple(map(self._inputs.get, in_names))
            found_out: tuple[Any, ...] = tuple(map(self._outputs.get, out_names))
        except TypeError:  # an unhashable name: left to the checked path
            return None
        inputs: tuple[Use, ...] | None = found_in
        outputs: tuple[Use, ...] | None = found_out
        if None in found_in:  # a file met for the first time (or a name not a string)
            inputs = self._new_uses(in_names, found_in, self._inputs, _INPUT)
        if None in found_out:
            outputs = self._new_uses(out_names, found_out, self._outputs, _OUTPUT)
        try:
            # TypeError unless every word, parent and child is a string
            "".join(words), "".join(parents), "".join(children)
        except TypeError:
            return None
        if inputs is None or outputs is None or profiles is None:
            return None
        job = _make_job(
            task_id, program, None, None, None, tuple(words), inputs + outputs, profiles,
            None, None, None, inputs, outputs,
        )  # fmt: skip
        return job, parents, children

    def _plain_profiles(self, run: Mapping[str, Any]) -> Any:
        """The profiles of a task whose execution entry is ``run``: its runtime's, the
        bare ones without a runtime, ``_NOT_PLAIN`` for a runtime that is not a number."""
        runtime = run.get("runtimeInSeconds") if "runtimeInSeconds" in run else run.get("runtime")
        if runtime is None:
            return self._builder.bare_profiles
        if type(runtime) is float and runtime:  # equal floats but 0.0 and -0.0 read alike
            return self._float_runtimes.get(runtime) or self._runtime_profiles(runtime)
        if type(runtime) is int or type(runtime) is float:
            return self._runtime_profiles(runtime)
        return _NOT_PLAIN

    def _runtime_profiles(self, runtime: float) -> Profiles | None:
        """The profiles of a task with this runtime, shared by the tasks whose runtime
        reads the same (``repr``, as the record path writes it)."""
        text = repr(runtime)
        found = self._runtimes.get(text)
        if found is None:
            found = self._runtimes[text] = self._builder.fast_profiles(("pegasus", "runtime", text))
        if type(runtime) is float and runtime and runtime == runtime:  # not 0, -0 or NaN
            self._float_runtimes[runtime] = found
        return found

    def _new_uses(
        self, names: list[Any], found: tuple[Use | None, ...], cache: dict[str, Use], link: LinkType
    ) -> tuple[Use, ...] | None:
        """The uses of a list of file names, ``found`` those already in ``cache``: each
        file's one input (or output) use, shared by every task; None unless every name
        is a string. All inputs read and all outputs write, so these are also the
        job's ``inputs`` and ``outputs``."""
        built: list[Use] = []
        sizes = self._sizes
        for lfn, use in zip(names, found, strict=True):
            if use is None:
                if type(lfn) is not str:
                    return None
                # sizes are checked whole numbers or None (_file_sizes)
                use = cache[lfn] = _make_use(lfn, link, True, True, False, False, sizes.get(lfn))
            built.append(use)
        return tuple(built)

    def task(self, index: int, task: object) -> Task:
        source = self._source
        if type(task) is not dict and not isinstance(task, Mapping):
            raise FormatError(f"task {index + 1} is not an object", source=source)
        task_id = task.get("id")
        at = (index, task_id)
        run = self._runs.get(task_id if type(task_id) is str else str(task_id), _NOTHING)
        program, arguments = _command(run, task, at, source)
        record = JobRecord(
            index,
            task_id if type(task_id) is str or task_id is None else str(task_id),
            program,
            arguments,
            self._uses(task, at),
            _runtime(run, at, source),
        )
        return record, _ids(task, "parents", at, source), _ids(task, "children", at, source)

    def _uses(self, task: Mapping[str, Any], at: _At) -> list[UseRecord]:
        sizes = self._sizes
        uses: list[UseRecord] = []
        for key, link in (("inputFiles", "input"), ("outputFiles", "output")):
            for lfn in _refs(task, key, at, self._source):
                size = sizes.get(lfn if type(lfn) is str else str(lfn))
                uses.append((lfn, link, size, None, None, None, None))
        return uses


_OLD_LINKS = frozenset({"input", "output"})


def _old_task(index: int, task: object, source: str | None) -> Task:
    """A task of the older layout, with its files inline."""
    if not isinstance(task, Mapping):
        raise FormatError(f"task {index + 1} is not an object", source=source)
    task_id = task.get("id", task.get("name"))
    at = (index, task_id)
    where = _where(*at)
    program, arguments = _command(task, task, at, source)
    files = _refs(task, "files", at, source)
    record = JobRecord(
        index,
        task_id if type(task_id) is str or task_id in (None, "") else str(task_id),
        program,
        arguments,
        [_old_use(entry, f"{where}: files[{k}]", source) for k, entry in enumerate(files)],
        _runtime(task, at, source),
    )
    return record, _ids(task, "parents", at, source), _ids(task, "children", at, source)


def _old_use(entry: object, where: str, source: str | None) -> UseRecord:
    """An inline file: only input and output links, the size as sizeInBytes or size."""
    if not isinstance(entry, Mapping):
        raise FormatError(f"{where} is not an object", source=source)
    lfn = entry.get("name", entry.get("id"))
    if lfn is None or lfn == "":
        raise FormatError(f"{where} has no name", source=source)
    link = entry.get("link")
    if link not in _OLD_LINKS:
        raise FormatError(
            f"{where} (name {lfn!r}): link must be input or output, got {link!r}", source=source
        )
    size = entry.get("sizeInBytes", entry.get("size"))
    return (lfn, link, None if size is None else as_size(size, where, source), *_NO_FLAGS)


_NO_FLAGS = (None, None, None, None)
