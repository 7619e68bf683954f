"""Pegasus 5.0 YAML workflows: reader (with inline catalogs) and writer.

``loads(dumps(wf), source)`` equals ``wf`` (apart from ``source``). Hooks and job
metadata are accepted and ignored; sub-workflow jobs (``pegasusWorkflow``,
``condorWorkflow``) become :class:`SubWorkflow` values: their files are named, never read.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from enum import Enum
from operator import itemgetter
from pathlib import Path
from typing import Any

from catalogs.atomic import atomic_write_text
from catalogs.errors import WfplanError
from catalogs.yamlio import json_document, load_yaml, parser_name
from planner.errors import FormatError, UnsupportedFeature
from planner.formats._shape import job_where, need_str, scalar_text
from planner.formats.records import (
    JobBuilder,
    JobRecord,
    UseRecord,
    Vocabulary,
    flat_profiles,
)
from planner.model.base import Namespace
from planner.model.workflow import (
    Job,
    LinkType,
    SubWorkflow,
    SubWorkflowKind,
    Use,
    Workflow,
    split_uses,
)

PEGASUS_VERSION = "5.0"
_JOB_KEYS = frozenset(
    {"type", "id", "name", "namespace", "version", "nodeLabel", "arguments", "uses",
     "profiles", "hooks", "metadata", "stdin", "stdout", "stderr"}
)  # fmt: skip
# uses with only these keys, holding plain values, take the fast path in _use
_PLAIN_USE_KEYS = frozenset({"lfn", "type", "size"})
_FLAG_USE_KEYS = _PLAIN_USE_KEYS | {"stageOut", "registerReplica", "optional", "bypass"}
_SUB_KINDS = frozenset(k.value for k in SubWorkflowKind)
_SUB_KEYS = frozenset(
    {"type", "id", "file", "nodeLabel", "arguments", "uses", "profiles", "hooks", "metadata"}
)
_USE_KEYS = frozenset(
    {"lfn", "type", "stageOut", "registerReplica", "optional", "bypass", "size",
     "metadata", "forPlanning"}
)  # fmt: skip


def load(path: str | os.PathLike[str]) -> Workflow:
    """Read a Pegasus 5.0 YAML workflow file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read workflow: {exc}", source=str(path)) from None
    return loads(text, str(path))


def loads(text: str, source: str | None = None) -> Workflow:
    """Parse Pegasus 5.0 YAML text; ``source`` names it in error messages."""
    doc = parse(text, source)
    workflow = from_dict(doc, source)
    # freed here, by reference counting: alive when the collector is switched back on,
    # the parsed document would be scanned once more (~0.02 s at 10^4 jobs)
    del doc
    return workflow


def parse(text: str, source: str | None = None) -> Any:
    """The parsed document (dicts and lists), not yet checked: the writer's one-JSON-line-
    per-job layout through json where it is intact, else the whole text through YAML."""
    doc = _json_lines_document(text, source)
    return load_yaml(text, source, error=FormatError) if doc is None else doc


_ITEM = "  - {"


def _json_lines_document(text: str, source: str | None) -> dict[str, Any] | None:
    """The document, when ``text`` has the writer's layout (see :data:`JSON_LINES_MARK`):
    the header through YAML, each ``  - {...}`` line under ``jobs:`` and
    ``jobDependencies:`` through json. None when any part differs from that layout (then
    the whole text goes to the YAML parser, which also gives every error message); only
    with yaml-rs, whose YAML 1.2 is a superset of JSON."""
    if not text.startswith(JSON_LINES_MARK) or parser_name() != "yaml-rs":
        return None
    start = text.find("\njobs:\n")
    if start < 0:
        return None
    head = load_yaml(text[: start + 1], source, error=FormatError)
    if not isinstance(head, dict) or "jobs" in head or "jobDependencies" in head:
        return None
    pos = start + len("\njobs:\n")
    jobs, pos = _json_items(text, pos)
    if jobs is None:
        return None
    head["jobs"] = jobs
    if text.startswith("jobDependencies:\n", pos):
        deps, pos = _json_items(text, pos + len("jobDependencies:\n"))
        if deps is None:
            return None
        head["jobDependencies"] = deps
    return head if pos == len(text) else None


def _json_items(text: str, pos: int) -> tuple[list[Any] | None, int]:
    """The JSON objects on consecutive ``  - {...}`` lines from ``pos``, and the position
    after them; None if one of them is not a strict JSON object (repeated keys, NaN...)."""
    lines: list[str] = []
    while text.startswith(_ITEM, pos):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos + 4 : end]
        if not line.endswith("}"):
            return None, pos
        lines.append(line)
        pos = min(end + 1, len(text))
    if not lines:
        return None, pos
    items = json_document("[" + ",".join(lines) + "]")
    if not isinstance(items, list) or len(items) != len(lines):
        return None, pos
    return items, pos


def from_dict(doc: object, source: str | None = None) -> Workflow:
    """Build a Workflow from an already-parsed Pegasus YAML document."""
    if not isinstance(doc, Mapping):
        raise FormatError("not a Pegasus workflow: the document is not a mapping", source=source)
    version = doc.get("pegasus")
    if not isinstance(version, str) or not version.startswith("5."):
        raise FormatError(
            f"'pegasus' must be a version string like \"5.0\", got {version!r}", source=source
        )
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise FormatError("workflow has no 'name'", source=source)
    raw_jobs = doc.get("jobs")
    if not isinstance(raw_jobs, list) or not raw_jobs:
        raise FormatError("workflow 'jobs' must be a non-empty list", source=source)
    builder = _builder(doc.get("profiles"), source)
    jobs, subs = _jobs(raw_jobs, builder, source)
    edges = _dependencies(doc.get("jobDependencies"), source)
    sub_edges: tuple[tuple[str, str], ...] = ()
    if subs:
        sub_ids = {sub.id for sub in subs.values()}
        sub_edges = tuple(e for e in edges if e[0] in sub_ids or e[1] in sub_ids)
        edges = tuple(e for e in edges if e[0] not in sub_ids and e[1] not in sub_ids)
    metadata = doc.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise FormatError("workflow 'metadata' must be a mapping", source=source)
    return Workflow(
        name=name,
        jobs=jobs,
        dependencies=edges,
        replica_catalog=_inline("replicaCatalog", doc, source),
        transformation_catalog=_inline("transformationCatalog", doc, source),
        site_catalog=_inline("siteCatalog", doc, source),
        metadata={str(k): scalar_text(v) for k, v in metadata.items()},
        source=source,
        subworkflows=tuple(subs.values()),
        subworkflow_edges=sub_edges,
    )


# How messages name a job's parts (the builder's checked path uses it): the defaults.
VOCABULARY = Vocabulary()


def _builder(raw_defaults: object, source: str | None) -> JobBuilder:
    """The job builder, with the workflow-level profiles (checked) beneath every job's."""
    checker = JobBuilder(VOCABULARY, source)
    defaults = checker.checked_profiles(flat_profiles(raw_defaults, "workflow", source), "workflow")
    return JobBuilder(VOCABULARY, source, defaults)


def _check_id_and_keys(
    raw: Mapping[str, Any], job_id: object, allowed: frozenset[str], where: str, source: str | None
) -> None:
    """A job entry has an id (a non-empty string or a number) and no key but ``allowed``."""
    if not isinstance(job_id, str | int) or isinstance(job_id, bool) or job_id == "":
        raise FormatError(f"{where}: job has no id", source=source)
    if not raw.keys() <= allowed:
        unknown = sorted(map(str, raw.keys() - allowed))
        raise FormatError(f"{where}: unknown key(s) {unknown}", source=source)


def _subworkflow(
    index: int, raw: dict[str, Any], builder: JobBuilder, source: str | None
) -> SubWorkflow:
    """A ``pegasusWorkflow``/``condorWorkflow`` job. Its own file is one of its uses
    (Pegasus's API marks it ``forPlanning``); it is kept as ``file``, not as a use."""
    job_id = raw.get("id")
    where = job_where(index, job_id)
    _check_id_and_keys(raw, job_id, _SUB_KEYS, where, source)
    file = raw.get("file")
    if not isinstance(file, str) or not file:
        raise FormatError(f"{where}: a {raw['type']} job needs a 'file'", source=source)
    args = raw.get("arguments") or []
    uses = raw.get("uses") or []
    if not isinstance(args, list) or not isinstance(uses, list):
        raise FormatError(f"{where}: 'arguments' and 'uses' must be lists", source=source)
    records = _use_records(uses, index, job_id, source)
    label = raw.get("nodeLabel")
    return SubWorkflow(
        id=str(job_id),
        kind=SubWorkflowKind(raw["type"]),
        file=file,
        arguments=builder.checked_arguments(args, where),
        uses=tuple(use for use in builder.checked_uses(records, where) if use.lfn != file),
        profiles=builder.checked_profiles(flat_profiles(raw.get("profiles"), where, source), where),
        node_label=None if label is None else need_str(label, f"{where}: nodeLabel", source),
    )


def _jobs(
    raw_jobs: list[Any], builder: JobBuilder, source: str | None
) -> tuple[tuple[Job, ...], dict[int, SubWorkflow]]:
    """The jobs, and the sub-workflow entries by position (their files are never opened
    here: a sub-workflow is planned when its node runs).

    Plain entries are built straight from their dicts (:func:`_plain_job`); the others
    then go through a record and the builder, sub-workflows first, which check every
    value and name the first wrong one."""
    built: list[Job | None] = []
    append = built.append
    declined: list[int] = []
    for index, raw in enumerate(raw_jobs):
        job = _plain_job(raw, builder) if type(raw) is dict else None
        if job is None:
            declined.append(index)
        append(job)
    if not declined:
        return tuple(built), {}  # type: ignore[arg-type]  # no None left
    subs = {
        i: _subworkflow(i, raw_jobs[i], builder, source) for i in declined if _is_sub(raw_jobs[i])
    }
    for i in declined:
        if i not in subs:
            built[i] = builder.job(_record(i, raw_jobs[i], source))
    return tuple(filter(None, built)), subs


def _is_sub(raw: object) -> bool:
    return type(raw) is dict and type(raw.get("type")) is str and raw["type"] in _SUB_KINDS


# keys whose absence the plain path relies on, and the one key it looks up with them
_OPTIONAL_TEXT = ("namespace", "version", "nodeLabel", "stdin", "stdout", "stderr")
_NO_TEXTS = (None,) * len(_OPTIONAL_TEXT)


def _plain_job(raw: dict[str, Any], builder: JobBuilder) -> Job | None:
    """The Job of an entry in the shape the writer gives it (string id, name and
    arguments; uses of ``lfn``, ``type`` and an int ``size``; string profiles in known
    namespaces), built without a record and without a message; None for anything else,
    which the record path then checks. Both paths build equal jobs (property tests)."""
    get = raw.get
    job_id = get("id")
    name = get("name")
    if not (type(job_id) is str and job_id and type(name) is str and name):
        return None
    present = 2
    kind = get("type", _ABSENT)
    if kind is not _ABSENT:
        if kind != "job":
            return None
        present += 1
    arguments = get("arguments")
    if arguments is not None:
        if type(arguments) is not list:
            return None
        present += 1
    raw_uses = get("uses")
    if raw_uses is not None:
        if type(raw_uses) is not list:
            return None
        present += 1
    raw_profiles = get("profiles")
    if raw_profiles is not None:
        present += 1
    texts: Sequence[Any] = _NO_TEXTS
    if len(raw) != present:  # any other key: known ones are read, unknown ones decline
        if not raw.keys() <= _JOB_KEYS:
            return None
        texts = [get(key) for key in _OPTIONAL_TEXT]
        for text in texts:
            if text is not None and type(text) is not str:
                return None
    try:
        words = () if not arguments else tuple(arguments)
        "".join(words)  # TypeError unless every word is a string
        split = _NO_USES if not raw_uses else _plain_uses(raw_uses, builder)
        if split is None:
            return None
        profiles = (
            builder.bare_profiles
            if raw_profiles is None
            else builder.fast_profiles(_plain_triples(raw_profiles))
        )
    except (TypeError, KeyError, _Declined):  # unhashable, non-string or unknown
        return None
    if profiles is None:
        return None
    namespace, version, node_label, stdin, stdout, stderr = texts
    uses, inputs, outputs = split
    return _make_job(
        job_id, name, namespace, version, node_label, words, uses, profiles,
        stdin, stdout, stderr, inputs, outputs,
    )  # fmt: skip


_make_job = Job.make
_NO_USES: tuple[tuple[Use, ...], tuple[Use, ...], tuple[Use, ...]] = ((), (), ())


_ABSENT = object()


class _Declined(Exception):
    """A part of an entry that the plain path leaves to the record path."""


_LFN_TYPE_SIZE = itemgetter("lfn", "type", "size")
_LFN_TYPE = itemgetter("lfn", "type")


def _plain_uses(
    raw_uses: list[Any], builder: JobBuilder
) -> tuple[tuple[Use, ...], tuple[Use, ...], tuple[Use, ...]] | None:
    """The uses of plain ``{lfn, type[, size]}`` entries, shared between jobs, and those
    of them the job reads and writes (as :func:`split_uses` splits them); None if one is
    not plain."""
    cache = builder.plain_uses
    built: list[Use] = []
    for raw in raw_uses:
        if type(raw) is not dict:
            return None
        # the keys by count (KeyError for any other key, caught by the caller)
        count = len(raw)
        if count == 3:
            key = _LFN_TYPE_SIZE(raw)
            if type(key[2]) is not int:  # exact: True == 1 as a dict key
                return None
        elif count == 2:
            lfn, link = _LFN_TYPE(raw)
            key = (lfn, link, None)
        else:
            return None
        use = cache.get(key) or builder.plain_use(key)
        if use is None:
            return None
        built.append(use)
    uses = tuple(built)
    return (uses, *split_uses(uses))


def _plain_triples(raw: object) -> tuple[Any, ...]:
    """A job's profiles as flat triples when each namespace is a non-empty mapping."""
    if type(raw) is not dict:
        raise _Declined
    triples: list[Any] = []
    for ns_name, values in raw.items():
        if type(values) is not dict or not values:
            raise _Declined
        for key, value in values.items():
            triples += (ns_name, key, value)
    return tuple(triples)


def _record(index: int, raw: object, source: str | None) -> JobRecord:
    """A job entry's record. Its structure is checked here (a mapping of known keys, of
    type ``job``, lists where lists belong), its values by the builder."""
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise FormatError(f"{job_where(index, None)}: not a mapping", source=source)
    get = raw.get
    job_id = get("id")
    if not raw.keys() <= _JOB_KEYS or get("type", "job") != "job":
        _refuse_entry(index, raw, source)
    arguments = get("arguments") or ()
    uses: list[Any] | tuple[()] = get("uses") or ()
    if type(arguments) is not list and arguments != ():
        raise FormatError(f"{job_where(index, job_id)}: 'arguments' must be a list", source=source)
    if type(uses) is not list and uses != ():
        raise FormatError(f"{job_where(index, job_id)}: 'uses' must be a list", source=source)
    raw_profiles = get("profiles")
    return JobRecord(
        index,
        job_id,
        get("name"),
        arguments,
        _use_records(uses, index, job_id, source),
        () if raw_profiles is None else _triples(raw_profiles, index, job_id, source),
        get("namespace"),
        get("version"),
        get("nodeLabel"),
        get("stdin"),
        get("stdout"),
        get("stderr"),
    )


def _refuse_entry(index: int, raw: Mapping[str, Any], source: str | None) -> None:
    """Raise the error of a job entry of another type or with unknown keys."""
    job_id = raw.get("id")
    where = job_where(index, job_id)
    kind = raw.get("type", "job")
    if kind != "job":
        raise FormatError(f"{where}: unknown job type {kind!r}", source=source)
    _check_id_and_keys(raw, job_id, _JOB_KEYS, where, source)


def _triples(raw: object, index: int, job_id: object, source: str | None) -> tuple[object, ...]:
    """A job's profiles as flat ``namespace, key, value`` triples (see the builder)."""
    if type(raw) is dict:
        triples: list[object] = []
        for ns_name, values in raw.items():
            if type(values) is not dict or not values:
                break
            for key, value in values.items():
                triples += (ns_name, key, value)
        else:
            return tuple(triples)
    return flat_profiles(raw, job_where(index, job_id), source)


def _use_records(
    uses: Sequence[Any], index: int, job_id: object, source: str | None
) -> list[UseRecord]:
    """The use entries' records: the plain ``{lfn, type[, size]}`` without a key check (two
    or three keys, two of them lfn and type: no room for another), the others checked."""
    records: list[UseRecord] = []
    append = records.append
    for raw in uses:
        if type(raw) is dict:
            get = raw.get
            lfn = get("lfn")
            kind = get("type")
            size = get("size")
            if lfn is not None and kind is not None and len(raw) == (2 if size is None else 3):
                append((lfn, kind, size, None, None, None, None))
                continue
        where = f"{job_where(index, job_id)}: uses[{len(records)}]"
        append(_full_use_record(raw, where, source))
    return records


def _full_use_record(raw: object, where: str, source: str | None) -> UseRecord:
    if not isinstance(raw, Mapping):
        raise FormatError(f"{where} is not a mapping", source=source)
    lfn = raw.get("lfn")
    if lfn is None or isinstance(lfn, dict | list):
        raise FormatError(f"{where} has no lfn", source=source)
    if not raw.keys() <= _USE_KEYS:
        unknown = sorted(map(str, raw.keys() - _USE_KEYS))
        raise FormatError(f"{where} (lfn {lfn!r}): unknown key(s) {unknown}", source=source)
    size = raw.get("size")
    metadata = raw.get("metadata")
    if size is None and isinstance(metadata, Mapping):
        size = metadata.get("size")  # where Pegasus's API writes it
    get = raw.get
    return (
        lfn, get("type"), size, get("stageOut"), get("registerReplica"), get("optional"),
        get("bypass"),
    )  # fmt: skip


def _dependencies(raw: object, source: str | None) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise FormatError("'jobDependencies' must be a list", source=source)
    edges: list[tuple[str, str]] = []
    for k, dep in enumerate(raw):
        where = f"jobDependencies[{k}]"
        if not isinstance(dep, Mapping) or dep.get("id") is None:
            raise FormatError(f"{where} has no id", source=source)
        parent = need_str(dep["id"], where, source)
        children = dep.get("children") or []
        if not isinstance(children, list):
            raise FormatError(f"{where} (id {parent!r}): 'children' must be a list", source=source)
        edges.extend((parent, need_str(c, f"{where} (id {parent!r})", source)) for c in children)
    return tuple(edges)


# key in the workflow document -> (module, function) building the catalog from a dict
_INLINE_READERS: dict[str, tuple[tuple[str, str], ...]] = {
    "replicaCatalog": (("catalogs.loader", "replica_catalog_from_dict"),),
    "transformationCatalog": (("catalogs.loader", "transformation_catalog_from_dict"),),
    "siteCatalog": (
        ("sites.loader", "site_catalog_from_dict"),
        ("sites.site_yaml", "site_catalog_from_dict"),
        ("catalogs.loader", "site_catalog_from_dict"),
    ),
}


def _find(candidates: tuple[tuple[str, str], ...]) -> Callable[..., Any] | None:
    for module_name, func in candidates:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        found = getattr(module, func, None)
        if callable(found):
            return found
    return None


def _inline(key: str, doc: Mapping[str, Any], source: str | None) -> Any:
    raw = doc.get(key)
    if raw is None:
        return None
    # here, not at the top: only inline catalogs need pydantic's error type, and a plain
    # workflow is read without importing pydantic
    from pydantic import ValidationError

    reader = _find(_INLINE_READERS[key])
    if reader is None:
        raise UnsupportedFeature(f"inline {key} cannot be read by this build", source=source)
    try:
        return reader(raw, source)
    except WfplanError:
        raise
    except ValidationError as exc:  # a catalog reader let one through: keep it one line
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise FormatError(f"{key}: {where}: {first['msg']}", source=source) from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FormatError(f"{key}: {detail}", source=source) from None


# ---------------------------------------------------------------------------- writer

_CATALOG_WRITERS: dict[str, tuple[tuple[str, str], ...]] = {
    "replicaCatalog": (
        ("catalogs.loader", "replica_catalog_to_dict"),
        ("catalogs.replica_yaml", "to_dict"),
        ("catalogs.replica_yaml", "dumps"),
    ),
    "transformationCatalog": (
        ("catalogs.loader", "transformation_catalog_to_dict"),
        ("catalogs.transformation_yaml", "to_dict"),
        ("catalogs.transformation_yaml", "dumps"),
    ),
    "siteCatalog": (
        ("sites.loader", "site_catalog_to_dict"),
        ("sites.site_yaml", "to_dict"),
        ("sites.site_yaml", "dumps"),
    ),
}


def _catalog_dict(key: str, catalog: Any) -> Any:
    writer = _find(_CATALOG_WRITERS[key])
    if writer is None:
        raise UnsupportedFeature(f"inline {key} cannot be written by this build")
    out = writer(catalog)
    if isinstance(out, str):
        out = load_yaml(out)
    if isinstance(out, dict):
        out = {k: v for k, v in out.items() if k not in ("pegasus", "x-pegasus")}
    return out


def to_dict(workflow: Workflow) -> dict[str, Any]:
    """The Pegasus 5.0 YAML document for ``workflow`` (keys in a fixed order)."""
    doc: dict[str, Any] = {"pegasus": PEGASUS_VERSION, "name": workflow.name}
    if workflow.metadata:
        doc["metadata"] = dict(workflow.metadata)
    for key, catalog in (
        ("siteCatalog", workflow.site_catalog),
        ("replicaCatalog", workflow.replica_catalog),
        ("transformationCatalog", workflow.transformation_catalog),
    ):
        if catalog is not None:
            doc[key] = _catalog_dict(key, catalog)
    doc["jobs"] = [_job_dict(job) for job in workflow.jobs]
    doc["jobs"] += [_subworkflow_dict(sub) for sub in workflow.subworkflows]
    deps = _dependency_runs(workflow.dependencies + workflow.subworkflow_edges)
    if deps:
        doc["jobDependencies"] = deps
    return doc


def _job_dict(job: Job) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "job"}
    if job.namespace is not None:
        out["namespace"] = job.namespace
    if job.version is not None:
        out["version"] = job.version
    out["name"] = job.name
    out["id"] = job.id
    for key, value in (
        ("nodeLabel", job.node_label),
        ("stdin", job.stdin),
        ("stdout", job.stdout),
        ("stderr", job.stderr),
    ):
        if value is not None:
            out[key] = value
    out["arguments"] = list(job.arguments)
    out["uses"] = [_use_dict(u) for u in job.uses]
    if job.profiles:
        out["profiles"] = {Namespace(ns).value: dict(values) for ns, values in job.profiles.items()}
    return out


def _subworkflow_dict(sub: SubWorkflow) -> dict[str, Any]:
    out: dict[str, Any] = {"type": SubWorkflowKind(sub.kind).value, "file": sub.file, "id": sub.id}
    if sub.node_label is not None:
        out["nodeLabel"] = sub.node_label
    out["arguments"] = list(sub.arguments)
    # the file itself first, as Pegasus's API writes it
    own = {"lfn": sub.file, "type": "input", "forPlanning": True}
    out["uses"] = [own, *(_use_dict(u) for u in sub.uses)]
    if sub.profiles:
        out["profiles"] = {Namespace(ns).value: dict(values) for ns, values in sub.profiles.items()}
    return out


def _use_dict(use: Use) -> dict[str, Any]:
    out: dict[str, Any] = {"lfn": use.lfn, "type": LinkType(use.link).value}
    if use.size is not None:
        out["size"] = use.size
    if not use.stage_out:
        out["stageOut"] = False
    if not use.register_replica:
        out["registerReplica"] = False
    if use.optional:
        out["optional"] = True
    if use.bypass:
        out["bypass"] = True
    return out


def _dependency_runs(edges: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    """Consecutive edges with one parent become one entry, so reading them back gives the
    same edges in the same order."""
    runs: list[dict[str, Any]] = []
    for parent, child in edges:
        if runs and runs[-1]["id"] == parent:
            runs[-1]["children"].append(child)
        else:
            runs.append({"id": parent, "children": [child]})
    return runs


def dumps(workflow: Workflow) -> str:
    """Pegasus 5.0 YAML text for ``workflow`` (same workflow, same bytes)."""
    return "".join(yield_workflow_lines(workflow))


# The first line of every file the writer produces. It promises the layout below, so the
# reader may take that layout's fast path (and checks every line it relies on).
JSON_LINES_MARK = "# wfplan: each job and dependency below is one line of JSON, which is YAML\n"


def yield_workflow_lines(workflow: Workflow) -> Iterator[str]:
    """The YAML document line by line: header and catalogs in block style, then each job
    and each dependency entry as one line holding a JSON object (JSON is YAML 1.2, and
    reads the same under YAML 1.1 as written here: strings quoted, integers, booleans).
    Any YAML reader reads it; wfplan reads those lines with the json module, about four
    times faster than a YAML parser."""
    doc = to_dict(workflow)
    jobs = doc.pop("jobs")
    deps = doc.pop("jobDependencies", None)
    yield JSON_LINES_MARK
    yield from yield_yaml_lines(doc)
    yield "jobs:\n"
    for job in jobs:
        yield f"  - {_json_line(job)}\n"
    if deps:
        yield "jobDependencies:\n"
        for dep in deps:
            yield f"  - {_json_line(dep)}\n"


def _json_line(value: object) -> str:
    """``value`` as one line of JSON that is also valid YAML: characters YAML does not
    allow raw (and NEL) are escaped; JSON syntax itself is ASCII, so only strings change."""
    text = json.dumps(value, ensure_ascii=False)
    # DEL (\x7f) is ASCII yet not allowed raw, so the ASCII shortcut looks for it too
    if text.isascii() and "\x7f" not in text:
        return text
    return _NON_PRINTABLE.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_RESERVED = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"})
# characters YAML does not allow raw inside a double-quoted scalar (and NEL, \x85, which
# YAML 1.1 readers such as PyYAML take for a line break); JSON leaves them raw
_NON_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


_PLAIN_ASCII = re.compile(r"[ !#-\[\]-~]*")


def _quote(text: str) -> str:
    """A double-quoted YAML scalar: JSON string syntax is valid YAML and never ambiguous
    (a bare ``1e3`` or ``0o7`` would read back as a number under YAML 1.2)."""
    if _PLAIN_ASCII.fullmatch(text):
        return f'"{text}"'
    quoted = json.dumps(text, ensure_ascii=False)
    return _NON_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _key(key: object) -> str:
    text = str(key)
    if _BARE_KEY.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    return _quote(text)


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Enum):
        return _scalar(value.value)
    return _quote(str(value))


def yield_yaml_lines(value: object, indent: str = "") -> Iterator[str]:
    """Block-style YAML lines for nested dicts/lists/scalars, keys in the given order."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            head = f"{indent}{_key(key)}:"
            if isinstance(item, Mapping | list | tuple) and item:
                yield head + "\n"
                yield from yield_yaml_lines(item, indent + "  ")
            elif isinstance(item, Mapping):
                yield head + " {}\n"
            elif isinstance(item, list | tuple):
                yield head + " []\n"
            else:
                yield f"{head} {_scalar(item)}\n"
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, Mapping | list | tuple) and item:
                lines = yield_yaml_lines(item, indent + "  ")
                first = next(lines)
                yield f"{indent}- {first[len(indent) + 2 :]}"
                yield from lines
            elif isinstance(item, Mapping):
                yield f"{indent}- {{}}\n"
            elif isinstance(item, list | tuple):
                yield f"{indent}- []\n"
            else:
                yield f"{indent}- {_scalar(item)}\n"
    else:
        yield f"{indent}{_scalar(value)}\n"


def dump(workflow: Workflow, path: str | os.PathLike[str]) -> None:
    """Write ``workflow`` to ``path`` atomically (a temp file renamed into place)."""
    atomic_write_text(path, dumps(workflow), error=FormatError)
