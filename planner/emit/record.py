"""The plan record, ``plan.json``: what the planner decided, for explain, simulate and tests.

Shape fixed by architecture.md (``workflow``, ``wfplan_version``, ``options``, ``pruned``,
``nodes[name, kind, site, transformation, jobs, files, parents, level]``) plus keys the
simulator and ``explain`` read: per node ``runtime`` (sum of task runtimes, null if any is
unknown), ``tasks``, ``inputs``, ``outputs``, ``children``, ``submit``; per file ``size``
and ``fallbacks``; top-level ``decisions``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from enum import Enum
from pathlib import PurePath
from typing import Any

from planner import __version__
from planner.emit.dag import EdgeMaps, edge_maps
from planner.model.concrete import (
    ConcreteWorkflow,
    DataConfiguration,
    Node,
    NodeKind,
    Task,
    Transfer,
)

# Enum ``.value`` is a descriptor call; a dict lookup is several times cheaper per node.
KIND_NAMES: dict[NodeKind, str] = {k: k.value for k in NodeKind}
DC_NAMES: dict[DataConfiguration | None, str] = {d: d.value for d in DataConfiguration}
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
# The string encoder the C encoder above uses (ensure_ascii=False), callable on its own.
_STR = json.encoder.encode_basestring


def _plain(value: Any) -> Any:
    """JSON-ready copy: enums by value, paths as text, sets sorted, tuples as lists."""
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def file_record(t: Transfer) -> dict[str, Any]:
    return {
        "lfn": t.lfn,
        "src": t.src[0] if t.src else None,
        "fallbacks": list(t.src[1:]),
        "dst": t.dst,
        "size": t.size,
        "sha256": t.sha256,
        "site": t.site,
    }


def node_runtime(node: Node) -> float | None:
    runtimes = [t.runtime for t in node.tasks]
    if not runtimes or any(r is None for r in runtimes):
        return None
    return float(sum(r for r in runtimes if r is not None))


def node_record(
    node: Node, parents: list[str], children: list[str], submit_file: str | None
) -> dict[str, Any]:
    return {
        "name": node.name,
        "kind": KIND_NAMES[node.kind],
        "site": node.site,
        "transformation": node.transformation,
        "jobs": list(node.jobs),
        "files": [file_record(t) for t in node.files],
        "inputs": [file_record(t) for t in node.inputs],
        "outputs": [file_record(t) for t in node.outputs],
        "parents": parents,
        "children": children,
        "level": node.level,
        "runtime": node_runtime(node),
        "tasks": [
            {
                "job": t.job_id,
                "transformation": t.transformation,
                "executable": t.executable,
                "arguments": list(t.arguments),
                "runtime": t.runtime,
            }
            for t in node.tasks
        ],
        "data_configuration": DC_NAMES.get(node.data_configuration),
        "staging_site": node.staging_site,
        "working_dir": node.working_dir,
        "reasons": list(node.reasons),
        "profiles": _plain(node.profiles) if node.profiles else {},
        "submit": submit_file,
    }


def _head(cw: ConcreteWorkflow) -> dict[str, Any]:
    head = _plain_head(cw)
    if cw.subworkflows:  # only then, so plans without them keep their bytes
        head["subworkflows"] = [_subworkflow_record(cw, sub) for sub in cw.subworkflows]
    return head


def _subworkflow_record(cw: ConcreteWorkflow, sub: Any) -> dict[str, Any]:
    return {
        "name": sub.name,
        "job": sub.job,
        "kind": sub.kind,
        "file": sub.file,
        "url": sub.url,
        "arguments": list(sub.arguments),
        "outputs": list(sub.outputs),
        "level": sub.level,
        "retry": sub.retry,
        "reasons": list(sub.reasons),
        "parents": sorted(p for p, c in cw.subworkflow_edges if c == sub.name),
        "children": sorted(c for p, c in cw.subworkflow_edges if p == sub.name),
    }


def _plain_head(cw: ConcreteWorkflow) -> dict[str, Any]:
    return {
        "workflow": cw.name,
        "wfplan_version": __version__,
        "options": _plain(cw.options),
        "pruned": [{"job": p.job, "reason": p.reason} for p in cw.pruned],
        "decisions": {job: list(lines) for job, lines in sorted(cw.decisions.items())},
        "sites": {name: style.record() for name, style in sorted(cw.site_styles.items())},
    }


def _value(value: Any) -> str:
    """Compact JSON of one value; strings and None (nearly all of them) without the
    encoder's per-call overhead."""
    if value is None:
        return "null"
    if type(value) is str:
        return _STR(value)
    return _ENCODER.encode(value)


def _number(value: Any) -> str:
    """What the C encoder writes for an int or a float (repr of the finite ones)."""
    cls = value.__class__
    if cls is int:  # exactly int (not bool, not a subclass): str is its repr, and faster
        return str(value)
    if cls is float and value - value == 0.0:  # not inf or nan: those are spelled out
        return repr(value)
    return _value(value)


# Transfer objects repeat (a file read by many jobs has one input Transfer) and so do
# profile dicts (one per site and TC entry): their text is kept, in bounded caches emptied
# when full. Strings are encoded each time: looking the text of a string up in a large
# dict costs more than the C encoder (cache misses), measured.
_CACHE_LIMIT = 1 << 16


class _NodeEncoder:
    """``node_json`` for many nodes of one workflow, reusing the text of repeated objects.

    The fast path assumes the model's field types (what validation and the planner's
    builders give); anything else raises TypeError inside it and the node is written by
    the general path instead, so the text is the same either way. Objects are cached by
    ``id``: the caller keeps the workflow, and with it every cached object, alive while it
    encodes (an id is unique among live objects).
    """

    def __init__(self) -> None:
        self._files: dict[int, str] = {}
        self._profiles: dict[int, str] = {}

    def _file(self, t: Transfer) -> str:
        text = self._files.get(id(t))
        if text is not None:
            return text
        src, sha, site, size = t.src, t.sha256, t.site, t.size
        text = (
            f'{{"dst":{_STR(t.dst)},'
            f'"fallbacks":{_string_list(src[1:]) if len(src) > 1 else "[]"},'
            f'"lfn":{_STR(t.lfn)},'
            f'"sha256":{"null" if sha is None else _STR(sha)},'
            f'"site":{"null" if site is None else _STR(site)},'
            f'"size":{"null" if size is None else str(size) if size.__class__ is int else _number(size)},'
            f'"src":{_STR(src[0]) if src else "null"}}}'
        )
        if len(self._files) >= _CACHE_LIMIT:
            self._files.clear()
        self._files[id(t)] = text
        return text

    def _file_list(self, files: tuple[Transfer, ...]) -> str:
        if not files:
            return "[]"
        if len(files) == 1:
            return f"[{self._file(files[0])}]"
        return f"[{','.join(map(self._file, files))}]"

    def _profiles_json(self, profiles: Any) -> str:
        if not profiles:
            return "{}"
        text = self._profiles.get(id(profiles))
        if text is None:
            text = _ENCODER.encode(_plain(profiles))
            if len(self._profiles) >= _CACHE_LIMIT:
                self._profiles.clear()
            self._profiles[id(profiles)] = text
        return text

    def node(
        self, node: Node, parents: list[str], children: list[str], submit_file: str | None
    ) -> str:
        try:
            return self._node(node, parents, children, submit_file)
        except (TypeError, KeyError, AttributeError):
            return _compact(node_record(node, parents, children, submit_file))

    def _node(
        self, node: Node, parents: list[str], children: list[str], submit_file: str | None
    ) -> str:
        tasks = node.tasks
        if not tasks:
            runtime = "null"
        elif len(tasks) == 1:
            r = tasks[0].runtime
            # node_runtime's float(sum(...)) is float(0 + r): -0.0 becomes 0.0 there too
            runtime = "null" if r is None else _number(float(0 + r))
        else:
            total = node_runtime(node)
            runtime = "null" if total is None else _number(total)
        level = node.level
        dc, staging, tx, wd = (
            node.data_configuration,
            node.staging_site,
            node.transformation,
            node.working_dir,
        )
        return (
            f'{{"children":{_string_list(children)},'
            f'"data_configuration":{"null" if dc is None else _STR(DC_NAMES[dc])},'
            f'"files":{self._file_list(node.files)},'
            f'"inputs":{self._file_list(node.inputs)},'
            f'"jobs":{_string_list(node.jobs)},'
            f'"kind":{_KIND_JSON[node.kind]},'
            f'"level":{str(level) if level.__class__ is int else _number(level)},'
            f'"name":{_STR(node.name)},'
            f'"outputs":{self._file_list(node.outputs)},'
            f'"parents":{_string_list(parents)},'
            f'"profiles":{self._profiles_json(node.profiles)},'
            f'"reasons":{_string_list(node.reasons)},'
            f'"runtime":{runtime},'
            f'"site":{_STR(node.site)},'
            f'"staging_site":{"null" if staging is None else _STR(staging)},'
            f'"submit":{"null" if submit_file is None else _STR(submit_file)},'
            f'"tasks":[{",".join(map(_task_json_strict, tasks))}],'
            f'"transformation":{"null" if tx is None else _STR(tx)},'
            f'"working_dir":{"null" if wd is None else _STR(wd)}}}'
        )


def _string_list(values: Iterable[str]) -> str:
    """A JSON list of strings; TypeError if one is not a string (the caller falls back)."""
    return f"[{','.join(map(_STR, values))}]" if values else "[]"


def _task_json_strict(t: Task) -> str:
    runtime = t.runtime
    return (
        f'{{"arguments":{_string_list(t.arguments)},"executable":{_STR(t.executable)},'
        f'"job":{_STR(t.job_id)},"runtime":{"null" if runtime is None else _number(runtime)},'
        f'"transformation":{_STR(t.transformation)}}}'
    )


_KIND_JSON: dict[NodeKind, str] = {k: _STR(k.value) for k in NodeKind}


def node_json(node: Node, parents: list[str], children: list[str], submit_file: str | None) -> str:
    """``_compact(node_record(...))`` built directly: the same text, without the
    intermediate dicts and the encoder's per-dict key sorting."""
    return _NodeEncoder().node(node, parents, children, submit_file)


def _node_texts(
    cw: ConcreteWorkflow, submit_files: Mapping[str, str] | None, edges: EdgeMaps | None = None
) -> Iterator[str]:
    parents, children = edges or edge_maps(cw)
    files = submit_files or {}
    encode = _NodeEncoder().node
    no_ends: list[str] = []
    for n in cw.nodes:
        name = n.name
        yield encode(n, parents.get(name, no_ends), children.get(name, no_ends), files.get(name))


def _node_records(
    cw: ConcreteWorkflow, submit_files: Mapping[str, str] | None
) -> Iterator[dict[str, Any]]:
    parents, children = edge_maps(cw)
    files = submit_files or {}
    for n in cw.nodes:
        name = n.name
        yield node_record(n, parents.get(name, []), children.get(name, []), files.get(name))


def plan_record(
    cw: ConcreteWorkflow, submit_files: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The whole record as plain data (``submit_files``: node name -> its ``.sub``)."""
    return {**_head(cw), "nodes": list(_node_records(cw, submit_files))}


def dumps_plan(record: Mapping[str, Any]) -> str:
    """Stable text: sorted keys, one node per line (C-speed json, diff-friendly)."""
    head = {k: v for k, v in record.items() if k != "nodes"}
    return "".join(_yield_text(head, map(_compact, record["nodes"])))


def yield_plan_text(
    cw: ConcreteWorkflow,
    submit_files: Mapping[str, str] | None = None,
    edges: EdgeMaps | None = None,
) -> Iterator[str]:
    """``dumps_plan(plan_record(cw))`` in pieces, one node at a time (bounded memory).

    ``json.dumps(indent=...)`` falls back to the pure-Python encoder, 5x slower at 10^5
    nodes, so only the top level is laid out by hand. ``edges``: ``edge_maps(cw)`` if the
    caller has it already (the DAG needs it too).
    """
    return _yield_text(_head(cw), _node_texts(cw, submit_files, edges))


def _yield_text(head: Mapping[str, Any], nodes: Iterator[str]) -> Iterator[str]:
    keys = sorted([*head, "nodes"])
    yield "{\n"
    for i, key in enumerate(keys):
        sep = ",\n" if i < len(keys) - 1 else "\n"
        if key != "nodes":
            yield f"{_compact(key)}: {_compact(head[key])}{sep}"
            continue
        first = next(nodes, None)
        if first is None:
            yield f'"nodes": []{sep}'
            continue
        yield f'"nodes": [\n{first}'
        chunk: list[str] = []
        for node in nodes:
            chunk.append(node)
            if len(chunk) >= 1024:
                yield ",\n" + ",\n".join(chunk)
                chunk = []
        if chunk:
            yield ",\n" + ",\n".join(chunk)
        yield f"\n]{sep}"
    yield "}\n"


def _compact(value: Any) -> str:
    return _ENCODER.encode(value)
