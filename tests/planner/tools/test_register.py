"""wfplan-register: one transaction per manifest, nothing lost under concurrency."""

from __future__ import annotations

import json
import multiprocessing
import sys
from pathlib import Path

from catalogs.replica_sqlite import SQLiteReplicaCatalog
from planner.tools import register


def _manifest(path: Path, catalog: Path, lfns: list[str]) -> Path:
    reps = [
        {"lfn": lfn, "pfn": f"file:///out/{lfn}", "site": "local", "sha256": None} for lfn in lfns
    ]
    path.write_text(json.dumps({"catalog": str(catalog), "replicas": reps}))
    return path


def test_register_writes_replicas(tmp_path: Path):
    db = tmp_path / "rc.db"
    m = _manifest(tmp_path / "m.json", db, ["a", "b"])
    assert register.main([str(m)]) == 0
    with SQLiteReplicaCatalog(db) as rc:
        assert [p.url for p in rc.lookup("b")] == ["file:///out/b"]


def test_bad_manifest_fails_cleanly(tmp_path: Path, capsys):
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"catalog": str(tmp_path / "rc.db"), "replicas": [{"lfn": "a"}]}))
    assert register.main([str(m)]) == 1
    assert "lacks" in capsys.readouterr().err


def _register_and_exit(manifest: str) -> None:
    sys.exit(register.main([manifest]))


def test_fifty_concurrent_registrations_lose_nothing(tmp_path: Path):
    # forked processes (modules already imported) so 50 writers really overlap
    ctx = multiprocessing.get_context("fork")
    db = tmp_path / "rc.db"
    procs = []
    for i in range(50):
        m = _manifest(tmp_path / f"m{i}.json", db, [f"f{i}.a", f"f{i}.b"])
        procs.append(ctx.Process(target=_register_and_exit, args=(str(m),)))
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * 50
    with SQLiteReplicaCatalog(db) as rc:
        for i in range(50):
            for suffix in "ab":
                assert [p.url for p in rc.lookup(f"f{i}.{suffix}")] == [
                    f"file:///out/f{i}.{suffix}"
                ]
