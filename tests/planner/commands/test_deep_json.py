"""JSON nested far deeper than Python's parser follows: one clean error naming the file,
from every command that reads a JSON workflow or a plan record."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalogs.jsonio import JSONTooDeep, loads_json
from planner.cli import main

DEPTH = 100_000


def _deep(prefix: str, suffix: str) -> str:
    return prefix + "[" * DEPTH + "]" * DEPTH + suffix


def test_loads_json_raises_a_value_error_not_recursion() -> None:
    with pytest.raises(JSONTooDeep, match="nested too deeply"):
        loads_json(_deep("", ""))
    assert loads_json('{"a": [[1]]}') == {"a": [[1]]}


@pytest.mark.parametrize("command", ["validate", "info", "plan", "convert"])
def test_deep_workflow_json(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = tmp_path / "deep.json"
    wf.write_text(_deep('{"workflow": ', "}"))
    extra = {
        "plan": ["--dir", str(tmp_path / "submit")],
        "convert": [str(tmp_path / "out.yml")],
    }.get(command, [])
    assert main([command, str(wf), *extra]) == 1
    err = capsys.readouterr().err
    assert err == f"wfplan: error: {wf}: JSON nested too deeply (more than about 1000 levels)\n"


@pytest.mark.parametrize("command", ["explain", "graph", "simulate"])
def test_deep_plan_record(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plan.json").write_text(_deep('{"workflow": "w", "nodes": [', "]}"))
    extra = ["-o", str(tmp_path / "g.png")] if command == "graph" else []
    assert main([command, str(tmp_path), *extra]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"wfplan: error: {tmp_path / 'plan.json'}: cannot read")
    assert err.rstrip().endswith("JSON nested too deeply (more than about 1000 levels)")
    assert err.count("\n") == 1
