"""``wfplan plan``: the command end to end (catalog files in, submit dir out)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import diamonds  # tests/planner/emit/diamonds.py (tests/conftest.py puts it on the path)
import pytest

from planner.cli import main
from planner.commands.plan import summarize
from planner.emit.record import load_plan_record
from planner.model.concrete import ConcreteWorkflow, DataConfiguration, record_name, transfer

WF = """\
pegasus: "5.0"
name: diamond
jobs:
- {type: job, id: ID1, name: preprocess, arguments: ["-i", "f.a", "-o", "f.b1", "f.b2"],
   uses: [{lfn: f.a, type: input}, {lfn: f.b1, type: output, stageOut: false},
          {lfn: f.b2, type: output, stageOut: false}]}
- {type: job, id: ID2, name: findrange, arguments: ["-i", "f.b1", "-o", "f.c1"],
   uses: [{lfn: f.b1, type: input}, {lfn: f.c1, type: output, stageOut: false}]}
- {type: job, id: ID3, name: findrange, arguments: ["-i", "f.b2", "-o", "f.c2"],
   uses: [{lfn: f.b2, type: input}, {lfn: f.c2, type: output, stageOut: false}]}
- {type: job, id: ID4, name: analyze, arguments: ["-i", "f.c1", "f.c2", "-o", "f.d"],
   uses: [{lfn: f.c1, type: input}, {lfn: f.c2, type: input}, {lfn: f.d, type: output}]}
"""


def _tc(site: str = "condorpool") -> str:
    lines = ['pegasus: "5.0"', "transformations:"]
    for name in ("preprocess", "findrange", "analyze"):
        lines.append(
            f"- {{name: {name}, sites: [{{name: {site}, pfn: /bin/{name}, type: installed}}]}}"
        )
    return "\n".join(lines) + "\n"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "wf.yml").write_text(WF)
    (tmp_path / "tc.yml").write_text(_tc())
    (tmp_path / "rc.yml").write_text(
        f'pegasus: "5.0"\nreplicas:\n- {{lfn: f.a, pfns: [{{site: local, pfn: {tmp_path}/f.a}}]}}\n'
    )
    (tmp_path / "f.a").write_text("a\n")
    return {p.stem: p for p in tmp_path.iterdir()}


def _args(files: dict[str, Path], *extra: str) -> list[str]:
    return ["plan", str(files["wf"]), "--rc", str(files["rc"]), "--tc", str(files["tc"]), *extra]


def test_plan_writes_the_submit_dir_and_prints_a_summary(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    submit = tmp_path / "submit"
    assert main(_args(files, "--dir", str(submit))) == 0
    out = capsys.readouterr().out
    assert "compute @ condorpool" in out and "jobs planned" in out
    record = load_plan_record(submit)
    names = {n["name"] for n in record["nodes"]}
    assert {"preprocess_ID1", "findrange_ID2", "findrange_ID3", "analyze_ID4"} <= names
    assert (submit / "diamond.dag").is_file()
    assert record["options"]["output_rc"] == str(submit / "diamond-outputs.db")


@pytest.mark.parametrize("mode", ["shared", "per-node"])
def test_submit_files_mode_chooses_the_sub_files(
    files: dict[str, Path], tmp_path: Path, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    submit = tmp_path / "submit"
    extra = ("--submit-files", mode) if mode != "shared" else ()
    assert main(_args(files, "--dir", str(submit), *extra)) == 0
    record = load_plan_record(submit)
    own = [n["submit"] == f"{n['name']}.sub" for n in record["nodes"]]
    assert all(own) if mode == "per-node" else not any(own)
    assert {p.name for p in submit.glob("*.sub")} == {n["submit"] for n in record["nodes"]}


def test_unknown_submit_files_mode_is_refused(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(_args(files, "--dir", str(tmp_path / "submit"), "--submit-files", "each"))
    assert "--submit-files" in capsys.readouterr().err
    assert not (tmp_path / "submit").exists()


def test_dry_run_writes_nothing(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    submit = tmp_path / "submit"
    assert main(_args(files, "--dir", str(submit), "--dry-run", "--cluster", "horizontal")) == 0
    assert "total nodes" in capsys.readouterr().out
    assert not submit.exists()


def test_missing_replica_is_one_line_and_nothing_is_written(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files["rc"].write_text('pegasus: "5.0"\nreplicas: []\n')
    submit = tmp_path / "submit"
    assert main(_args(files, "--dir", str(submit))) == 1
    err = capsys.readouterr().err
    assert "'f.a'" in err and "ID1" in err and "Traceback" not in err
    assert not submit.exists()


def test_a_transformation_only_at_a_site_the_sc_lacks_names_that_site(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files["tc"].write_text(_tc("elsewhere"))
    assert main(_args(files, "--dir", str(tmp_path / "s"), "--sites", "condorpool")) == 1
    err = capsys.readouterr().err
    assert (
        "transformation 'preprocess' (needed by job ID1) is installed only at site elsewhere, "
        f"which the site catalog (none given: only local and condorpool) does not define "
        f"(in {files['tc']})"
    ) in err
    sc = tmp_path / "sc.yml"
    sc.write_text('pegasus: "5.0"\nsites:\n- {name: hpc}\n')
    assert main(["validate", str(files["wf"]), "--tc", str(files["tc"]), "--sc", str(sc)]) == 1
    assert (
        f"preprocess' (needed by job ID1) is installed only at site elsewhere, which {sc} "
        "does not define"
    ) in capsys.readouterr().err


def test_bad_properties_line_names_the_file(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "pegasus.properties"
    conf.write_text("pegasus.selector.site = RoundRobin\nthis is not a property\n")
    assert main(_args(files, "--dry-run", "--conf", str(conf))) == 1
    assert f"{conf}: line 2: expected 'key = value'" in capsys.readouterr().err


def test_force_and_staging_site_options(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args(files, "--dry-run", "--force", "--staging-site", "bad")
    assert main(args) == 1
    assert "--staging-site 'bad': expected EXEC=STAGING" in capsys.readouterr().err


TOOL = """#!/bin/sh
mode=""; ins=""; outs=""
for a in "$@"; do
  case "$a" in -i) mode=i;; -o) mode=o;; *) if [ "$mode" = i ]; then ins="$ins $a"; else outs="$outs $a"; fi;; esac
done
for o in $outs; do cat $ins > "$o"; echo "$o" >> "$o"; done
"""


@pytest.mark.parametrize("dc", ["condorio", "sharedfs", "nonsharedfs"])
def test_planned_diamond_runs_and_a_second_plan_reuses_its_outputs(
    files: dict[str, Path], tmp_path: Path, dc: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = tmp_path / "tool.sh"
    tool.write_text(TOOL)
    tool.chmod(0o755)
    tc = ['pegasus: "5.0"', "transformations:"]
    for name in ("preprocess", "findrange", "analyze"):
        tc.append(f"- {{name: {name}, sites: [{{name: local, pfn: {tool}}}]}}")
    files["tc"].write_text("\n".join(tc) + "\n")
    submit = tmp_path / "submit"
    args = _args(files, "--dir", str(submit), "--sites", "local", "--data-configuration", dc)
    assert main([*args, "--cluster", "horizontal"]) == 0
    assert main(["run", str(submit)]) == 0
    result = tmp_path / "local" / "storage" / "f.d"
    assert result.read_text().split() == ["a", "f.b1", "f.c1", "a", "f.b2", "f.c2", "f.d"]
    scratch = tmp_path / "local" / "scratch" / "diamond"
    assert not any(scratch.iterdir())  # in-place cleanup removed every staged file
    capsys.readouterr()
    again = _args(
        files, "--rc", str(submit / "diamond-outputs.db"), "--dry-run", "--sites", "local"
    )
    assert main(again) == 0
    out = capsys.readouterr().out
    assert "jobs pruned (reuse)         4" in out


@pytest.mark.parametrize("below", ["sub", "a/b"])
def test_a_dir_below_a_file_is_refused_naming_the_file(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], below: str
) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("")
    submit = blocker / below
    assert main(_args(files, "--dir", str(submit))) == 1
    out, err = capsys.readouterr()
    assert err == (
        f"wfplan: error: cannot create submit dir {submit}: {blocker} is a file, not a directory\n"
    )
    assert out == ""


def test_a_non_empty_dir_is_refused_before_planning(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    submit = tmp_path / "full"
    submit.mkdir()
    (submit / "keep").write_text("x")
    assert main(_args(files, "--dir", str(submit))) == 1
    out, err = capsys.readouterr()
    assert out == ""  # no summary of a plan that is not written
    assert f"submit dir {submit} exists and is not empty" in err
    assert main(_args(files, "--dir", str(submit), "--dry-run")) == 0
    assert "jobs planned" in capsys.readouterr().out


def test_the_summary_gives_each_sites_data_configuration_and_sizes_on_disk(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sc = tmp_path / "sc.yml"
    sc.write_text(
        f"""pegasus: "5.0"
sites:
- name: shared
  profiles: {{pegasus: {{data.configuration: sharedfs}}}}
  directories:
  - type: sharedScratch
    path: {tmp_path}/scratch
    fileServers: [{{url: "file://{tmp_path}/scratch", operation: all}}]
"""
    )
    files["tc"].write_text(
        _tc().replace(
            "{name: analyze, sites: [{name: condorpool", "{name: analyze, sites: [{name: shared"
        )
    )
    (tmp_path / "f.a").write_text("x" * 1234)  # its size is known on disk before the run
    assert main(_args(files, "--sc", str(sc), "--dry-run")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "workflow diamond: condorio at condorpool; sharedfs at shared"
    table = {line[:20].strip(): line[20:].strip() for line in lines[1:]}
    assert table["files staged"] == "4"
    assert table["bytes staged (known)"] == "1234"  # f.a; the rest are made by jobs
    assert table["files, size unknown"] == "3"


def test_the_summary_reads_sizes_from_the_replica_catalog(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files["rc"].write_text(
        'pegasus: "5.0"\nreplicas:\n- {lfn: f.a, pfns: [{site: local, pfn: "http://h/f.a"}], '
        "metadata: {size: '4096'}}\n"
    )
    assert main(_args(files, "--dry-run")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "workflow diamond: condorio at condorpool"
    assert "bytes staged (known)     4096" in lines


def test_dash_d_properties_before_and_after_the_workflow(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tc, rc, wf = (str(files[k]) for k in ("tc", "rc", "wf"))
    argv = [
        "plan",
        f"-Dpegasus.catalog.transformation.file={tc}",
        wf,
        "-D",
        f"pegasus.catalog.replica.file={rc}",
    ]
    assert main([*argv, "--dir", str(tmp_path / "s")]) == 0
    out, err = capsys.readouterr()
    assert "compute @ condorpool" in out and err == ""
    assert (tmp_path / "s" / "tc.yml").is_file()  # the catalogs used are copied as ever
    assert (
        main(
            [
                "plan",
                wf,
                "-Dpegasus.catalog.transformation.file=/nowhere.yml",
                "--tc",
                tc,
                "--rc",
                rc,
                "--dry-run",
            ]
        )
        == 0
    )  # the command line wins


def test_unknown_conf_keys_are_warned_about(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "p.properties"
    conf.write_text("clusters.num = 3\npegasus.mode = development\npegasus.clusters.size = 2\n")
    assert main(_args(files, "--conf", str(conf), "-Dpegasus.selectr.site=Heft", "--dry-run")) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"wfplan: warning: {conf}: property 'clusters.num' is not one wfplan uses "
        "(nearest known: 'pegasus.clusters.num'); it has no effect",
        f"wfplan: warning: {conf}: property 'pegasus.mode' is not one wfplan uses "
        "(nearest known: 'pegasus.cores'); it has no effect",
        "wfplan: warning: -D: property 'pegasus.selectr.site' is not one wfplan uses "
        "(nearest known: 'pegasus.selector.site'); it has no effect",
    ]


def test_horizontal_clustering_without_a_size_says_so(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(files, "--cluster", "horizontal", "--dry-run")) == 0
    out = capsys.readouterr().out
    assert "note: --cluster horizontal merged nothing: no pegasus.clusters.size or " in out
    assert (
        main(_args(files, "--cluster", "horizontal", "-Dpegasus.clusters.size=2", "--dry-run")) == 0
    )
    out = capsys.readouterr().out
    assert "note:" not in out and "merge_" not in out and "cluster @ condorpool" in out


def _naive_summary_counts(cw: ConcreteWorkflow) -> dict[str, str]:
    """What the summary counts, the slow and obvious way: every node's jobs; every file a
    staging node moves except the checksum records nodes write (``<node>.meta``)."""
    records = {record_name(n.name) for n in cw.nodes}
    staging = ("stage_in", "stage_inter", "stage_out")
    staged = [t for n in cw.nodes if n.kind.value in staging for t in n.files]
    kept = [t for t in staged if t.lfn not in records]
    counts: dict[str, int] = {}
    for n in cw.nodes:
        site = n.staging_site if n.site == "local" and n.staging_site else n.site
        label = f"{n.kind.value} @ {site}"
        counts[label] = counts.get(label, 0) + 1
    return {
        **{label: str(n) for label, n in counts.items()},
        "total nodes": str(len(cw.nodes)),
        "jobs planned": str(sum(len(n.jobs) for n in cw.nodes)),
        "jobs pruned (reuse)": str(len(cw.pruned)),
        "files staged": str(len(kept)),
        "bytes staged (known)": str(sum(t.size or 0 for t in kept)),
    }


@pytest.mark.parametrize("dc", list(DataConfiguration))
def test_the_summary_counts_what_the_plan_holds(dc: DataConfiguration, tmp_path: Path) -> None:
    cw = diamonds.diamond(tmp_path, dc)
    # a checksum record among the staged files is not counted; a workflow file whose
    # name merely ends like one is
    first = next(n for n in cw.nodes if n.kind.value == "stage_out" or n.kind.value == "stage_in")
    extra = (
        transfer(record_name(cw.nodes[0].name), "file:///x/r", size=7),
        transfer("data.meta", "file:///x/d", size=5),
    )
    nodes = tuple(n._replace(files=n.files + extra) if n is first else n for n in cw.nodes)
    cw = dataclasses.replace(cw, nodes=nodes)
    lines = summarize(cw)
    table = {line.rsplit(" ", 1)[0].strip(): line.rsplit(" ", 1)[1] for line in lines[1:]}
    table.pop("files, size unknown", None)
    assert table == _naive_summary_counts(cw)


def test_inline_catalogs_are_merged_once_and_taken_off_the_workflow(
    files: dict[str, Path], tmp_path: Path
) -> None:
    import argparse

    from planner.commands.common import load_for_planning
    from planner.commands.plan import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([str(files["wf"]), "--tc", str(files["tc"])])
    plain, catalogs = load_for_planning(args, tmp_path)
    assert plain.replica_catalog is None and not catalogs.replicas.replicas
    inline = tmp_path / "inline.yml"
    inline.write_text(
        WF + "replicaCatalog:\n  replicas:\n"
        f"  - {{lfn: f.a, pfns: [{{site: local, pfn: {tmp_path}/f.a}}]}}\n"
    )
    args = parser.parse_args([str(inline), "--tc", str(files["tc"])])
    workflow, catalogs = load_for_planning(args, tmp_path)
    assert workflow.replica_catalog is None  # plan() must not merge it a second time
    assert [r.lfn for r in catalogs.replicas.replicas] == ["f.a"]
    assert workflow.jobs == plain.jobs and workflow.job_by_id == plain.job_by_id


def _workflows_read_from(path: Path) -> int:
    """How many abstract workflows with their jobs, read from ``path``, are still alive."""
    import gc

    from planner.model.workflow import Workflow

    gc.collect()  # only what something still refers to is counted
    return sum(
        1
        for o in gc.get_objects()
        if type(o) is Workflow and o.source == str(path) and len(o.jobs) > 0
    )


def test_the_abstract_workflow_is_let_go_before_the_submit_dir_is_written(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 10^6 jobs the abstract workflow is gigabytes; writing needs only the plan."""
    import planner.emit

    alive: list[int] = []
    write = planner.emit.write_submit_dir

    def counting_write(*args: object, **kwargs: object) -> None:
        alive.append(_workflows_read_from(files["wf"]))
        write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(planner.emit, "write_submit_dir", counting_write)
    assert main(_args(files, "--dir", str(tmp_path / "submit"))) == 0
    assert alive == [0]


def test_the_passes_after_staging_plan_without_the_abstract_jobs(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cleanup and the final ordering make the largest values of the plan; the jobs they
    no longer read are freed before them."""
    import planner.plan
    from planner.plan import PlanContext, PlanState

    alive: list[int] = []

    def counting(step: planner.plan.Pass) -> planner.plan.Pass:
        def counted(state: PlanState, ctx: PlanContext) -> PlanState:
            alive.append(_workflows_read_from(files["wf"]))
            return step(state, ctx)

        return counted

    late = {planner.plan.clean_up, planner.plan.order_nodes}
    passes = tuple(counting(p) if p in late else p for p in planner.plan.PASSES)
    monkeypatch.setattr(planner.plan, "PASSES", passes)
    assert main(_args(files, "--dir", str(tmp_path / "submit"))) == 0
    assert alive == [0, 0]
