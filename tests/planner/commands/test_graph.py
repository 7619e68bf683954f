"""wfplan graph: PNG pictures of the concrete (plan.json) and abstract (workflow) DAG."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from planner.cli import main
from planner.commands.graph import Picture, layout, summarise
from planner.emit import write_submit_dir
from planner.model.concrete import DataConfiguration

PNG = b"\x89PNG\r\n\x1a\n"


def _diamonds() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "emit" / "diamonds.py"
    spec = importlib.util.spec_from_file_location("emit_diamonds", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_concrete_dag_from_a_submit_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cw = _diamonds().diamond(tmp_path, DataConfiguration.SHAREDFS, clustered=True)
    write_submit_dir(cw, tmp_path / "submit", tools_dir=Path("/opt/wfplan/bin"))
    out = tmp_path / "pics" / "dag.png"
    assert main(["graph", str(tmp_path / "submit"), "-o", str(out)]) == 0
    width, height = _png_size(out)
    assert width >= 400 and height >= 300
    assert f"({len(cw.nodes)} nodes, {len(set(cw.edges))} edges)" in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["dag.png"]


def test_abstract_dag_from_a_workflow_file(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "montage.png"
    assert main(["graph", str(shared_data / "dax" / "Montage_25.xml"), "-o", str(out)]) == 0
    _png_size(out)


def test_big_dags_are_drawn_as_level_summaries(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "cs.png"
    src = shared_data / "dax" / "CyberShake_100.xml"
    assert main(["graph", str(src), "-o", str(out), "--max-nodes", "20"]) == 0
    _png_size(out)


def test_summary_counts_per_level_and_group() -> None:
    pic = Picture(
        "t",
        (("a", 1, "x"), ("b", 2, "y"), ("c", 2, "y"), ("d", 3, "x")),
        (("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")),
        {},
    )
    s = summarise(pic)
    assert s.nodes == (("L1 x x1", 1, "x"), ("L2 y x2", 2, "y"), ("L3 x x1", 3, "x"))
    assert s.edges == (("L1 x x1", "L2 y x2"), ("L2 y x2", "L3 x x1"))


def test_layout_puts_levels_top_to_bottom() -> None:
    pos = layout([("a", 1, "g"), ("b", 2, "g"), ("c", 2, "h")])
    assert pos["a"][1] > pos["b"][1] == pos["c"][1]
    assert pos["b"][0] < pos["c"][0]


def test_unreadable_source_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yml"
    assert main(["graph", str(missing), "-o", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"wfplan: error: {missing}") and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


def test_unwritable_output_is_one_clear_line(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    out = blocker / "g.png"
    code = main(["graph", str(shared_data / "dax" / "Montage_25.xml"), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"wfplan: error: {out}: cannot create its folder")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
