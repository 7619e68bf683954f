"""How a job-side tool finds its manifest (docs/job-tools.md).

Two forms of arguments:

* ``MANIFEST``: a whole JSON file (a manifest shipped with HTCondor file transfer, or
  written by hand);
* ``BUNDLE OFFSET NODE``: one line of the submit dir's ``manifests.jsonl``. The tool seeks
  to the byte ``OFFSET``, reads one line and checks that it is the manifest of ``NODE``:
  constant work per job whatever the size of the bundle, never a scan.

Any problem is one line on stderr naming the file (and offset and node), then exit 1.

A manifest may say its repeated URL directories once, in ``"prefixes"`` (a list of
strings): a URL is then written as a number ``k`` (``prefixes[k]`` followed by the
entry's LFN), as ``[k, "rest"]`` (``prefixes[k]`` followed by ``rest``), or as itself. The
loaders give every tool the manifest with its URLs written out (:func:`expand_prefixes`),
so a manifest without ``"prefixes"`` (older, or written by hand) reads as before.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

__all__ = [
    "MANIFEST_USAGE",
    "USAGE_EXIT",
    "describe",
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
    return _expanded(doc, f"manifest {path}", tool)


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
    return _expanded(doc, f"the line at {where} (node {node})", tool)


def _expanded(doc: dict[str, Any], where: str, tool: str) -> dict[str, Any]:
    try:
        return expand_prefixes(doc)
    except ValueError as exc:
        _fail(f"{tool}: {where}: {exc}")


# Where a manifest holds URLs: lists of transfer-like entries and the URL keys of each
# entry (their LFN completes a bare prefix number), and the cleanup's plain URL list.
_ENTRY_LISTS = ("transfers", "inputs", "outputs", "replicas")
_ENTRY_URLS = ("dst", "pfn", "meta")


def expand_prefixes(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with every URL written out in full (see the module doc); ``doc`` itself
    when it has no ``"prefixes"``. ValueError names a reference that cannot be read.

    >>> expand_prefixes({"prefixes": ["file:///s/"], "files": [[0, "a"]]})["files"]
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
