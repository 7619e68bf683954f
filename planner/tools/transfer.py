"""``wfplan-transfer MANIFEST``: move files between URLs (docs/job-tools.md).

The manifest may also be named as ``BUNDLE OFFSET NODE`` (planner.tools.manifest).

Each transfer tries its ``src`` URLs in order (``file://`` copied or symlinked,
``http(s)://`` downloaded with timeouts and retries), writes to a temporary name beside
the destination, checks the sha256 when given, then renames: a reader never sees half a
file, and the temporary file is removed when a source fails or the tool is stopped
(SIGTERM, SIGINT). An http source has a connect timeout and a deadline for the whole
file (planner.tools.deadlines). An ``http(s)://`` destination (a staging site behind a
file server) is written with HTTP PUT, the file streamed from disk (an http source is
downloaded to a temporary file first) after its sha256 is checked, with the same
timeouts and retries. Every source left is one line on stderr saying why. Exit 0 when
every file arrived, else 1 with one line per failed LFN.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple
from urllib.parse import unquote, urlparse

from planner.tools.deadlines import BadLimit, HttpLimits, limits_from
from planner.tools.integrity import (
    IntegrityError,
    expected_sha256,
    same_file,
    sha256_of,
    vouched,
)
from planner.tools.manifest import load_manifest, run_with_manifest

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
BACKOFF = 0.5  # seconds, doubled after each failed attempt
DEFAULT_LIMITS = HttpLimits()
HTTP_ATTEMPTS = DEFAULT_LIMITS.attempts

Log = Callable[[str], None]


def _quiet(line: str) -> None:
    pass


class TransferFailed(Exception):
    """One source URL could not deliver the file; the message says why."""


class _TooSlow(Exception):
    """The source is behind its deadline (not retried: the time is spent)."""


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


def _download(
    url: str,
    tmp: Path,
    want_digest: bool,
    limits: HttpLimits = DEFAULT_LIMITS,
    log: Log = _quiet,
) -> str | None:
    """GET ``url`` into ``tmp`` within ``limits``; the sha256 of what arrived if wanted.

    Connection errors, timeouts, 5xx, 408 and 429 are retried, at most
    ``limits.attempts`` times and never past the source's deadline (``log`` hears each
    failed attempt); another client error or a source behind its deadline is not.
    """
    import requests
    import urllib3

    started = time.monotonic()
    delay = BACKOFF
    last = ""
    for attempt in range(1, limits.attempts + 1):
        if attempt > 1:
            if limits.min_deadline - (time.monotonic() - started) <= delay:
                break  # the next try could not even start before the deadline
            log(f"{url}: attempt {attempt - 1} of {limits.attempts} failed ({last}), retrying")
            time.sleep(delay)
            delay *= 2
        left = limits.min_deadline - (time.monotonic() - started)
        timeout = (min(limits.connect_timeout, left), min(limits.read_timeout, left))
        try:
            with requests.get(url, stream=True, timeout=timeout) as resp:
                if resp.status_code >= 400:
                    last = f"HTTP {resp.status_code} {resp.reason or ''}".rstrip()
                    if resp.status_code < 500 and resp.status_code not in (408, 429):
                        break  # a client error does not go away by retrying
                    continue
                return _receive(resp, tmp, want_digest, limits, started)
        except _TooSlow as exc:
            last = str(exc)
            break
        except requests.ConnectTimeout:
            last = f"no connection within {timeout[0]:g} s"
        except (requests.ReadTimeout, urllib3.exceptions.ReadTimeoutError):
            last = f"no data for {timeout[1]:g} s"
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            last = _why(exc)
    raise TransferFailed(f"{url}: {last}")


def _why(exc: BaseException) -> str:
    """A short reason: the exception's name and its innermost cause's."""
    inner: BaseException = exc
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    if inner is exc:
        return type(exc).__name__
    return f"{type(exc).__name__} ({type(inner).__name__})"


def _receive(
    resp: Any, tmp: Path, want_digest: bool, limits: HttpLimits, started: float
) -> str | None:
    """Write the body to ``tmp`` as it arrives, checking the deadline after every read.

    ``read1`` returns whatever one read of the socket brings, so a server trickling a
    byte at a time is measured as it goes instead of filling a whole chunk first."""
    h = hashlib.sha256() if want_digest else None
    announced = int(resp.headers.get("Content-Length") or 0)
    received = 0
    with open(tmp, "wb") as fout:
        while block := resp.raw.read1(CHUNK, decode_content=True):
            received += len(block)
            if h is not None:
                h.update(block)
            fout.write(block)
            elapsed = time.monotonic() - started
            allowed = limits.deadline(max(announced, received))
            if elapsed > allowed:
                raise _TooSlow(
                    f"too slow: {received} of {announced or '?'} bytes in {elapsed:.1f} s, "
                    f"past the deadline of {allowed:g} s (at least {limits.min_deadline:g} s, "
                    f"or the size at {limits.min_rate:g} bytes/s)"
                )
        fout.flush()
        os.fsync(fout.fileno())
    return h.hexdigest() if h is not None else None


def http_request(
    method: str,
    url: str,
    body: Path | None = None,
    ok: Sequence[int] = (),
    limits: HttpLimits = DEFAULT_LIMITS,
) -> int:
    """Send one request with the download's timeouts and retries; its final status.

    A 2xx status, or one listed in ``ok``, is returned; anything else raises
    :class:`TransferFailed` naming the method, URL and status. Connection errors, 5xx,
    408 and 429 are retried; other client errors are not (retrying does not fix them).
    ``body``: a file streamed as the request body (PUT). ``limits`` gives the connect
    and read timeouts and the number of attempts.
    """
    import requests

    timeout = (limits.connect_timeout, limits.read_timeout)
    delay = BACKOFF
    last = ""
    for attempt in range(limits.attempts):
        if attempt:
            time.sleep(delay)
            delay *= 2
        try:
            if body is None:
                resp = requests.request(method, url, timeout=timeout)
            elif body.stat().st_size == 0:  # an empty stream would be sent chunked
                resp = requests.request(method, url, data=b"", timeout=timeout)
            else:
                with open(body, "rb") as fh:
                    resp = requests.request(method, url, data=fh, timeout=timeout)
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
    src: str,
    dst: str,
    sha256: str | None = None,
    cwd: Path | None = None,
    digest: bool = False,
    limits: HttpLimits = DEFAULT_LIMITS,
    log: Log = _quiet,
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
                found = _download(src, tmp, want, limits, log)
                _check(found, sha256, src)
                http_request("PUT", dst, tmp, limits=limits)
            finally:
                tmp.unlink(missing_ok=True)
            return found
        path = url_to_path(src, cwd)
        if not path.is_file():
            raise TransferFailed(f"{src}: no such file")
        found = sha256_of(path) if want else None
        _check(found, sha256, src)
        http_request("PUT", dst, path, limits=limits)
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
    limits: HttpLimits = DEFAULT_LIMITS,
    log: Log = _quiet,
    hardlink: bool = False,
) -> str | None:
    """Deliver one ``src`` URL to ``dst`` atomically (see the module docstring).

    ``executable``: a staged program; the copy gets execute permission wherever it has
    read permission before it appears under ``dst`` (a symlink is left as it is).
    ``hardlink``: a local source whose integrity stamp vouches for ``sha256`` becomes a
    second name of the same file instead of a copy, when the file system allows it
    (:func:`_link_vouched`); anything else is copied as before.
    ``limits`` bound an http source; ``log`` hears its failed attempts.
    Returns the file's sha256 when it was computed (``sha256`` given, or ``want_digest``):
    one read of the file both copies and hashes it.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(dst)
    want = bool(sha256) or want_digest
    try:
        if is_http(src):
            digest = _download(src, tmp, want, limits, log)
            _check(digest, sha256, src)
        else:
            path = url_to_path(src, cwd)
            if not path.exists():
                raise TransferFailed(f"{src}: no such file")
            if _in_place(path, dst, symlink):
                return None if symlink else _checked_digest(path, sha256, want, src)
            linked = hardlink and not (symlink or executable) and _link_vouched(path, tmp, sha256)
            digest = linked or _local_to_tmp(path, tmp, symlink, sha256, want, src)
        _publish(tmp, dst, executable)
        return digest
    except OSError as exc:
        raise TransferFailed(f"{src}: {exc.strerror or exc}")
    finally:
        if tmp.exists() or tmp.is_symlink():
            tmp.unlink()


def _in_place(path: Path, dst: Path, symlink: bool) -> bool:
    """``dst`` already is the local source ``path`` (or, when linking, leads to it):
    nothing to move."""
    if symlink:
        return path.resolve() == dst.resolve()
    return dst.exists() and path.resolve() == dst.resolve()


def _link_vouched(path: Path, tmp: Path, expected: str | None) -> str | None:
    """Make ``tmp`` a hard link to ``path`` when the file's integrity stamp vouches that it
    holds ``expected`` (its producer or a reader hashed it, and it has not changed since);
    the sha256, or None when there is no such stamp or no link can be made (another file
    system, no permission), and the caller copies instead.

    The link is the same bytes as a copy checked against ``expected`` would be, without
    reading them: a 200 MB mosaic staged out on the file system it was made on costs a
    directory entry, not a copy, a hash and an fsync.
    """
    if not expected:
        return None
    before = vouched(path, expected)
    if before is None:
        return None
    try:
        tmp.unlink(missing_ok=True)
        os.link(path, tmp, follow_symlinks=False)
        linked = os.lstat(tmp)
    except OSError:  # EXDEV, EPERM (protected hard links), EMLINK, no links at all
        tmp.unlink(missing_ok=True)
        return None
    if not same_file(linked, before):  # written between the stamp's check and the link
        tmp.unlink()
        return None
    return expected.lower()


def _checked_digest(path: Path, expected: str | None, want: bool, src: str) -> str | None:
    """The sha256 of ``path`` checked against ``expected``, when wanted; else None."""
    if not want:
        return None
    digest = sha256_of(path)
    _check(digest, expected, src)
    return digest


def _local_to_tmp(
    path: Path, tmp: Path, symlink: bool, expected: str | None, want: bool, src: str
) -> str | None:
    """Put the local source at the temporary name: a symlink to it, or a copy hashed
    while it is written; its sha256 when wanted, checked against ``expected``."""
    if symlink:
        digest = _checked_digest(path, expected, want, src)
        tmp.unlink(missing_ok=True)
        os.symlink(path, tmp)
        return digest
    digest = _copy_file(path, tmp, want)
    _check(digest, expected, src)
    return digest


def _publish(tmp: Path, dst: Path, executable: bool) -> None:
    """Rename ``tmp`` to ``dst`` (a reader never sees half a file), a staged program
    first made executable wherever it is readable."""
    if executable and not tmp.is_symlink():
        mode = tmp.stat().st_mode
        tmp.chmod(mode | (mode & 0o444) >> 2)
    os.replace(tmp, dst)


def run_transfers(
    transfers: Sequence[dict[str, Any]],
    cwd: Path | None = None,
    digests: dict[str, str] | None = None,
    limits: HttpLimits = DEFAULT_LIMITS,
    log: Log = _quiet,
    hardlink: bool = False,
) -> list[str]:
    """Do every transfer; return one problem line per LFN that did not arrive.

    A transfer's expected sha256 is its ``sha256``, else its entry in the checksum
    record named by ``meta`` (planner.tools.integrity). ``digests``: filled with the
    sha256 of every file delivered (computed while copying, no second read). ``log``
    hears, per LFN, every source that was left and why, and which source delivered
    after one was left. ``hardlink``: a file the workflow made (one with a ``meta``
    record) may be delivered as a hard link (:func:`fetch`); a user's file never is.
    """
    run = _Run(cwd, digests, {}, limits, log, hardlink)
    problems = []
    for t in transfers:
        problem = _transfer_one(t, run)
        if problem is not None:
            problems.append(problem)
    return problems


class _Run(NamedTuple):
    """What every transfer of one :func:`run_transfers` call shares."""

    cwd: Path | None
    digests: dict[str, str] | None  # filled with the sha256 of each file delivered
    records: dict[str, dict[str, str]]  # checksum records read so far, by name
    limits: HttpLimits
    log: Log
    hardlink: bool  # may a file the workflow made arrive as a hard link


def _transfer_one(t: dict[str, Any], run: _Run) -> str | None:
    """Deliver one LFN from the first of its sources that can; its problem line if none."""
    lfn = t.get("lfn", "?")
    sources = t.get("src") or []
    if isinstance(sources, str):
        sources = [sources]
    put = isinstance(t.get("dst"), str) and is_http(t["dst"])
    try:
        dst = Path() if put else url_to_path(t["dst"], run.cwd)
    except (KeyError, TransferFailed) as exc:
        return f"{lfn}: bad destination: {exc}"
    try:
        expected = expected_sha256(lfn, t.get("sha256"), t.get("meta"), run.cwd, run.records)
    except IntegrityError as exc:
        return str(exc)

    def note(line: str) -> None:
        run.log(f"{lfn}: {line}")

    def deliver(src: str) -> str | None:
        want = run.digests is not None
        if put:  # symlink/executable have no meaning on a file server
            return upload(src, t["dst"], expected, run.cwd, want, run.limits, note)
        return fetch(
            src,
            dst,
            expected,
            bool(t.get("symlink")),
            run.cwd,
            executable=bool(t.get("executable")),
            want_digest=want,
            limits=run.limits,
            log=note,
            hardlink=run.hardlink and bool(t.get("meta")),
        )

    reasons = _first_that_delivers(sources, deliver, note, lfn, run.digests)
    if reasons is None:
        return None
    tried = "; ".join(reasons) if reasons else "no source URL"
    return f"{lfn}: could not transfer to {t['dst']} (tried {tried})"


def _first_that_delivers(
    sources: Sequence[str],
    deliver: Callable[[str], str | None],
    note: Log,
    lfn: str,
    digests: dict[str, str] | None,
) -> list[str] | None:
    """Try the sources in order until one delivers (None); else why each was left."""
    reasons: list[str] = []
    for src in sources:
        try:
            found = deliver(src)
        except TransferFailed as exc:
            reasons.append(str(exc))
            if len(reasons) < len(sources):  # the last one is in the problem line
                note(f"left source {len(reasons)} of {len(sources)}: {exc}")
            continue
        if digests is not None and found is not None:
            digests[lfn] = found
        if reasons:
            note(f"delivered by {src} after {len(reasons)} source(s) left")
        return None
    return reasons


class _Stopped(BaseException):
    """SIGTERM or SIGINT arrived; raised so that every ``finally`` removes its
    temporary file before the tool dies of the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise _Stopped(signum)


@contextmanager
def _stoppable() -> Iterator[None]:
    """Turn SIGTERM/SIGINT into :class:`_Stopped` while the block runs; afterwards the
    previous handlers are back, and a stop ends the process by that same signal (so
    DAGMan, or whoever waits, sees the job killed, as without the cleanup)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (and receives the signals)
        return
    stops = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in stops}
    try:
        yield
    except _Stopped as stop:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print(f"wfplan-transfer: stopped by {signal.Signals(stop.signum).name}", file=sys.stderr)
        signal.signal(stop.signum, signal.SIG_DFL)
        os.kill(os.getpid(), stop.signum)
        raise SystemExit(128 + stop.signum)  # only if the signal was blocked
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _log(line: str) -> None:
    print(f"wfplan-transfer: {line}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    return run_with_manifest("wfplan-transfer", argv, _transfer)


def _transfer(doc: dict[str, Any], name: str) -> int:
    """Do the manifest's ``transfers`` within its limits; 1 when any LFN did not arrive."""
    try:
        limits = limits_from(doc, os.environ)
    except BadLimit as exc:
        print(f"wfplan-transfer: {exc}", file=sys.stderr)
        return 1
    with _stoppable():
        # The transfer nodes' files are finished products no job writes again, so one on
        # the same file system may arrive as a hard link; a cluster's scratch pulls copy,
        # since its tasks may write to their inputs.
        problems = run_transfers(doc.get("transfers", []), limits=limits, log=_log, hardlink=True)
    for line in problems:
        _log(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
