"""``wfplan-transfer MANIFEST``: move files between URLs (docs/job-tools.md).

The manifest may also be named as ``BUNDLE OFFSET NODE`` (planner.tools.manifest).

Each transfer tries its ``src`` URLs in order (``file://`` copied or symlinked,
``http(s)://`` downloaded with timeouts and retries), writes to a temporary name beside
the destination, checks the sha256 when given, then renames: a reader never sees half a
file. An ``http(s)://`` destination (a staging site behind a file server) is written with
HTTP PUT, the file streamed from disk (an http source is downloaded to a temporary file
first) after its sha256 is checked, with the same timeouts and retries. Exit 0 when every
file arrived, else 1 with one line per failed LFN.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from planner.tools.integrity import IntegrityError, expected_sha256
from planner.tools.manifest import (
    MANIFEST_USAGE,
    is_manifest_args,
    load_manifest,
    read_manifest,
)

__all__ = [
    "TransferFailed",
    "fetch",
    "http_request",
    "is_http",
    "load_manifest",
    "main",
    "run_transfers",
    "upload",
    "url_to_path",
]

CHUNK = 1 << 20
HTTP_TIMEOUT = (10.0, 60.0)  # connect, read (seconds)
HTTP_ATTEMPTS = 3
BACKOFF = 0.5  # seconds, doubled after each failed attempt


class TransferFailed(Exception):
    """One source URL could not deliver the file; the message says why."""


def is_http(url: str) -> bool:
    """True for an ``http://`` or ``https://`` URL."""
    return url.startswith(("http://", "https://"))


def url_to_path(url: str, cwd: Path | None = None) -> Path:
    """``file:///a/b`` -> ``/a/b``; a plain relative path is relative to ``cwd``."""
    if url.startswith("file://"):
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            raise TransferFailed(f"file URL with a host ({parsed.netloc}) is not local")
        return Path(unquote(parsed.path))
    if "://" in url:
        raise TransferFailed(f"not a local path: {url}")
    p = Path(url)
    return p if p.is_absolute() else (cwd or Path.cwd()) / p


def _tmp_name(dst: Path) -> Path:
    return dst.with_name(f".{dst.name}.wfplan-part{os.getpid()}")


def _check(digest: str | None, expected: str | None, src: str) -> None:
    if expected and digest is not None and digest.lower() != expected.lower():
        raise TransferFailed(
            f"sha256 mismatch from {src}: expected {expected.lower()}, found {digest}"
        )


def _copy_file(src: Path, tmp: Path, want_digest: bool) -> str | None:
    h = hashlib.sha256() if want_digest else None
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        while True:
            block = fin.read(CHUNK)
            if not block:
                break
            if h is not None:
                h.update(block)
            fout.write(block)
        fout.flush()
        os.fsync(fout.fileno())
    shutil.copymode(src, tmp)
    return h.hexdigest() if h is not None else None


def _download(url: str, tmp: Path, want_digest: bool) -> str | None:
    import requests

    delay = BACKOFF
    last = ""
    for attempt in range(HTTP_ATTEMPTS):
        if attempt:
            time.sleep(delay)
            delay *= 2
        h = hashlib.sha256() if want_digest else None
        try:
            with requests.get(url, stream=True, timeout=HTTP_TIMEOUT) as resp:
                if resp.status_code >= 400:
                    last = f"HTTP {resp.status_code}"
                    if resp.status_code < 500 and resp.status_code not in (408, 429):
                        break  # a client error does not go away by retrying
                    continue
                with open(tmp, "wb") as fout:
                    for block in resp.iter_content(CHUNK):
                        if h is not None:
                            h.update(block)
                        fout.write(block)
                    fout.flush()
                    os.fsync(fout.fileno())
            return h.hexdigest() if h is not None else None
        except requests.RequestException as exc:
            last = type(exc).__name__
    raise TransferFailed(f"{url}: {last}")


def http_request(method: str, url: str, body: Path | None = None, ok: Sequence[int] = ()) -> int:
    """Send one request with the download's timeouts and retries; its final status.

    A 2xx status, or one listed in ``ok``, is returned; anything else raises
    :class:`TransferFailed` naming the method, URL and status. Connection errors, 5xx,
    408 and 429 are retried; other client errors are not (retrying does not fix them).
    ``body``: a file streamed as the request body (PUT).
    """
    import requests

    delay = BACKOFF
    last = ""
    for attempt in range(HTTP_ATTEMPTS):
        if attempt:
            time.sleep(delay)
            delay *= 2
        try:
            if body is None:
                resp = requests.request(method, url, timeout=HTTP_TIMEOUT)
            elif body.stat().st_size == 0:  # an empty stream would be sent chunked
                resp = requests.request(method, url, data=b"", timeout=HTTP_TIMEOUT)
            else:
                with open(body, "rb") as fh:
                    resp = requests.request(method, url, data=fh, timeout=HTTP_TIMEOUT)
            with resp:
                status = resp.status_code
                if 200 <= status < 300 or status in ok:
                    return status
                last = f"HTTP {status} {resp.reason or ''}".rstrip()
            if status < 500 and status not in (408, 429):
                break
        except requests.RequestException as exc:
            last = type(exc).__name__
    raise TransferFailed(f"{method} {url}: {last}")


def upload(
    src: str, dst: str, sha256: str | None = None, cwd: Path | None = None, digest: bool = False
) -> str | None:
    """Deliver one ``src`` URL to the http(s) URL ``dst`` with HTTP PUT.

    The sha256, when given, is checked before anything is sent: a server never receives
    a file that is known to be wrong. Returns the file's sha256 when it was computed
    (``sha256`` given, or ``digest``)."""
    if src == dst:
        return None  # already there
    want = bool(sha256) or digest
    try:
        if is_http(src):
            fd, name = tempfile.mkstemp(prefix=".wfplan-upload-", dir=os.environ.get("TMPDIR"))
            os.close(fd)
            tmp = Path(name)
            try:
                found = _download(src, tmp, want)
                _check(found, sha256, src)
                http_request("PUT", dst, tmp)
            finally:
                tmp.unlink(missing_ok=True)
            return found
        path = url_to_path(src, cwd)
        if not path.is_file():
            raise TransferFailed(f"{src}: no such file")
        found = _sha256_of(path) if want else None
        _check(found, sha256, src)
        http_request("PUT", dst, path)
        return found
    except OSError as exc:
        raise TransferFailed(f"{src}: {exc.strerror or exc}")


def fetch(
    src: str,
    dst: Path,
    sha256: str | None = None,
    symlink: bool = False,
    cwd: Path | None = None,
    executable: bool = False,
    want_digest: bool = False,
) -> str | None:
    """Deliver one ``src`` URL to ``dst`` atomically (see the module docstring).

    ``executable``: a staged program; the copy gets execute permission wherever it has
    read permission before it appears under ``dst`` (a symlink is left as it is).
    Returns the file's sha256 when it was computed (``sha256`` given, or ``want_digest``):
    one read of the file both copies and hashes it.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(dst)
    want = bool(sha256) or want_digest
    digest: str | None = None
    try:
        if src.startswith(("http://", "https://")):
            digest = _download(src, tmp, want)
            _check(digest, sha256, src)
        else:
            path = url_to_path(src, cwd)
            if not path.exists():
                raise TransferFailed(f"{src}: no such file")
            if symlink:
                if path.resolve() == dst.resolve():
                    return None
                if want:
                    digest = _sha256_of(path)
                    _check(digest, sha256, src)
                tmp.unlink(missing_ok=True)
                os.symlink(path, tmp)
            else:
                if dst.exists() and path.resolve() == dst.resolve():
                    if want:
                        digest = _sha256_of(path)
                        _check(digest, sha256, src)
                    return digest
                digest = _copy_file(path, tmp, want)
                _check(digest, sha256, src)
        if executable and not tmp.is_symlink():
            mode = tmp.stat().st_mode
            tmp.chmod(mode | (mode & 0o444) >> 2)
        os.replace(tmp, dst)
        return digest
    except OSError as exc:
        raise TransferFailed(f"{src}: {exc.strerror or exc}")
    finally:
        if tmp.exists() or tmp.is_symlink():
            tmp.unlink()


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def run_transfers(
    transfers: Sequence[dict[str, Any]],
    cwd: Path | None = None,
    digests: dict[str, str] | None = None,
) -> list[str]:
    """Do every transfer; return one problem line per LFN that did not arrive.

    A transfer's expected sha256 is its ``sha256``, else its entry in the checksum
    record named by ``meta`` (planner.tools.integrity). ``digests``: filled with the
    sha256 of every file delivered (computed while copying, no second read).
    """
    problems = []
    records: dict[str, dict[str, str]] = {}
    for t in transfers:
        lfn = t.get("lfn", "?")
        sources = t.get("src") or []
        if isinstance(sources, str):
            sources = [sources]
        reasons = []
        put = isinstance(t.get("dst"), str) and is_http(t["dst"])
        try:
            dst = Path() if put else url_to_path(t["dst"], cwd)
        except (KeyError, TransferFailed) as exc:
            problems.append(f"{lfn}: bad destination: {exc}")
            continue
        try:
            expected = expected_sha256(lfn, t.get("sha256"), t.get("meta"), cwd, records)
        except IntegrityError as exc:
            problems.append(str(exc))
            continue
        want = digests is not None
        for src in sources:
            try:
                if put:  # symlink/executable have no meaning on a file server
                    found = upload(src, t["dst"], expected, cwd, want)
                else:
                    found = fetch(
                        src,
                        dst,
                        expected,
                        bool(t.get("symlink")),
                        cwd,
                        executable=bool(t.get("executable")),
                        want_digest=want,
                    )
                if digests is not None and found is not None:
                    digests[lfn] = found
                break
            except TransferFailed as exc:
                reasons.append(str(exc))
        else:
            tried = "; ".join(reasons) if reasons else "no source URL"
            problems.append(f"{lfn}: could not transfer to {t['dst']} (tried {tried})")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not is_manifest_args(args):
        print(f"usage: wfplan-transfer {MANIFEST_USAGE}", file=sys.stderr)
        return 2
    doc = read_manifest(args, "wfplan-transfer")
    problems = run_transfers(doc.get("transfers", []))
    for line in problems:
        print(f"wfplan-transfer: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
