"""wfplan explain: pruning, placement, clusters and replicas, read back from plan.json."""

from __future__ import annotations

from pathlib import Path

import diamonds  # tests/planner/emit/diamonds.py (tests/conftest.py puts it on the path)
import pytest

from planner.cli import main
from planner.emit import write_submit_dir
from planner.model.concrete import DataConfiguration

D = diamonds


def _submit(root: Path, **kw: bool) -> Path:
    cw = D.diamond(root, DataConfiguration.CONDORIO, **kw)
    write_submit_dir(cw, root / "submit", tools_dir=Path("/opt/wfplan/bin"))
    return root / "submit"


def _explain(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["explain", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_names_pruned_jobs_clusters_and_replicas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _explain(capsys, str(_submit(tmp_path, reuse=True)))
    assert code == 0
    assert "ID1: outputs f.b1, f.b2 have replicas in rc.yml" in out
    assert "ID4: node analyze_ID4 on other, level 3" in out
    assert "why: placed on other: only site with analyze" in out
    fallback = "(fallbacks: http://data.example.org/diamond/f.b1)"
    assert f"f.b1: {(tmp_path / 'inputs/f.b1').as_uri()} -> " in out and fallback in out


def test_summary_says_what_a_cluster_contains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = _explain(capsys, str(_submit(tmp_path, clustered=True)))
    assert "ID3: node merge_diamond-findrange-4_0_PID2_ID1 on condorpool, level 2, clustered" in out
    assert "(ID2, ID3)" in out
    assert "node: horizontal cluster: level 2, findrange, condorpool, size 2" in out


def test_one_node_in_detail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _explain(capsys, str(_submit(tmp_path)), "preprocess_ID1")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "node preprocess_ID1"
    assert "  kind: compute" in lines and "  site: condorpool" in lines
    assert "  parents: stage_in_local_local_0_0" in lines
    assert "  children: findrange_ID2, findrange_ID3" in lines
    assert any(
        line.startswith("  task ID1: /opt/diamond/bin/preprocess -a preprocess") for line in lines
    )
    assert "  runtime: 60.0 s" in lines


def test_a_job_id_leads_to_its_node(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _explain(capsys, str(_submit(tmp_path, clustered=True)), "ID3")
    assert out.splitlines()[0] == "job ID3 runs in node merge_diamond-findrange-4_0_PID2_ID1"
    assert "  jobs: ID2, ID3" in out


def test_a_pruned_job_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _explain(capsys, str(_submit(tmp_path, reuse=True)), "ID1")
    assert out == "job ID1 was pruned: outputs f.b1, f.b2 have replicas in rc.yml\n"


def test_unknown_node_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    submit = _submit(tmp_path)
    code, out, err = _explain(capsys, str(submit), "ghost")
    assert code == 1 and out == ""
    assert (
        err == f"wfplan: error: {submit / 'plan.json'}: no node or job named 'ghost' in this plan\n"
    )


def test_not_a_submit_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _explain(capsys, str(tmp_path))
    assert code == 1
    assert err == f"wfplan: error: {tmp_path}: not a wfplan submit dir (no plan.json)\n"


def test_broken_plan_json_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plan.json").write_text("{not json")
    code, _, err = _explain(capsys, str(tmp_path))
    assert code == 1 and f"{tmp_path / 'plan.json'}: cannot read the plan record" in err


def test_node_detail_shows_set_fields_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    submit = str(_submit(tmp_path))
    _, out, _ = _explain(capsys, submit, "preprocess_ID1")
    assert out.splitlines()[1:8] == [
        "  kind: compute",
        "  site: condorpool",
        "  level: 1",
        "  transformation: diamond::preprocess:4.0",
        "  staging site: local",
        "  data configuration: condorio",
        "  jobs: ID1",
    ]
    _, out, _ = _explain(capsys, submit, "stage_in_local_local_0_0")
    lines = out.splitlines()
    assert lines[4:6] == ["  staging site: local", "  files:"]
    assert not any(line.startswith(("  transformation:", "  jobs:")) for line in lines)
    assert lines.index("  parents: create_dir_diamond_0_local") + 1 == lines.index(
        "  children: preprocess_ID1"
    )
