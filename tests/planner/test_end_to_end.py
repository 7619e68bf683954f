"""Plan the diamond with ``wfplan plan`` and run it with ``wfplan run``: every data
configuration, clustered and not; then the reuse scenario of issue 4."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_catalogs import install_programs, write_file_sites, write_rc, write_tc

from catalogs.replica_sqlite import SQLiteReplicaCatalog
from planner.cli import main
from planner.emit.record import load_plan_record

DIAMOND = Path(__file__).resolve().parents[1] / "e2e" / "diamond"
EXPECTED = "analyze(range(pre(data)),range(pre(data)))\n"


def _setup(tmp: Path) -> dict[str, Path]:
    names = ("preprocess", "findrange", "analyze")
    bin_dir = install_programs(DIAMOND, names, tmp)
    (tmp / "f.a").write_text("data\n")
    write_tc(tmp, bin_dir, names, ("condorpool",))
    write_rc(tmp, "f.a")
    write_file_sites(tmp, ("condorpool",))
    return {name: tmp / f"{name}.yml" for name in ("tc", "rc", "sites")}


def _plan(
    tmp: Path, files: dict[str, Path], submit: Path, *extra: str, rcs: tuple[str, ...] = ()
) -> dict:
    rc_args = [a for rc in (rcs or (str(files["rc"]),)) for a in ("--rc", rc)]
    argv = [
        "plan", str(DIAMOND / "workflow.yml"), "--sc", str(files["sites"]), "--tc", str(files["tc"]),
        *rc_args, "--dir", str(submit), "--sites", "condorpool", *extra,
    ]  # fmt: skip
    assert main(argv) == 0
    return load_plan_record(submit)


@pytest.mark.parametrize("config", ["condorio", "sharedfs", "nonsharedfs"])
@pytest.mark.parametrize("clustering", [None, "horizontal", "whole"])
def test_diamond_runs_in_every_data_configuration(
    tmp_path: Path, config: str, clustering: str | None, capsys
):
    files = _setup(tmp_path)
    extra = ["--data-configuration", config, "--output-rc", str(tmp_path / "out.db")]
    if clustering:
        extra += ["--cluster", clustering]
    record = _plan(tmp_path, files, tmp_path / "submit", *extra)
    clusters = [n for n in record["nodes"] if n["kind"] == "cluster"]
    assert len(clusters) == (1 if clustering else 0)
    if clustering == "whole":  # the four jobs in one node, in a topological order
        assert clusters[0]["jobs"][0] == "ID1" and clusters[0]["jobs"][-1] == "ID4"
        assert sorted(clusters[0]["jobs"]) == ["ID1", "ID2", "ID3", "ID4"]
    capsys.readouterr()
    assert main(["run", str(tmp_path / "submit"), "-j", "2"]) == 0, capsys.readouterr().err
    summary = capsys.readouterr().out
    # +wfplan_transformation, not the exe (a cluster of several transformations has none)
    for tx in (
        ("wfplan-cluster",) if clustering == "whole" else ("preprocess", "findrange", "analyze")
    ):
        assert f"\n{tx} " in summary, summary
    assert (tmp_path / "outputs" / "f.d").read_text() == EXPECTED
    with SQLiteReplicaCatalog(tmp_path / "out.db") as rc:
        assert [p.url for p in rc.lookup("f.d")] == [(tmp_path / "outputs" / "f.d").as_uri()]


def test_reuse_prunes_everything_then_only_what_remakes_a_deleted_replica(tmp_path: Path, capsys):
    files = _setup(tmp_path)
    out_db = tmp_path / "out.db"
    _plan(tmp_path, files, tmp_path / "run1", "--output-rc", str(out_db))
    assert main(["run", str(tmp_path / "run1"), "-j", "2"]) == 0
    rcs = (str(files["rc"]), str(out_db))
    again = _plan(tmp_path, files, tmp_path / "run2", rcs=rcs)
    assert sorted(p["job"] for p in again["pruned"]) == ["ID1", "ID2", "ID3", "ID4"]
    assert not [n for n in again["nodes"] if n["jobs"]]
    with SQLiteReplicaCatalog(out_db) as rc:
        assert rc.remove("f.c1") == 1
    (tmp_path / "outputs" / "f.c1").unlink()
    third = _plan(tmp_path, files, tmp_path / "run3", rcs=rcs)
    assert sorted(j for n in third["nodes"] for j in n["jobs"]) == ["ID1", "ID2"]
    capsys.readouterr()
    assert main(["run", str(tmp_path / "run3"), "-j", "2"]) == 0, capsys.readouterr().err
    assert (tmp_path / "outputs" / "f.c1").read_text() == "range(pre(data))\n"
