"""The plan record, ``plan.json``: what the planner decided, for explain, simulate and tests.

In memory (``plan_record``) it has the shape fixed by architecture.md (``workflow``,
``wfplan_version``, ``options``, ``pruned``, ``nodes[name, kind, site, transformation,
jobs, files, parents, level]``) plus keys the simulator and ``explain`` read: per node
``runtime`` (sum of task runtimes, null if any is unknown), ``tasks``, ``inputs``,
``outputs``, ``children``, ``submit``; per file ``size`` and ``fallbacks``; top-level
``decisions``. On disk (``yield_plan_text``) the same facts are JSON lines with repeated
text written once and without what the DAG says (docs/submit-dir.md); ``PlanReader``
reads that and the single JSON object earlier releases wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from enum import Enum
from pathlib import Path, PurePath
from typing import Any

from catalogs.jsonio import loads_json
from planner import __version__
from planner.emit.dag import EdgeMaps, edge_maps
from planner.errors import FormatError
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


# ---------------------------------------------------------------------------------------
# The record as written: JSON lines (docs/submit-dir.md, "plan.json").
#
# Line 1 is the head (one object, keys sorted). Every later line is either a table entry,
# a one-string array ``["text"]`` whose index is the number of table entries before it,
# or a node, an object with one-letter keys in a fixed order. Text that repeats from node
# to node (kinds, sites, transformations, executables, directories, URL prefixes, reasons,
# profiles) is written once as a table entry, ahead of the first node that uses it, and
# named by its index after that, so the file is written and read in one pass. Parents,
# children and submit files are not written: the DAG beside the record says them.

RECORD_VERSION = 2
_CACHE_LIMIT = 1 << 16


class _Table:
    """Text -> index of its table entry; ``pending`` holds the entries not yet written."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self.pending: list[str] = []

    def ref(self, text: Any) -> str:
        """The JSON for a text field: its table index, or ``null``."""
        if text is None:
            return "null"
        if type(text) is not str:  # the record holds text here (a model bypassed)
            text = str(_plain(text))
        index = self._index.get(text)
        if index is None:
            index = self._index[text] = len(self._index)
            self.pending.append(f"[{_STR(text)}]\n")
        return str(index)


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        return _STR(value)
    return _ENCODER.encode(_plain(value))


def _literal_list(values: Iterable[Any]) -> str:
    return f"[{','.join(map(_literal, values))}]"


class _CompactEncoder:
    """Node lines of one workflow, with the table entries each one needs before it.

    Transfers and profile dicts repeat across nodes (one input Transfer per file, one
    profile dict per site and entry): their text is kept by ``id`` in bounded caches. The
    caller keeps the workflow, and so every cached object, alive while it encodes.
    """

    def __init__(self, decisions: Mapping[str, Iterable[str]]) -> None:
        self.table = _Table()
        self._decisions = decisions
        self._files: dict[int, str] = {}
        self._profiles: dict[int, str] = {}

    def url(self, url: Any, lfn: Any) -> str:
        """``k``: table[k] + lfn; ``[k, "rest"]``: table[k] + rest; else the URL itself."""
        if type(url) is not str:
            return _literal(url)
        cut = url.rfind("/") + 1
        rest = url[cut:]
        if rest == lfn:
            return self.table.ref(url[:cut])
        if cut == 0:
            return _STR(url)
        return f"[{self.table.ref(url[:cut])},{_STR(rest)}]"

    def file(self, t: Transfer) -> str:
        text = self._files.get(id(t))
        if text is not None:
            return text
        lfn, src, size = t.lfn, t.src, t.size
        text = (
            f"[{_literal(lfn)},{self.url(src[0], lfn) if src else 'null'},"
            f"{self.url(t.dst, lfn)},{'null' if size is None else _number(size)},"
            f"{self.table.ref(t.site)}"
        )
        if len(src) > 1:
            fallbacks = ",".join(self.url(u, lfn) for u in src[1:])
            text += f",{_literal(t.sha256)},[{fallbacks}]]"
        elif t.sha256 is not None:
            text += f",{_literal(t.sha256)}]"
        else:
            text += "]"
        if len(self._files) >= _CACHE_LIMIT:
            self._files.clear()
        self._files[id(t)] = text
        return text

    def profiles(self, profiles: Any) -> str:
        text = self._profiles.get(id(profiles))
        if text is None:
            text = self.table.ref(_ENCODER.encode(_plain(profiles)))
            if len(self._profiles) >= _CACHE_LIMIT:
                self._profiles.clear()
            self._profiles[id(profiles)] = text
        return text

    def task(self, t: Task, job: Any) -> str:
        runtime = t.runtime
        return (
            f"[{'null' if t.job_id == job else _literal(t.job_id)},"
            f"{self.table.ref(t.transformation)},{self.table.ref(t.executable)},"
            f"{_literal_list(t.arguments)},{'null' if runtime is None else _number(runtime)}]"
        )

    def node(self, node: Node) -> str:
        ref = self.table.ref
        level = node.level
        parts = [
            f'{{"n":{_literal(node.name)},"k":{ref(KIND_NAMES.get(node.kind, node.kind))},'
            f'"s":{ref(node.site)},"l":{str(level) if level.__class__ is int else _literal(level)}'
        ]
        if node.transformation is not None:
            parts.append(f',"t":{ref(node.transformation)}')
        jobs = node.jobs
        if jobs:
            parts.append(f',"j":{_literal_list(jobs)}')
        for key, files in (("f", node.files), ("i", node.inputs), ("o", node.outputs)):
            if files:
                parts.append(f',"{key}":[{",".join(map(self.file, files))}]')
        if node.tasks:
            own = [*jobs, *([None] * (len(node.tasks) - len(jobs)))]
            parts.append(f',"x":[{",".join(map(self.task, node.tasks, own))}]')
        for key, text in (
            ("c", DC_NAMES.get(node.data_configuration)),
            ("g", node.staging_site),
            ("w", node.working_dir),
        ):
            if text is not None:
                parts.append(f',"{key}":{ref(text)}')
        if node.reasons:
            parts.append(f',"y":[{",".join(map(ref, node.reasons))}]')
        decided = [self._decisions.get(job) for job in jobs]
        if any(d is not None for d in decided):
            lists = ("null" if d is None else f"[{','.join(map(ref, d))}]" for d in decided)
            parts.append(f',"d":[{",".join(lists)}]')
        if node.profiles:
            parts.append(f',"p":{self.profiles(node.profiles)}')
        parts.append("}\n")
        return "".join(parts)


def _compact_head(cw: ConcreteWorkflow) -> dict[str, Any]:
    """The head line: ``_head`` with only the decisions no node's line carries (pruned
    jobs'), plus the record's version and the DAG that holds the edges."""
    head = _head(cw)
    placed = {job for node in cw.nodes for job in node.jobs}
    head["decisions"] = {j: v for j, v in head["decisions"].items() if j not in placed}
    head["plan_record"] = RECORD_VERSION
    head["dag"] = f"{cw.name}.dag"
    return head


def yield_plan_text(
    cw: ConcreteWorkflow,
    submit_files: Mapping[str, str] | None = None,
    edges: EdgeMaps | None = None,
) -> Iterator[str]:
    """The record's text in chunks of about 1,000 lines, one pass over the nodes.

    ``submit_files`` and ``edges`` are the writer's (what the DAG says); they are not
    written again, and are accepted so the writer's call stays the same.
    """
    del submit_files, edges
    yield _compact(_compact_head(cw)) + "\n"
    encoder = _CompactEncoder(cw.decisions)
    pending = encoder.table.pending
    chunk: list[str] = []
    for node in cw.nodes:
        line = encoder.node(node)
        if pending:
            chunk.extend(pending)
            pending.clear()
        chunk.append(line)
        if len(chunk) >= 1024:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


# ---------------------------------------------------------------------------------------
# Reading: either layout, streamed, into the dicts ``plan_record`` makes.


class _Decoder:
    """Record-2 lines after the head -> node dicts (no parents, children or submit)."""

    def __init__(self, source: str) -> None:
        self.table: list[str] = []
        self.source = source
        self._profiles: dict[int, Any] = {}

    def text(self, value: Any) -> Any:
        return self.table[value] if type(value) is int else value

    def url(self, value: Any, lfn: Any) -> Any:
        if type(value) is int:
            return self.table[value] + lfn
        if type(value) is list:
            return self.table[value[0]] + value[1]
        return value

    def file(self, entry: list[Any]) -> dict[str, Any]:
        # the url() cases inline: a plan has several file entries per job
        table = self.table
        lfn, src, dst, size, site = entry[:5]
        cls = src.__class__
        if cls is int:
            src = table[src] + lfn
        elif cls is list:
            src = table[src[0]] + src[1]
        cls = dst.__class__
        if cls is int:
            dst = table[dst] + lfn
        elif cls is list:
            dst = table[dst[0]] + dst[1]
        more = len(entry) > 5
        return {
            "lfn": lfn,
            "src": src,
            "fallbacks": [self.url(u, lfn) for u in entry[6]] if len(entry) > 6 else [],
            "dst": dst,
            "size": size,
            "sha256": entry[5] if more else None,
            "site": table[site] if site.__class__ is int else site,
        }

    def profiles(self, value: Any) -> Any:
        if value is None:
            return {}
        if type(value) is not int:
            return value
        return loads_json(self.table[value])

    def node(self, line: dict[str, Any]) -> dict[str, Any]:
        text = self.text
        jobs = line.get("j", [])
        tasks = [
            {
                "job": jobs[i] if t[0] is None and i < len(jobs) else t[0],
                "transformation": text(t[1]),
                "executable": text(t[2]),
                "arguments": t[3],
                "runtime": t[4],
            }
            for i, t in enumerate(line.get("x", ()))
        ]
        runtimes = [t["runtime"] for t in tasks]
        runtime = None
        if runtimes and all(r is not None for r in runtimes):
            runtime = float(sum(runtimes))
        decided = line.get("d")
        return {
            "name": line["n"],
            "kind": text(line["k"]),
            "site": text(line["s"]),
            "transformation": text(line.get("t")),
            "jobs": jobs,
            "files": [self.file(f) for f in line.get("f", ())],
            "inputs": [self.file(f) for f in line.get("i", ())],
            "outputs": [self.file(f) for f in line.get("o", ())],
            "level": line["l"],
            "runtime": runtime,
            "tasks": tasks,
            "data_configuration": text(line.get("c")),
            "staging_site": text(line.get("g")),
            "working_dir": text(line.get("w")),
            "reasons": [text(r) for r in line.get("y", ())],
            "profiles": self.profiles(line.get("p")),
            "decisions": {
                job: [text(r) for r in d]
                for job, d in zip(jobs, decided or (), strict=False)
                if d is not None
            },
        }

    def lines(self, lines: Iterable[tuple[int, str]]) -> Iterator[dict[str, Any]]:
        for number, line in lines:
            try:
                value = loads_json(line)
                if type(value) is list:
                    (entry,) = value
                    if type(entry) is not str:
                        raise ValueError("a table entry is one string")
                    self.table.append(entry)
                    continue
                if type(value) is not dict:
                    raise ValueError("neither a node nor a table entry")
                yield self.node(value)
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise FormatError(
                    f"line {number}: not a plan record line ({type(exc).__name__}: {exc})",
                    source=self.source,
                )


def decode_plan_lines(
    lines: Iterable[str], source: str = "plan.json"
) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The head and the node dicts of record-2 text, lines decoded as they are read.

    Node dicts are ``node_record``'s less ``parents``, ``children`` and ``submit`` (the
    DAG's), plus ``decisions``: the recorded lines of each of the node's jobs.
    """
    numbered = enumerate(lines, 1)
    first = next(numbered, None)
    head = _record_head(first[1] if first else "", source)
    if head is None:
        raise FormatError("not a plan record (no head line)", source=source)
    return head, _Decoder(source).lines(line for line in numbered if line[1].strip())


def _record_head(line: str, source: str) -> dict[str, Any] | None:
    """The head if ``line`` is a record-2 head line, else None (the previous layout)."""
    try:
        head = loads_json(line)
    except ValueError:
        return None
    if not isinstance(head, dict) or "plan_record" not in head:
        return None
    if head["plan_record"] != RECORD_VERSION:
        raise FormatError(
            f"plan record version {head['plan_record']!r}; this wfplan reads "
            f"{RECORD_VERSION} and the single-object plan.json before it",
            source=source,
        )
    return head


class PlanReader:
    """A submit dir's record, in either layout: ``head`` (everything but the nodes) and
    ``nodes()``, which streams node dicts shaped as ``node_record`` makes them, with
    ``decisions`` (each job's recorded lines) added.

    Record 2 leaves edges and submit files to the DAG: ``nodes()`` reads them from the
    DAG's ``JOB`` and ``PARENT ... CHILD`` lines first (the edges' memory, not the nodes').
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.source = str(path)
        try:
            with open(path, encoding="utf-8") as fh:
                first = fh.readline()
            head = _record_head(first, self.source)
            self._old: list[Any] | None = None
            if head is None:
                whole = loads_json(path.read_text(encoding="utf-8"))
                if not isinstance(whole, dict) or not isinstance(whole.get("nodes"), list):
                    raise FormatError("not a plan record (no 'nodes' list)", source=self.source)
                self._old = whole.pop("nodes")
                head = whole
        except (ValueError, OSError) as exc:
            raise FormatError(f"cannot read the plan record: {exc}", source=self.source)
        self.head: dict[str, Any] = head

    def nodes(self, *, dag: bool = True) -> Iterator[dict[str, Any]]:
        """The nodes in record order; ``dag=False``: without reading the DAG, so without
        ``parents``, ``children`` and ``submit`` unless the record itself has them."""
        if self._old is not None:
            return self._old_nodes(self._old)
        return self._new_nodes(dag)

    def _old_nodes(self, nodes: list[Any]) -> Iterator[dict[str, Any]]:
        decisions = self.head.get("decisions") or {}
        for node in nodes:
            if isinstance(node, dict):
                jobs = node.get("jobs") or []
                node = {**node, "decisions": {j: decisions[j] for j in jobs if j in decisions}}
            yield node

    def _new_nodes(self, dag: bool) -> Iterator[dict[str, Any]]:
        if not dag:
            with open(self.path, encoding="utf-8") as fh:
                yield from decode_plan_lines(fh, self.source)[1]
            return
        skip = {str(s.get("name")) for s in self.head.get("subworkflows") or []}
        submit, parents, children = read_dag_edges(self.path.parent / str(self.head["dag"]), skip)
        none: list[str] = []
        with open(self.path, encoding="utf-8") as fh:
            _head, nodes = decode_plan_lines(fh, self.source)
            for node in nodes:
                name = node["name"]
                node["parents"] = parents.get(name, none)
                node["children"] = children.get(name, none)
                node["submit"] = submit.get(name)
                yield node

    def record(self) -> dict[str, Any]:
        """The whole record as ``plan_record`` makes it (the nodes in memory)."""
        nodes = []
        decisions = dict(self.head.get("decisions") or {})
        for node in self.nodes():
            if isinstance(node, dict):
                decisions.update(node.pop("decisions", {}))
            nodes.append(node)
        return {**self.head, "decisions": dict(sorted(decisions.items())), "nodes": nodes}


def read_dag_edges(
    dag: Path, skip: set[str] | frozenset[str] = frozenset()
) -> tuple[dict[str, str], dict[str, list[str]], dict[str, list[str]]]:
    """Each node's submit file, parents and children (sorted) from a DAG's ``JOB`` and
    ``PARENT ... CHILD`` lines, read line by line; nodes in ``skip`` are left out."""
    submit: dict[str, str] = {}
    parents: dict[str, set[str]] = {}
    children: dict[str, set[str]] = {}
    try:
        with open(dag, encoding="utf-8") as fh:
            for line in fh:
                # a prefix test first: most lines are long VARS lines, not worth splitting
                word = line[:7].upper()
                if word[:4] in ("JOB ", "JOB\t"):
                    fields = line.split()
                    if len(fields) >= 3 and fields[1] not in skip:
                        submit[fields[1]] = fields[2]
                elif word in ("PARENT ", "PARENT\t"):
                    _add_edges(line.split()[1:], skip, parents, children)
    except OSError as exc:
        raise FormatError(f"cannot read the DAG the plan record names: {exc}", source=str(dag))
    return submit, _sorted_ends(parents), _sorted_ends(children)


def _add_edges(
    words: list[str],
    skip: set[str] | frozenset[str],
    parents: dict[str, set[str]],
    children: dict[str, set[str]],
) -> None:
    upper = [w.upper() for w in words]
    if "CHILD" not in upper:
        return
    cut = upper.index("CHILD")
    ups = [w for w in words[:cut] if w not in skip]
    downs = [w for w in words[cut + 1 :] if w not in skip]
    for p in ups:
        children.setdefault(p, set()).update(downs)
    for c in downs:
        parents.setdefault(c, set()).update(ups)


def _sorted_ends(ends: dict[str, set[str]]) -> dict[str, list[str]]:
    return {name: sorted(values) for name, values in ends.items() if values}


def plan_path(submit_dir: Path) -> Path:
    """The record of a submit dir (or the record itself, if given its path)."""
    return submit_dir if submit_dir.name == PLAN_FILE else submit_dir / PLAN_FILE


PLAN_FILE = "plan.json"


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
    """A record in the layout releases before record 2 wrote: one JSON object, keys
    sorted, one node per line. ``PlanReader`` still reads it; the tests make such records
    with this."""
    head = {k: v for k, v in record.items() if k != "nodes"}
    return "".join(_yield_text(head, map(_compact, record["nodes"])))


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


def load_plan_record(submit_dir: Path) -> dict[str, Any]:
    """The whole record of a submit dir (or of its ``plan.json``), either layout, as
    ``plan_record`` builds it: edges and submit files come from the DAG when the record
    leaves them to it."""
    return PlanReader(plan_path(submit_dir)).record()
