"""How a job-side tool finds its manifest (docs/job-tools.md).

Two forms of arguments:

* ``MANIFEST``: a whole JSON file (a manifest shipped with HTCondor file transfer, or
  written by hand);
* ``BUNDLE OFFSET NODE``: one line of the submit dir's ``manifests.jsonl``. The tool seeks
  to the byte ``OFFSET``, reads one line and checks that it is the manifest of ``NODE``:
  constant work per job whatever the size of the bundle, never a scan.

Any problem is one line on stderr naming the file (and offset and node), then exit 1.

A manifest may be written in the compact form (docs/job-tools.md): transfers,
replicas and files that share their directories as one group each, their names one
list; or, as earlier releases wrote, repeated URL directories said once in
``"prefixes"``. The loaders give every tool the full form (:func:`expand_manifest`: one
entry per file, every URL written out), so a tool never sees either, and a manifest
written out in full (older, or by hand) reads as before.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

__all__ = [
    "MANIFEST_USAGE",
    "USAGE_EXIT",
    "describe",
    "expand_manifest",
    "expand_prefixes",
    "is_manifest_args",
    "load_bundled_manifest",
    "load_manifest",
    "manifest_or_usage",
    "read_manifest",
    "run_with_manifest",
]

MANIFEST_USAGE = "MANIFEST | BUNDLE OFFSET NODE"
USAGE_EXIT = 2  # a tool's exit code for arguments that name no manifest


def _fail(message: str) -> NoReturn:
    print(message, file=sys.stderr)
    raise SystemExit(1)


def is_manifest_args(args: Sequence[str]) -> bool:
    """True for the argument counts of the two forms (1 or 3)."""
    return len(args) in (1, 3)


def describe(args: Sequence[str]) -> str:
    """The manifest's name for messages: the file, or ``BUNDLE@OFFSET (node NODE)``."""
    if len(args) == 3:
        return f"{args[0]}@{args[1]} (node {args[2]})"
    return args[0]


def read_manifest(args: Sequence[str], tool: str) -> dict[str, Any]:
    """The manifest named by a tool's arguments, in either form (see the module doc)."""
    if len(args) == 3:
        return load_bundled_manifest(args[0], args[1], args[2], tool)
    return load_manifest(args[0], tool)


def manifest_or_usage(args: Sequence[str], tool: str) -> dict[str, Any] | None:
    """The manifest ``args`` name (:func:`read_manifest`); None, after the usage line on
    stderr, when they name none: the tool then exits :data:`USAGE_EXIT`."""
    if not is_manifest_args(args):
        print(f"usage: {tool} {MANIFEST_USAGE}", file=sys.stderr)
        return None
    return read_manifest(args, tool)


def run_with_manifest(
    tool: str, argv: Sequence[str] | None, body: Callable[[dict[str, Any], str], int]
) -> int:
    """A manifest tool's ``main``: read the manifest its arguments (``sys.argv`` when
    ``argv`` is None) name and return ``body(manifest, its name for messages)``, or
    :data:`USAGE_EXIT` after the usage line."""
    args = list(sys.argv[1:] if argv is None else argv)
    doc = manifest_or_usage(args, tool)
    if doc is None:
        return USAGE_EXIT
    return body(doc, describe(args))


def load_manifest(path: str, tool: str) -> dict[str, Any]:
    """Read a whole JSON manifest file or exit 1 with one clear line."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except OSError as exc:
        _fail(f"{tool}: cannot read manifest {path}: {exc.strerror}")
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        _fail(f"{tool}: manifest {path} is not JSON: {exc}")
    except RecursionError:
        _fail(f"{tool}: manifest {path} is not JSON: nested too deeply")
    if not isinstance(doc, dict):
        _fail(f"{tool}: manifest {path} is not a JSON object")
    return _expanded(doc, f"manifest {path}", tool, path)


def load_bundled_manifest(bundle: str, offset: str, node: str, tool: str) -> dict[str, Any]:
    """The line of ``bundle`` starting at byte ``offset``, which must be ``node``'s manifest."""
    if not offset.isascii() or not offset.isdigit():
        _fail(
            f"{tool}: byte offset {offset!r} for node {node} in manifest bundle {bundle} "
            "is not a non-negative integer"
        )
    at = int(offset)
    try:
        with open(bundle, "rb") as fh:
            before = b"\n"
            if at:
                fh.seek(at - 1)
                before = fh.read(1)
            line = fh.readline()
    except OSError as exc:
        _fail(f"{tool}: cannot read manifest bundle {bundle}: {exc.strerror or exc}")
    where = f"byte offset {at} of manifest bundle {bundle}"
    if not line:
        _fail(f"{tool}: {where} is at or past its end (node {node})")
    if before != b"\n":
        _fail(f"{tool}: {where} is not the start of a line (node {node})")
    try:
        doc = json.loads(line)
    except ValueError as exc:
        _fail(f"{tool}: the line at {where} is not JSON (node {node}): {exc}")
    except RecursionError:
        _fail(f"{tool}: the line at {where} is not JSON (node {node}): nested too deeply")
    if not isinstance(doc, dict):
        _fail(f"{tool}: the line at {where} is not a JSON object (node {node})")
    if doc.get("node") != node:
        _fail(
            f"{tool}: the line at {where} is the manifest of node {doc.get('node')!r}, "
            f"not of {node!r}"
        )
    return _expanded(doc, f"the line at {where} (node {node})", tool, bundle)


def _expanded(doc: dict[str, Any], where: str, tool: str, path: str) -> dict[str, Any]:
    try:
        return expand_manifest(doc, _directory_of(path))
    except ValueError as exc:
        _fail(f"{tool}: {where}: {exc}")


def _directory_of(path: str) -> str:
    """The directory holding ``path``, as named: made absolute but not shortened, since
    ``link/..`` is not the directory ``link`` is in when ``link`` is a symbolic link
    (the emitter names a catalog relative to the submit dir as it was written)."""
    where = os.path.dirname(path)
    return where if os.path.isabs(where) else os.path.join(os.getcwd(), where)


# Where a manifest holds URLs: lists of transfer-like entries and the URL keys of each
# entry (their LFN completes a bare prefix number), and the cleanup's plain URL list.
_ENTRY_LISTS = ("transfers", "inputs", "outputs", "replicas")
_ENTRY_URLS = ("dst", "pfn", "meta")


def expand_manifest(doc: dict[str, Any], base: str | None = None) -> dict[str, Any]:
    """``doc`` in the full form (docs/job-tools.md, "Compact form"): every group of
    transfers, replicas or files one entry each, every URL written out; ``doc`` itself
    when it holds neither groups nor ``"prefixes"``. ``base``: the directory holding the
    manifest, against which a relative ``"catalog"`` is read. ValueError names what
    cannot be read.

    >>> expand_manifest({"files": [{"dir": "file:///s/", "names": ["a", "b"]}]})["files"]
    ['file:///s/a', 'file:///s/b']
    """
    doc = _expand_prefixes(doc)
    out = doc
    for key in _ENTRY_LISTS:
        entries = doc.get(key)
        if isinstance(entries, list) and any(_is_group(e, "lfns") for e in entries):
            out = out if out is not doc else dict(doc)
            out[key] = [x for e in entries for x in _ungroup(e, key)]
    files = doc.get("files")
    if isinstance(files, list) and any(_is_group(u, "names") for u in files):
        out = out if out is not doc else dict(doc)
        out["files"] = [x for u in files for x in _files(u)]
    catalog = doc.get("catalog")
    if base is not None and isinstance(catalog, str) and catalog and catalog[0] != "/":
        out = out if out is not doc else dict(doc)
        out["catalog"] = f"{base.rstrip('/')}/{catalog}"
    return out


def _is_group(entry: Any, key: str) -> bool:
    return isinstance(entry, dict) and key in entry


def _names(value: Any, what: str) -> list[str]:
    """NAMES: a list of names and ``{"mid": [...], "pre": A, "suf": B}`` objects, each
    standing for the names ``A + mid + B`` in order."""
    if isinstance(value, list):
        if all(isinstance(n, str) for n in value):
            return value
        names: list[str] = []
        for item in value:
            if isinstance(item, str):
                names.append(item)
                continue
            if isinstance(item, dict):
                pre, suf, mids = item.get("pre", ""), item.get("suf", ""), item.get("mid")
                affixes = isinstance(pre, str) and isinstance(suf, str)
                if affixes and isinstance(mids, list) and all(isinstance(m, str) for m in mids):
                    names += [f"{pre}{m}{suf}" for m in mids]
                    continue
            break
        else:
            return names
    raise ValueError(f"{what} {json.dumps(value)} is not a list of names")


def _text(group: dict[str, Any], key: str) -> str:
    value = group.get(key)
    if not isinstance(value, str):
        raise ValueError(f"group {json.dumps(group)} has no {key!r} text")
    return value


def _column(group: dict[str, Any], key: str, count: int) -> list[Any]:
    """A per-entry column: ``key``'s NAMES (or one string for every entry)."""
    value = group[key]
    column = [value] * count if isinstance(value, str) else _names(value, f'"{key}"')
    if len(column) != count:
        raise ValueError(f'group {json.dumps(group)}: "{key}" does not have one item per LFN')
    return column


def _ungroup(entry: Any, key: str) -> list[Any]:
    """One group of ``key`` (``transfers``, ``replicas`` ...) as its entries, in order;
    an entry that is not a group as itself."""
    if not _is_group(entry, "lfns"):
        return [entry]
    lfns = _names(entry["lfns"], '"lfns"')
    n = len(lfns)
    shas = entry.get("sha256")
    if shas is not None and (not isinstance(shas, list) or len(shas) != n):
        raise ValueError(f'group {json.dumps(entry)}: "sha256" does not have one item per LFN')
    fixed = {k: v for k, v in entry.items() if k in _GROUP_FLAGS}
    if key == "replicas":
        pfn = _text(entry, "pfn")
        records = [{**fixed, "lfn": lfn, "pfn": pfn + lfn} for lfn in lfns]
        metadir = entry.get("metadir")
    else:
        dst, src = _text(entry, "dst"), entry.get("src")
        if not isinstance(src, list) or not src or not all(isinstance(p, str) for p in src):
            raise ValueError(f'group {json.dumps(entry)}: "src" is not a list of prefixes')
        records = [
            {**fixed, "lfn": lfn, "src": [p + lfn for p in src], "dst": dst + lfn} for lfn in lfns
        ]
        metadir = entry.get("metadir", src[0])
    if "meta" in entry:
        if not isinstance(metadir, str):
            raise ValueError(f'group {json.dumps(entry)} has "meta" but no "metadir"')
        for record, name in zip(records, _column(entry, "meta", n), strict=True):
            record["meta"] = metadir + name
    if shas is not None:
        for record, sha in zip(records, shas, strict=True):
            record["sha256"] = sha
    return records


# What a group says once for all its entries.
_GROUP_FLAGS = ("symlink", "executable", "optional", "site")


def _files(entry: Any) -> list[Any]:
    if not _is_group(entry, "names"):
        return [entry]
    where = _text(entry, "dir")
    return [where + name for name in _names(entry["names"], '"names"')]


def expand_prefixes(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with every URL of its ``"prefixes"`` form written out (the compact form
    of earlier releases; :func:`expand_manifest` reads it too)."""
    return _expand_prefixes(doc)


def _expand_prefixes(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with every URL written out in full (see the module doc); ``doc`` itself
    when it has no ``"prefixes"``. ValueError names a reference that cannot be read.

    >>> _expand_prefixes({"prefixes": ["file:///s/"], "files": [[0, "a"]]})["files"]
    ['file:///s/a']
    """
    table = doc.get("prefixes")
    if table is None:
        return doc
    if not isinstance(table, list) or not all(isinstance(p, str) for p in table):
        raise ValueError('"prefixes" is not a list of strings')
    out = {k: v for k, v in doc.items() if k != "prefixes"}
    for key in _ENTRY_LISTS:
        entries = doc.get(key)
        if isinstance(entries, list):
            out[key] = [_expand_entry(e, table) for e in entries]
    files = doc.get("files")
    if isinstance(files, list):
        out["files"] = [_url(u, table, None) for u in files]
    return out


def _expand_entry(entry: Any, table: list[str]) -> Any:
    if not isinstance(entry, dict):
        return entry
    lfn = entry.get("lfn")
    out = dict(entry)
    for key in _ENTRY_URLS:
        if key in entry:
            out[key] = _url(entry[key], table, lfn)
    src = entry.get("src")
    if isinstance(src, list):
        out["src"] = [_url(u, table, lfn) for u in src]
    return out


def _url(ref: Any, table: list[str], lfn: Any) -> Any:
    """One URL: ``k`` is prefix ``k`` + the LFN, ``[k, rest]`` prefix ``k`` + ``rest``."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        if not isinstance(lfn, str):
            raise ValueError(f'URL reference {ref} needs the entry\'s "lfn"')
        return _prefix(ref, table) + lfn
    if isinstance(ref, list):
        if len(ref) != 2 or not isinstance(ref[1], str):
            raise ValueError(f"URL reference {json.dumps(ref)} is not [prefix number, text]")
        return _prefix(ref[0], table) + ref[1]
    return ref


def _prefix(k: Any, table: list[str]) -> str:
    if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < len(table):
        raise ValueError(f'URL reference {json.dumps(k)} names no entry of "prefixes"')
    return table[k]
