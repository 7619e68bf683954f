"""wfplan-transfer: file and http sources, fallbacks, symlinks, sha256, atomic writes."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from planner.tools import transfer


def _manifest(tmp_path: Path, transfers: list[dict[str, object]]) -> str:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"transfers": transfers}))
    return str(path)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """An http server on 127.0.0.1 (port 0) serving tmp_path/www."""
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_file_copy_creates_parents_and_verifies_sha256(tmp_path: Path):
    src = tmp_path / "a.txt"
    src.write_bytes(b"data")
    digest = hashlib.sha256(b"data").hexdigest()
    dst = tmp_path / "deep" / "dir" / "a.txt"
    m = _manifest(
        tmp_path, [{"lfn": "a", "src": [src.as_uri()], "dst": dst.as_uri(), "sha256": digest}]
    )
    assert transfer.main([m]) == 0
    assert dst.read_bytes() == b"data"
    assert [p.name for p in dst.parent.iterdir()] == ["a.txt"]


def test_sha256_mismatch_fails_and_leaves_nothing(tmp_path: Path, capsys):
    src = tmp_path / "a.txt"
    src.write_bytes(b"data")
    dst = tmp_path / "out" / "a.txt"
    m = _manifest(
        tmp_path, [{"lfn": "a", "src": [src.as_uri()], "dst": str(dst), "sha256": "00" * 32}]
    )
    assert transfer.main([m]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a: could not transfer" in err[0] and "sha256 mismatch" in err[0]
    assert list(dst.parent.iterdir()) == []


def test_fallback_sources_are_tried_in_order(tmp_path: Path):
    good = tmp_path / "good.txt"
    good.write_text("ok")
    dst = tmp_path / "o.txt"
    srcs = [(tmp_path / "missing").as_uri(), good.as_uri()]
    m = _manifest(tmp_path, [{"lfn": "o", "src": srcs, "dst": dst.as_uri()}])
    assert transfer.main([m]) == 0 and dst.read_text() == "ok"


def test_symlink_when_planned(tmp_path: Path):
    src = tmp_path / "big.bin"
    src.write_bytes(b"x" * 10)
    dst = tmp_path / "scratch" / "big.bin"
    m = _manifest(tmp_path, [{"lfn": "b", "src": [src.as_uri()], "dst": str(dst), "symlink": True}])
    assert transfer.main([m]) == 0
    assert dst.is_symlink() and dst.resolve() == src.resolve()


def test_a_file_already_at_its_destination_is_checked_not_moved(tmp_path: Path):
    """Source and destination the same file: its sha256 is checked and returned, and the
    file is left as it is (same inode: not copied onto itself)."""
    f = tmp_path / "here.txt"
    f.write_bytes(b"data")
    good = hashlib.sha256(b"data").hexdigest()
    inode = f.stat().st_ino
    assert transfer.fetch(f.as_uri(), f, sha256=good) == good
    assert f.stat().st_ino == inode
    assert transfer.fetch(f.as_uri(), f) is None  # nothing asked, nothing read
    assert f.stat().st_ino == inode and f.read_bytes() == b"data"
    with pytest.raises(transfer.TransferFailed, match="sha256 mismatch"):
        transfer.fetch(f.as_uri(), f, sha256="0" * 64)
    assert f.read_bytes() == b"data"


def test_a_link_already_in_place_is_left_alone(tmp_path: Path):
    """A planned symlink that already leads to its source is not made again, and no
    digest is reported for it."""
    src = tmp_path / "big.bin"
    src.write_bytes(b"x" * 10)
    dst = tmp_path / "big.link"
    dst.symlink_to(src)
    inode = dst.lstat().st_ino
    assert transfer.fetch(src.as_uri(), dst, symlink=True, want_digest=True) is None
    assert dst.is_symlink() and dst.lstat().st_ino == inode


def test_http_stage_in_from_a_local_server(tmp_path: Path, server: str):
    (tmp_path / "www" / "f.dat").write_bytes(b"remote bytes")
    digest = hashlib.sha256(b"remote bytes").hexdigest()
    dst = tmp_path / "f.dat"
    m = _manifest(
        tmp_path, [{"lfn": "f", "src": [f"{server}/f.dat"], "dst": str(dst), "sha256": digest}]
    )
    assert transfer.main([m]) == 0
    assert dst.read_bytes() == b"remote bytes"


def test_http_404_names_the_url_and_falls_back(tmp_path: Path, server: str, capsys):
    dst = tmp_path / "g.dat"
    m = _manifest(tmp_path, [{"lfn": "g", "src": [f"{server}/nope"], "dst": str(dst)}])
    assert transfer.main([m]) == 1
    err = capsys.readouterr().err
    assert f"{server}/nope: HTTP 404" in err and not dst.exists()
    (tmp_path / "local.dat").write_text("L")
    m = _manifest(
        tmp_path,
        [
            {
                "lfn": "g",
                "src": [f"{server}/nope", (tmp_path / "local.dat").as_uri()],
                "dst": str(dst),
            }
        ],
    )
    assert transfer.main([m]) == 0 and dst.read_text() == "L"


def test_unreadable_manifest_is_one_line(tmp_path: Path, capsys):
    bad = tmp_path / "m.json"
    bad.write_text("{not json")
    with pytest.raises(SystemExit) as info:
        transfer.main([str(bad)])
    assert info.value.code == 1
    assert "m.json is not JSON" in capsys.readouterr().err


def test_http_5xx_is_retried_with_backoff(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(transfer, "BACKOFF", 0.01)
    calls: list[str] = []

    class Flaky(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            calls.append(self.path)
            if len(calls) < 3:
                self.send_error(503)
                return
            body = b"finally"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/x"
        dst = tmp_path / "x"
        m = _manifest(tmp_path, [{"lfn": "x", "src": [url], "dst": str(dst)}])
        assert transfer.main([m]) == 0
        assert dst.read_bytes() == b"finally" and len(calls) == 3
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("executable", [True, False])
def test_staged_executable_is_made_executable(tmp_path: Path, executable: bool):
    src = tmp_path / "tool.sh"
    src.write_text("#!/bin/sh\n")
    src.chmod(0o644)
    dst = tmp_path / "scratch" / "tool.sh"
    entry = {"lfn": "tool.sh", "src": [src.as_uri()], "dst": str(dst)}
    m = _manifest(tmp_path, [{**entry, "executable": True} if executable else entry])
    assert transfer.main([m]) == 0
    mode = dst.stat().st_mode
    # execute wherever readable (the copy's read bits follow the umask)
    assert mode & 0o111 == ((mode & 0o444) >> 2 if executable else 0)
    assert src.stat().st_mode & 0o777 == 0o644
