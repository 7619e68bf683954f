"""wfplan graph: PNG pictures of the concrete (plan.json) and abstract (workflow) DAG.

What a reader needs is checked on the figure itself (captured as it is saved), not on
pixels: every node has a label, no two labels overlap, all lie inside the picture, and
past the threshold there is one box per level and group whose counts add up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import diamonds  # tests/planner/emit/diamonds.py (tests/conftest.py puts it on the path)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.cli import main
from planner.commands.graph import (
    Picture,
    crossings,
    layout,
    node_label,
    order_levels,
    summarise,
)
from planner.emit import write_submit_dir
from planner.model.concrete import DataConfiguration

PNG = b"\x89PNG\r\n\x1a\n"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_concrete_dag_from_a_submit_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cw = diamonds.diamond(tmp_path, DataConfiguration.SHAREDFS, clustered=True)
    write_submit_dir(cw, tmp_path / "submit", tools_dir=Path("/opt/wfplan/bin"))
    out = tmp_path / "pics" / "dag.png"
    assert main(["graph", str(tmp_path / "submit"), "-o", str(out)]) == 0
    width, height = _png_size(out)
    assert width >= 400 and height >= 300
    assert f"({len(cw.nodes)} nodes, {len(set(cw.edges))} edges; " in capsys.readouterr().out
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


@pytest.fixture
def saved(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The figures ``wfplan graph`` saves, whatever way it builds them."""
    from matplotlib.figure import Figure

    figures: list[Any] = []
    original = Figure.savefig

    def keep(self: Any, *args: Any, **kwargs: Any) -> Any:
        figures.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    yield figures


def _labels(fig: Any) -> list[tuple[str, Any]]:
    """(text, extent in pixels) of every text drawn in the axes (node labels, boxes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    return [
        (t.get_text(), t.get_window_extent(renderer))
        for ax in fig.axes
        for t in ax.texts
        if t.get_visible() and t.get_text()
    ]


def _assert_readable(fig: Any) -> list[str]:
    """No two labels overlap and every label is inside the picture; their texts."""
    labels = _labels(fig)
    boxes = sorted((box.x0, box.x1, box.y0, box.y1, text) for text, box in labels)
    width, height = fig.bbox.width, fig.bbox.height
    for x0, x1, y0, y1, text in boxes:
        assert x0 >= 0 and x1 <= width and y0 >= 0 and y1 <= height, f"{text!r} is cut off"
    for i, (_, x1, y0, y1, text) in enumerate(boxes):
        for ox0, _, oy0, oy1, other in boxes[i + 1 :]:
            if ox0 >= x1:
                break  # sorted by left edge: nothing further right can overlap this one
            assert oy0 >= y1 or oy1 <= y0, f"labels {text!r} and {other!r} overlap"
    return [text for text, _ in labels]


def _plan_record(folder: Path, levels: list[list[tuple[str, str, str | None]]]) -> Path:
    """A submit dir with only plan.json: ``levels`` of (name, kind, transformation),
    each node a child of every node of the level above."""
    nodes = []
    above: list[str] = []
    for k, members in enumerate(levels, start=1):
        for name, kind, tx in members:
            nodes.append(
                {"name": name, "kind": kind, "transformation": tx, "level": k, "parents": above}
            )
        above = [name for name, _, _ in members]
    folder.mkdir()
    (folder / "plan.json").write_text(json.dumps({"workflow": "w", "nodes": nodes}))
    return folder


def test_a_20_job_concrete_graph_has_a_label_per_node_and_none_overlap(
    tmp_path: Path, saved: list[Any]
) -> None:
    jobs = [
        (f"SeismogramSynthesis_ID{i:05d}", "compute", "CyberShake::SeismogramSynthesis:1.0")
        for i in range(20)
    ]
    submit = _plan_record(
        tmp_path / "submit",
        [
            [("create_dir_w_0_local", "create_dir", None)],
            [("stage_in_local_condorpool_1_0", "stage_in", None)],
            jobs,
            [("stage_out_local_condorpool_2_0", "stage_out", None)],
            [("register_local_2_0", "register", None)],
        ],
    )
    assert main(["graph", str(submit), "-o", str(tmp_path / "g.png")]) == 0
    (fig,) = saved
    texts = _assert_readable(fig)
    assert len(texts) == 24
    assert "ID00007" in texts  # the transformation is in the legend, not in every label


@pytest.mark.parametrize(
    ("name", "nodes", "mode"),
    [
        # 50 jobs on one of 4 levels: side by side would be ten times wider than tall
        ("CyberShake_100.xml", 100, "staggered labels"),
        ("Montage_25.xml", 25, "labels"),
    ],
)
def test_abstract_workflows_under_the_threshold_label_every_job(
    tmp_path: Path,
    shared_data: Path,
    saved: list[Any],
    capsys: pytest.CaptureFixture[str],
    name: str,
    nodes: int,
    mode: str,
) -> None:
    out = tmp_path / "a.png"
    assert main(["graph", str(shared_data / "dax" / name), "-o", str(out)]) == 0
    assert capsys.readouterr().out.endswith(f"; every node, {mode})\n")
    (fig,) = saved
    assert len(_assert_readable(fig)) == nodes
    height, width = fig.bbox.height, fig.bbox.width
    assert width <= 4.5 * height


def test_the_16_tile_montage_labels_every_job(
    tmp_path: Path, shared_data: Path, saved: list[Any]
) -> None:
    src = shared_data / "montage" / "mdag-16tiles.dax.xml"
    assert main(["graph", str(src), "-o", str(tmp_path / "m.png")]) == 0
    (fig,) = saved
    assert len(_assert_readable(fig)) == 80


@pytest.mark.parametrize(
    ("width", "mode"),
    [(1, "labels"), (12, "labels"), (50, "staggered labels"), (80, "upright labels")],
)
def test_wide_levels_keep_labels_apart(
    tmp_path: Path,
    saved: list[Any],
    capsys: pytest.CaptureFixture[str],
    width: int,
    mode: str,
) -> None:
    wide = [
        (f"filterContams_chr21_seq{i}_ID{i:07d}", "compute", "filterContams") for i in range(width)
    ]
    submit = _plan_record(
        tmp_path / "s",
        [[("split_ID0000000", "compute", "split")], wide, [("merge", "compute", "m")]],
    )
    assert main(["graph", str(submit), "-o", str(tmp_path / "w.png")]) == 0
    assert capsys.readouterr().out.endswith(f"; every node, {mode})\n")
    (fig,) = saved
    assert len(_assert_readable(fig)) == width + 2


def _box_counts(texts: list[str]) -> list[int]:
    counts = []
    for text in texts:
        found = re.search(r"×(\d+)$", text)
        assert found, f"box {text!r} has no count"
        counts.append(int(found.group(1)))
    return counts


def test_past_the_threshold_one_box_per_level_and_group(
    tmp_path: Path, shared_data: Path, saved: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from planner.formats import load_workflow
    from planner.model.graph import build_job_graph

    src = shared_data / "dax" / "CyberShake_1000.xml"
    assert main(["graph", str(src), "-o", str(tmp_path / "cs.png")]) == 0
    assert "one box per level and group" in capsys.readouterr().out
    wf = load_workflow(src)
    levels = build_job_graph(wf).levels()
    pairs = {(levels[job.id], job.name) for job in wf.jobs}
    (fig,) = saved
    texts = _assert_readable(fig)
    assert len(texts) == len(pairs)
    assert sum(_box_counts(texts)) == 1000


def test_a_level_too_wide_to_label_is_summarised_below_the_threshold(
    tmp_path: Path, saved: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    wide = [(f"align_sample_{i:04d}", "compute", "align") for i in range(290)]
    submit = _plan_record(tmp_path / "s", [[("split", "compute", "split")], wide])
    assert main(["graph", str(submit), "-o", str(tmp_path / "w.png"), "--max-nodes", "300"]) == 0
    assert "one box per level and group" in capsys.readouterr().out
    (fig,) = saved
    assert sorted(_box_counts(_assert_readable(fig))) == [1, 290]


def test_barycenter_sweeps_undo_a_crossing() -> None:
    nodes = [("a", 1, "g"), ("b", 1, "g"), ("x", 2, "g"), ("y", 2, "g")]
    edges = [("a", "y"), ("b", "x")]
    first = {1: ["a", "b"], 2: ["x", "y"]}  # by group and name
    assert crossings(first, edges) == 1
    order = order_levels(nodes, edges)
    assert crossings(order, edges) == 0 and order[2] == ["y", "x"]
    pos = layout(nodes, edges)
    assert pos["y"][0] < pos["x"][0]


def test_crossings_of_edges_that_share_an_end_are_not_counted() -> None:
    order = {1: ["a", "b"], 2: ["x", "y", "z"]}
    assert crossings(order, [("a", "x"), ("a", "z"), ("b", "y")]) == 1
    assert crossings(order, [("a", "x"), ("a", "y"), ("b", "y"), ("b", "z")]) == 0
    assert crossings({}, []) == 0


@st.composite
def _dags(draw: st.DrawFn) -> tuple[list[tuple[str, int, str]], list[tuple[str, str]]]:
    n = draw(st.integers(min_value=0, max_value=30))
    edges = sorted(
        {
            (f"n{p}", f"n{c}")
            for c in range(1, n)
            for p in draw(st.lists(st.integers(0, c - 1), max_size=3))
        }
    )
    level = {f"n{i}": 1 for i in range(n)}
    for p, c in edges:  # edges sorted by parent, parents numbered before children
        level[c] = max(level[c], level[p] + 1)
    groups = draw(st.lists(st.sampled_from("abc"), min_size=n, max_size=n))
    return [(f"n{i}", level[f"n{i}"], groups[i]) for i in range(n)], edges


@settings(max_examples=60, deadline=None)
@given(_dags())
def test_ordering_keeps_every_node_and_never_adds_crossings(
    dag: tuple[list[tuple[str, int, str]], list[tuple[str, str]]],
) -> None:
    nodes, edges = dag
    order = order_levels(nodes, edges)
    first = order_levels(nodes, edges, sweeps=0)
    for level in {lv for _, lv, _ in nodes}:
        assert sorted(order[level]) == sorted(n for n, lv, _ in nodes if lv == level)
    assert crossings(order, edges) <= crossings(first, edges)
    pos = layout(nodes, edges)
    for name, level, _ in nodes:
        assert pos[name][1] == -float(sorted(order).index(level))
    assert len(set(pos.values())) == len(nodes)


@pytest.mark.parametrize(
    ("name", "group", "label"),
    [
        ("mDiffFit_ID00012", "mDiffFit", "ID00012"),
        ("chr21_chr21_ID0000001", "chr21", "ID0000001"),
        ("clean_up_local_level_3_0", "cleanup", "local_level_3_0"),
        ("stage_in_local_a_2_0", "stage_in", "local_a_2_0"),
        ("ID00001", "mProject", "ID00001"),
        ("map_080603_ILMN-GA001_0003_sequence_1_ID0000135", "map", "080603_I…ID0000135"),
    ],
)
def test_node_labels_drop_what_the_legend_says_and_keep_the_end(
    name: str, group: str, label: str
) -> None:
    assert node_label(name, group) == label
    assert len(node_label(name * 3, group)) == 18
