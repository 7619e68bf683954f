"""Checksums at every hop (Pegasus's integrity checking, docs/job-tools.md).

A job that makes files records their sha256 in its *checksum record*, a small JSON object
``{lfn: sha256}`` named ``<node>.meta`` in its staging directory. Every later reader (a
compute job, ``stage_inter``, ``stage_out``, ``register``) learns the expected sha256
of a file from that record (or, for a raw input, from the replica catalog) and compares
it with the sha256 of the bytes it actually reads. A mismatch names the LFN, the expected
and the found digest, and fails the job, so DAGMan's RETRY runs it again.

Files are hashed in blocks (constant memory); the record is written to a temporary
name and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "IntegrityError",
    "expected_sha256",
    "read_record",
    "same_file",
    "sha256_made",
    "sha256_of",
    "verify",
    "vouched",
    "write_record",
]


class IntegrityError(Exception):
    """A file's bytes do not match its recorded sha256, or the record cannot be read."""


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in blocks."""
    # file_digest reads into one reused buffer without a Python-level loop: about a third
    # less CPU than 1 MiB reads for the few-MB images a Montage job makes
    with open(path, "rb", buffering=0) as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


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


def verify(lfn: str, path: Path, expected: str, *, stamp: bool = False) -> None:
    """Raise :class:`IntegrityError` unless the file at ``path`` has sha256 ``expected``.

    With ``stamp``, a regular file with one name (not a symbolic link) that passes is
    stamped, and a regular file whose stamp says it passed for ``expected`` and that has not
    changed since is not read again: the readers of a file on one site hash it once between
    them (see :data:`STAMP`).
    """
    expected = expected.lower()
    before = _regular_file(path) if stamp else None
    if before is not None and _stamped(path, before) == expected:
        return
    try:
        found = sha256_of(path)
    except OSError as exc:
        raise IntegrityError(f"{lfn}: cannot read {path}: {exc.strerror or exc}")
    if found != expected:
        raise IntegrityError(mismatch(lfn, expected, found, str(path)))
    if before is not None and before.st_nlink == 1:
        _stamp(path, before, found)


def vouched(path: Path, expected: str) -> os.stat_result | None:
    """The file's status when its stamp vouches that it holds sha256 ``expected`` as it is
    now (same identity, size and mtime as when it was hashed); else None. Nothing is read
    but the stamp."""
    st = _regular_file(path)
    if st is None or _stamped(path, st) != expected.lower():
        return None
    return st


def same_file(a: os.stat_result, b: os.stat_result) -> bool:
    """Whether two status results show one file with the same size and mtime."""
    return _identity(a) == _identity(b)


# The stamp a reader leaves on a file it has checked: the extended attribute STAMP holds
# "<sha256> <device>:<inode>:<size>:<mtime in ns>". Any write to the file moves its mtime,
# so a later reader that finds the same identity, size and mtime reads the bytes that were
# checked, unless the write fell in the same tick of the file system's clock as the last
# one (Linux keeps times in ticks of at most 10 ms; some file systems in whole seconds,
# FAT in two). So a stamp is kept only when it was set, by the file system's own clock
# (the ctime it gives the file), STAMP_AFTER_NS after the last write, or STAMP_AFTER_S_NS
# when the times are whole seconds. Without extended attributes nothing is stamped and
# every reader hashes, as before.
STAMP = "user.wfplan.sha256"
STAMP_AFTER_NS = 100_000_000
STAMP_AFTER_S_NS = 3_000_000_000
PENDING = b"pending"  # the mark a job sets on a file it has made before hashing it


def _regular_file(path: Path) -> os.stat_result | None:
    """The status of a regular file (not a symbolic link), else None."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def _plain_file(path: Path) -> os.stat_result | None:
    """A regular file with one name only: the only kind a job marks. A file with more
    names may be a user's own file; a stamp already on it (set while it had one name) is
    still read, since a write through any name moves the mtime it holds."""
    st = _regular_file(path)
    return st if st is not None and st.st_nlink == 1 else None


def _identity(st: os.stat_result) -> str:
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def _stamped(path: Path, st: os.stat_result) -> str | None:
    """The sha256 the file's stamp vouches for, if the stamp is for the file as it is."""
    try:
        digest, _, identity = (
            os.getxattr(path, STAMP, follow_symlinks=False).decode().partition(" ")
        )
    except (OSError, UnicodeDecodeError):
        return None
    return digest if identity == _identity(st) else None


def _stamp_after(st: os.stat_result) -> int:
    whole_seconds = st.st_mtime_ns % 1_000_000_000 == 0 and st.st_ctime_ns % 1_000_000_000 == 0
    return STAMP_AFTER_S_NS if whole_seconds else STAMP_AFTER_NS


def _stamp(path: Path, before: os.stat_result, digest: str) -> None:
    try:
        value = f"{digest} {_identity(before)}".encode()
        os.setxattr(path, STAMP, value, follow_symlinks=False)
        after = os.lstat(path)
        changed = _identity(after) != _identity(before)
        if changed or after.st_ctime_ns - after.st_mtime_ns < _stamp_after(after):
            os.removexattr(path, STAMP, follow_symlinks=False)
    except OSError:
        return  # no extended attributes here (or the file went): later readers hash it


def sha256_made(path: Path) -> str:
    """The sha256 of a file the job has just made (for its checksum record), the file
    stamped for its readers when the stamp is sure to vouch for the bytes hashed.

    The stamp cannot wait 0.1 s after the last write here (the job would wait), so the
    file is marked *before* it is hashed, with a placeholder no reader accepts: that gives
    it a ctime from the file system's own clock. If that moment is already past the last
    write (ctime > mtime), any write from then on, during the hash or after, gets a later
    mtime and so breaks the stamp's identity. If it is not (the last write fell in the
    same clock tick), the placeholder is removed and readers hash the file as before.
    """
    before = _plain_file(path)
    if before is None:
        return sha256_of(path)
    try:
        os.setxattr(path, STAMP, PENDING, follow_symlinks=False)
        marked = os.lstat(path)
    except OSError:
        return sha256_of(path)  # no extended attributes here
    digest = sha256_of(path)
    try:
        if _identity(marked) == _identity(before) and marked.st_ctime_ns > marked.st_mtime_ns:
            os.setxattr(path, STAMP, f"{digest} {_identity(before)}".encode(),
                        follow_symlinks=False)  # fmt: skip
            if _identity(os.lstat(path)) == _identity(before):
                return digest
        os.removexattr(path, STAMP, follow_symlinks=False)
    except OSError:
        pass  # the file went, or its stamp: readers hash it
    return digest


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
