"""``wfplan validate``: exit codes and one line per problem, naming the offender."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.cli import main

HEADER = 'pegasus: "5.0"\nname: w\njobs:\n'


def _write(tmp_path: Path, jobs: str, extra: str = "", name: str = "wf.yml") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + jobs + extra)
    return path


def _fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert lines and all(line.startswith("wfplan: error: ") for line in lines)
    return lines


def test_ok_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wf = _write(
        tmp_path,
        "  - {type: job, id: A, name: t, uses: [{lfn: a, type: input}, {lfn: b, type: output}]}\n",
    )
    assert main(["validate", str(wf)]) == 0
    assert capsys.readouterr().out == "ok: w: 1 jobs, 2 files\n"


CASES = [
    (  # cycle
        "  - {type: job, id: A, name: t}\n  - {type: job, id: B, name: t}\n",
        "jobDependencies:\n  - {id: A, children: [B]}\n  - {id: B, children: [A]}\n",
        "cycle: A -> B -> A",
    ),
    (  # duplicate ids
        "  - {type: job, id: A, name: t}\n  - {type: job, id: A, name: t}\n",
        "",
        "duplicate job id 'A'",
    ),
    (  # two producers
        "  - {type: job, id: A, name: t, uses: [{lfn: same.txt, type: output}]}\n"
        "  - {type: job, id: B, name: t, uses: [{lfn: same.txt, type: output}]}\n",
        "",
        "file 'same.txt' is written by 2 jobs (A, B)",
    ),
    (  # unknown job in a dependency
        "  - {type: job, id: A, name: t}\n",
        "jobDependencies:\n  - {id: A, children: [GHOST]}\n",
        "unknown job 'GHOST'",
    ),
    (  # unsafe LFN
        "  - {type: job, id: A, name: t, uses: [{lfn: ../secret, type: input}]}\n",
        "",
        "LFN '../secret' (job A) has a '..' path component",
    ),
    (  # absolute LFN
        "  - {type: job, id: A, name: t, uses: [{lfn: /etc/passwd, type: input}]}\n",
        "",
        "LFN '/etc/passwd' (job A) is absolute",
    ),
    (  # empty LFN
        "  - {type: job, id: A, name: t, uses: [{lfn: '', type: input}]}\n",
        "",
        "LFN '' (job A) is empty",
    ),
    (  # control character in an LFN
        '  - {type: job, id: A, name: t, uses: [{lfn: "bell\\a", type: input}]}\n',
        "",
        "LFN 'bell\\x07' (job A) contains a control character",
    ),
    (  # unsafe argument
        "  - {type: job, id: A, name: t, arguments: ['x;rm']}\n",
        "",
        "job A: argument 1 'x;rm' contains a shell command separator (; or &)",
    ),
    (  # unknown profile namespace
        "  - {type: job, id: A, name: t, profiles: {pegsus: {x: 1}}}\n",
        "",
        "unknown profile namespace 'pegsus'",
    ),
]


@pytest.mark.parametrize(("jobs", "extra", "offender"), CASES)
def test_each_bad_input_names_its_offender(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str, extra: str, offender: str
) -> None:
    wf = _write(tmp_path, jobs, extra)
    lines = _fails(["validate", str(wf)], capsys)
    assert any(offender in line and str(wf) in line for line in lines), lines


def test_missing_replica_with_rc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wf = _write(
        tmp_path,
        "  - {type: job, id: A, name: t, uses: [{lfn: have, type: input}, {lfn: lost, type: input}]}\n"
        "  - {type: job, id: B, name: t, uses: [{lfn: lost, type: input}]}\n",
    )
    rc = tmp_path / "rc.yml"
    rc.write_text(
        'pegasus: "5.0"\nreplicas:\n  - lfn: have\n    pfns: [{site: local, pfn: /d/have}]\n'
    )
    lines = _fails(["validate", str(wf), "--rc", str(rc)], capsys)
    assert len(lines) == 1
    assert "no replica for LFN 'lost' (needed by jobs A, B)" in lines[0]
    assert str(rc) in lines[0]


def test_unknown_transformation_with_tc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wf = _write(
        tmp_path, "  - {type: job, id: A, name: known}\n  - {type: job, id: B, name: nope}\n"
    )
    tc = tmp_path / "tc.yml"
    tc.write_text(
        'pegasus: "5.0"\ntransformations:\n  - name: known\n'
        "    sites: [{name: local, pfn: /bin/true, type: installed}]\n"
    )
    lines = _fails(["validate", str(wf), "--tc", str(tc)], capsys)
    assert len(lines) == 1
    assert "unknown transformation 'nope' (needed by job B)" in lines[0]
    assert str(tc) in lines[0]


def test_catalogs_that_cover_everything_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = _write(tmp_path, "  - {type: job, id: A, name: known, uses: [{lfn: have, type: input}]}\n")
    rc = tmp_path / "rc.yml"
    rc.write_text(
        'pegasus: "5.0"\nreplicas:\n  - lfn: have\n    pfns: [{site: local, pfn: /d/have}]\n'
    )
    tc = tmp_path / "tc.yml"
    tc.write_text(
        'pegasus: "5.0"\ntransformations:\n  - name: known\n'
        "    sites: [{name: local, pfn: /bin/true, type: installed}]\n"
    )
    assert main(["validate", str(wf), "--rc", str(rc), "--tc", str(tc)]) == 0
    assert capsys.readouterr().out.startswith("ok: w: 1 jobs, 1 files")


def test_malformed_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wf = _write(tmp_path, "  - {type: job, id: A, name: t, uses: [{type: input}]}\n")
    (line,) = _fails(["validate", str(wf)], capsys)
    assert line == f"wfplan: error: {wf}: job 1 (id 'A'): uses[0] has no lfn"


def test_montage_25_refused_naming_fit_txt(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (line,) = _fails(["validate", str(shared_data / "dax" / "Montage_25.xml")], capsys)
    assert "fit.txt" in line and "diff.txt" in line


def test_pegasus_api_workflow_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from Pegasus.api import File, Job, ReplicaCatalog, Transformation, TransformationCatalog
    from Pegasus.api import Workflow as PWorkflow

    fa, fb, fc = File("f.a"), File("f.b"), File("f.c")
    j1 = Job("pre", _id="ID1").add_args("-i", fa, "-o", fb).add_inputs(fa).add_outputs(fb)
    j2 = Job("post", _id="ID2").add_args(fb, fc).add_inputs(fb).add_outputs(fc)
    wf = PWorkflow("api").add_jobs(j1, j2)
    wf.add_replica_catalog(ReplicaCatalog().add_replica("local", fa, "/data/f.a"))
    tc = TransformationCatalog()
    for name in ("pre", "post"):
        tc.add_transformations(Transformation(name, site="local", pfn=f"/bin/{name}"))
    wf.add_transformation_catalog(tc)
    path = tmp_path / "api.yml"
    wf.write(str(path))
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == "ok: api: 2 jobs, 3 files\n"


@pytest.mark.parametrize("option", ["--rc", "--tc", "--sc"])
def test_bad_catalog_file_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    wf = _write(tmp_path, "  - {type: job, id: A, name: t}\n")
    bad = tmp_path / "bad.yml"
    bad.write_text("sites: 3\ntransformations: 3\nreplicas: 3\n")
    (line,) = _fails(["validate", str(wf), option, str(bad)], capsys)
    assert str(bad) in line
