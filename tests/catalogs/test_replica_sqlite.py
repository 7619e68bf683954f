"""The SQLite replica catalog: the interface, concurrent writers, refusing bad files."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from catalogs import replica_sqlite
from catalogs.errors import CatalogFormatError, CatalogWriteError
from catalogs.replica import PFN, Replica, ReplicaCatalog
from catalogs.replica_sqlite import SQLiteReplicaCatalog

WRITERS = 50
PER_WRITER = 10


def test_register_lookup_remove(tmp_path: Path) -> None:
    with SQLiteReplicaCatalog(tmp_path / "rc.db") as rc:
        rc.register("f.a", "file:///out/f.a", "local", sha256="ab")
        rc.register("f.a", "http://web/f.a", "web")
        rc.register("f.a", "file:///out/f.a", "local")  # again: no duplicate, checksum kept
        rc.register("f.b", "file:///out/f.b", "local")
        assert rc.lookup("f.a") == (
            PFN(url="file:///out/f.a", site="local"),
            PFN(url="http://web/f.a", site="web"),
        )
        assert rc.to_catalog().sha256("f.a") == "ab"
        assert rc.remove("f.a", site="web") == 1
        assert rc.lookup("f.a") == (PFN(url="file:///out/f.a", site="local"),)
        assert rc.remove("f.a") == 1
        assert rc.lookup("f.a") == ()
        assert rc.lookup("f.b") == (PFN(url="file:///out/f.b", site="local"),)


def test_register_many_is_one_transaction(tmp_path: Path) -> None:
    with SQLiteReplicaCatalog(tmp_path / "rc.db") as rc:
        with pytest.raises(CatalogWriteError, match="empty field"):
            rc.register_many([("a", "/a", "s", None), ("b", "", "s", None)])
        assert rc.lookup("a") == ()
        rc.register_many((f"f{i}", f"/f{i}", "s", None) for i in range(100))
        assert len(rc.to_catalog().replicas) == 100


def test_dump_then_load_gives_the_same_catalog(tmp_path: Path) -> None:
    path = tmp_path / "rc.db"
    cat = ReplicaCatalog.of(
        [
            Replica(lfn="a", pfns=(PFN(url="/a", site="s"), PFN(url="/b", site="t")), sha256="ff"),
            Replica(lfn=r"r(\d)", pfns=(PFN(url="/x/[1]", site="s"),), regex=True),
            Replica(lfn="m", pfns=(PFN(url="/m", site="s"),), metadata={"k": "v"}),
        ],
        source=str(path),
    )
    replica_sqlite.dump(cat, path)
    assert replica_sqlite.load(path) == cat
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rc.db"]
    with SQLiteReplicaCatalog(path) as rc:
        assert rc.lookup("r7") == (PFN(url="/x/7", site="s"),)


def test_dump_replaces_an_existing_database(tmp_path: Path) -> None:
    path = tmp_path / "rc.db"
    with SQLiteReplicaCatalog(path) as rc:
        rc.register("old", "/old", "s")
    replica_sqlite.dump(
        ReplicaCatalog.of([Replica(lfn="new", pfns=(PFN(url="/n", site="s"),))]), path
    )
    assert [r.lfn for r in replica_sqlite.load(path).replicas] == ["new"]


def test_the_database_is_in_wal_mode(tmp_path: Path) -> None:
    with SQLiteReplicaCatalog(tmp_path / "rc.db") as rc:
        rc.register("a", "/a", "s")
    conn = sqlite3.connect(tmp_path / "rc.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "rc.db"
    path.write_bytes(b'f.a /a site="s"\n' * 10)
    before = path.read_bytes()
    with pytest.raises(CatalogFormatError) as err:
        replica_sqlite.load(path)
    assert str(err.value) == f"{path}: not an SQLite replica catalog database"
    with pytest.raises(CatalogFormatError):
        SQLiteReplicaCatalog(path).register("a", "/a", "s")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rc.db"]


def test_a_corrupt_database_is_a_format_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rc.db"
    replica_sqlite.dump(
        ReplicaCatalog.of([Replica(lfn="a", pfns=(PFN(url="/a", site="s"),))]), path
    )
    data = bytearray(path.read_bytes())
    data[100:] = b"\xff" * (len(data) - 100)
    path.write_bytes(bytes(data))
    with pytest.raises(CatalogFormatError) as err:
        replica_sqlite.load(path)
    assert str(err.value).startswith(f"{path}: ")
    assert path.read_bytes() == bytes(data)


def test_another_sqlite_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE jobs (id INTEGER)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(CatalogFormatError, match="no 'replicas' table"):
        SQLiteReplicaCatalog(path).lookup("a")
    assert path.read_bytes() == before


def test_loading_a_missing_database_does_not_create_it(tmp_path: Path) -> None:
    with pytest.raises(CatalogFormatError, match="no such file"):
        replica_sqlite.load(tmp_path / "absent.db")
    assert not (tmp_path / "absent.db").exists()


def _writer(path: str, writer: int) -> None:
    rc = SQLiteReplicaCatalog(path)
    half = PER_WRITER // 2
    for i in range(half):
        rc.register(f"w{writer}_f{i}", f"file:///out/w{writer}/f{i}", "local")
    rc.register_many(
        (f"w{writer}_f{i}", f"file:///out/w{writer}/f{i}", "local", None)
        for i in range(half, PER_WRITER)
    )
    rc.register("shared", "file:///out/shared", "local")
    rc.close()


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_fifty_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "rc.db")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, w)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * WRITERS
    cat = replica_sqlite.load(path)
    expected = {f"w{w}_f{i}" for w in range(WRITERS) for i in range(PER_WRITER)} | {"shared"}
    assert {r.lfn for r in cat.replicas} == expected
    assert cat.lookup("shared") == (PFN(url="file:///out/shared", site="local"),)
    assert sum(len(r.pfns) for r in cat.replicas) == WRITERS * PER_WRITER + 1
