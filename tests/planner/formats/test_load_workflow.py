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


def test_reading_a_workflow_imports_no_pydantic(tmp_path: Path) -> None:
    """pydantic's import costs a fresh process tens of milliseconds; a workflow without
    inline catalogs needs none of it (its error type is imported where it is caught)."""
    import subprocess
    import sys

    path = tmp_path / "wf.yml"
    path.write_text('pegasus: "5.0"\nname: w\njobs:\n  - {type: job, id: A, name: t}\n')
    code = (
        "import sys\nfrom planner.formats import load_workflow\n"
        f"assert load_workflow({str(path)!r}).jobs[0].id == 'A'\n"
        "import planner.formats.dax, planner.formats.wfformat\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
