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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from enum import Enum
from operator import attrgetter
from pathlib import Path, PurePath
from typing import Any

from catalogs.jsonio import loads_json
from planner import __version__
from planner.emit.dag import EdgeMaps, edge_maps
from planner.emit.record_v2 import Decoder2, decisions_of, decode_lines
from planner.errors import FormatError
from planner.model.base import Namespace
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
# Line 1 is the head (one object, keys sorted). Every later line is a text entry
# ``["text"]``, a file entry ``[k, "rest"]`` / ``[k, "rest", size]`` (an LFN, as the
# previous file entry's first k characters and the rest, and its size), or a node, an
# object with one-letter keys in a fixed order. Entries come ahead of the first node
# that uses them and are named by their index after that, so the file is written and
# read in one pass. A node line says its kind when it differs from the line before,
# and leaves out what it shares with the previous line of its own kind (site, level,
# transformation, directories, reasons, decisions, profiles); a file reference placed
# like the previous one of its list on that kind's lines is one number. Parents,
# children, retries, priorities, categories and submit files are the DAG's.

RECORD_VERSION = 4
_CACHE_LIMIT = 1 << 16


class _Table:
    """Text -> index of its table entry; ``pending`` holds the entries not yet written."""

    def __init__(self, pending: list[str]) -> None:
        self._index: dict[str, str] = {}
        self.pending = pending

    def has(self, text: str) -> bool:
        return text in self._index

    def ref(self, text: Any) -> str:
        """The JSON for a text field: its table index, or ``null``."""
        if text is None:
            return "null"
        found = self._index.get(text) if type(text) is str else None
        if found is not None:
            return found
        if type(text) is not str:  # the record holds text here (a model bypassed)
            return self.ref(str(_plain(text)))
        found = self._index[text] = str(len(self._index))
        self.pending.append(f"[{_STR(text)}]\n")
        return found


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        return _STR(value)
    return _ENCODER.encode(_plain(value))


def _literal_list(values: Iterable[Any]) -> str:
    return f"[{','.join(map(_literal, values))}]"


def _shared_prefix(a: str, b: str) -> int:
    """Length of the longest common prefix: names and LFNs that follow one another
    mostly differ in their last characters, so those are tried first, then halving."""
    n = min(len(a), len(b))
    for k in range(n, max(n - 3, 0) - 1, -1):
        if a[:k] == b[:k]:
            return k
    low, high = 0, n - 3  # a[:low] == b[:low], a[:high] != b[:high]
    while high - low > 1:
        mid = (low + high) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid
    return low


def _front(previous: str, text: str) -> str:
    """``text`` (a str) as JSON, or ``[k, "rest"]`` (``previous[:k] + rest``) if shorter."""
    k = _shared_prefix(previous, text)
    if k < 5:  # "[k,]" costs 4 characters more than the text it replaces
        return _STR(text)
    return f"[{k},{_STR(text[k:])}]"


class _Front:
    """Front coding of a run of texts, each against the one before: consecutive names
    and LFNs mostly share as long a prefix as the previous two did, so that length is
    tried first (one comparison) before halving."""

    __slots__ = ("last", "shared")

    def __init__(self) -> None:
        self.last = ""
        self.shared = 0

    def code(self, text: str) -> str:
        """``text`` as JSON, or ``[k, "rest"]`` (the previous text's first k, and rest)."""
        k = self.shared_length(text)
        if k < 5:  # "[k,]" costs 4 characters more than the text it replaces
            return _STR(text)
        return f"[{k},{_STR(text[k:])}]"

    def shared_length(self, text: str) -> int:
        """How many first characters ``text`` shares with the previous text."""
        last = self.last
        self.last = text
        k = self.shared
        if text[:k] == last[:k] and k <= len(text) and k <= len(last):
            n = len(text) if len(text) < len(last) else len(last)
            while k < n and text[k] == last[k]:
                k += 1
        else:
            k = _shared_prefix(last, text)
        self.shared = k
        return k


def _profile_keys(plain: Any) -> dict[tuple[str, str], str] | None:
    """``{(namespace, key): value}`` of plain profiles, or None when a patch cannot say
    them (a value that is not text, a namespace without keys)."""
    flat = {}
    for ns, keys in plain.items():
        if type(keys) is not dict or not keys:
            return None
        for key, value in keys.items():
            if type(value) is not str:
                return None
            flat[ns, key] = value
    return flat


def _text_profiles(profiles: Any) -> tuple[Any, Any, str, Any] | None:
    """``plain_profiles``'s value, made without ``_plain``'s walk, for profiles that
    are what the planner makes (namespaces to text keys to text values), else None.

    Nodes of a chain each have their own dagman priority, so their profile dicts are
    all different and this runs for every node: the plain copy and the JSON are made
    in one loop and one encoder call."""
    plain: dict[str, Any] = {}
    flat: dict[tuple[str, str], str] = {}
    for ns, keys in profiles.items():
        name = ns._value_ if ns.__class__ is Namespace else ns
        if type(name) is not str or type(keys) is not dict or not keys or name in plain:
            return None
        for key, value in keys.items():
            if type(key) is not str or type(value) is not str:
                return None
            flat[name, key] = value
        plain[name] = keys
    return profiles, plain, _ENCODER.encode(plain), flat


# What an inherited key means before the first node says it ("" for the ones it must say).
_UNSAID = {"s": "", "l": "", "t": "", "c": "null", "g": "null", "w": "null"}
_UNSAID |= {"y": "[]", "d": "null"}


def _refs(ref: Callable[[Any], str], texts: Iterable[Any]) -> str:
    return f"[{','.join(map(ref, texts))}]"


class _Placement:
    """Where the previous file reference of one list (``f``, ``i`` or ``o``) was: its
    file number and, when a bare number can follow it, its URL prefixes, site and size
    rule (``prefix`` None: no URL; ``sized``: the size is the file's, else null)."""

    __slots__ = ("dst", "number", "open", "site", "sized", "src")

    def __init__(self) -> None:
        self.number = 0
        self.open = False
        self.src: str | None = None
        self.dst: str | None = None
        self.site: Any = None
        self.sized = False

    def fields(self) -> tuple[bool, str | None, str | None, Any, bool]:
        """(open, src, dst, site, sized), for a loop to hold in locals."""
        return self.open, self.src, self.dst, self.site, self.sized


class _PerKind:
    """What the previous line of each node kind said, kept while lines of other kinds
    come between (record 4): a line is compared with the previous line of its own kind,
    so a chain, whose kinds take turns line by line, still leaves out what repeats.
    A subclass names the attributes of one kind's state in ``_FIELDS``."""

    _FIELDS: tuple[str, ...] = ()
    _state_of: Callable[[Any], tuple[Any, ...]]
    _kind: Any
    _kinds: dict[Any, tuple[Any, ...]]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls._state_of = attrgetter(*cls._FIELDS)

    def _start_kind(self) -> None:
        raise NotImplementedError

    def _switch_kind(self, kind: Any) -> None:
        """Keep the previous kind's state and take up ``kind``'s (fresh if it is new)."""
        # one C-level read and one C-level update: a chain switches on every line
        self._kinds[self._kind] = self._state_of(self)
        self._kind = kind
        state = self._kinds.get(kind)
        if state is None:
            self._start_kind()
        else:
            self.__dict__.update(zip(self._FIELDS, state, strict=True))


class _Encoder(_PerKind):
    """Node lines of one workflow, with the table and file entries each one needs
    before it, and what the previous line of each kind said (to leave out what is the
    same)."""

    _FIELDS = (
        "_places",
        "_same",
        "_raw",
        "_head",
        "_tail",
        "_name",
        "_job",
        "_task",
        "_args",
        "_profiles",
    )

    def __init__(self, decisions: Mapping[str, Iterable[str]]) -> None:
        self.pending: list[str] = []
        self.table = _Table(self.pending)
        self._decisions = decisions
        # LFN -> its number, and each number's size: one dict entry and one list slot a
        # file (10^6-job plans have millions of files), no tuple per file
        self._files: dict[Any, int] = {}
        self._sizes: list[Any] = []
        self._lfn = _Front()
        self._last_size: Any = None
        self._plain: dict[int, tuple[Any, Any, str, Any]] = {}
        self._profile_key: dict[tuple[str, str], str] = {}
        # (id of one flat profile dict, id of the next) -> (both, patch text, its cost)
        self._patches: dict[tuple[int, int], tuple[Any, Any, str, int]] = {}
        self._kind = ""  # the previous line's kind, as written (its "k")
        self._kind_refs: dict[Any, str] = {}
        self._kinds: dict[str, tuple[Any, ...]] = {}  # kind -> its last line's state
        self._start_kind()

    def _start_kind(self) -> None:
        """What a kind's first line is compared with: nothing said yet."""
        self._places = {"f": _Placement(), "i": _Placement(), "o": _Placement()}
        self._same = dict(_UNSAID)  # inherited key -> the JSON it last had
        self._raw: dict[str, Any] = {}  # inherited key -> the value it was made from
        self._head: tuple[Any, ...] = ()  # site, level, its type, transformation
        self._tail: tuple[Any, ...] = ()  # data configuration, staging site, dir, reasons
        self._name = _Front()
        self._job = _Front()
        self._task: tuple[str, str] = ("", "")
        self._args: tuple[Any, ...] = ()
        # the previous line's profiles: plain, JSON, flat, and whether its dict was shared
        self._profiles: tuple[Any, str, Any, bool] = ({}, "{}", {}, False)

    def file_number(self, lfn: Any, size: Any) -> int:
        """The file table's number of ``lfn``, its entry added on first use."""
        key: Any = lfn if type(lfn) is str else (_literal(lfn),)
        found = self._files.get(key)
        if found is not None:
            return found
        if key is lfn:  # the entry: [k, "rest"] (previous LFN's first k, and rest)
            k = self._lfn.shared_length(lfn)
            entry = f"[{k},{_STR(lfn[k:])}" if k >= 5 else f"[0,{_STR(lfn)}"
        else:
            entry = f"[0,{key[0]}"
        found = self._files[key] = len(self._sizes)
        self._sizes.append(size)
        last = self._last_size
        if size == last and type(size) is type(last):
            self.pending.append(f"{entry}]\n")
        else:
            self.pending.append(f"{entry},{_literal(size)}]\n")
            self._last_size = size
        return found

    def files(self, key: str, transfers: Iterable[Transfer]) -> str:
        """The ``f``, ``i`` or ``o`` field: a bare number (the change of file number)
        for a reference placed as the previous one of its list, else all of it."""
        place = self._places[key]
        number_before = place.number
        parts: list[str] = []
        files, sizes = self._files, self._sizes
        # the placement in locals: this loop runs for every file reference of the plan
        is_open, at_src, at_dst, at_site, sized = (
            place.open,
            place.src,
            place.dst,
            place.site,
            place.sized,
        )
        site_type = type(at_site)
        append = parts.append
        for t in transfers:
            lfn, dst, src, size, site, _, more = t  # Transfer's stored slots
            sha256 = None if more is None else more[0]
            number = files.get(lfn) if lfn.__class__ is str else None
            if number is None:
                number = self.file_number(lfn, size)
            known = sizes[number]
            delta = number - number_before
            number_before = number
            if (
                is_open
                and sha256 is None
                and site == at_site
                and type(site) is site_type
                and ((len(src) == 1 and src[0] == at_src + lfn) if at_src is not None else not src)
                and (dst == at_dst + lfn if at_dst is not None else dst is None)
                and ((size == known and type(size) is type(known)) if sized else size is None)
            ):
                append(str(delta))
                continue
            append(self.file_written(place, delta, t, known))
            is_open, at_src, at_dst, at_site, sized = place.fields()
            site_type = type(at_site)
        place.number = number_before
        return f',"{key}":[{",".join(parts)}]'

    def file_written(self, place: _Placement, delta: int, t: Transfer, known: Any) -> str:
        """A reference in full, ``[delta, src, dst, site, size, (sha256, [fallbacks])]``,
        and the placement it sets for the next one."""
        lfn, dst, src, size, site, sha256 = t.lfn, t.dst, t.src, t.size, t.site, t.sha256
        src_json, src_at = self.url(src[0], lfn) if src else ("null", None)
        dst_json, dst_at = self.url(dst, lfn)
        sized = size is not None  # null sizes stay null; others must be the file's
        place.open = (
            len(src) <= 1
            and sha256 is None
            and (src_at is not None or not src)
            and (dst_at is not None or dst is None)
            and (not sized or (size == known and type(size) is type(known)))
        )
        place.src, place.dst, place.site, place.sized = src_at, dst_at, site, sized
        size_json = "null" if size is None else _number(size)
        text = f"[{delta},{src_json},{dst_json},{self.table.ref(site)},{size_json}"
        if len(src) > 1:
            fallbacks = ",".join(self.url(u, lfn)[0] for u in src[1:])
            return f"{text},{_literal(sha256)},[{fallbacks}]]"
        if sha256 is not None:
            return f"{text},{_literal(sha256)}]"
        return f"{text}]"

    def url(self, url: Any, lfn: Any) -> tuple[str, str | None]:
        """The URL's JSON (``k``: table[k] + lfn; ``[k, "rest"]``; the URL itself) and
        its prefix when it is that prefix + lfn."""
        if url is None:
            return "null", None
        if type(url) is not str:
            return _literal(url), None
        cut = url.rfind("/") + 1
        rest = url[cut:]
        if rest == lfn:
            return self.table.ref(url[:cut]), url[:cut]
        if cut == 0:
            return _STR(url), None
        return f"[{self.table.ref(url[:cut])},{_STR(rest)}]", None

    def task(self, t: Task, own: Any, lfns: Sequence[str] | Mapping[str, int]) -> str:
        """``[args, runtime]`` when the task runs the node's job at its position with the
        previous task's transformation and executable, else all five fields."""
        runtime = t.runtime
        runtime_json = "null" if runtime is None else _number(runtime)
        coded = self.arguments(t.arguments, lfns)
        tx = self.table.ref(t.transformation)
        exe = self.table.ref(t.executable)
        job = t.job_id
        if job == own and own is not None and type(job) is type(own):
            if (tx, exe) == self._task:
                return f"[{coded},{runtime_json}]"
            job_json = "null"
        else:
            job_json = _literal(job)
        self._task = (tx, exe)
        return f"[{job_json},{tx},{exe},{coded},{runtime_json}]"

    def arguments(self, args: tuple[Any, ...], lfns: Sequence[str] | Mapping[str, int]) -> str:
        """Each argument as the number of the node's file it names, as the previous
        task's argument there plus a new end, or as itself."""
        before = self._args
        self._args = args
        coded = []
        listed = type(lfns) is list
        for i, arg in enumerate(args):
            if arg.__class__ is not str:  # checked here, not in a pass of its own
                return f'{{"a":{_literal_list(args)}}}'
            if arg in lfns:
                coded.append(str(lfns.index(arg) if listed else lfns[arg]))  # type: ignore[union-attr, call-overload]
            elif len(arg) > 5 and i < len(before) and type(before[i]) is str:
                coded.append(_front(before[i], arg))
            else:
                coded.append(_STR(arg))
        return f"[{','.join(coded)}]"

    def plain_profiles(self, profiles: Any) -> tuple[Any, Any, str, Any]:
        """(profiles, as plain data, as JSON, by (namespace, key) or None), computed once
        per profile dict the nodes share."""
        known = self._plain.get(id(profiles))
        if known is None or known[0] is not profiles:
            if len(self._plain) >= _CACHE_LIMIT:
                self._plain.clear()
            known = _text_profiles(profiles) if profiles else None
            if known is None:
                plain = _plain(profiles) if profiles else {}
                known = (profiles, plain, _ENCODER.encode(plain), _profile_keys(plain))
            self._plain[id(profiles)] = known
        return known

    def profiles(self, profiles: Any) -> str | None:
        """The ``p`` field, or None when the profiles are the previous line's (of the
        kind): the whole (a table entry), null for none, or the changes ``[key, value or
        null, ...]`` (each key a table entry ``["namespace","key"]``), whichever is
        shorter."""
        known = self._plain.get(id(profiles))
        shared = known is not None and known[0] is profiles  # a dict seen before
        if known is None or not shared:
            known = self.plain_profiles(profiles)
        _, plain, whole, flat = known
        _, before_whole, before, before_shared = self._profiles
        if whole == before_whole:
            return None
        self._profiles = (plain, whole, flat, shared)
        if not plain:
            return "null"
        if flat is None or before is None:
            return self.table.ref(whole)
        # Nodes mostly take turns among a few profile dicts (a fan-out's runtimes): the
        # patch from one to the next is made once, when its keys are all in the table.
        # (A chain's steps each have a dict of their own: no patch of theirs repeats.)
        patches = self._patches
        patch = patches.get((id(before), id(flat))) if shared and before_shared else None
        if patch is not None and patch[0] is before and patch[1] is flat:
            text, patch_cost = patch[2], patch[3]
        else:
            changed, patch_cost = self.changes(before, flat)
            text = None
            if shared and before_shared and all(k in self._profile_key for k, _ in changed):
                text = self.patch_text(changed)
                if len(patches) >= _CACHE_LIMIT:
                    patches.clear()
                patches[id(before), id(flat)] = (before, flat, text, patch_cost)
        whole_cost = 4 if self.table.has(whole) else len(whole) + 9
        if patch_cost > whole_cost:
            return self.table.ref(whole)
        return text if text is not None else self.patch_text(changed)

    def changes(
        self, before: dict[tuple[str, str], str], flat: dict[tuple[str, str], str]
    ) -> tuple[list[tuple[tuple[str, str], str]], int]:
        """The changes from ``before`` to ``flat`` (key, value as JSON or null) and what
        they cost, new table entries for keys included (a key's entry is reused later)."""
        keys = self._profile_key
        changed = []
        patch_cost = added = 0
        for k, v in flat.items():
            old = before.get(k)
            if old != v:
                added += old is None
                value = _STR(v)
                changed.append((k, value))
                patch_cost += len(value) + 6
                if k not in keys:
                    patch_cost += len(_ENCODER.encode(list(k))) + 5
        if len(before) > len(flat) - added:  # not all of them are kept: some were dropped
            for k in before:
                if k not in flat:
                    changed.append((k, "null"))
                    patch_cost += 10
                    if k not in keys:
                        patch_cost += len(_ENCODER.encode(list(k))) + 5
        return changed, patch_cost

    def patch_text(self, changed: list[tuple[tuple[str, str], str]]) -> str:
        return f"[{','.join([f'{self.profile_key(k)},{v}' for k, v in changed])}]"

    def profile_key(self, key: tuple[str, str]) -> str:
        ref = self._profile_key.get(key)
        if ref is None:
            ref = self._profile_key[key] = self.table.ref(_ENCODER.encode(list(key)))
        return ref

    def inherited(self, key: str, value: Any, text: Callable[[Any], str]) -> str:
        """``,"key":json`` when ``value`` differs from the previous line's, else ""."""
        raw = self._raw
        if key in raw:
            before = raw[key]
            if before is value or (type(before) is type(value) and before == value):
                return ""
        raw[key] = value
        json_text = text(value)
        if self._same[key] == json_text:
            return ""
        self._same[key] = json_text
        return f',"{key}":{json_text}'

    def node(self, node: Node) -> str:
        ref = self.table.ref
        kind = node.kind
        kind_json = self._kind_refs.get(kind)
        if kind_json is None:
            kind_json = self._kind_refs[kind] = ref(KIND_NAMES.get(kind, kind))
        said_kind = ""
        if kind_json != self._kind:
            self._switch_kind(kind_json)
            said_kind = f',"k":{kind_json}'
        name = node.name
        if type(name) is str:
            parts = [f'{{"n":{self._name.code(name)}{said_kind}']
        else:
            parts = [f'{{"n":{_literal(name)}{said_kind}']
        inherited = self.inherited
        site, level, tx = node.site, node.level, node.transformation
        head = (site, level, level.__class__, tx)
        before = self._head
        if head != before:  # most nodes are like the one before: one comparison
            self._head = head
            # the fields that are not the previous line's, mostly the level alone (a
            # chain's steps): what ``inherited`` would find is the previous head's
            if not before or not _identical(site, before[0]):
                parts.append(inherited("s", site, ref))
            if not before or before[2] is not level.__class__ or level != before[1]:
                parts.append(inherited("l", level, _level))
            if not before or not _identical(tx, before[3]):
                parts.append(inherited("t", tx, ref))
        jobs = node.jobs
        if jobs:
            parts.append(self._jobs_field(jobs))
        lfns: Sequence[str] | Mapping[str, int] = ()
        tasks = node.tasks
        if tasks and (node.files or node.inputs or node.outputs):
            lfns = _file_positions(node)
        if node.files:
            parts.append(self.files("f", node.files))
        if node.inputs:
            parts.append(self.files("i", node.inputs))
        if node.outputs:
            parts.append(self.files("o", node.outputs))
        if len(tasks) == 1:  # most nodes: one task, running the node's first job
            parts.append(f',"x":[{self.task(tasks[0], jobs[0] if jobs else None, lfns)}]')
        elif tasks:
            own = [*jobs, *([None] * (len(tasks) - len(jobs)))]
            coded_tasks = ",".join(
                [self.task(t, j, lfns) for t, j in zip(tasks, own, strict=False)]
            )
            parts.append(f',"x":[{coded_tasks}]')
        tail = (node.data_configuration, node.staging_site, node.working_dir, node.reasons)
        if tail != self._tail:
            self._tail = tail
            parts.append(self._tail_fields(tail))
        if self._decisions:  # without any, every node's "d" is the null it starts as
            parts.append(inherited("d", [self._decisions.get(j) for j in jobs], self.decided))
        profiles = self.profiles(node.profiles)
        if profiles is not None:
            parts.append(f',"p":{profiles}')
        parts.append("}\n")
        return "".join(parts)

    def _jobs_field(self, jobs: Sequence[Any]) -> str:
        """The ``j`` field of a node's (non-empty) jobs."""
        if len(jobs) == 1 and type(jobs[0]) is str:  # most nodes: one job
            return f',"j":[{self._job.code(jobs[0])}]'
        code = self._job.code
        coded = [code(job) if type(job) is str else _literal(job) for job in jobs]
        return f',"j":[{",".join(coded)}]'

    def _tail_fields(self, tail: tuple[Any, Any, Any, Any]) -> str:
        """The ``c``, ``g``, ``w`` and ``y`` fields of a line whose (data configuration,
        staging site, working directory, reasons) differ from the previous line's."""
        dc, staging, wd, reasons = tail
        inherited, ref = self.inherited, self.table.ref
        return (
            inherited("c", DC_NAMES.get(dc), ref)
            + inherited("g", staging, ref)
            + inherited("w", wd, ref)
            + inherited("y", reasons, lambda texts: _refs(ref, texts))
        )

    def decided(self, decided: list[Any]) -> str:
        """The ``d`` field: per job, its recorded lines as refs, or null; null if none."""
        if all(d is None for d in decided):
            return "null"
        ref = self.table.ref
        return f"[{','.join('null' if d is None else _refs(ref, d) for d in decided)}]"


def _identical(a: Any, b: Any) -> bool:
    """Equal in value and type: what ``inherited`` leaves out."""
    return a is b or (a.__class__ is b.__class__ and a == b)


def _level(level: Any) -> str:
    return str(level) if level.__class__ is int else _literal(level)


def _file_positions(node: Node) -> Sequence[str] | Mapping[str, int]:
    """The LFNs of the node's file references (f, then i, then o), to find an argument's
    first position: a list when short (a scan is cheaper than a dict), else a dict."""
    lfns = [t.lfn for t in (*node.files, *node.inputs, *node.outputs)]
    if len(lfns) <= 16:
        return lfns
    positions: dict[str, int] = {}
    for i, lfn in enumerate(lfns):
        if type(lfn) is str and lfn not in positions:
            positions[lfn] = i
    return positions


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
    encoder = _Encoder(cw.decisions)
    pending = encoder.pending
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


class _Decoder(_PerKind):
    """Record-4 (``per_kind``) or record-3 lines after the head -> node dicts (no
    parents, children or submit), filling in what the encoder left out, in the same
    order: from the previous line of the same kind (4) or the previous line (3)."""

    _FIELDS = ("_places", "_same", "_name", "_job", "_task", "_args", "_profiles")

    def __init__(self, source: str, per_kind: bool = True) -> None:
        self.source = source
        self.table: list[str] = []
        self.lfns: list[Any] = []  # the file table: LFNs and sizes
        self.sizes: list[Any] = []
        self._last_lfn = ""
        self._last_size: Any = None
        self._profile_keys: dict[int, tuple[str, str]] = {}
        self._per_kind = per_kind
        self._kind: Any = _NO_KIND  # the previous line's "k"
        self._kinds: dict[Any, tuple[Any, ...]] = {}
        self._start_kind()

    def _start_kind(self) -> None:
        self._places = {"f": _Placement(), "i": _Placement(), "o": _Placement()}
        self._same: dict[str, Any] = {"c": None, "g": None, "w": None, "y": [], "d": None}
        self._name = ""
        self._job = ""
        self._task: tuple[Any, Any] = (None, None)
        self._args: list[Any] = []
        self._profiles: dict[str, Any] = {}

    def text(self, value: Any) -> Any:
        return self.table[value] if type(value) is int else value

    def file_entry(self, entry: list[Any]) -> None:
        k, rest = entry[0], entry[1]
        if type(rest) is str:
            lfn = self._last_lfn = self._last_lfn[:k] + rest
        else:
            lfn = rest
        if len(entry) > 2:
            (self._last_size,) = entry[2:]
        self.lfns.append(lfn)
        self.sizes.append(self._last_size)

    def url(self, value: Any, lfn: Any) -> tuple[Any, str | None]:
        """The URL, and its prefix when it is that prefix + lfn."""
        if type(value) is int:
            prefix = self.table[value]
            return prefix + lfn, prefix
        if type(value) is list:
            return self.table[value[0]] + value[1], None
        return value, None

    def file_refs(self, key: str, refs: list[Any]) -> list[dict[str, Any]]:
        place = self._places[key]
        out = []
        for ref in refs:
            if type(ref) is int:
                place.number += ref
                if not place.open or place.number < 0:
                    raise ValueError(f"file reference {ref} follows no placed reference")
                lfn, known = self.lfns[place.number], self.sizes[place.number]
                out.append(
                    {
                        "lfn": lfn,
                        "src": None if place.src is None else place.src + lfn,
                        "fallbacks": [],
                        "dst": None if place.dst is None else place.dst + lfn,
                        "size": known if place.sized else None,
                        "sha256": None,
                        "site": self.text(place.site),
                    }
                )
                continue
            delta, src, dst, site, size = ref[:5]
            place.number += delta
            if place.number < 0:
                raise ValueError(f"file reference {ref} names no file")
            lfn, known = self.lfns[place.number], self.sizes[place.number]
            src, src_at = self.url(src, lfn)
            dst, dst_at = self.url(dst, lfn)
            place.open = (
                len(ref) == 5
                and (src_at is not None or src is None)
                and (dst_at is not None or dst is None)
                and (size is None or (size == known and type(size) is type(known)))
            )
            place.src, place.dst, place.site = src_at, dst_at, site
            place.sized = size is not None
            out.append(
                {
                    "lfn": lfn,
                    "src": src,
                    "fallbacks": [self.url(u, lfn)[0] for u in ref[6]] if len(ref) > 6 else [],
                    "dst": dst,
                    "size": size,
                    "sha256": ref[5] if len(ref) > 5 else None,
                    "site": self.text(site),
                }
            )
        return out

    def task(self, entry: list[Any], own: Any, lfns: list[Any]) -> dict[str, Any]:
        if len(entry) == 2:
            coded, runtime = entry
            job = own
            tx, exe = self._task
        else:
            job, tx, exe, coded, runtime = entry
            if job is None:
                job = own
            self._task = (tx, exe)
        return {
            "job": job,
            "transformation": self.text(tx),
            "executable": self.text(exe),
            "arguments": self.arguments(coded, lfns),
            "runtime": runtime,
        }

    def arguments(self, coded: Any, lfns: list[Any]) -> list[Any]:
        if type(coded) is dict:
            args = coded["a"]
        else:
            before = self._args
            args = []
            for i, arg in enumerate(coded):
                cls = arg.__class__
                if cls is int:
                    arg = lfns[arg]
                elif cls is list:
                    arg = before[i][: arg[0]] + arg[1]
                args.append(arg)
        self._args = args
        return list(args)

    def profiles(self, value: Any) -> None:
        if value is None:
            self._profiles = {}
        elif type(value) is int:
            self._profiles = loads_json(self.table[value])
        else:
            profiles = {ns: dict(keys) for ns, keys in self._profiles.items()}
            for i in range(0, len(value), 2):
                ns, key = self.profile_key(value[i])
                setting = value[i + 1]
                if setting is None:
                    profiles[ns].pop(key)
                    if not profiles[ns]:
                        del profiles[ns]
                else:
                    profiles.setdefault(ns, {})[key] = setting
            self._profiles = profiles

    def profile_key(self, ref: int) -> tuple[str, str]:
        key = self._profile_keys.get(ref)
        if key is None:
            ns, name = loads_json(self.table[ref])
            key = self._profile_keys[ref] = (ns, name)
        return key

    def node(self, line: dict[str, Any]) -> dict[str, Any]:
        text = self.text
        if "k" in line:
            kind = line["k"]
            if type(kind) not in (int, str) and kind is not None:
                raise ValueError(f"kind {kind!r} is not a table entry or text")
            if self._per_kind:
                self._switch_kind(kind)
            self._kind = kind
        elif self._kind is _NO_KIND:
            raise ValueError("the first node line says no kind")
        same = self._same
        for key, value in line.items():
            if key in _INHERITED:
                same[key] = value
        name = line["n"]
        if type(name) is list:
            name = self._name[: name[0]] + name[1]
        if type(name) is str:
            self._name = name
        jobs = []
        for job in line.get("j", ()):
            if type(job) is list:
                job = self._job[: job[0]] + job[1]
            if type(job) is str:
                self._job = job
            jobs.append(job)
        files = self.file_refs("f", line["f"]) if "f" in line else []
        inputs = self.file_refs("i", line["i"]) if "i" in line else []
        outputs = self.file_refs("o", line["o"]) if "o" in line else []
        tasks = []
        if "x" in line:
            lfns = [f["lfn"] for f in (*files, *inputs, *outputs)]
            for i, entry in enumerate(line["x"]):
                tasks.append(self.task(entry, jobs[i] if i < len(jobs) else None, lfns))
        runtimes = [t["runtime"] for t in tasks]
        runtime = None
        if runtimes and all(r is not None for r in runtimes):
            runtime = float(sum(runtimes))
        if "p" in line:
            self.profiles(line["p"])
        decided = same["d"]
        return {
            "name": name,
            "kind": text(self._kind),
            "site": text(same["s"]),
            "transformation": text(same["t"]),
            "jobs": jobs,
            "files": files,
            "inputs": inputs,
            "outputs": outputs,
            "level": same["l"],
            "runtime": runtime,
            "tasks": tasks,
            "data_configuration": text(same["c"]),
            "staging_site": text(same["g"]),
            "working_dir": text(same["w"]),
            "reasons": [text(r) for r in same["y"]],
            "profiles": self._profiles,
            "decisions": decisions_of(jobs, decided, text),
        }

    def lines(self, lines: Iterable[tuple[int, str]]) -> Iterator[dict[str, Any]]:
        return decode_lines(lines, self.source, self.list_entry, self.node, "a table or file entry")

    def list_entry(self, value: list[Any]) -> None:
        if type(value[0]) is int:
            self.file_entry(value)
            return
        (entry,) = value
        if type(entry) is not str:
            raise ValueError("a table entry is one string")
        self.table.append(entry)


_INHERITED = frozenset(_UNSAID)
_NO_KIND = object()


def decode_plan_lines(
    lines: Iterable[str], source: str = "plan.json"
) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The head and the node dicts of record-4 (or 3, or 2) text, lines decoded as read.

    Node dicts are ``node_record``'s less ``parents``, ``children`` and ``submit`` (the
    DAG's), plus ``decisions``: the recorded lines of each of the node's jobs.
    """
    numbered = enumerate(lines, 1)
    first = next(numbered, None)
    head = _record_head(first[1] if first else "", source)
    if head is None:
        raise FormatError("not a plan record (no head line)", source=source)
    version = head["plan_record"]
    decoder = Decoder2(source) if version == 2 else _Decoder(source, version == RECORD_VERSION)
    return head, decoder.lines(line for line in numbered if line[1].strip())


def _record_head(line: str, source: str) -> dict[str, Any] | None:
    """The head if ``line`` is a record-2, -3 or -4 head line, else None (the single JSON
    object before them)."""
    try:
        head = loads_json(line)
    except ValueError:
        return None
    if not isinstance(head, dict) or "plan_record" not in head:
        return None
    if head["plan_record"] not in (2, 3, RECORD_VERSION):
        raise FormatError(
            f"plan record version {head['plan_record']!r}; this wfplan reads "
            f"{RECORD_VERSION}, 3, 2 and the single-object plan.json before them",
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
