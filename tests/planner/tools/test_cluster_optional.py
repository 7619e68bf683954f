"""wfplan-cluster and optional outputs: skipped when not made (scratch mode), gathered
into the directory HTCondor brings back (file-transfer mode)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.tools import cluster


def _manifest(tmp_path: Path, script: str, **extra: object) -> str:
    m = tmp_path / "c.json"
    tasks = [{"id": "t", "executable": "/bin/sh", "arguments": ["-c", script]}]
    m.write_text(json.dumps({"tasks": tasks, **extra}))
    return str(m)


def _outputs(staging: Path) -> list[dict[str, object]]:
    return [
        {"lfn": "req", "src": ["req"], "dst": (staging / "req").as_uri()},
        {"lfn": "opt", "src": ["opt"], "dst": (staging / "opt").as_uri(), "optional": True},
    ]


@pytest.mark.parametrize(
    ("script", "code", "arrived"),
    [
        ("echo r > req", 0, ["req"]),
        ("echo r > req; echo o > opt", 0, ["opt", "req"]),
        ("echo o > opt", 1, ["opt"]),  # a required output missing is still a failure
    ],
)
def test_scratch_mode_skips_an_optional_output_that_was_not_made(
    tmp_path: Path, monkeypatch, script: str, code: int, arrived: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    staging = tmp_path / "staging"
    staging.mkdir()
    m = _manifest(tmp_path, script, scratch=True, inputs=[], outputs=_outputs(staging))
    assert cluster.main([m]) == code
    assert sorted(p.name for p in staging.iterdir()) == arrived


@pytest.mark.parametrize(
    ("script", "code", "gathered"),
    [
        ("echo r > req", 0, []),
        ("echo r > req; echo o > opt; echo s > stray", 0, ["opt"]),
        ("echo o > opt; exit 5", 5, ["opt"]),  # the exit code is the task's
    ],
)
def test_file_transfer_mode_gathers_the_optional_outputs_made(
    tmp_path: Path, monkeypatch, script: str, code: int, gathered: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    m = _manifest(
        tmp_path,
        script,
        scratch=False,
        inputs=[],
        outputs=[],
        optional_dir=".wfplan-optional",
        optional_outputs=["opt", "other"],
    )
    assert cluster.main([m]) == code
    home = tmp_path / ".wfplan-optional"
    assert sorted(p.name for p in home.iterdir()) == gathered  # exists even when empty
    assert not (tmp_path / "opt").exists()
