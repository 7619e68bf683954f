"""The text of the manifests the job-side tools read: compact JSON, columnar groups.

Pure functions from the concrete model's transfers to JSON text (keys sorted, no spaces,
UTF-8 as is: the bytes ``MANIFEST_ENCODER`` would give for the same object). The format
is docs/job-tools.md's "Compact form"; ``planner.tools.manifest.expand_manifest`` reads
it back into the full form, and a property test checks that round trip.

A run of consecutive transfers whose URLs all end with the file's LFN and that share
their URL directories, checksum-record directory and flags is written once as a group,
its LFNs one list: ``{"dst": P, "lfns": NAMES, "src": [Q]}`` says what
``[{"lfn": x, "dst": P + x, "src": [Q + x]} for x in NAMES]`` says. NAMES is a list of
names, where ``{"mid": [...], "pre": A, "suf": B}`` stands for the names ``A + mid + B``
(used for runs of names that differ only in their digits, when that is shorter). Runs
keep the node's order, so the full form comes back in order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from planner.grouping import by_key
from planner.model.concrete import Transfer

__all__ = [
    "MANIFEST_ENCODER",
    "STR",
    "files_json",
    "names_json",
    "replicas_json",
    "transfer_entry",
    "transfers_json",
]

# Manifest text: compact, keys sorted, UTF-8 as is (one line: JSON escapes line breaks).
MANIFEST_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
STR = json.encoder.encode_basestring  # the C encoder of one string, as MANIFEST_ENCODER's

_DIGITS = re.compile("[0-9]+")


def names_json(names: Sequence[str], any_order: bool = False) -> str:
    """NAMES: a JSON list of the names in order, where a run of names may be one
    ``{"mid":[...],"pre":A,"suf":B}`` (each name is ``A + mid + B``) when their common
    prefix ``A`` and suffix ``B`` said once make the text shorter (``pre``/``suf`` left
    out when empty): all the names as one run when that pays, else each run of
    consecutive names that differ only in their digits. ``any_order``: the names may be
    reordered (a cleanup's), those of one shape then put together.

    >>> names_json(["result_0000000.dat", "result_0001000.dat", "result_0002000.dat", "x"])
    '[{"mid":["0","1","2"],"pre":"result_000","suf":"000.dat"},"x"]'
    """
    if len(names) < 2:
        return f"[{','.join(map(STR, names))}]"
    whole = _run_json(names)
    if whole[0] == "{":  # one run for all: the usual case, with no look at each name
        return f"[{whole}]"
    shapes = _shapes(names)
    if any_order:
        by_shape = by_key(shapes, names)
        return f"[{','.join([_run_json(same) for same in by_shape.values()])}]"
    parts = []
    start = 0
    for end in range(1, len(names) + 1):
        if end == len(names) or shapes[end] != shapes[start]:
            parts.append(_run_json(names[start:end]))
            start = end
    return f"[{','.join(parts)}]"


def _shapes(names: Sequence[str]) -> list[str]:
    """Each name with its runs of digits as one "0": names of one shape differ only in
    their digits. One substitution over all the names (a cleanup of 10^5 files has as
    many), unless a name holds the line break that separates them."""
    text = "\n".join(names)
    if text.count("\n") == len(names) - 1:
        return _DIGITS.sub("0", text).split("\n")
    sub = _DIGITS.sub
    return [sub("0", n) for n in names]


def _run_json(names: Sequence[str]) -> str:
    """Names of one shape: their strings, or one affix object when that is shorter.
    (Once per group of every manifest line: the per-name steps are C-level maps.)"""
    if len(names) < 2:
        return ",".join(map(STR, names))
    cut_pre = _shared_start(names)
    lengths = list(map(len, names))
    room = min(lengths) - cut_pre
    cut_suf = min(_shared_end(names), room) if room else 0
    if not cut_pre and not cut_suf:
        return ",".join(map(STR, names))
    first = names[0]
    pre, suf = first[:cut_pre], first[len(first) - cut_suf :]
    mids = map(itemgetter(slice(cut_pre, -cut_suf if cut_suf else None)), names)
    text = f'{{"mid":[{",".join(map(STR, mids))}]'
    if pre:
        text += f',"pre":{STR(pre)}'
    if suf:
        text += f',"suf":{STR(suf)}'
    text += "}"
    # the names written out take at least their length, quotes and commas (escapes only
    # add): shorter than that, the affix form wins without writing them to compare
    if len(text) < sum(lengths) + 3 * len(names) - 1:
        return text
    plain = ",".join(map(STR, names))
    return text if len(text) < len(plain) else plain


_REVERSED = itemgetter(slice(None, None, -1))


def _shared_end(names: Sequence[str]) -> int:
    """The length of the text every name ends with: that of the first and the last name
    when every name ends with it (a run of numbered names), else found over the names
    reversed."""
    first, last = names[0], names[-1]
    a, b = 0, min(len(first), len(last))
    while a < b:
        m = (a + b + 1) >> 1
        if first[-m:] == last[-m:]:
            a = m
        else:
            b = m - 1
    if not a or list(map(str.endswith, names, repeat(first[-a:]))).count(True) == len(names):
        return a
    return _shared_start(list(map(_REVERSED, names)))


def _shared_start(names: Sequence[str]) -> int:
    """The length of the text every name starts with (that of the first and the last
    in sorted order), found by halving: a few slice comparisons, not one per letter."""
    lo, hi = min(names), max(names)
    a, b = 0, min(len(lo), len(hi))
    while a < b:
        m = (a + b + 1) >> 1
        if lo[:m] == hi[:m]:
            a = m
        else:
            b = m - 1
    return a


def _stem(url: str, lfn: str) -> str | None:
    """The part of ``url`` before ``lfn``, or None when ``url`` does not end with it."""
    if url.endswith(lfn):
        return url[: len(url) - len(lfn)]
    return None


def transfer_entry(t: Transfer) -> dict[str, Any]:
    """One transfer written out; ``sha256`` null and ``symlink`` false (the tools'
    defaults) are left out, and ``executable``/``optional`` are written only when true."""
    record: dict[str, Any] = {"lfn": t.lfn, "src": list(t.src), "dst": t.dst}
    if t.sha256 is not None:
        record["sha256"] = t.sha256
    if t.symlink is not False:
        record["symlink"] = t.symlink
    if t.executable:
        record["executable"] = True
    if t.meta is not None:
        record["meta"] = t.meta
    if t.optional:  # the runner does not fail when the job did not make it
        record["optional"] = True
    return record


def _transfer_key(t: Transfer) -> tuple[Any, ...] | None:
    """What the transfers of one group share; None for one written on its own. (One
    call per file of the workflow's transfer manifests: the checks are written out.)"""
    lfn, dst, src, meta, sha256, symlink = t.lfn, t.dst, t.src, t.meta, t.sha256, t.symlink
    if (
        not lfn
        or not src
        or lfn.__class__ is not str
        or dst.__class__ is not str
        or not dst.endswith(lfn)
        or symlink.__class__ is not bool
        or (sha256 is not None and sha256.__class__ is not str)
    ):
        return None
    n = len(lfn)
    if len(src) == 1:
        first = src[0]
        if first.__class__ is not str or not first.endswith(lfn):
            return None
        stems: tuple[str, ...] = (first[: len(first) - n],)
    else:
        stem = [_stem(u, lfn) if u.__class__ is str else None for u in src]
        if None in stem:
            return None
        stems = tuple(stem)  # type: ignore[arg-type]
    metadir = _meta_dir(meta)
    if metadir is _NOT_PLAIN:
        return None
    return (
        dst[: len(dst) - n],
        stems,
        metadir,
        sha256 is not None,
        symlink,
        t.executable,
        t.optional,
    )


_NOT_PLAIN: Any = object()  # a checksum-record path no group can carry


def _meta_dir(meta: object) -> Any:
    """The directory of a transfer's checksum record (with its slash), None for none,
    ``_NOT_PLAIN`` for a record that is not a plain string."""
    if meta is None:
        return None
    if meta.__class__ is str:
        return meta[: meta.rfind("/") + 1]
    return _NOT_PLAIN


def _runs(
    items: Iterable[Transfer],
    key_of: Any,
    goes_on: Callable[[Transfer, tuple[Any, ...]], bool] | None = None,
) -> list[tuple[tuple[Any, ...] | None, list[Transfer]]]:
    """Consecutive items with the same key, each run with that key; None keys alone.
    ``goes_on(item, key)``, when given, answers first whether an item simply goes on the
    run before it (the usual case for transfers: cheaper than making its key)."""
    runs: list[tuple[tuple[Any, ...] | None, list[Transfer]]] = []
    last: tuple[Any, ...] | None = None
    for t in items:
        if goes_on is not None and last is not None and goes_on(t, last):
            runs[-1][1].append(t)
            continue
        key = key_of(t)
        if key is not None and key == last:
            runs[-1][1].append(t)
        else:
            runs.append((key, [t]))
        last = key
    return runs


def _transfer_runs(
    transfers: Iterable[Transfer],
) -> list[tuple[tuple[Any, ...] | None, list[Transfer]]]:
    """``_runs`` of transfers by ``_transfer_key``."""
    return _runs(transfers, _transfer_key, _goes_on)


def _goes_on(t: Transfer, key: tuple[Any, ...]) -> bool:
    """Whether ``_transfer_key(t) == key``, for a key of one source (else False)."""
    dst, stems, metadir, has_sha, symlink, executable, optional = key
    lfn, src, meta, sha256 = t.lfn, t.src, t.meta, t.sha256
    if lfn.__class__ is not str or not lfn or len(src) != 1 or len(stems) != 1:
        return False
    if metadir is None:
        if meta is not None:
            return False
    elif meta.__class__ is not str or not meta.startswith(metadir) or "/" in meta[len(metadir) :]:
        return False
    return (
        t.dst == dst + lfn
        and src[0] == stems[0] + lfn
        and (sha256.__class__ is str if has_sha else sha256 is None)
        and t.symlink is symlink
        and t.executable == executable
        and t.optional == optional
    )


def _metas_json(group: Sequence[Transfer], metadir: str, names: list[str] | None = None) -> str:
    """The group's records by name in ``metadir``: one string when they share one."""
    if names is None:
        cut = len(metadir)
        names = [t.meta[cut:] for t in group]  # type: ignore[index]
    first = names[0]
    if names.count(first) == len(names):
        return STR(first)
    return names_json(names)


def _shas_json(group: Sequence[Transfer]) -> str:
    return f"[{','.join([STR(t.sha256) for t in group])}]"  # type: ignore[arg-type]


def transfers_json(transfers: Iterable[Transfer]) -> str:
    """The JSON list of a transfer manifest's ``"transfers"`` (or a runner's ``"inputs"``
    / ``"outputs"``): groups where transfers share their directories, else entries."""
    if transfers.__class__ is tuple and len(transfers) > 1:
        whole = _one_group(transfers)
        if whole is not None:
            return f"[{_transfer_group(_Group(*whole))}]"
    return _transfers_by_runs(transfers)


def _transfers_by_runs(transfers: Iterable[Transfer]) -> str:
    """``transfers_json`` a transfer at a time: any runs, any entries."""
    parts = []
    for key, group in _transfer_runs(transfers):
        entry = MANIFEST_ENCODER.encode(transfer_entry(group[0])) if len(group) == 1 else ""
        text = _transfer_group(_Group(key, group)) if key is not None else entry
        parts.append(entry if entry and len(entry) <= len(text) else text)
    return f"[{','.join(parts)}]"


def _one_group(
    transfers: Sequence[Transfer],
) -> tuple[tuple[Any, ...], Sequence[Transfer], list[str], list[str] | None] | None:
    """The key, LFNs and checksum-record names of transfers that all make one group of
    one source (the usual manifest line: what ``_transfer_runs`` would find, checked a
    column at a time rather than a transfer at a time), else None."""
    key = _transfer_key(transfers[0])
    if key is None or len(key[1]) != 1:
        return None
    lfns = _plain_names(transfers)
    if lfns is None:
        return None
    dst, (stem,), metadir = key[0], key[1], key[2]
    if (
        not _strings(list(map(_DST, transfers)), list(map(dst.__add__, lfns)))
        or list(zip(map(stem.__add__, lfns))) != list(map(_SRC, transfers))
        or not _alike(list(map(_MORE, transfers)))  # sha256 and flags: one slot
    ):
        return None
    metas = _meta_names(list(map(_META, transfers)), metadir)
    if metas is _NOT_PLAIN:
        return None
    return key, transfers, lfns, metas


_LFN = attrgetter("lfn")
_DST = attrgetter("dst")
_SRC = attrgetter("src")
_META = attrgetter("meta")
_SITE = attrgetter("site")
_MORE = attrgetter("more")  # sha256, symlink, executable, optional (concrete.Transfer)


def _alike(values: list[Any]) -> bool:
    return values.count(values[0]) == len(values)


def _strings(values: list[Any], expected: list[str]) -> bool:
    """Whether ``values`` are ``expected``, each a ``str`` (as the checks one value at a
    time ask: an equal object of another class is not taken for a name or a URL)."""
    return values == expected and _alike(list(map(type, values))) and values[0].__class__ is str


def _plain_names(transfers: Sequence[Transfer]) -> list[str] | None:
    """The LFNs, when every one is a non-empty string (a group's names), else None."""
    lfns = list(map(_LFN, transfers))
    if "" in lfns or not _alike(list(map(type, lfns))) or lfns[0].__class__ is not str:
        return None
    return lfns


def _meta_names(metas: list[Any], metadir: Any) -> Any:
    """The checksum records' names in ``metadir`` (None for none), ``_NOT_PLAIN`` unless
    every record lies there (None: every one is None)."""
    if metadir is None:
        return None if metas.count(None) == len(metas) else _NOT_PLAIN
    names = _names_in(metadir, metas)
    return _NOT_PLAIN if names is None else names


def _names_in(directory: str, paths: list[Any]) -> list[str] | None:
    """The names of ``paths`` in ``directory`` (which ends in "/") when every one is a
    string lying directly in it, else None; checked a column at a time."""
    try:
        names = list(map(itemgetter(slice(len(directory), None)), paths))
    except TypeError:  # a path that is not a string
        return None
    if list(map(directory.__add__, names)) != paths or "/" in "".join(names):
        return None
    return names


class _Group(NamedTuple):
    """Transfers (or replicas) written as one group: the key their kind's ``_*_key``
    gives them all, and their LFNs and checksum-record names when the check that found
    the group already listed them."""

    key: tuple[Any, ...]
    members: Sequence[Transfer]
    lfns: list[str] | None = None
    metas: list[str] | None = None


def _transfer_group(named: _Group) -> str:
    """One group of transfers (its key as ``_transfer_key`` gives it)."""
    key, group, lfns, metas = named
    dst, src, metadir, has_sha, symlink, executable, optional = key
    text = f'{{"dst":{STR(dst)},'
    if executable:
        text += '"executable":true,'
    text += f'"lfns":{names_json(lfns or [t.lfn for t in group])},'
    if metadir is not None:
        text += f'"meta":{_metas_json(group, metadir, metas)},'
        if metadir != src[0]:  # the default: the record lies beside the first source
            text += f'"metadir":{STR(metadir)},'
    if optional:
        text += '"optional":true,'
    if has_sha:
        text += f'"sha256":{_shas_json(group)},'
    text += f'"src":[{",".join(map(STR, src))}]'
    if symlink:
        text += ',"symlink":true'
    return text + "}"


def _replica_key(t: Transfer, site: str) -> tuple[Any, ...] | None:
    """What the replicas of one group share; None for one written on its own."""
    lfn, pfn, meta, sha256, own = t.lfn, t.dst, t.meta, t.sha256, t.site
    if (
        not lfn
        or lfn.__class__ is not str
        or pfn.__class__ is not str
        or not pfn.endswith(lfn)
        or (sha256 is not None and sha256.__class__ is not str)
        or (own is not None and own.__class__ is not str)
    ):
        return None
    metadir = _meta_dir(meta)
    if metadir is _NOT_PLAIN:
        return None
    own_site = own if own and own != site else None
    return (pfn[: len(pfn) - len(lfn)], metadir, sha256 is not None, own_site)


def _replica_entry(t: Transfer, site: str) -> dict[str, Any]:
    record: dict[str, Any] = {"lfn": t.lfn, "pfn": t.dst}
    if t.site and t.site != site:
        record["site"] = t.site
    if t.sha256 is not None:
        record["sha256"] = t.sha256
    if t.meta is not None:
        record["meta"] = t.meta
    return record


def replicas_json(replicas: Iterable[Transfer], site: str) -> tuple[str, bool]:
    """The JSON list of a register manifest's ``"replicas"`` (``dst`` is the PFN), and
    whether some replica takes the line's ``"site"`` (names no site of its own)."""
    if replicas.__class__ is tuple and len(replicas) > 1:
        whole = _one_replica_group(replicas, site)
        if whole is not None:
            key, lfns, metas = whole
            return f"[{_replica_group(_Group(key, replicas, lfns, metas))}]", key[3] is None
    return _replicas_by_runs(replicas, site)


def _replicas_by_runs(replicas: Iterable[Transfer], site: str) -> tuple[str, bool]:
    """``replicas_json`` a replica at a time: any runs, any entries."""
    parts = []
    uses_site = False
    for key, group in _runs(replicas, lambda t: _replica_key(t, site)):
        entry = ""
        if len(group) == 1:
            record = _replica_entry(group[0], site)
            entry = MANIFEST_ENCODER.encode(record)
        text = _replica_group(_Group(key, group)) if key is not None else entry
        if entry and len(entry) <= len(text):
            text = entry
            uses_site = uses_site or "site" not in record
        else:
            uses_site = uses_site or key[3] is None  # type: ignore[index]
        parts.append(text)
    return f"[{','.join(parts)}]", uses_site


def _one_replica_group(
    replicas: Sequence[Transfer], site: str
) -> tuple[tuple[Any, ...], list[str], list[str] | None] | None:
    """The key, LFNs and checksum-record names of replicas that all make one group (as
    ``_one_group`` does for transfers), else None."""
    key = _replica_key(replicas[0], site)
    if key is None:
        return None
    lfns = _plain_names(replicas)
    if (
        lfns is None
        or not _strings(list(map(_DST, replicas)), list(map(key[0].__add__, lfns)))
        or not _alike(list(map(_MORE, replicas)))
        or not _alike(list(map(_SITE, replicas)))
    ):
        return None
    metas = _meta_names(list(map(_META, replicas)), key[1])
    if metas is _NOT_PLAIN:
        return None
    return key, lfns, metas


def _replica_group(named: _Group) -> str:
    """One group of replicas (its key as ``_replica_key`` gives it)."""
    key, group, lfns, metas = named
    pfn, metadir, has_sha, own_site = key
    text = f'{{"lfns":{names_json(lfns or [t.lfn for t in group])},'
    if metadir is not None:
        text += f'"meta":{_metas_json(group, metadir, metas)},"metadir":{STR(metadir)},'
    text += f'"pfn":{STR(pfn)}'
    if has_sha:
        text += f',"sha256":{_shas_json(group)}'
    if own_site is not None:
        text += f',"site":{STR(own_site)}'
    return text + "}"


def files_json(urls: Iterable[str]) -> str:
    """The JSON list of a cleanup manifest's ``"files"``: the URLs of one directory as one
    ``{"dir": D, "names": NAMES}`` group (directories in order of first appearance, and in
    each the names of one shape together when that pays: removing files is done in any
    order), a URL without ``/`` as itself."""
    if urls.__class__ is list and urls:
        one = _one_directory(urls)
        if one is not None:
            return f"[{_files_group(*one)}]"
    return _files_by_directory(urls)


def _files_by_directory(urls: Iterable[str]) -> str:
    """``files_json`` a URL at a time: any directories, any URLs without one."""
    groups: dict[str, list[str]] = {}
    parts: list[str] = []
    for url in urls:
        if url.__class__ is not str or "/" not in url:
            parts.append(MANIFEST_ENCODER.encode(url))
            continue
        cut = url.rfind("/") + 1
        where = url[:cut]
        same = groups.get(where)
        if same is None:
            groups[where] = [url[cut:]]
        else:
            same.append(url[cut:])
    parts.extend([_files_group(where, names) for where, names in groups.items()])
    return f"[{','.join(parts)}]"


def _one_directory(urls: list[Any]) -> tuple[str, list[str]] | None:
    """The directory and names of URLs that all lie in one directory (a cleanup line's
    usual case, checked a column at a time), else None."""
    first = urls[0]
    if first.__class__ is not str or "/" not in first or not _alike(list(map(type, urls))):
        return None
    where = first[: first.rfind("/") + 1]
    names = _names_in(where, urls)
    return None if names is None else (where, names)


def _files_group(where: str, names: list[str]) -> str:
    """The names in one directory: one group, or the URLs when that is not longer."""
    group = f'{{"dir":{STR(where)},"names":{names_json(names, any_order=True)}}}'
    # the URLs written out take at least this much (escapes only add): when the
    # group is shorter than that, there is no need to write them to compare
    if len(group) >= len(names) * (len(where) + 3) - 1:
        plain = ",".join([STR(where + name) for name in names])
        group = plain if len(plain) <= len(group) else group
    return group
