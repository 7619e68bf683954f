"""wfplan-transfer delivers a file the workflow made, and whose integrity stamp vouches for
it, as a hard link on the same file system; everything else is copied and hashed."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import pytest

from planner.tools import integrity, transfer
from tests.planner.tools.fsprobe import xattrs_work


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def made(tmp_path: Path) -> Path:
    """A scratch directory holding mosaic.fits as its producer left it: hashed for its
    checksum record (prod.meta) and stamped."""
    if not xattrs_work(tmp_path):
        pytest.skip("no extended attributes on this file system")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    f = scratch / "mosaic.fits"
    f.write_bytes(b"mosaic bytes")
    st = os.stat(f)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns - 20_000_000))  # made 20 ms ago
    integrity.write_record(scratch / "prod.meta", {"mosaic.fits": integrity.sha256_made(f)})
    assert os.getxattr(f, integrity.STAMP).startswith(_sha(b"mosaic bytes").encode())
    return scratch


def _stage_out(tmp_path: Path, scratch: Path, *, meta: bool = True) -> tuple[int, Path]:
    dst = tmp_path / "outputs" / "mosaic.fits"
    t: dict[str, object] = {"lfn": "mosaic.fits", "src": [(scratch / "mosaic.fits").as_uri()],
                            "dst": dst.as_uri()}  # fmt: skip
    if meta:
        t["meta"] = (scratch / "prod.meta").as_uri()
    else:
        t["sha256"] = _sha(b"mosaic bytes")
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"transfers": [t]}))
    return transfer.main([str(manifest)]), dst


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file read to be hashed (a copy hashes what it copies; a check hashes a file)."""
    seen: list[Path] = []
    real_of, real_copy = integrity.sha256_of, transfer._copy_file

    def counting_of(path: Path) -> str:
        seen.append(Path(path))
        return real_of(path)

    def counting_copy(src: Path, tmp: Path, want: bool) -> str | None:
        seen.append(Path(src))
        return real_copy(src, tmp, want)

    monkeypatch.setattr(integrity, "sha256_of", counting_of)
    monkeypatch.setattr(transfer, "sha256_of", counting_of)
    monkeypatch.setattr(transfer, "_copy_file", counting_copy)
    return seen


def test_a_stamped_output_is_staged_out_as_a_hard_link(
    tmp_path: Path, made: Path, hashes: list[Path]
):
    code, dst = _stage_out(tmp_path, made)
    assert code == 0
    assert os.path.samefile(dst, made / "mosaic.fits")
    assert os.stat(dst).st_nlink == 2
    assert hashes == []  # the producer's stamp vouched for the bytes
    assert [p.name for p in dst.parent.iterdir()] == ["mosaic.fits"]  # no temporary left
    # and the file still verifies against its record, by its stamp or by its bytes
    integrity.verify("mosaic.fits", dst, _sha(b"mosaic bytes"), stamp=True)
    assert integrity.sha256_of(dst) == _sha(b"mosaic bytes")


def test_a_reader_after_the_link_still_trusts_the_stamp(
    tmp_path: Path, made: Path, hashes: list[Path]
):
    """The file now has two names; a reader in scratch (mShrink after the stage-out) does
    not hash it again, but nothing new is stamped on a file with two names."""
    _stage_out(tmp_path, made)
    checks = [{"lfn": "mosaic.fits", "meta": "prod.meta"}]
    from planner.tools import cluster

    assert cluster.check_inputs(checks, made) == []
    assert hashes == []


def test_a_file_changed_after_its_stamp_is_copied_hashed_and_refused(
    tmp_path: Path, made: Path, hashes: list[Path], capsys: pytest.CaptureFixture[str]
):
    (made / "mosaic.fits").write_bytes(b"mosaic BYTES")  # same size, a new mtime
    code, dst = _stage_out(tmp_path, made)
    assert code == 1
    assert "sha256 mismatch" in capsys.readouterr().err
    assert not dst.exists()
    assert hashes == [made / "mosaic.fits"]


def test_across_file_systems_the_file_is_copied_and_hashed(
    tmp_path: Path, made: Path, hashes: list[Path], monkeypatch: pytest.MonkeyPatch
):
    def other_device(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", other_device)
    code, dst = _stage_out(tmp_path, made)
    assert code == 0
    assert dst.read_bytes() == b"mosaic bytes"
    assert os.stat(dst).st_nlink == 1 and not os.path.samefile(dst, made / "mosaic.fits")
    assert hashes == [made / "mosaic.fits"]


def test_a_file_the_workflow_did_not_make_is_copied(tmp_path: Path, made: Path, hashes: list[Path]):
    """Without a checksum record the source may be a user's file: never a second name."""
    code, dst = _stage_out(tmp_path, made, meta=False)
    assert code == 0
    assert os.stat(dst).st_nlink == 1
    assert hashes == [made / "mosaic.fits"]


def test_an_unstamped_file_is_copied_and_hashed(tmp_path: Path, hashes: list[Path]):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "mosaic.fits").write_bytes(b"mosaic bytes")
    integrity.write_record(scratch / "prod.meta", {"mosaic.fits": _sha(b"mosaic bytes")})
    code, dst = _stage_out(tmp_path, scratch)
    assert code == 0
    assert os.stat(dst).st_nlink == 1
    assert hashes == [scratch / "mosaic.fits"]


def test_a_cluster_scratch_pull_copies_even_a_stamped_file(made: Path, tmp_path: Path):
    """A job's tasks may write to their inputs in its scratch directory: they get a copy."""
    job = tmp_path / "job"
    job.mkdir()
    pull = {"lfn": "mosaic.fits", "src": [(made / "mosaic.fits").as_uri()],
            "dst": "mosaic.fits", "meta": (made / "prod.meta").as_uri()}  # fmt: skip
    assert transfer.run_transfers([pull], job) == []
    assert os.stat(job / "mosaic.fits").st_nlink == 1
