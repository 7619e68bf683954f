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
from collections.abc import Iterable, Sequence
from typing import Any

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


def names_json(names: Sequence[str]) -> str:
    """NAMES: a JSON list of the names in order, where each run of consecutive names that
    differ only in their digits may be one ``{"mid":[...],"pre":A,"suf":B}`` (each name
    is ``A + mid + B``) when their common prefix ``A`` and suffix ``B`` said once make
    the text shorter (``pre``/``suf`` left out when empty).

    >>> names_json(["result_0000000.dat", "result_0001000.dat", "result_0002000.dat", "x"])
    '[{"mid":["0","1","2"],"pre":"result_000","suf":"000.dat"},"x"]'
    """
    if len(names) < 2:
        return f"[{','.join(map(STR, names))}]"
    parts = []
    shapes = [_DIGITS.sub("0", n) for n in names]
    start = 0
    for end in range(1, len(names) + 1):
        if end == len(names) or shapes[end] != shapes[start]:
            parts.append(_run_json(names[start:end]))
            start = end
    return f"[{','.join(parts)}]"


def _run_json(names: Sequence[str]) -> str:
    """Names of one shape: their strings, or one affix object when that is shorter."""
    plain = ",".join(map(STR, names))
    if len(names) < 2:
        return plain
    cut_pre = _shared_start(names)
    room = min(map(len, names)) - cut_pre
    cut_suf = min(_shared_start([n[::-1] for n in names]), room)
    if not cut_pre and not cut_suf:
        return plain
    first = names[0]
    pre, suf = first[:cut_pre], first[len(first) - cut_suf :]
    mids = [n[cut_pre : len(n) - cut_suf] for n in names]
    text = f'{{"mid":[{",".join(map(STR, mids))}]'
    if pre:
        text += f',"pre":{STR(pre)}'
    if suf:
        text += f',"suf":{STR(suf)}'
    text += "}"
    return text if len(text) < len(plain) else plain


def _shared_start(names: Sequence[str]) -> int:
    """The length of the text every name starts with (that of the first and the last
    in sorted order)."""
    lo, hi = min(names), max(names)
    n = min(len(lo), len(hi))
    i = 0
    while i < n and lo[i] == hi[i]:
        i += 1
    return i


def _dir(url: str) -> str:
    return url[: url.rfind("/") + 1]


def _plain(lfn: object, url: object, meta: object, sha256: object) -> bool:
    """Fields of the model's types (a hand-made node may hold others: written as is)."""
    return (
        lfn.__class__ is str
        and url.__class__ is str
        and (meta is None or meta.__class__ is str)
        and (sha256 is None or sha256.__class__ is str)
    )


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
    """What the transfers of one group share; None for one written on its own."""
    lfn, meta, sha256 = t.lfn, t.meta, t.sha256
    if not lfn or not _plain(lfn, t.dst, meta, sha256) or not t.src:
        return None
    if t.symlink.__class__ is not bool:
        return None
    dst = _stem(t.dst, lfn)
    if dst is None:
        return None
    src = []
    for url in t.src:
        stem = _stem(url, lfn) if url.__class__ is str else None
        if stem is None:
            return None
        src.append(stem)
    metadir = None if meta is None else _dir(meta)
    return (dst, tuple(src), metadir, sha256 is not None, t.symlink, t.executable, t.optional)


def _runs(
    items: Iterable[Transfer], key_of: Any
) -> list[tuple[tuple[Any, ...] | None, list[Transfer]]]:
    """Consecutive items with the same key, each run with that key; None keys alone."""
    runs: list[tuple[tuple[Any, ...] | None, list[Transfer]]] = []
    last: tuple[Any, ...] | None = None
    for t in items:
        key = key_of(t)
        if key is not None and key == last:
            runs[-1][1].append(t)
        else:
            runs.append((key, [t]))
        last = key
    return runs


def _metas_json(group: list[Transfer], metadir: str) -> str:
    """The group's records by name in ``metadir``: one string when they share one."""
    cut = len(metadir)
    names = [t.meta[cut:] for t in group]  # type: ignore[index]
    first = names[0]
    if names.count(first) == len(names):
        return STR(first)
    return names_json(names)


def _shas_json(group: list[Transfer]) -> str:
    return f"[{','.join([STR(t.sha256) for t in group])}]"  # type: ignore[arg-type]


def transfers_json(transfers: Iterable[Transfer]) -> str:
    """The JSON list of a transfer manifest's ``"transfers"`` (or a runner's ``"inputs"``
    / ``"outputs"``): groups where transfers share their directories, else entries."""
    parts = []
    for key, group in _runs(transfers, _transfer_key):
        entry = MANIFEST_ENCODER.encode(transfer_entry(group[0])) if len(group) == 1 else ""
        text = _transfer_group(key, group) if key is not None else entry
        parts.append(entry if entry and len(entry) <= len(text) else text)
    return f"[{','.join(parts)}]"


def _transfer_group(key: tuple[Any, ...], group: list[Transfer]) -> str:
    """One group of transfers (its key as ``_transfer_key`` gives it)."""
    dst, src, metadir, has_sha, symlink, executable, optional = key
    text = f'{{"dst":{STR(dst)},'
    if executable:
        text += '"executable":true,'
    text += f'"lfns":{names_json([t.lfn for t in group])},'
    if metadir is not None:
        text += f'"meta":{_metas_json(group, metadir)},'
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


def _replica_key(site: str) -> Any:
    def key(t: Transfer) -> tuple[Any, ...] | None:
        lfn, meta, site_of = t.lfn, t.meta, t.site
        if not lfn or not _plain(lfn, t.dst, meta, t.sha256):
            return None
        if site_of is not None and site_of.__class__ is not str:
            return None
        pfn = _stem(t.dst, lfn)
        if pfn is None:
            return None
        own_site = site_of if site_of and site_of != site else None
        return (pfn, None if meta is None else _dir(meta), t.sha256 is not None, own_site)

    return key


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
    parts = []
    uses_site = False
    for key, group in _runs(replicas, _replica_key(site)):
        entry = ""
        if len(group) == 1:
            record = _replica_entry(group[0], site)
            entry = MANIFEST_ENCODER.encode(record)
        text = _replica_group(key, group) if key is not None else entry
        if entry and len(entry) <= len(text):
            text = entry
            uses_site = uses_site or "site" not in record
        else:
            uses_site = uses_site or key[3] is None  # type: ignore[index]
        parts.append(text)
    return f"[{','.join(parts)}]", uses_site


def _replica_group(key: tuple[Any, ...], group: list[Transfer]) -> str:
    """One group of replicas (its key as ``_replica_key`` gives it)."""
    pfn, metadir, has_sha, own_site = key
    text = f'{{"lfns":{names_json([t.lfn for t in group])},'
    if metadir is not None:
        text += f'"meta":{_metas_json(group, metadir)},"metadir":{STR(metadir)},'
    text += f'"pfn":{STR(pfn)}'
    if has_sha:
        text += f',"sha256":{_shas_json(group)}'
    if own_site is not None:
        text += f',"site":{STR(own_site)}'
    return text + "}"


def files_json(urls: Iterable[str]) -> str:
    """The JSON list of a cleanup manifest's ``"files"``: the URLs of one directory as one
    ``{"dir": D, "names": NAMES}`` group (directories in order of first appearance, and
    in each the names of one shape together: removing files is done in any order), a
    URL without ``/`` as itself."""
    groups: dict[str, dict[str, list[str]]] = {}
    parts = []
    for url in urls:
        if url.__class__ is not str or "/" not in url:
            parts.append(MANIFEST_ENCODER.encode(url))
            continue
        cut = url.rfind("/") + 1
        name = url[cut:]
        groups.setdefault(url[:cut], {}).setdefault(_DIGITS.sub("0", name), []).append(name)
    for where, shapes in groups.items():
        names = [name for same in shapes.values() for name in same]
        group = f'{{"dir":{STR(where)},"names":{names_json(names)}}}'
        plain = ",".join([STR(where + name) for name in names])  # when that is no longer
        parts.append(plain if len(plain) <= len(group) else group)
    return f"[{','.join(parts)}]"
