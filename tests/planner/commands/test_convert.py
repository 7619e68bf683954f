"""``wfplan convert``: WfFormat/DAX -> Pegasus YAML keeps jobs, files and edges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.cli import main
from planner.formats import load_workflow


def _info(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["info", "--json", str(path)]) == 0
    info: dict[str, object] = json.loads(capsys.readouterr().out)
    info.pop("source")
    return info


@pytest.mark.parametrize(
    "name", ["wfinstances/montage-chameleon-2mass-01d-001.json", "dax/CyberShake_100.xml"]
)
def test_convert_then_info_is_unchanged(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    src = shared_data / name
    out = tmp_path / "wf.yml"
    assert main(["convert", str(src), str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert _info(out, capsys) == _info(src, capsys)
    a, b = load_workflow(src), load_workflow(out)
    assert [j.id for j in a.jobs] == [j.id for j in b.jobs]
    assert a.dependencies == b.dependencies


@pytest.mark.parametrize("target", ["out.json", "out.xml", "out.dax", "out"])
def test_read_only_formats_are_refused(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    src = shared_data / "dax" / "Montage_25.xml"
    assert main(["convert", str(src), str(tmp_path / target)]) == 1
    err = capsys.readouterr().err
    assert "only Pegasus YAML (.yml/.yaml) is writable" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_bad_input_leaves_no_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "bad.xml"
    src.write_text("<adag><job id='A'></adag>")
    assert main(["convert", str(src), str(tmp_path / "out.yml")]) == 1
    assert "bad.xml: malformed XML" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.xml"]


@pytest.mark.parametrize("command", ["validate", "info", "convert"])
def test_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "usage: wfplan " + command in capsys.readouterr().out
