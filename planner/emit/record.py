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


def _edge_maps(cw: ConcreteWorkflow) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Sorted, duplicate-free parents and children per node."""
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for p, c in cw.edges:
        if c in parents:
            parents[c].append(p)
        else:
            parents[c] = [p]
        if p in children:
            children[p].append(c)
        else:
            children[p] = [c]
    for side in (parents, children):
        for name, ends in side.items():
            if len(ends) > 1:
                side[name] = sorted(set(ends))
    return parents, children


def _head(cw: ConcreteWorkflow) -> dict[str, Any]:
    return {
        "workflow": cw.name,
        "wfplan_version": __version__,
        "options": _plain(cw.options),
        "pruned": [{"job": p.job, "reason": p.reason} for p in cw.pruned],
        "decisions": {job: list(lines) for job, lines in sorted(cw.decisions.items())},
    }


def _value(value: Any) -> str:
    """Compact JSON of one value; strings and None (nearly all of them) without the
    encoder's per-call overhead."""
    if value is None:
        return "null"
    if type(value) is str:
        return _STR(value)
    return _ENCODER.encode(value)


def _opt(value: str | None) -> str:
    return "null" if value is None else _value(value)


def _strings(values: Iterable[Any]) -> str:
    if not values:
        return "[]"
    try:
        return f"[{','.join(map(_STR, values))}]"
    except TypeError:  # not all strings (a model_copy without validation)
        return _ENCODER.encode(list(values))


def _file_json(t: Transfer) -> str:
    src = t.src
    return (
        f'{{"dst":{_value(t.dst)},"fallbacks":{_strings(src[1:])},"lfn":{_value(t.lfn)},'
        f'"sha256":{_opt(t.sha256)},"site":{_opt(t.site)},"size":{_value(t.size)},'
        f'"src":{_value(src[0]) if src else "null"}}}'
    )


def _files_json(files: tuple[Transfer, ...]) -> str:
    return f"[{','.join(map(_file_json, files))}]" if files else "[]"


def _task_json(t: Task) -> str:
    return (
        f'{{"arguments":{_strings(t.arguments)},"executable":{_value(t.executable)},'
        f'"job":{_value(t.job_id)},"runtime":{_value(t.runtime)},'
        f'"transformation":{_value(t.transformation)}}}'
    )


def node_json(node: Node, parents: list[str], children: list[str], submit_file: str | None) -> str:
    """``_compact(node_record(...))`` built directly: the same text, without the
    intermediate dicts and the encoder's per-dict key sorting."""
    profiles = _ENCODER.encode(_plain(node.profiles)) if node.profiles else "{}"
    tasks = node.tasks
    dc = node.data_configuration
    return (
        f'{{"children":{_strings(children)},'
        f'"data_configuration":{"null" if dc is None else _value(DC_NAMES.get(dc))},'
        f'"files":{_files_json(node.files)},"inputs":{_files_json(node.inputs)},'
        f'"jobs":{_strings(node.jobs)},"kind":{_value(KIND_NAMES[node.kind])},'
        f'"level":{_value(node.level)},"name":{_value(node.name)},'
        f'"outputs":{_files_json(node.outputs)},"parents":{_strings(parents)},'
        f'"profiles":{profiles},"reasons":{_strings(node.reasons)},'
        f'"runtime":{_value(node_runtime(node))},"site":{_value(node.site)},'
        f'"staging_site":{_opt(node.staging_site)},"submit":{_opt(submit_file)},'
        f'"tasks":[{",".join(map(_task_json, tasks))}],'
        f'"transformation":{_opt(node.transformation)},'
        f'"working_dir":{_opt(node.working_dir)}}}'
    )


def _node_texts(cw: ConcreteWorkflow, submit_files: Mapping[str, str] | None) -> Iterator[str]:
    parents, children = _edge_maps(cw)
    files = submit_files or {}
    for n in cw.nodes:
        name = n.name
        yield node_json(n, parents.get(name, []), children.get(name, []), files.get(name))


def _node_records(
    cw: ConcreteWorkflow, submit_files: Mapping[str, str] | None
) -> Iterator[dict[str, Any]]:
    parents, children = _edge_maps(cw)
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
    cw: ConcreteWorkflow, submit_files: Mapping[str, str] | None = None
) -> Iterator[str]:
    """``dumps_plan(plan_record(cw))`` in pieces, one node at a time (bounded memory).

    ``json.dumps(indent=...)`` falls back to the pure-Python encoder, 5x slower at 10^5
    nodes, so only the top level is laid out by hand.
    """
    return _yield_text(_head(cw), _node_texts(cw, submit_files))


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
