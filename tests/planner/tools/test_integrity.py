"""Integrity at every hop, job side: checksum records written where files are made and
checked by every reader (wfplan-cluster, wfplan-transfer, wfplan-register)."""

from __future__ import annotations

import hashlib
import json
import os
import string
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalogs.replica_sqlite import SQLiteReplicaCatalog
from planner.tools import cluster, integrity, register, transfer
from planner.tools.integrity import read_record, write_record
from tests.planner.tools.fsprobe import xattrs_work


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _writer(tmp: Path, name: str = "make.py") -> Path:
    """A program that writes argv[1] with the bytes of argv[2] and notes it ran."""
    prog = tmp / name
    prog.write_text(
        f"#!{sys.executable}\nimport sys\nopen(sys.argv[1], 'w').write(sys.argv[2])\n"
        "open('ran', 'a').write('x')\n"
    )
    prog.chmod(0o755)
    return prog


def test_the_command_line_job_records_the_sha256_of_its_outputs(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    prog = _writer(tmp_path)
    args = [
        "--job",
        "--output",
        "out.txt",
        "--record",
        "n1.meta",
        "--",
        str(prog),
        "out.txt",
        "hello",
    ]
    assert cluster.main(args) == 0
    assert read_record("n1.meta", tmp_path) == {"out.txt": _sha(b"hello")}


def test_an_input_altered_after_its_record_stops_the_job_naming_it(
    tmp_path: Path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("made by the producer")
    write_record(tmp_path / "prod.meta", {"in.txt": _sha(b"made by the producer")})
    (tmp_path / "in.txt").write_text("altered at rest")
    prog = _writer(tmp_path)
    args = ["--job", "--check", "in.txt", "prod.meta", "--", str(prog), "o", "x"]
    assert cluster.main(args) == 1
    err = capsys.readouterr().err
    assert "in.txt: sha256 mismatch" in err
    assert f"expected {_sha(b'made by the producer')}" in err
    assert f"found {_sha(b'altered at rest')}" in err
    assert not (tmp_path / "ran").exists()  # the task never started


def test_a_catalog_sha256_is_checked_too_and_a_good_file_passes(
    tmp_path: Path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "raw.dat").write_bytes(b"raw")
    prog = _writer(tmp_path)
    good = ["--job", "--sha256", "raw.dat", _sha(b"raw"), "--", str(prog), "o", "x"]
    assert cluster.main(good) == 0
    bad = ["--job", "--sha256", "raw.dat", _sha(b"other"), "--", str(prog), "o", "x"]
    assert cluster.main(bad) == 1
    assert "raw.dat: sha256 mismatch" in capsys.readouterr().err


def test_a_missing_record_or_entry_fails_naming_it(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("x")
    prog = _writer(tmp_path)
    assert cluster.main(["--job", "--check", "in.txt", "gone.meta", "--", str(prog), "o", "x"]) == 1
    assert "cannot read checksum record gone.meta" in capsys.readouterr().err
    write_record(tmp_path / "p.meta", {"other": _sha(b"x")})
    assert cluster.main(["--job", "--check", "in.txt", "p.meta", "--", str(prog), "o", "x"]) == 1
    assert "in.txt: no sha256 for it in checksum record p.meta" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["--job"],
        [
            "--job",
            "--",
        ],
        ["--job", "--check", "a", "--", "x"],
        ["--job", "--bogus", "--", "x"],
    ],
)
def test_a_malformed_command_line_is_a_usage_error(args: list[str], capsys):
    assert cluster.main(args) == 2
    assert "usage: wfplan-cluster --job" in capsys.readouterr().err


def test_the_job_exits_with_its_task_code(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    prog = tmp_path / "fail.sh"
    prog.write_text("#!/bin/sh\nexit 3\n")
    prog.chmod(0o755)
    assert cluster.main(["--job", "--output", "o", "--record", "n.meta", "--", str(prog)]) == 3
    assert not (tmp_path / "n.meta").exists()  # a failed job records nothing


def test_a_scratch_job_checks_inputs_as_it_pulls_them_and_pushes_its_record(tmp_path: Path, capsys):
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "in.txt").write_text("good")
    write_record(staging / "p.meta", {"in.txt": _sha(b"good")})
    prog = _writer(tmp_path)
    manifest = {
        "scratch": True,
        "tasks": [{"id": "T", "executable": str(prog), "arguments": ["out.txt", "made"]}],
        "inputs": [
            {
                "lfn": "in.txt",
                "src": [(staging / "in.txt").as_uri()],
                "dst": "in.txt",
                "meta": (staging / "p.meta").as_uri(),
            }
        ],
        "outputs": [{"lfn": "out.txt", "src": ["out.txt"], "dst": (staging / "out.txt").as_uri()}],
        "record": {"file": (staging / "n.meta").as_uri(), "lfns": ["out.txt"]},
    }
    m = tmp_path / "m.json"
    m.write_text(json.dumps(manifest))
    assert cluster.main([str(m)]) == 0
    assert read_record(str(staging / "n.meta")) == {"out.txt": _sha(b"made")}
    (staging / "in.txt").write_text("bad!")
    assert cluster.main([str(m)]) == 1
    err = capsys.readouterr().err
    assert "in.txt" in err and f"expected {_sha(b'good')}, found {_sha(b'bad!')}" in err


def test_transfers_take_the_expected_sha256_from_the_record(tmp_path: Path, capsys):
    src = tmp_path / "f.c1"
    src.write_text("range")
    record = tmp_path / "findrange_ID2.meta"
    write_record(record, {"f.c1": _sha(b"range")})
    t = {"lfn": "f.c1", "src": [src.as_uri()], "dst": (tmp_path / "out" / "f.c1").as_uri()}
    t["meta"] = record.as_uri()
    assert transfer.run_transfers([t]) == []
    src.write_text("changed")
    (problem,) = transfer.run_transfers([t])
    assert problem.startswith("f.c1: could not transfer")
    assert f"expected {_sha(b'range')}, found {_sha(b'changed')}" in problem
    assert (tmp_path / "out" / "f.c1").read_text() == "range"  # the good copy stays


def test_register_stores_the_sha256_of_the_record(tmp_path: Path):
    record = tmp_path / "a.meta"
    write_record(record, {"f.d": "ab" * 32})
    db = tmp_path / "rc.db"
    rep = {"lfn": "f.d", "pfn": "file:///out/f.d", "site": "local", "sha256": None}
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"catalog": str(db), "replicas": [rep | {"meta": str(record)}]}))
    assert register.main([str(m)]) == 0
    with SQLiteReplicaCatalog(db) as rc:
        assert rc.to_catalog().sha256("f.d") == "ab" * 32


def test_register_refuses_a_replica_whose_record_is_missing(tmp_path: Path, capsys):
    rep = {"lfn": "f.d", "pfn": "file:///o", "site": "local", "meta": str(tmp_path / "x.meta")}
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"catalog": str(tmp_path / "rc.db"), "replicas": [rep]}))
    assert register.main([str(m)]) == 1
    assert "x.meta" in capsys.readouterr().err
    with SQLiteReplicaCatalog(tmp_path / "rc.db") as rc:
        assert rc.to_catalog().sha256("f.d") is None and not list(rc.lookup("f.d"))


_NAMES = st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    files=st.dictionaries(
        _NAMES.filter(lambda n: n not in (".", "..", "rec.meta")),
        st.binary(max_size=300),
        min_size=1,
        max_size=5,
    ),
    data=st.data(),
)
def test_any_changed_byte_is_found_and_only_in_the_changed_file(
    tmp_path_factory: pytest.TempPathFactory, files: dict[str, bytes], data: st.DataObject
) -> None:
    """Invariant: a record made of the files verifies them; changing, adding or removing a
    single byte of one file makes exactly that file fail."""
    d = tmp_path_factory.mktemp("rec")
    for name, content in files.items():
        (d / name).write_bytes(content)
    cluster.record_outputs({"file": "rec.meta", "lfns": sorted(files)}, d)
    checks = [{"lfn": name, "meta": "rec.meta"} for name in sorted(files)]
    assert cluster.check_inputs(checks, d) == []
    victim = data.draw(st.sampled_from(sorted(files)))
    content = bytearray(files[victim])
    edit = data.draw(st.sampled_from(["flip", "add", "cut"] if content else ["add"]))
    if edit == "add":
        content.insert(data.draw(st.integers(0, len(content))), data.draw(st.integers(0, 255)))
    else:
        i = data.draw(st.integers(0, len(content) - 1))
        if edit == "flip":
            content[i] ^= 1 << data.draw(st.integers(0, 7))
        else:
            del content[i]
    (d / victim).write_bytes(bytes(content))
    problems = cluster.check_inputs(checks, d)
    assert len(problems) == 1 and problems[0].startswith(f"{victim}: sha256 mismatch")
    os.remove(d / "rec.meta")


# any text, and often the words the command line itself is made of
_ANY = st.sampled_from(
    ["--", "--job", "--check", "--sha256", "--output", "--record", ""]
) | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10)


@settings(max_examples=300, deadline=None)
@given(
    checks=st.lists(
        st.tuples(_ANY, st.booleans(), _ANY.filter(lambda v: "/" not in v)), max_size=4
    ),
    outputs=st.lists(_ANY, max_size=4),
    command=st.lists(_ANY, min_size=1, max_size=4),
)
def test_the_job_command_line_reads_back_what_the_emitter_wrote(
    checks: list[tuple[str, bool, str]], outputs: list[str], command: list[str]
) -> None:
    """Whatever the LFNs and arguments (``--``, ``--check``, quotes, spaces, ``sha256:``
    prefixes...), ``wfplan-cluster --job`` gets the checks, outputs and command the
    emitter meant. (That the quoted line reaches the job intact is the quoting's own
    property test.)"""
    from planner.emit.submit import _job_args
    from planner.model.concrete import DataConfiguration, Node, NodeKind, Task, Transfer

    inputs = tuple(
        Transfer(
            lfn,
            lfn,
            ("file:///s/" + lfn,),
            value or "0" if is_sha else None,
            meta=None if is_sha else f"file:///s/{value}.meta",
        )
        for lfn, is_sha, value in checks
    )
    outs = tuple(
        Transfer(lfn, "file:///s/" + lfn, (lfn,), meta="file:///s/n.meta") for lfn in outputs
    )
    task = Task("J", "tx", command[0], tuple(command[1:]))
    node = Node(
        name="n",
        kind=NodeKind.COMPUTE,
        site="siteA",
        level=1,
        tasks=(task,),
        inputs=inputs,
        outputs=outs,
        data_configuration=DataConfiguration.SHAREDFS,
    )
    doc = cluster.parse_job_args(_job_args(node, task, list(inputs), list(outs)))
    assert doc is not None
    want = [
        {"lfn": t.lfn, "sha256": t.sha256}
        if t.sha256
        else {"lfn": t.lfn, "meta": (t.meta or "").rsplit("/", 1)[-1]}
        for t in inputs
    ]
    assert doc["checks"] == want
    assert doc["tasks"] == [{"id": "job", "executable": command[0], "arguments": command[1:]}]
    assert doc.get("record") == ({"file": "n.meta", "lfns": outputs} if outputs else None)


# ---- one hash per file per site: the readers' stamp ------------------------------------


def _aged(path: Path, data: bytes) -> Path:
    """Write ``data`` and date its last write two seconds back, as for a file made by an
    earlier job: a stamp is kept only well after the last write."""
    path.write_bytes(data)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 2_000_000_000))
    return path


@pytest.fixture
def hashes(monkeypatch) -> list[Path]:
    """Every file integrity hashes, in order."""
    seen: list[Path] = []
    real = integrity.sha256_of

    def counting(path: Path) -> str:
        seen.append(Path(path))
        return real(path)

    monkeypatch.setattr(integrity, "sha256_of", counting)
    return seen


def test_readers_of_one_unchanged_file_hash_it_once(tmp_path: Path, hashes: list[Path]):
    if not xattrs_work(tmp_path):
        pytest.skip("no extended attributes on this file system")
    f = _aged(tmp_path / "p.fits", b"projected")
    write_record(tmp_path / "prod.meta", {"p.fits": _sha(b"projected")})
    checks = [{"lfn": "p.fits", "meta": "prod.meta"}]
    for _ in range(3):  # three jobs reading it, one after the other
        assert cluster.check_inputs(checks, tmp_path) == []
    assert hashes == [f]


def test_a_file_changed_after_its_check_is_hashed_again_and_fails(
    tmp_path: Path, hashes: list[Path]
):
    f = _aged(tmp_path / "p.fits", b"projected")
    integrity.verify("p.fits", f, _sha(b"projected"), stamp=True)
    f.write_bytes(b"corrupted")  # same size, a new mtime
    with pytest.raises(integrity.IntegrityError, match=r"p\.fits: sha256 mismatch"):
        integrity.verify("p.fits", f, _sha(b"projected"), stamp=True)
    assert hashes == [f, f]


def test_a_file_checked_just_after_its_last_write_is_not_stamped(
    tmp_path: Path, hashes: list[Path]
):
    # A write in the same clock tick as the last one may leave the mtime as it was. The
    # last write is dated a little ahead, so that it is recent whatever the machine's load.
    f = tmp_path / "fresh.fits"
    f.write_bytes(b"fresh")
    st = os.stat(f)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))
    for _ in range(2):
        integrity.verify("fresh.fits", f, _sha(b"fresh"), stamp=True)
    assert hashes == [f, f]
    assert integrity.STAMP not in os.listxattr(f)


def test_a_stamp_vouches_only_for_its_own_digest(tmp_path: Path, hashes: list[Path]):
    f = _aged(tmp_path / "p.fits", b"projected")
    integrity.verify("p.fits", f, _sha(b"projected"), stamp=True)
    with pytest.raises(integrity.IntegrityError, match="sha256 mismatch"):
        integrity.verify("p.fits", f, _sha(b"another"), stamp=True)
    assert len(hashes) == 2


def test_a_linked_input_is_hashed_by_every_reader_and_never_marked(
    tmp_path: Path, hashes: list[Path]
):
    original = _aged(tmp_path / "user-image.fits", b"raw")
    (tmp_path / "job").mkdir()
    os.symlink(original, tmp_path / "job" / "raw.fits")
    os.link(original, tmp_path / "job" / "hard.fits")
    checks = [
        {"lfn": "raw.fits", "sha256": _sha(b"raw")},
        {"lfn": "hard.fits", "sha256": _sha(b"raw")},
    ]
    for _ in range(2):
        assert cluster.check_inputs(checks, tmp_path / "job") == []
    assert len(hashes) == 4
    assert integrity.STAMP not in os.listxattr(original)


def test_without_extended_attributes_every_reader_hashes(
    tmp_path: Path, hashes: list[Path], monkeypatch
):
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr(os, "setxattr", refuse)
    f = _aged(tmp_path / "p.fits", b"projected")
    for _ in range(2):
        integrity.verify("p.fits", f, _sha(b"projected"), stamp=True)
    assert hashes == [f, f]


def test_whole_second_times_need_a_longer_wait_before_a_stamp_counts():
    def times(mtime_ns: int, ctime_ns: int) -> os.stat_result:
        return os.stat_result((0o100644, 1, 1, 1, 0, 0, 1, 0, 0, 0), {
            "st_mtime_ns": mtime_ns, "st_ctime_ns": ctime_ns})  # fmt: skip

    fine = integrity._stamp_after(times(5_123_456_789, 7_000_000_001))
    coarse = integrity._stamp_after(times(5_000_000_000, 7_000_000_000))
    assert fine < 1_000_000_000 < 2_000_000_000 < coarse  # FAT keeps times in 2 s steps


# ---- the producer's stamp: a file is hashed once where it is made ------------------


def _backdated(path: Path, data: bytes, ns: int) -> Path:
    """Write ``data`` and date its last write ``ns`` back (the job made it just before)."""
    path.write_bytes(data)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - ns))
    return path


def test_a_job_stamps_what_it_made_so_its_readers_do_not_hash_it(
    tmp_path: Path, hashes: list[Path]
):
    """The record's hash is the only one: the next job reads the file without hashing it,
    even when it starts within 0.1 s of the file's last write."""
    if not xattrs_work(tmp_path):
        pytest.skip("no extended attributes on this file system")
    f = _backdated(tmp_path / "p.fits", b"projected", 20_000_000)  # 20 ms: past a tick
    cluster.record_outputs({"file": "prod.meta", "lfns": ["p.fits"]}, tmp_path)
    assert json.loads((tmp_path / "prod.meta").read_text()) == {"p.fits": _sha(b"projected")}
    checks = [{"lfn": "p.fits", "meta": "prod.meta"}]
    for _ in range(2):
        assert cluster.check_inputs(checks, tmp_path) == []
    assert hashes == [f]


def test_a_write_after_the_producer_hashed_is_caught(tmp_path: Path, hashes: list[Path]):
    if not xattrs_work(tmp_path):
        pytest.skip("no extended attributes on this file system")
    f = _backdated(tmp_path / "p.fits", b"projected", 20_000_000)
    assert integrity.sha256_made(f) == _sha(b"projected")
    f.write_bytes(b"corrupted")  # same size: only the new mtime tells
    with pytest.raises(integrity.IntegrityError, match=r"p\.fits: sha256 mismatch"):
        integrity.verify("p.fits", f, _sha(b"projected"), stamp=True)
    assert hashes == [f, f]


def test_a_file_made_in_the_producers_clock_tick_is_not_stamped(tmp_path: Path, hashes: list[Path]):
    """When the file system's clock is not past the last write when the producer starts
    hashing (here: the last write dated ahead), a later write might keep the mtime: no
    stamp, no placeholder left, and every reader hashes."""
    if not xattrs_work(tmp_path):
        pytest.skip("no extended attributes on this file system")
    f = _backdated(tmp_path / "p.fits", b"projected", -10_000_000_000)
    assert integrity.sha256_made(f) == _sha(b"projected")
    assert integrity.STAMP not in os.listxattr(f)
    integrity.verify("p.fits", f, _sha(b"projected"), stamp=True)
    assert hashes == [f, f]


def test_a_linked_output_is_hashed_but_not_stamped(tmp_path: Path, hashes: list[Path]):
    original = _backdated(tmp_path / "mine.fits", b"user's", 2_000_000_000)
    os.link(original, tmp_path / "out.fits")
    assert integrity.sha256_made(tmp_path / "out.fits") == _sha(b"user's")
    assert integrity.STAMP not in os.listxattr(original)


@settings(max_examples=25, deadline=None)
@given(size=st.integers(0, 3 << 20), seed=st.integers(0, 255))
def test_sha256_of_is_the_sha256_of_the_bytes(tmp_path_factory, size: int, seed: int):
    """Whatever the size against the read buffer (empty, smaller, several blocks)."""
    data = bytes((seed + i * 7) % 256 for i in range(size % 5000)) * (size // 5000 + 1)
    f = tmp_path_factory.mktemp("sha") / "f.bin"
    f.write_bytes(data)
    assert integrity.sha256_of(f) == _sha(data)
