"""Choosing a reader or writer by extension."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.errors import FormatError
from planner.formats import dump_workflow, load_workflow
from planner.model.builder import WorkflowBuilder


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wf.txt"
    path.write_text("x")
    with pytest.raises(FormatError, match=r"wf\.txt: unknown workflow format '\.txt'"):
        load_workflow(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"nope\.yml: no such workflow file"):
        load_workflow(tmp_path / "nope.yml")


@pytest.mark.parametrize("suffix", [".xml", ".dax", ".json", ""])
def test_only_yaml_is_writable(tmp_path: Path, suffix: str) -> None:
    wf = WorkflowBuilder("w")
    wf.add_job("t")
    with pytest.raises(FormatError, match="only Pegasus YAML"):
        dump_workflow(wf.build(), tmp_path / f"out{suffix}")
    assert list(tmp_path.iterdir()) == []


def test_yaml_written_by_extension_reads_back(tmp_path: Path) -> None:
    wf = WorkflowBuilder("w")
    wf.add_job("t", inputs=["a"], outputs=["b"])
    dump_workflow(wf.build(), tmp_path / "w.yaml")
    assert load_workflow(tmp_path / "w.yaml").jobs == wf.build().jobs
