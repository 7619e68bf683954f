"""A cloud site behind a staging server (issue 3): the diamond planned with
``--data-configuration nonsharedfs --staging-site condorpool=web``, where site ``web``'s
scratch is only reachable through an http server (a put and a get file server), then run
with ``wfplan run``. ``file_server`` is the GET/PUT/DELETE server of tests/planner/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_catalogs import install_programs, write_rc, write_tc

from planner.cli import main
from planner.emit.record import load_plan_record

DIAMOND = Path(__file__).resolve().parents[1] / "e2e" / "diamond"
EXPECTED = "analyze(range(pre(data)),range(pre(data)))\n"
STAGED = ("f.a", "f.b1", "f.b2", "f.c1", "f.c2", "f.d")
# each job's checksum record goes through the server beside its outputs
RECORDS = ("analyze_ID4.meta", "findrange_ID2.meta", "findrange_ID3.meta", "preprocess_ID1.meta")


def _setup(tmp: Path, server_url: str) -> list[str]:
    """Catalogs in ``tmp``; the ``wfplan plan`` catalog arguments."""
    names = ("preprocess", "findrange", "analyze")
    bin_dir = install_programs(DIAMOND, names, tmp)
    (tmp / "f.a").write_text("data\n")
    write_tc(tmp, bin_dir, names, ("condorpool",))
    write_rc(tmp, "f.a")
    (tmp / "sites.yml").write_text(
        f"""pegasus: "5.0"
sites:
  - name: local
    directories:
      - type: sharedScratch
        path: {tmp / "local-scratch"}
      - type: localStorage
        path: {tmp / "outputs"}
  - name: web
    directories:
      - type: sharedScratch
        path: /srv/scratch
        fileServers:
          - {{url: "{server_url}/scratch", operation: put}}
          - {{url: "{server_url}/scratch", operation: get}}
"""
    )
    return [
        "--sc",
        str(tmp / "sites.yml"),
        "--tc",
        str(tmp / "tc.yml"),
        "--rc",
        str(tmp / "rc.yml"),
    ]


def _plan_and_run(tmp: Path, server_url: str, capsys, *extra: str) -> dict:
    argv = [
        "plan", str(DIAMOND / "workflow.yml"), *_setup(tmp, server_url),
        "--dir", str(tmp / "submit"), "--sites", "condorpool",
        "--data-configuration", "nonsharedfs", "--staging-site", "condorpool=web",
        "--output-rc", str(tmp / "out.db"), *extra,
    ]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["run", str(tmp / "submit"), "-j", "2"]) == 0, capsys.readouterr().err
    assert (tmp / "outputs" / "f.d").read_text() == EXPECTED
    return load_plan_record(tmp / "submit")


def test_files_go_through_the_server_and_cleanup_deletes_them(
    tmp_path: Path, file_server, capsys
) -> None:
    record = _plan_and_run(tmp_path, file_server.url, capsys)
    (create,) = [n for n in record["nodes"] if n["kind"] == "create_dir"]
    assert create["files"][0]["dst"] == f"{file_server.url}/scratch/diamond"
    expected = sorted(f"/scratch/diamond/{lfn}" for lfn in STAGED + RECORDS)
    statuses = {(m, s) for m, _, s in file_server.requests}
    assert statuses <= {("MKCOL", 501), ("PUT", 201), ("GET", 200), ("DELETE", 204)}
    assert file_server.methods("MKCOL") == ["/scratch/diamond/"]
    # each file written once (stage-in of f.a, the jobs' pushes), read by each reader
    assert sorted(file_server.methods("PUT")) == expected
    assert sorted(set(file_server.methods("GET"))) == expected
    assert sorted(file_server.methods("DELETE")) == expected
    assert list((file_server.root / "scratch" / "diamond").iterdir()) == []


def test_without_cleanup_the_server_holds_the_intermediate_files(
    tmp_path: Path, file_server, capsys
) -> None:
    _plan_and_run(tmp_path, file_server.url, capsys, "--cleanup", "none")
    held = file_server.root / "scratch" / "diamond"
    assert sorted(p.name for p in held.iterdir()) == sorted(STAGED + RECORDS)
    assert (held / "f.b1").read_text() == "pre(data)\n"
    assert (held / "f.c2").read_text() == "range(pre(data))\n"
    assert file_server.methods("DELETE") == []


@pytest.mark.parametrize("operation", ["put", "get"])
def test_a_staging_site_with_one_direction_only_is_one_error(
    tmp_path: Path, capsys, operation: str
) -> None:
    args = _setup(tmp_path, "http://127.0.0.1:9")
    sites = tmp_path / "sites.yml"
    text = sites.read_text()
    sites.write_text(
        text.replace("operation: put", f"operation: {operation}").replace(
            "operation: get", f"operation: {operation}"
        )
    )
    argv = [
        "plan", str(DIAMOND / "workflow.yml"), *args, "--dir", str(tmp_path / "submit"),
        "--sites", "condorpool", "--data-configuration", "nonsharedfs",
        "--staging-site", "condorpool=web",
    ]  # fmt: skip
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert str(sites) in err[0] and "site 'web'" in err[0]
    assert f"only {operation} file servers" in err[0]
    assert not (tmp_path / "submit").exists()
