"""Stageable executables (issue 13, defect 5), planned with ``wfplan plan`` and run with
``wfplan run`` in every data configuration.

The transformation ``demo::shout:1.0`` is a ``stageable`` TC entry whose source,
``shout.sh``, lives outside the submit dir and is *not* executable: running it in place
fails, so a node succeeds only if it runs a staged copy that was made executable. The
script prints its own path (``$0``) on stdout, which the tests check too. Three jobs use
it (two on level 1, one on level 2): the copy is staged once per staging site.
"""

from __future__ import annotations

import stat
from pathlib import Path

import htcondor
import pytest

from planner.cli import main
from planner.emit.record import load_plan_record

SCRIPT = """#!/bin/sh
# shout OUT IN...: the inputs upper-cased into OUT; prints the path it runs from
echo "$0"
out=$1
shift
cat "$@" | tr a-z A-Z > "$out"
"""
STAGED = "demo-shout-1.0"  # Pegasus's name for a staged executable: ns-name-version
WORKFLOW = """pegasus: "5.0"
name: shouts
jobs:
  - {type: job, id: ID1, namespace: demo, name: shout, version: "1.0", arguments: [f.b, f.a],
     uses: [{lfn: f.a, type: input}, {lfn: f.b, type: output, stageOut: false}]}
  - {type: job, id: ID2, namespace: demo, name: shout, version: "1.0", arguments: [f.c, f.a],
     uses: [{lfn: f.a, type: input}, {lfn: f.c, type: output, stageOut: false}]}
  - {type: job, id: ID3, namespace: demo, name: shout, version: "1.0",
     arguments: [f.d, f.b, f.c],
     uses: [{lfn: f.b, type: input}, {lfn: f.c, type: input},
            {lfn: f.d, type: output, registerReplica: false}]}
"""
EXPECTED = "HELLO\nHELLO\n"


def _setup(tmp: Path, source_url: str | None = None) -> list[str]:
    """Catalogs and inputs in ``tmp``; the ``wfplan plan`` arguments naming them."""
    tools = tmp / "tools"
    tools.mkdir()
    (tools / "shout.sh").write_text(SCRIPT)
    (tools / "shout.sh").chmod(0o644)  # not executable: only a staged copy can run
    (tmp / "f.a").write_text("hello\n")
    (tmp / "workflow.yml").write_text(WORKFLOW)
    pfn = source_url or (tools / "shout.sh").as_uri()
    (tmp / "tc.yml").write_text(
        'pegasus: "5.0"\ntransformations:\n'
        '  - {namespace: demo, name: shout, version: "1.0",\n'
        f'     sites: [{{name: local, pfn: "{pfn}", type: stageable}}]}}\n'
    )
    (tmp / "rc.yml").write_text(
        f'pegasus: "5.0"\nreplicas:\n  - lfn: f.a\n    pfns: [{{site: local, pfn: {tmp / "f.a"}}}]\n'
    )
    (tmp / "sites.yml").write_text(
        f"""pegasus: "5.0"
sites:
  - name: local
    directories:
      - {{type: sharedScratch, path: {tmp / "local-scratch"}}}
      - {{type: localStorage, path: {tmp / "outputs"}}}
  - name: condorpool
    directories:
      - {{type: sharedScratch, path: {tmp / "pool-scratch"}}}
"""
    )
    return [
        "plan", str(tmp / "workflow.yml"), "--sc", str(tmp / "sites.yml"),
        "--tc", str(tmp / "tc.yml"), "--rc", str(tmp / "rc.yml"), "--dir", str(tmp / "submit"),
        "--output-rc", str(tmp / "out.db"),
    ]  # fmt: skip


def _plan_and_run(tmp: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(argv) == 0, capsys.readouterr().err
    submit = tmp / "submit"
    capsys.readouterr()
    assert main(["run", str(submit), "-j", "2"]) == 0, capsys.readouterr().err
    # every description stays acceptable to HTCondor, once the create_dir node has made
    # the staging directory a condorio job's initialdir is (as when DAGMan submits it)
    for sub in submit.glob("*.sub"):
        assert len(list(htcondor.Submit(sub.read_text()).jobs())) == 1, sub
    assert (tmp / "outputs" / "f.d").read_text() == EXPECTED
    source = tmp / "tools" / "shout.sh"
    assert stat.S_IMODE(source.stat().st_mode) == 0o644  # never made executable in place
    return load_plan_record(submit)


def _ran_from(tmp: Path, record: dict) -> list[str]:
    """The ``$0`` each compute/cluster node's script printed (one line per job)."""
    lines = []
    for node in record["nodes"]:
        if node["kind"] in ("compute", "cluster"):
            out = (tmp / "submit" / f"{node['name']}.out").read_text().splitlines()
            lines += [line for line in out if not line.startswith("wfplan-cluster:")]
    return lines


def _stage_ins_of_the_executable(record: dict) -> list[dict]:
    return [
        f
        for n in record["nodes"]
        if n["kind"] == "stage_in"
        for f in n["files"]
        if f["lfn"] == STAGED
    ]


@pytest.mark.parametrize("config", ["sharedfs", "nonsharedfs", "condorio"])
@pytest.mark.parametrize("clustering", [None, "horizontal"])
def test_a_stageable_executable_is_staged_once_and_its_copy_runs(
    tmp_path: Path, config: str, clustering: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*_setup(tmp_path), "--sites", "condorpool", "--data-configuration", config]
    if clustering:  # the two level-1 jobs in one node
        argv += ["--cluster", clustering]
        text = (tmp_path / "workflow.yml").read_text()
        (tmp_path / "workflow.yml").write_text(
            text.replace('version: "1.0", arguments: [f.b', 'version: "1.0", '
                         'profiles: {pegasus: {clusters.size: "2"}}, arguments: [f.b')
            .replace('version: "1.0", arguments: [f.c', 'version: "1.0", '
                     'profiles: {pegasus: {clusters.size: "2"}}, arguments: [f.c')
        )  # fmt: skip
    record = _plan_and_run(tmp_path, argv, capsys)
    assert len([n for n in record["nodes"] if n["kind"] == "cluster"]) == (1 if clustering else 0)
    (staged,) = _stage_ins_of_the_executable(record)  # once, for all three jobs
    assert staged["src"] == (tmp_path / "tools" / "shout.sh").as_uri()
    staging = tmp_path / ("pool-scratch" if config != "condorio" else "local-scratch")
    assert staged["dst"] == (staging / "shouts" / STAGED).as_uri()
    ran = _ran_from(tmp_path, record)
    assert len(ran) == 3, ran
    source = str(tmp_path / "tools" / "shout.sh")
    for path in ran:
        assert path != source
        if config == "sharedfs":  # from the shared scratch, where the jobs run
            assert path == str(staging / "shouts" / STAGED)
        else:  # from the job's own directory (sandbox or scratch)
            assert Path(path).name == STAGED, path
            assert not path.startswith(str(staging))


def test_two_transformations_stage_two_executables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*_setup(tmp_path), "--sites", "condorpool", "--data-configuration", "condorio"]
    tc = tmp_path / "tc.yml"
    tc.write_text(
        tc.read_text()
        + tc.read_text().split("transformations:\n", 1)[1].replace("name: shout", "name: yell")
    )
    wf = tmp_path / "workflow.yml"
    wf.write_text(wf.read_text().replace("id: ID3, namespace: demo, name: shout", "id: ID3, "
                                         "namespace: demo, name: yell"))  # fmt: skip
    record = _plan_and_run(tmp_path, argv, capsys)
    lfns = sorted(f["lfn"] for n in record["nodes"] if n["kind"] == "stage_in" for f in n["files"])
    assert lfns == ["demo-shout-1.0", "demo-yell-1.0", "f.a"]


def test_a_stageable_executable_reached_over_http(
    tmp_path: Path, file_server, capsys: pytest.CaptureFixture[str]
) -> None:
    (file_server.root / "bin").mkdir()
    (file_server.root / "bin" / "shout.sh").write_text(SCRIPT)
    url = f"{file_server.url}/bin/shout.sh"
    for config in ("condorio", "nonsharedfs", "sharedfs"):
        where = tmp_path / config
        where.mkdir()
        argv = [*_setup(where, url), "--sites", "condorpool", "--data-configuration", config]
        record = _plan_and_run(where, argv, capsys)
        (staged,) = _stage_ins_of_the_executable(record)
        assert staged["src"] == url
        assert len(_ran_from(where, record)) == 3
    # downloaded once per plan: by its stage-in node, never by a job
    assert file_server.methods("GET") == ["/bin/shout.sh"] * 3


def test_sharedfs_scratch_written_through_a_file_server(
    tmp_path: Path, file_server, capsys: pytest.CaptureFixture[str]
) -> None:
    # the server writes the staged copy without execute permission (a PUT keeps no
    # modes): the job's runner makes it executable in the shared scratch, then runs it
    argv = [*_setup(tmp_path), "--sites", "condorpool", "--data-configuration", "sharedfs"]
    scratch = file_server.root / "scratch"
    sites = tmp_path / "sites.yml"
    sites.write_text(
        sites.read_text().replace(
            f"{{type: sharedScratch, path: {tmp_path / 'pool-scratch'}}}",
            f"{{type: sharedScratch, path: {scratch}, fileServers: ["
            f'{{url: "{file_server.url}/scratch", operation: all}}]}}',
        )
    )
    record = _plan_and_run(tmp_path, argv, capsys)
    assert f"/scratch/shouts/{STAGED}" in file_server.methods("PUT")
    ran = _ran_from(tmp_path, record)
    assert ran == [f"./{STAGED}"] * 3
