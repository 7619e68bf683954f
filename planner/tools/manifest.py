"""How a job-side tool finds its manifest (docs/job-tools.md).

Two forms of arguments:

* ``MANIFEST``: a whole JSON file (a manifest shipped with HTCondor file transfer, or
  written by hand);
* ``BUNDLE OFFSET NODE``: one line of the submit dir's ``manifests.jsonl``. The tool seeks
  to the byte ``OFFSET``, reads one line and checks that it is the manifest of ``NODE``:
  constant work per job whatever the size of the bundle, never a scan.

Any problem is one line on stderr naming the file (and offset and node), then exit 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

__all__ = [
    "MANIFEST_USAGE",
    "describe",
    "is_manifest_args",
    "load_bundled_manifest",
    "load_manifest",
    "read_manifest",
]

MANIFEST_USAGE = "MANIFEST | BUNDLE OFFSET NODE"


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
    return doc


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
    return doc
