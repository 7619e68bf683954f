"""``wfplan info``: counts that match the files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.cli import main


def _info(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["info", "--json", str(path)]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_montage_wfinstance_counts(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = _info(shared_data / "wfinstances" / "montage-chameleon-2mass-01d-001.json", capsys)
    assert info["jobs"] == 103
    assert info["transformations"] == {
        "mDiffFit": 45, "mBackground": 21, "mProject": 21, "mViewer": 4,
        "mAdd": 3, "mBgModel": 3, "mConcatFit": 3, "mImgtbl": 3,
    }  # fmt: skip
    spec = json.loads(
        (shared_data / "wfinstances" / "montage-chameleon-2mass-01d-001.json").read_text()
    )["workflow"]["specification"]
    assert info["files"] == len(spec["files"])
    assert info["bytes"] == sum(f["sizeInBytes"] for f in spec["files"])
    assert info["edges"] == sum(len(t["parents"]) for t in spec["tasks"])
    assert len(info["inputs"]) == 35  # type: ignore[arg-type]


def test_text_form(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(shared_data / "dax" / "Montage_25.xml")]) == 0
    out = capsys.readouterr().out
    assert "jobs: 25\n" in out and "levels: 9\n" in out
    assert "  Montage::mDiffFit:1.0     9" in out
    assert "workflow outputs: 1 (shrunken_ID00023_ID00023.jpg)" in out


def test_every_shared_file(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(p for p in shared_data.rglob("*") if p.suffix in (".xml", ".json"))
    for path in files:
        info = _info(path, capsys)
        text = path.read_text()
        expected = (
            text.count("<job ")
            if path.suffix == ".xml"
            else len(json.loads(text)["workflow"]["specification"]["tasks"])
        )
        assert info["jobs"] == expected, path.name
        assert isinstance(info["levels"], int) and info["levels"] >= 1


def test_levels_of_a_diamond(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wf = tmp_path / "d.yml"
    wf.write_text(
        'pegasus: "5.0"\nname: d\njobs:\n'
        "  - {type: job, id: A, name: a, uses: [{lfn: i, type: input, size: 5}, {lfn: x, type: output, size: 2}]}\n"
        "  - {type: job, id: B, name: b, uses: [{lfn: x, type: input}, {lfn: y, type: output}]}\n"
        "  - {type: job, id: C, name: b, uses: [{lfn: x, type: input}, {lfn: z, type: output}]}\n"
        "  - {type: job, id: D, name: c, uses: [{lfn: y, type: input}, {lfn: z, type: input}, {lfn: o, type: output, size: 1}]}\n"
    )
    info = _info(wf, capsys)
    assert (info["levels"], info["edges"], info["files"], info["bytes"]) == (3, 4, 5, 8)
    assert (info["inputs"], info["outputs"]) == (["i"], ["o"])
    assert info["transformations"] == {"b": 2, "a": 1, "c": 1}


def test_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wf = tmp_path / "bad.json"
    wf.write_text("{")
    assert main(["info", str(wf)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"wfplan: error: {wf}: malformed JSON") and "Traceback" not in err


def test_a_cyclic_workflow_still_gets_info(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = tmp_path / "c.yml"
    wf.write_text(
        'pegasus: "5.0"\nname: c\njobs:\n  - {type: job, id: A, name: t}\n'
        "  - {type: job, id: B, name: t}\n"
        "jobDependencies:\n  - {id: A, children: [B]}\n  - {id: B, children: [A]}\n"
    )
    assert main(["info", str(wf)]) == 0
    assert "levels: n/a (the graph has a cycle)" in capsys.readouterr().out
