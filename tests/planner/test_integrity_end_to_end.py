"""Integrity at every hop, end to end (``wfplan plan`` then ``wfplan run``): a file altered
between the job that made it and the job that reads it fails the reader, in every data
configuration; condorio inputs handed to the job directly are checked; registrations
carry the sha256 of the real file; reuse checks a replica against its registered sha256;
``pegasus.integrity.checking`` switches it all off."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from e2e_catalogs import install_programs, write_file_sites, write_rc, write_tc

from catalogs.replica_sqlite import SQLiteReplicaCatalog
from planner.cli import main
from planner.emit.record import load_plan_record

DIAMOND = Path(__file__).resolve().parents[1] / "e2e" / "diamond"
EXPECTED = "analyze(range(pre(data)),range(pre(data)))\n"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _setup(
    tmp: Path, fa_sha256: str | None = None, pools: tuple[str, ...] = ("condorpool",)
) -> list[str]:
    """The diamond's programs and catalogs in ``tmp``, every program installed on every
    site of ``pools`` (scratch ``pool-scratch`` for condorpool, ``<pool>-scratch`` for the
    others); the plan's catalog arguments."""
    names = ("preprocess", "findrange", "analyze")
    bin_dir = install_programs(DIAMOND, names, tmp)
    (tmp / "f.a").write_text("data\n")
    write_tc(tmp, bin_dir, names, pools)
    write_rc(tmp, "f.a", fa_sha256)
    write_file_sites(tmp, pools)
    return ["--sc", str(tmp / "sites.yml"), "--tc", str(tmp / "tc.yml")]


def _plan(tmp: Path, submit: str, *extra: str, rcs: tuple[str, ...] = ()) -> dict:
    rc_args = [a for rc in (rcs or (str(tmp / "rc.yml"),)) for a in ("--rc", rc)]
    argv = [
        "plan", str(DIAMOND / "workflow.yml"), *_setup_args(tmp), *rc_args,
        "--dir", str(tmp / submit), "--sites", "condorpool", "--output-rc", str(tmp / "out.db"),
        *extra,
    ]  # fmt: skip
    assert main(argv) == 0
    return load_plan_record(tmp / submit)


def _setup_args(tmp: Path) -> list[str]:
    return ["--sc", str(tmp / "sites.yml"), "--tc", str(tmp / "tc.yml")]


def _run(tmp: Path, submit: str, capsys) -> int:
    capsys.readouterr()
    return main(["run", str(tmp / submit), "-j", "2"])


def _rerun_from(submit: Path, node: str) -> None:
    """Make the next ``wfplan run`` run ``node`` and its descendants again, nothing else
    (a rescue file with every other node DONE, as DAGMan would apply it)."""
    record = load_plan_record(submit)
    children = {n["name"]: n["children"] for n in record["nodes"]}
    again, todo = set(), [node]
    while todo:
        name = todo.pop()
        if name not in again:
            again.add(name)
            todo.extend(children[name])
    for old in [*submit.glob("diamond.dag.rescue*"), submit / "diamond.dag.journal"]:
        old.unlink(missing_ok=True)
    done = sorted(set(children) - again)
    (submit / "diamond.dag.rescue001").write_text("".join(f"DONE {n}\n" for n in done))


def _staging(tmp: Path, config: str) -> Path:
    return tmp / ("local-scratch" if config == "condorio" else "pool-scratch") / "diamond"


@pytest.mark.parametrize("config", ["condorio", "sharedfs", "nonsharedfs"])
def test_an_intermediate_altered_between_producer_and_consumer_fails_the_consumer(
    tmp_path: Path, config: str, capsys
):
    _setup(tmp_path)
    _plan(tmp_path, "submit", "--data-configuration", config, "--cleanup", "none")
    assert _run(tmp_path, "submit", capsys) == 0, capsys.readouterr().err
    assert (tmp_path / "outputs" / "f.d").read_text() == EXPECTED
    # the register nodes recorded the sha256 of the files that reached the output site
    with SQLiteReplicaCatalog(tmp_path / "out.db") as rc:
        registered = rc.to_catalog()
    for lfn in ("f.c1", "f.c2", "f.d"):
        real = (tmp_path / "outputs" / lfn).read_text()
        assert registered.sha256(lfn) == _sha(real), lfn

    (_staging(tmp_path, config) / "f.b1").write_text("pre(tampered)\n")
    _rerun_from(tmp_path / "submit", "findrange_ID2")
    assert _run(tmp_path, "submit", capsys) == 1
    err = (tmp_path / "submit" / "findrange_ID2.err").read_text()
    assert "f.b1" in err, err
    assert f"expected {_sha('pre(data)' + chr(10))}" in err, err
    assert f"found {_sha('pre(tampered)' + chr(10))}" in err, err
    record = json.loads((tmp_path / "submit" / "diamond.dag.status").read_text())
    assert [f["node"] for f in record["failed"]] == ["findrange_ID2"]


@pytest.mark.parametrize("good", [True, False])
def test_a_condorio_input_handed_to_the_job_directly_is_checked(tmp_path: Path, good: bool, capsys):
    _setup(tmp_path, fa_sha256=_sha("data\n" if good else "other\n"))
    conf = tmp_path / "pegasus.properties"
    conf.write_text("pegasus.transfer.bypass.input.staging = true\n")
    record = _plan(tmp_path, "submit", "--data-configuration", "condorio", "--conf", str(conf))
    assert not [n for n in record["nodes"] if n["kind"] == "stage_in"]  # bypassed
    code = _run(tmp_path, "submit", capsys)
    if good:
        assert code == 0, capsys.readouterr().err
        assert (tmp_path / "outputs" / "f.d").read_text() == EXPECTED
        return
    assert code == 1
    err = (tmp_path / "submit" / "preprocess_ID1.err").read_text()
    assert "f.a: sha256 mismatch in" in err, err
    assert f"expected {_sha('other' + chr(10))}, found {_sha('data' + chr(10))}" in err, err
    assert not (tmp_path / "outputs" / "f.d").exists()


def test_reuse_checks_a_replica_against_its_registered_sha256(tmp_path: Path, capsys):
    _setup(tmp_path)
    _plan(tmp_path, "run1")
    assert _run(tmp_path, "run1", capsys) == 0, capsys.readouterr().err
    rcs = (str(tmp_path / "rc.yml"), str(tmp_path / "out.db"))
    with SQLiteReplicaCatalog(tmp_path / "out.db") as rc:
        # f.c1 and f.d are made again; ID4 reads f.c2 from its registered replica
        assert rc.remove("f.c1") == 1 and rc.remove("f.d") == 1
    (tmp_path / "outputs" / "f.c1").unlink()
    (tmp_path / "outputs" / "f.d").unlink()
    (tmp_path / "outputs" / "f.c2").write_text("range(tampered)\n")
    again = _plan(tmp_path, "run2", rcs=rcs)
    assert sorted(p["job"] for p in again["pruned"]) == ["ID3"]
    (staged,) = [
        f
        for n in again["nodes"]
        if n["kind"] == "stage_in"
        for f in n["files"]
        if f["lfn"] == "f.c2"
    ]
    assert staged["sha256"] == _sha("range(pre(data))\n")  # the registered one
    assert _run(tmp_path, "run2", capsys) == 1
    status = json.loads((tmp_path / "run2" / "diamond.dag.status").read_text())
    (failed,) = status["failed"]
    err = (tmp_path / "run2" / f"{failed['node']}.err").read_text()
    assert failed["node"].startswith("stage_in_") and "f.c2" in err, err
    assert f"found {_sha('range(tampered)' + chr(10))}" in err, err


def test_integrity_checking_none_computes_and_checks_nothing(tmp_path: Path, capsys):
    _setup(tmp_path, fa_sha256=_sha("not the data\n"))
    conf = tmp_path / "pegasus.properties"
    conf.write_text("pegasus.integrity.checking = none\n")
    record = _plan(tmp_path, "submit", "--data-configuration", "sharedfs", "--conf", str(conf))
    assert record["options"]["integrity"] == "none"
    sub = (tmp_path / "submit" / "compute_findrange_condorpool.sub").read_text()
    assert f"executable = {tmp_path / 'bin' / 'findrange.py'}" in sub  # run directly
    assert _run(tmp_path, "submit", capsys) == 0, capsys.readouterr().err
    assert not list(_staging(tmp_path, "sharedfs").glob("*.meta"))
    with SQLiteReplicaCatalog(tmp_path / "out.db") as rc:
        assert rc.to_catalog().sha256("f.d") is None


def test_nosymlink_leaves_symlinked_inputs_unhashed(tmp_path: Path):
    _setup(tmp_path, fa_sha256=_sha("data\n"))
    conf = tmp_path / "pegasus.properties"
    files = {}
    for level in ("full", "nosymlink"):
        conf.write_text(f"pegasus.integrity.checking = {level}\n")
        record = _plan(tmp_path, level, "--conf", str(conf))
        (files[level],) = [
            f for n in record["nodes"] if n["kind"] == "stage_in" for f in n["files"]
        ]
    # f.a is on site local and condorio stages to local: the stage-in is a symbolic link
    assert files["full"]["sha256"] == _sha("data\n")
    assert files["nosymlink"]["sha256"] is None


def test_an_unknown_integrity_level_is_one_clear_error(tmp_path: Path, capsys):
    _setup(tmp_path)
    conf = tmp_path / "pegasus.properties"
    conf.write_text("pegasus.integrity.checking = most\n")
    argv = [
        "plan", str(DIAMOND / "workflow.yml"), *_setup_args(tmp_path), "--rc",
        str(tmp_path / "rc.yml"), "--dir", str(tmp_path / "s"), "--conf", str(conf),
    ]  # fmt: skip
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "pegasus.integrity.checking 'most' is not one of full, nosymlink, none" in err


@pytest.mark.parametrize("config", ["sharedfs", "nonsharedfs"])
def test_a_file_moved_to_another_staging_site_is_checked_there_by_its_reader(
    tmp_path: Path, config: str, capsys
):
    """preprocess on condorpool, findrange_ID2 on pool2: stage_inter copies f.b1 and its
    producer's record to pool2's scratch, and the job there checks the copy."""
    import yaml

    _setup(tmp_path, pools=("condorpool", "pool2"))
    doc = yaml.safe_load((DIAMOND / "workflow.yml").read_text())
    for job in doc["jobs"]:
        site = "pool2" if job["id"] == "ID2" else "condorpool"
        job["profiles"] = {"selector": {"execution.site": site}}
    wf = tmp_path / "workflow.yml"
    wf.write_text(yaml.safe_dump(doc))
    scratch2 = tmp_path / "pool2-scratch"
    argv = [
        "plan", str(wf), *_setup_args(tmp_path), "--rc", str(tmp_path / "rc.yml"),
        "--dir", str(tmp_path / "submit"), "--sites", "condorpool,pool2",
        "--output-rc", str(tmp_path / "out.db"), "--data-configuration", config,
        "--cleanup", "none",
    ]  # fmt: skip
    assert main(argv) == 0
    record = load_plan_record(tmp_path / "submit")
    moved = {f["lfn"] for n in record["nodes"] if n["kind"] == "stage_inter" for f in n["files"]}
    assert {"f.b1", "preprocess_ID1.meta"} <= moved
    assert _run(tmp_path, "submit", capsys) == 0, capsys.readouterr().err
    assert (tmp_path / "outputs" / "f.d").read_text() == EXPECTED
    assert (scratch2 / "diamond" / "preprocess_ID1.meta").is_file()

    (scratch2 / "diamond" / "f.b1").write_text("pre(tampered)\n")
    _rerun_from(tmp_path / "submit", "findrange_ID2")
    assert _run(tmp_path, "submit", capsys) == 1
    err = (tmp_path / "submit" / "findrange_ID2.err").read_text()
    assert "f.b1" in err and f"found {_sha('pre(tampered)' + chr(10))}" in err, err
