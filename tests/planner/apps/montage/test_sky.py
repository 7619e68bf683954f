"""The synthetic sky: deterministic for a seed, mDAG's names, 8-neighbour overlaps."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from planner.apps.montage.generator import (
    InputImage,
    overlaps,
    project,
    region_from_center,
)
from planner.apps.montage.ipac import read_table
from planner.apps.montage.sky import (
    MARGIN_PX,
    Geometry,
    Sky,
    make_sky,
    tile_geometry,
    tile_name,
    write_sky,
)
from planner.errors import FormatError

CENTER = (161.265, -59.685)


def _images(sky_tiles: tuple) -> list[InputImage]:
    return [InputImage(t.name, Path(t.name), t.header) for t in sky_tiles]


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = make_sky(CENTER, (0.1, 0.1), (2, 2), tile_pixels=(64, 64), seed=7)
    b = make_sky(CENTER, (0.1, 0.1), (2, 2), tile_pixels=(64, 64), seed=7)
    write_sky(a, tmp_path / "a")
    write_sky(b, tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_other_seed_other_sky() -> None:
    a = make_sky(CENTER, (0.1, 0.1), (2, 2), tile_pixels=(64, 64), seed=1)
    b = make_sky(CENTER, (0.1, 0.1), (2, 2), tile_pixels=(64, 64), seed=2)
    assert not np.array_equal(a.tiles[0].data, b.tiles[0].data)
    assert not np.array_equal(a.star_ra, b.star_ra)


def test_names_follow_mdag() -> None:
    sky = make_sky(CENTER, (0.1, 0.2), (2, 3), tile_pixels=(40, 40), seed=0)
    assert [t.name for t in sky.tiles][:3] == [
        "2mass-k-r00c00.fits",
        "2mass-k-r00c01.fits",
        "2mass-k-r01c00.fits",
    ]
    assert tile_name(12, 3) == "2mass-k-r12c03.fits"
    assert len(sky.tiles) == 6


def test_pixel_scale_sets_tile_size() -> None:
    # 1 arcsec pixels: 0.1 deg (360 px) plus the margins in 2 tiles overlapping by 10 %.
    g = tile_geometry((0.1, 0.1), (2, 2), None, 1.0)
    assert g.pixel_scale_arcsec == 1.0
    assert g.tile_pixels == (math.ceil((360 + 2 * MARGIN_PX) / 1.9),) * 2


def test_2mass_geometry_picks_the_grid() -> None:
    # 2MASS K tiles (512 x 1024 px at 1 arcsec) over the seed's square degree.
    g = tile_geometry((1.0, 1.0), None, (512, 1024), 1.0)
    assert g == Geometry((8, 4), (512, 1024), 1.0)
    assert 3600 + 2 * MARGIN_PX <= 512 * (1 + 0.9 * 7)
    assert 3600 + 2 * MARGIN_PX > 512 * (1 + 0.9 * 6)  # 7 columns would not do
    with pytest.raises(FormatError, match="exactly two of"):
        tile_geometry((1.0, 1.0), (2, 2), (512, 1024), 1.0)
    with pytest.raises(FormatError, match="need at least one"):
        tile_geometry((1.0, 1.0), (0, 2), (512, 1024), None)


def _uncovered_fraction(sky: Sky, size: tuple[float, float]) -> float:
    """The fraction of the mosaic frame's pixels (at the sky's scale) that no tile covers."""
    region = region_from_center(*CENTER, *size, pixel_scale_arcsec=sky.pixel_scale_arcsec)
    nx, ny = region.naxis
    yy, xx = np.mgrid[1 : ny + 1, 1 : nx + 1]
    ra, dec = WCS(region.header).all_pix2world(xx.ravel(), yy.ravel(), 1)
    covered = np.zeros(ra.shape, dtype=bool)
    for tile in sky.tiles:
        tx, ty = WCS(tile.header).all_world2pix(ra, dec, 1)
        h, w = tile.data.shape
        covered |= (tx >= 0.5) & (tx <= w + 0.5) & (ty >= 0.5) & (ty <= h + 0.5)
    return float(1 - covered.mean())


@pytest.mark.parametrize(
    ("size", "tiles", "pixels", "scale"),
    [
        ((0.3, 0.3), (5, 2), (64, 128), None),  # the seed's aspect: scale from the grid
        ((0.25, 0.2), None, (64, 128), 4.0),  # 2MASS-shaped tiles, grid from the scale
        ((0.2, 0.1), (3, 2), None, 3.0),  # tile size from the grid and the scale
    ],
)
def test_tiles_cover_the_whole_region(
    size: tuple[float, float],
    tiles: tuple[int, int] | None,
    pixels: tuple[int, int] | None,
    scale: float | None,
) -> None:
    sky = make_sky(CENTER, size, tiles, tile_pixels=pixels, pixel_scale_arcsec=scale, seed=4)
    assert _uncovered_fraction(sky, size) == 0.0


@pytest.mark.parametrize(("nx", "ny"), [(1, 1), (1, 3), (3, 2), (4, 4)])
def test_each_tile_overlaps_exactly_its_neighbours(nx: int, ny: int) -> None:
    sky = make_sky(CENTER, (0.05 * nx, 0.05 * ny), (nx, ny), tile_pixels=(48, 48), seed=5)
    region = region_from_center(*CENTER, 0.05 * nx, 0.05 * ny, pixel_scale_arcsec=4.0)
    projected = project(_images(sky.tiles), region.padded(2))
    assert len(projected) == nx * ny
    by_cntr = {p.cntr: next(t for t in sky.tiles if t.name == p.image.lfn) for p in projected}
    got = {
        frozenset({(by_cntr[i].row, by_cntr[i].col), (by_cntr[j].row, by_cntr[j].col)})
        for i, j in overlaps(projected)
    }
    want = {
        frozenset({(r, c), (r + dr, c + dc)})
        for r in range(ny)
        for c in range(nx)
        for dr in (-1, 0, 1)
        for dc in (-1, 0, 1)
        if (dr, dc) != (0, 0) and 0 <= r + dr < ny and 0 <= c + dc < nx
    }
    assert got == want
    assert len(got) == nx * (ny - 1) + ny * (nx - 1) + 2 * (nx - 1) * (ny - 1)


def test_tiles_are_tan_images_with_different_backgrounds(tmp_path: Path) -> None:
    sky = make_sky(CENTER, (0.1, 0.1), (2, 2), tile_pixels=(64, 48), seed=3)
    write_sky(sky, tmp_path)
    with fits.open(tmp_path / "2mass-k-r01c01.fits") as hdul:
        header = hdul[0].header
        data = hdul[0].data
    assert header["CTYPE1"] == "RA---TAN" and header["CTYPE2"] == "DEC--TAN"
    assert data.shape == (48, 64)
    levels = {round(t.background[0], 3) for t in sky.tiles}
    assert len(levels) == 4
    truth = read_table(tmp_path / "truth.tbl")
    assert len(truth) == len(sky.star_ra)
    assert float(truth[0]["ra"]) == pytest.approx(sky.star_ra[0], abs=1e-8)
