"""The exact background model: hand-solved cases, mBgModel's rules, and mBgModel itself."""

from __future__ import annotations

import math
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.apps.montage.bgmodel import (
    CORRECTIONS_HEADER,
    Image,
    OverlapFit,
    _System,
    box_moments,
    corrections_lines,
    plane_errors,
    read_corrections,
    read_fits,
    read_images,
    solve_corrections,
    used_fits,
)
from planner.apps.montage.ipac import table_lines
from planner.apps.montage.wrappers import CONCAT_HEADER, mBackground_main, mBgExact_main

IMAGES = [Image(k, 100, 100, 50.5, 50.5) for k in (1, 2, 3)]


def _fit(plus: int, minus: int, a: float, b: float, c: float, **box: float) -> OverlapFit:
    shape = {"boxx": 0.0, "boxy": 0.0, "width": 100.0, "height": 50.0, "angle": 0.0}
    shape.update(box)
    return OverlapFit(plus, minus, a, b, c, npixel=5000, rms=0.5, **shape)


def _write_tables(tmp: Path, images: list[Image], fits: list[OverlapFit]) -> tuple[Path, Path]:
    columns = [("cntr", "int"), ("naxis1", "int"), ("naxis2", "int"), ("crpix1", "double"),
               ("crpix2", "double"), ("fname", "char")]  # fmt: skip
    rows = [(str(i.cntr), str(i.naxis1), str(i.naxis2), str(i.crpix1), str(i.crpix2),
             f"p{i.cntr}.fits") for i in images]  # fmt: skip
    images_tbl = tmp / "pimages.tbl"
    images_tbl.write_text("\n".join(table_lines(columns, rows)) + "\n")
    fits_tbl = tmp / "fits.tbl"
    lines = [CONCAT_HEADER] + [
        f" {f.plus:5d} {f.minus:5d} {f.a:12.5e} {f.b:12.5e} {f.c:12.5e} {0.0:9.2f} {0.0:9.2f}"
        f" {0:6d} {0:6d} {0:6d} {0:6d} {0.0:9.2f} {0.0:9.2f} {f.npixel:9.0f} {f.rms:12.5e}"
        f" {f.boxx:12.1f} {f.boxy:12.1f} {f.width:12.1f} {f.height:12.1f} {f.angle:12.1f}"
        for f in fits
    ]
    fits_tbl.write_text("\n".join(lines) + "\n")
    return images_tbl, fits_tbl


def test_three_tiles_by_hand(tmp_path: Path) -> None:
    # Three images over one common box whose level differences disagree around the loop:
    # 1-2 = 10, 2-3 = 4, 1-3 = 17. Least squares: u = P1-P2, v = P2-P3 minimise
    # (u-10)^2 + (v-4)^2 + (u+v-17)^2, so 2u+v = 27 and u+2v = 21: u = 11, v = 5; with
    # P1+P2+P3 = 0 that is P = (9, -2, -7). Slopes stay 0 (the box is centred on 0, 0).
    fits = [_fit(1, 2, 0, 0, 10), _fit(2, 3, 0, 0, 4), _fit(1, 3, 0, 0, 17)]
    images_tbl, fits_tbl = _write_tables(tmp_path, IMAGES, fits)
    out = tmp_path / "corrections.tbl"
    assert mBgExact_main([str(images_tbl), str(fits_tbl), str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == CORRECTIONS_HEADER
    assert lines[1:] == [
        "        1    0.00000e+00    0.00000e+00    9.00000e+00",
        "        2    0.00000e+00    0.00000e+00   -2.00000e+00",
        "        3    0.00000e+00    0.00000e+00   -7.00000e+00",
    ]


def test_consistent_tilted_differences_are_matched_exactly() -> None:
    # d12 and d23 are planes over different boxes, d13 = d12 + d23: a zero-residual
    # solution exists, P1 - P2 = d12, P2 - P3 = d23, and with zero mean P2 = (d23 - d12)/3.
    d12 = np.array([0.01, -0.02, 3.0])
    d23 = np.array([0.005, 0.0, 1.0])
    fits = [
        _fit(1, 2, *d12, boxx=-40, boxy=10, width=30, height=80, angle=0),
        _fit(2, 3, *d23, boxx=35, boxy=-5, width=60, height=20, angle=30),
        _fit(1, 3, *(d12 + d23), boxx=5, boxy=40, width=40, height=40, angle=90),
    ]
    got = solve_corrections(IMAGES, fits)
    p2 = (d23 - d12) / 3
    want = {1: p2 + d12, 2: p2, 3: p2 - d23}
    for k in (1, 2, 3):
        assert got[k] == pytest.approx(tuple(want[k]), abs=1e-9)


def test_level_only_fits_no_slopes() -> None:
    fits = [_fit(1, 2, 0.01, 0.0, 10), _fit(2, 3, 0.0, 0.02, 4)]
    got = solve_corrections(IMAGES, fits, level_only=True)
    assert all(a == 0.0 and b == 0.0 for a, b, _ in got.values())
    assert sum(c for _, _, c in got.values()) == pytest.approx(0.0, abs=1e-9)
    assert got[1][2] - got[2][2] == pytest.approx(10.0)


def test_mbgmodel_rules_for_which_fits_are_used() -> None:
    tiny = OverlapFit(1, 3, 0, 0, 50.0, npixel=9, rms=0.5, boxx=0, boxy=0, width=3, height=3,
                      angle=0)  # fmt: skip
    noisy = OverlapFit(2, 3, 0, 0, 50.0, npixel=5000, rms=math.inf, boxx=0, boxy=0,
                       width=100, height=50, angle=0)  # fmt: skip
    good = _fit(1, 2, 0, 0, 10)
    # 0.001 of the average image (100 x 100 px) is 10 pixels: 9 is too few.
    assert used_fits(IMAGES, [tiny, noisy, good]) == [good]
    assert used_fits(IMAGES, [tiny, noisy, good], use_all=True) == [tiny, good]
    got = solve_corrections(IMAGES, [tiny, noisy, good])
    # Image 3 is tied to nothing used: no correction, but still a row (as mBgModel).
    assert got[3] == (0.0, 0.0, 0.0)
    assert got[1][2] == pytest.approx(5.0) and got[2][2] == pytest.approx(-5.0)


def test_bad_tables_name_the_file(tmp_path: Path) -> None:
    images_tbl, _ = _write_tables(tmp_path, IMAGES, [])
    bad = tmp_path / "short-fits.tbl"
    bad.write_text("| plus | minus |\n|  int |   int |\n     1       2 \n")
    from planner.errors import FormatError

    with pytest.raises(FormatError, match=r"short-fits\.tbl.*need columns: plus minus a b c"):
        read_fits(bad)
    out = tmp_path / "c.tbl"
    assert mBgExact_main([str(images_tbl), str(bad), str(out)]) == 1
    assert not out.exists()
    with pytest.raises(FormatError, match="images table does not list"):
        solve_corrections(IMAGES[:2], [_fit(1, 3, 0, 0, 1)])


def _dense_reference(
    images: list[Image], fits: list[OverlapFit]
) -> dict[int, tuple[float, float, float]]:
    """The same objective written out densely in global coefficients and solved by lstsq
    (minimum norm), then each connected group shifted to zero mean."""
    ids = sorted({f.plus for f in fits} | {f.minus for f in fits})
    at = {c: k for k, c in enumerate(ids)}
    n = len(ids)
    normal = np.zeros((3 * n, 3 * n))
    rhs = np.zeros(3 * n)
    used = used_fits(images, fits)
    for f in used:
        m = box_moments(f)
        i, j = 3 * at[f.plus], 3 * at[f.minus]
        normal[i : i + 3, i : i + 3] += m
        normal[j : j + 3, j : j + 3] += m
        normal[i : i + 3, j : j + 3] -= m
        normal[j : j + 3, i : i + 3] -= m
        md = m @ [f.a, f.b, f.c]
        rhs[i : i + 3] += md
        rhs[j : j + 3] -= md
    x = np.linalg.lstsq(normal, rhs, rcond=1e-12)[0].reshape(n, 3)
    group = list(range(n))
    for f in used:  # tiny graphs: relabel until stable
        a, b = group[at[f.plus]], group[at[f.minus]]
        group = [min(a, b) if g in (a, b) else g for g in group]
    for g in set(group):
        members = [k for k in range(n) if group[k] == g]
        x[members] -= x[members].mean(axis=0)
    return {c: tuple(x[at[c]]) for c in ids}  # type: ignore[misc]


@st.composite
def _mosaics(draw: st.DrawFn) -> tuple[list[Image], list[OverlapFit]]:
    nx = draw(st.integers(1, 4))
    ny = draw(st.integers(1, 3))
    images = [
        Image(r * nx + c + 1, 120, 100, 60.5 - 100 * c, 50.5 - 90 * r)
        for r in range(ny)
        for c in range(nx)
    ]
    level = st.floats(-200, 200, allow_nan=False)
    slope = st.floats(-0.05, 0.05, allow_nan=False)
    fits = []
    for img in images:
        for other in images:
            if other.cntr <= img.cntr:
                continue
            (x1, y1), (x2, y2) = img.center, other.center
            if abs(x1 - x2) > 110 or abs(y1 - y2) > 95 or not draw(st.booleans()):
                continue
            fits.append(
                OverlapFit(img.cntr, other.cntr, draw(slope), draw(slope), draw(level),
                           npixel=2000, rms=0.5, boxx=(x1 + x2) / 2, boxy=(y1 + y2) / 2,
                           width=draw(st.floats(5, 40)), height=draw(st.floats(5, 40)),
                           angle=draw(st.sampled_from([0.0, 90.0, 30.0])))
            )  # fmt: skip
    return images, fits


@settings(max_examples=40, deadline=None)
@given(_mosaics())
def test_sparse_solve_equals_a_dense_solve(mosaic: tuple[list[Image], list[OverlapFit]]) -> None:
    images, fits = mosaic
    got = solve_corrections(images, fits)
    want = _dense_reference(images, fits)
    assert set(got) == set(want)
    errors = plane_errors(images, got, want)
    assert max(errors.values(), default=0.0) < 1e-4  # DN, on levels up to 200 DN
    # The gauge: every group of overlapping images has zero-mean corrections, so the
    # common plane plane_errors removes is itself (numerically) zero.
    for k in range(3):
        assert sum(p[k] for p in got.values()) == pytest.approx(0.0, abs=1e-6)


@settings(max_examples=25, deadline=None)
@given(_mosaics())
def test_conjugate_gradients_agree_with_the_direct_solve(
    mosaic: tuple[list[Image], list[OverlapFit]],
) -> None:
    """The fallback (used when a group is singular beyond its common plane) gives the same
    corrections as the block elimination."""
    images, fits = mosaic
    direct = solve_corrections(images, fits)
    with mock.patch.object(_System, "solve_direct", lambda self: None):
        iterative = solve_corrections(images, fits)
    assert max(plane_errors(images, iterative, direct).values(), default=0.0) < 1e-4


def test_a_degenerate_overlap_falls_back_and_stays_finite() -> None:
    # A zero-width box ties images 2 and 3 by nothing: the block system is singular there.
    fits = [_fit(1, 2, 0, 0, 10), _fit(2, 3, 0, 0, 4, width=0.0)]
    got = solve_corrections(IMAGES, fits)
    assert all(math.isfinite(v) for plane in got.values() for v in plane)
    assert got[1][2] - got[2][2] == pytest.approx(10.0)


def test_plane_errors_ignore_a_common_plane() -> None:
    exact = {1: (0.0, 0.0, 9.0), 2: (0.0, 0.0, -2.0), 3: (0.0, 0.0, -7.0)}
    shifted = {k: (a + 0.01, b - 0.02, c + 5.0) for k, (a, b, c) in exact.items()}
    assert max(plane_errors(IMAGES, shifted, exact).values()) < 1e-9
    off = dict(shifted)
    off[2] = (0.01, -0.02, 3.0 + 1.0)  # image 2 one DN off
    errors = plane_errors(IMAGES, off, exact)
    assert errors[2] > 0.5 and errors[1] > 0.1


def test_corrections_round_trip(tmp_path: Path) -> None:
    planes = {2: (1.5e-3, -2.25e-4, -81.0), 10: (0.0, 0.0, 0.0)}
    path = tmp_path / "corrections.tbl"
    path.write_text("\n".join(corrections_lines(planes)) + "\n")
    assert read_corrections(path) == planes


def test_agrees_with_mbgmodel_on_a_small_sky(montage_chain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The 3 x 3 sky's own fits.tbl: mBgModel (mDAG's 100000 iterations, converged on
    nine images) and the exact solve agree within mBgModel's convergence."""
    from MontagePy.main import mBgModel

    work = montage_chain.work
    images = read_images(work / "pimages.tbl")
    exact = solve_corrections(images, read_fits(work / "fits.tbl"))
    out = tmp_path / "mbgmodel.tbl"
    result = mBgModel(str(work / "pimages.tbl"), str(work / "fits.tbl"), str(out),
                      niteration=100000)  # fmt: skip
    assert str(result["status"]) == "0"
    theirs = read_corrections(out)
    assert set(theirs) == set(exact)
    errors = plane_errors(images, theirs, exact)
    assert max(errors.values()) < 0.01  # DN, over each image
    # The chain itself ran the exact solve: its table is what the solver writes.
    ours = read_corrections(work / "corrections.tbl")
    assert max(plane_errors(images, ours, exact).values()) < 1e-3


def test_mbackground_reads_the_exact_table(montage_chain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    work = montage_chain.work
    out = tmp_path / "c.fits"
    image = work / "p2mass-k-r01c01.fits"
    table = work / "corrections.tbl"
    assert mBackground_main(["-t", str(image), str(out), str(work / "pimages.tbl"),
                             str(table)]) == 0  # fmt: skip
    assert out.is_file()
