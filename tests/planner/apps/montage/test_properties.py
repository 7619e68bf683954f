"""Property tests: IPAC tables read back what was written; the overlap sweep finds exactly
the pairs an all-pairs test finds."""

from __future__ import annotations

import itertools
import string
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.apps.montage.generator import InputImage, Projected, _separated, overlaps
from planner.apps.montage.ipac import read_table, table_lines

names = st.text(string.ascii_lowercase + "_", min_size=1, max_size=8)
cells = st.text(string.ascii_letters + string.digits + ".-_+", min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    columns=st.lists(names, min_size=1, max_size=5, unique=True),
    data=st.data(),
)
def test_tables_round_trip(tmp_path_factory, columns: list[str], data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    rows = data.draw(
        st.lists(st.lists(cells, min_size=len(columns), max_size=len(columns)), max_size=6)
    )
    path: Path = tmp_path_factory.mktemp("tbl") / "t.tbl"
    text = "\n".join(table_lines([(c, "char") for c in columns], rows, comments=["x = 1"]))
    path.write_text(text + "\n")
    assert read_table(path) == [dict(zip(columns, row, strict=True)) for row in rows]


def _quad(x: float, y: float, w: float, h: float, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    base = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=float)
    return base @ np.array([[c, s], [-s, c]]) + np.array([x, y])


quads = st.tuples(
    st.floats(0, 100), st.floats(0, 100), st.floats(1, 30), st.floats(1, 30), st.floats(-0.3, 0.3)
)


@settings(max_examples=80, deadline=None)
@given(st.lists(quads, max_size=12))
def test_sweep_equals_all_pairs(shapes: list[tuple[float, float, float, float, float]]) -> None:
    projected = [
        Projected(
            image=InputImage(f"i{k}.fits", Path(f"i{k}.fits"), None),  # type: ignore[arg-type]
            cntr=k + 1,
            corners=_quad(*shape),
            naxis=(1, 1),
            crpix=(0.0, 0.0),
            center=(0.0, 0.0),
        )
        for k, shape in enumerate(shapes)
    ]
    brute = sorted(
        (a.cntr, b.cntr)
        for a, b in itertools.combinations(projected, 2)
        if not _separated(a.corners, b.corners)
    )
    assert overlaps(projected) == brute
