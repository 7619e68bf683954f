"""The job-side tools against a staging site behind an http file server (PUT, MKCOL, DELETE).

``file_server`` is the GET/PUT/DELETE server of tests/planner/conftest.py.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from planner.tools import cleanup, cluster, mkdir, transfer


def _manifest(tmp_path: Path, transfers: list[dict[str, object]]) -> str:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"transfers": transfers}))
    return str(path)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfer, "BACKOFF", 0.0)


def test_upload_puts_a_local_file_and_checks_sha256_first(tmp_path: Path, file_server):
    src = tmp_path / "a.txt"
    data = b"x" * 300_000  # more than one read of the streamed body
    src.write_bytes(data)
    m = _manifest(
        tmp_path,
        [
            {
                "lfn": "a.txt",
                "src": [src.as_uri()],
                "dst": f"{file_server.url}/scratch/wf/a.txt",
                "sha256": _sha(data),
                "symlink": True,  # no meaning on a server: the file is uploaded
            }
        ],
    )
    assert transfer.main([m]) == 0
    assert (file_server.root / "scratch" / "wf" / "a.txt").read_bytes() == data
    assert file_server.methods("PUT") == ["/scratch/wf/a.txt"]


def test_sha256_mismatch_sends_nothing(tmp_path: Path, file_server, capsys):
    src = tmp_path / "a.txt"
    src.write_bytes(b"data")
    m = _manifest(
        tmp_path,
        [
            {
                "lfn": "a.txt",
                "src": [src.as_uri()],
                "dst": f"{file_server.url}/a.txt",
                "sha256": "0" * 64,
            }
        ],
    )
    assert transfer.main([m]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a.txt" in err[0] and "sha256 mismatch" in err[0]
    assert file_server.requests == []


def test_a_relative_source_is_read_from_the_job_directory(tmp_path: Path, file_server):
    (tmp_path / "out.txt").write_bytes(b"")  # empty: sent with Content-Length 0
    problems = transfer.run_transfers(
        [{"lfn": "out.txt", "src": ["out.txt"], "dst": f"{file_server.url}/d/out.txt"}],
        tmp_path,
    )
    assert problems == []
    assert (file_server.root / "d" / "out.txt").read_bytes() == b""


def test_http_to_http_goes_through_a_temporary_file(tmp_path: Path, file_server, monkeypatch):
    (file_server.root / "a").mkdir()
    (file_server.root / "a" / "f").write_bytes(b"payload")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    m = _manifest(
        tmp_path,
        [
            {
                "lfn": "f",
                "src": [f"{file_server.url}/a/f"],
                "dst": f"{file_server.url}/b/f",
                "sha256": _sha(b"payload"),
            }
        ],
    )
    assert transfer.main([m]) == 0
    assert (file_server.root / "b" / "f").read_bytes() == b"payload"
    assert list(scratch.iterdir()) == []  # the temporary file is gone


def test_a_refused_put_is_one_line_and_not_retried(tmp_path: Path, file_server, capsys):
    src = tmp_path / "a.txt"
    src.write_bytes(b"data")
    file_server.fail[("PUT", "/a.txt")] = 403
    m = _manifest(
        tmp_path, [{"lfn": "a.txt", "src": [src.as_uri()], "dst": f"{file_server.url}/a.txt"}]
    )
    assert transfer.main([m]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert f"PUT {file_server.url}/a.txt: HTTP 403 Forbidden" in err[0] and "a.txt" in err[0]
    assert file_server.methods("PUT") == ["/a.txt"]


def test_a_server_error_is_retried_then_the_next_source_is_tried(tmp_path: Path, file_server):
    src = tmp_path / "a.txt"
    src.write_bytes(b"data")
    file_server.fail[("PUT", "/a.txt")] = 503
    m = _manifest(
        tmp_path,
        [{"lfn": "a.txt", "src": [src.as_uri()], "dst": f"{file_server.url}/a.txt"}],
    )
    assert transfer.main([m]) == 1
    assert file_server.methods("PUT") == ["/a.txt"] * transfer.HTTP_ATTEMPTS


def test_mkdir_on_a_plain_put_server_is_done_when_mkcol_is_not_implemented(file_server):
    assert mkdir.main([f"{file_server.url}/scratch/wf"]) == 0
    assert file_server.methods("MKCOL") == ["/scratch/wf/"]


def test_mkdir_on_a_webdav_server_creates_missing_parents(file_server):
    file_server.dav = True
    assert mkdir.main([f"{file_server.url}/scratch/wf"]) == 0
    assert (file_server.root / "scratch" / "wf").is_dir()
    assert file_server.requests == [
        ("MKCOL", "/scratch/wf/", 409),
        ("MKCOL", "/scratch/", 201),
        ("MKCOL", "/scratch/wf/", 201),
    ]
    assert mkdir.main([f"{file_server.url}/scratch/wf/"]) == 0  # 405: exists


def test_mkdir_refused_is_one_line(file_server, capsys):
    file_server.fail[("MKCOL", "/wf/")] = 401
    assert mkdir.main([f"{file_server.url}/wf"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "HTTP 401" in err[0] and f"{file_server.url}/wf" in err[0]


def test_cleanup_deletes_and_takes_404_as_gone(tmp_path: Path, file_server):
    (file_server.root / "f").write_bytes(b"x")
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"files": [f"{file_server.url}/f", f"{file_server.url}/gone"]}))
    assert cleanup.main([str(m)]) == 0
    assert not (file_server.root / "f").exists()
    assert file_server.requests == [("DELETE", "/f", 204), ("DELETE", "/gone", 404)]


def test_cleanup_refused_delete_fails_naming_the_url(tmp_path: Path, file_server, capsys):
    (file_server.root / "f").write_bytes(b"x")
    file_server.fail[("DELETE", "/f")] = 403
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"files": [f"{file_server.url}/f"]}))
    assert cleanup.main([str(m)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{file_server.url}/f" in err[0] and "HTTP 403" in err[0]
    assert (file_server.root / "f").exists()


def test_cluster_scratch_mode_pulls_from_and_pushes_to_the_server(
    tmp_path: Path, file_server, monkeypatch
):
    (file_server.root / "wf").mkdir()
    (file_server.root / "wf" / "in.txt").write_bytes(b"hello\n")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    m = tmp_path / "c.json"
    m.write_text(
        json.dumps(
            {
                "tasks": [
                    {
                        "id": "ID1",
                        "executable": "/bin/cp",
                        "arguments": ["in.txt", "out.txt"],
                    }
                ],
                "scratch": True,
                "inputs": [
                    {"lfn": "in.txt", "src": [f"{file_server.url}/wf/in.txt"], "dst": "in.txt"}
                ],
                "outputs": [
                    {"lfn": "out.txt", "src": ["out.txt"], "dst": f"{file_server.url}/wf/out.txt"}
                ],
            }
        )
    )
    assert cluster.main([str(m)]) == 0
    assert (file_server.root / "wf" / "out.txt").read_bytes() == b"hello\n"
    assert [m for m, _, _ in file_server.requests] == ["GET", "PUT"]
