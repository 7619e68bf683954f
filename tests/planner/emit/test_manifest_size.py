"""Bytes per job of the manifest bundle stay small (issue 18: the submit directory under
1 KB a job). The explicit manifests (every default written, every URL in full) took 1,956
bytes a job for this fan-out and 1,185 for this Montage shape (pytest's temporary paths
are long); with URL prefixes said once per line 480 and 357; with files grouped by
directory, their names one list, 181 and 171."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from planner.cli import main

BENCH = Path(__file__).resolve().parents[3] / "bench" / "cli_scale.py"
JOBS = 300


def _inputs(shape: str, work: Path) -> Path:
    spec = importlib.util.spec_from_file_location("cli_scale_for_tests", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    case: Path = module.make_inputs(shape, JOBS, work)
    return case


@pytest.mark.parametrize(("shape", "bound"), [("fanout", 220), ("montage", 200)])
def test_manifest_bytes_per_job_stay_under_a_bound(tmp_path: Path, shape: str, bound: int) -> None:
    case = _inputs(shape, tmp_path)
    submit = case / "submit"
    argv = [
        "plan", str(case / "workflow.yml"), "--sc", str(case / "sites.yml"),
        "--tc", str(case / "tc.yml"), "--rc", str(case / "rc.yml"),
        "--sites", "exec", "--dir", str(submit),
    ]  # fmt: skip
    assert main(argv) == 0
    per_job = (submit / "manifests.jsonl").stat().st_size / JOBS
    assert 0 < per_job < bound, f"{shape}: {per_job:.0f} bytes a job"
