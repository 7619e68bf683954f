"""Checksums at every hop (Pegasus's integrity checking, docs/job-tools.md).

A job that makes files records their sha256 in its *checksum record*, a small JSON object
``{lfn: sha256}`` named ``<node>.meta`` in its staging directory. Every later reader (a
compute job, ``stage_inter``, ``stage_out``, ``register``) learns the expected sha256
of a file from that record (or, for a raw input, from the replica catalog) and compares
it with the sha256 of the bytes it actually reads. A mismatch names the LFN, the expected
and the found digest, and fails the job, so DAGMan's RETRY runs it again.

Files are hashed in 1 MiB blocks (constant memory); the record is written to a temporary
name and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "IntegrityError",
    "expected_sha256",
    "read_record",
    "sha256_of",
    "verify",
    "write_record",
]

CHUNK = 1 << 20


class IntegrityError(Exception):
    """A file's bytes do not match its recorded sha256, or the record cannot be read."""


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def read_record(where: str, cwd: Path | None = None) -> dict[str, str]:
    """The checksum record at ``where``: a path (relative to ``cwd``), a ``file://`` or an
    ``http(s)://`` URL."""
    try:
        if where.startswith(("http://", "https://")):
            import requests

            from planner.tools.transfer import DEFAULT_LIMITS

            timeout = (DEFAULT_LIMITS.connect_timeout, DEFAULT_LIMITS.read_timeout)
            resp = requests.get(where, timeout=timeout)
            if resp.status_code >= 400:
                raise IntegrityError(f"checksum record {where}: HTTP {resp.status_code}")
            doc: Any = json.loads(resp.content)
        else:
            from planner.tools.transfer import TransferFailed, url_to_path

            try:
                path = url_to_path(where, cwd)
            except TransferFailed as exc:
                raise IntegrityError(f"checksum record {where}: {exc}")
            with open(path, "rb") as fh:
                doc = json.load(fh)
    except OSError as exc:
        raise IntegrityError(f"cannot read checksum record {where}: {exc.strerror or exc}")
    except ValueError as exc:
        raise IntegrityError(f"checksum record {where} is not JSON: {exc}")
    if not isinstance(doc, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in doc.items()
    ):
        raise IntegrityError(f"checksum record {where} is not a JSON object of LFN -> sha256")
    return doc


def expected_sha256(
    lfn: str,
    sha256: str | None,
    meta: str | None,
    cwd: Path | None = None,
    cache: dict[str, dict[str, str]] | None = None,
) -> str | None:
    """The sha256 ``lfn`` must have: ``sha256`` if given, else its entry in the record
    ``meta`` (read once per job through ``cache``); None when neither is given."""
    if sha256:
        return sha256
    if not meta:
        return None
    record = cache.get(meta) if cache is not None else None
    if record is None:
        record = read_record(meta, cwd)
        if cache is not None:
            cache[meta] = record
    found = record.get(lfn)
    if found is None:
        raise IntegrityError(f"{lfn}: no sha256 for it in checksum record {meta}")
    return found


def verify(lfn: str, path: Path, expected: str) -> None:
    """Raise :class:`IntegrityError` unless the file at ``path`` has sha256 ``expected``."""
    try:
        found = sha256_of(path)
    except OSError as exc:
        raise IntegrityError(f"{lfn}: cannot read {path}: {exc.strerror or exc}")
    if found != expected.lower():
        raise IntegrityError(mismatch(lfn, expected, found, str(path)))


def mismatch(lfn: str, expected: str, found: str, where: str) -> str:
    """The one message for a file whose bytes are not the ones recorded."""
    return f"{lfn}: sha256 mismatch in {where}: expected {expected.lower()}, found {found}"


def write_record(path: Path, digests: Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
    """Write ``{lfn: sha256}`` (keys sorted) to ``path`` atomically."""
    items = dict(digests)
    text = json.dumps(dict(sorted(items.items())), separators=(",", ":")) + "\n"
    tmp = path.with_name(f".{path.name}.wfplan-part{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
