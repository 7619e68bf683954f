"""A deterministic synthetic 2MASS-like sky: overlapping TAN tiles over one star field.

2MASS archives cannot be reached from here, so tests and the demo make their own input:
an ``nx x ny`` grid of tiles that covers ``width x height`` degrees around a centre (with a
few pixels to spare on every side, so a mosaic of that region has no blank edge), each
tile overlapping its neighbours by 10 % (so each overlaps exactly its 8 neighbours), one
shared star field rendered with Gaussian PSFs, a different background plane per tile,
Gaussian noise and a small pointing jitter. Same arguments and seed, same pixels.

Pure: :func:`make_sky` returns arrays and headers; :func:`write_sky` writes them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from catalogs.atomic import atomic_write, atomic_write_text
from planner.errors import FormatError, WriteError

OVERLAP = 0.10  # fraction of a tile shared with each neighbour
PSF_SIGMA_PX = 1.3
STAMP_HALF = 6  # PSF stamps are (2*6+1)^2 pixels
NOISE_DN = 1.0
JITTER_MAX_PX = 4.5
MARGIN_PX = 6  # each tile grid reaches this far past the region on every side
STARS_PER_SQ_ARCMIN = 0.6


@dataclass(frozen=True)
class Tile:
    """One synthetic image: its file name, FITS header and pixels."""

    name: str
    row: int
    col: int
    header: fits.Header
    data: np.ndarray
    background: tuple[float, float, float]  # A, B, C of A + B*x + C*y (0-based pixels)


@dataclass(frozen=True)
class Sky:
    tiles: tuple[Tile, ...]
    star_ra: np.ndarray
    star_dec: np.ndarray
    star_flux: np.ndarray
    pixel_scale_arcsec: float


def tile_name(row: int, col: int) -> str:
    """mDAG's 2MASS naming: ``2mass-k-r01c02.fits``."""
    return f"2mass-k-r{row:02d}c{col:02d}.fits"


@dataclass(frozen=True)
class Geometry:
    """The grid, the tile size and the pixel scale of a sky."""

    tiles: tuple[int, int]
    tile_pixels: tuple[int, int]
    pixel_scale_arcsec: float


def _span(pixels: int, tiles: int) -> float:
    # Pixels covered by ``tiles`` tiles in a row overlapping by OVERLAP.
    return pixels * (1 + (1 - OVERLAP) * (tiles - 1))


def tile_geometry(
    size: tuple[float, float],
    tiles: tuple[int, int] | None,
    tile_pixels: tuple[int, int] | None,
    pixel_scale_arcsec: float | None,
) -> Geometry:
    """The geometry of tiles overlapping by :data:`OVERLAP` that cover ``size`` degrees
    (plus :data:`MARGIN_PX` on every side, more than the pointing jitter), from two of:

    * ``tiles`` and ``tile_pixels``: the pixel scale is the smallest that covers both axes;
    * ``tile_pixels`` and ``pixel_scale_arcsec`` (2MASS: 512 x 1024 px at 1 arcsec): the
      smallest grid that covers the region;
    * ``tiles`` and ``pixel_scale_arcsec``: the smallest tiles that cover it.

    >>> tile_geometry((1.0, 1.0), None, (512, 1024), 1.0).tiles
    (8, 4)
    """
    given = sum(v is not None for v in (tiles, tile_pixels, pixel_scale_arcsec))
    if given != 2:
        raise FormatError(
            "give exactly two of: the grid of tiles, the tile size in pixels, the pixel scale"
        )
    if min(size) <= 0 or (pixel_scale_arcsec is not None and pixel_scale_arcsec <= 0):
        raise FormatError(f"sky of {size[0]} x {size[1]} deg: sizes and scale must be positive")
    if tiles is not None and min(tiles) < 1:
        raise FormatError(f"grid of {tiles[0]} x {tiles[1]} tiles: need at least one each way")
    if tile_pixels is not None and min(tile_pixels) < 2 * MARGIN_PX + 2:
        raise FormatError(f"tiles of {tile_pixels[0]} x {tile_pixels[1]} px are too small")
    arcsec = (size[0] * 3600.0, size[1] * 3600.0)
    if pixel_scale_arcsec is None:
        assert tiles is not None and tile_pixels is not None
        scale = max(arcsec[k] / (_span(tile_pixels[k], tiles[k]) - 2 * MARGIN_PX) for k in (0, 1))
        return Geometry(tiles, tile_pixels, scale)
    need = tuple(arcsec[k] / pixel_scale_arcsec + 2 * MARGIN_PX for k in (0, 1))
    if tiles is None:
        assert tile_pixels is not None
        grid = tuple(
            1 + max(0, math.ceil((need[k] / tile_pixels[k] - 1) / (1 - OVERLAP) - 1e-9))
            for k in (0, 1)
        )
        return Geometry((grid[0], grid[1]), tile_pixels, pixel_scale_arcsec)
    pixels = tuple(max(8, math.ceil(need[k] / _span(1, tiles[k]))) for k in (0, 1))
    return Geometry(tiles, (pixels[0], pixels[1]), pixel_scale_arcsec)


def _tan_wcs(ra: float, dec: float, nx: int, ny: int, scale_deg: float) -> WCS:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [(nx + 1) / 2, (ny + 1) / 2]
    wcs.wcs.cdelt = [-scale_deg, scale_deg]
    wcs.wcs.equinox = 2000.0
    wcs.wcs.radesys = "ICRS"
    return wcs


def make_sky(
    center: tuple[float, float],
    size: tuple[float, float],
    tiles: tuple[int, int] | None = None,
    *,
    tile_pixels: tuple[int, int] | None = None,
    pixel_scale_arcsec: float | None = None,
    seed: int = 0,
) -> Sky:
    """Build the tiles and the truth star list (nothing is written); the tiles cover the
    ``size`` region around ``center`` (see :func:`tile_geometry` for which two of
    ``tiles``, ``tile_pixels`` and ``pixel_scale_arcsec`` to give; with only ``tiles``,
    the scale is 1 arcsec, 2MASS's)."""
    if tiles is not None and tile_pixels is None and pixel_scale_arcsec is None:
        pixel_scale_arcsec = 1.0
    geometry = tile_geometry(size, tiles, tile_pixels, pixel_scale_arcsec)
    rng = np.random.default_rng(seed)
    master, span = _master_plane(center, geometry)
    stars = _stars(master, span, geometry.pixel_scale_arcsec, rng)
    nx, ny = geometry.tiles
    # Row by row: the order of the random draws fixes every pixel for a given seed.
    out = [_tile(row, col, geometry, master, stars, rng) for row in range(ny) for col in range(nx)]
    return Sky(tuple(out), *stars, geometry.pixel_scale_arcsec)


def _steps(geometry: Geometry) -> tuple[float, float]:
    """Pixels between the centres of neighbouring tiles, along x and y."""
    px, py = geometry.tile_pixels
    return px * (1 - OVERLAP), py * (1 - OVERLAP)


def _master_plane(
    center: tuple[float, float], geometry: Geometry
) -> tuple[WCS, tuple[float, float]]:
    """The tangent plane that places the tile centres and the stars, and its span in
    pixels (x, y): the whole grid, centred on ``center``."""
    (nx, ny), (px, py) = geometry.tiles, geometry.tile_pixels
    step_x, step_y = _steps(geometry)
    span_x = px + step_x * (nx - 1)
    span_y = py + step_y * (ny - 1)
    scale_deg = geometry.pixel_scale_arcsec / 3600.0
    master = _tan_wcs(center[0], center[1], round(span_x), round(span_y), scale_deg)
    master.wcs.crpix = [(span_x + 1) / 2, (span_y + 1) / 2]  # the grid's exact centre
    return master, (span_x, span_y)


def _stars(
    master: WCS, span: tuple[float, float], scale: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The star field over the whole grid: RA, Dec and total counts of each star."""
    span_x, span_y = span
    area_arcmin2 = span_x * span_y * scale * scale / 3600.0
    nstars = max(20, round(area_arcmin2 * STARS_PER_SQ_ARCMIN))
    sx = rng.uniform(0.5, span_x + 0.5, nstars)
    sy = rng.uniform(0.5, span_y + 0.5, nstars)
    flux = 200.0 * (1.0 + rng.pareto(1.5, nstars))  # total counts; peak ~ flux/(2 pi s^2)
    flux = np.minimum(flux, 2.0e5)
    star_ra, star_dec = master.all_pix2world(sx, sy, 1)
    return star_ra, star_dec, flux


def _tile(
    row: int,
    col: int,
    geometry: Geometry,
    master: WCS,
    stars: tuple[np.ndarray, np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> Tile:
    """The tile at (``row``, ``col``) of the grid: jittered pointing, its own background
    plane, the stars that fall on it, noise."""
    px, py = geometry.tile_pixels
    step_x, step_y = _steps(geometry)
    cx = (px + 1) / 2 + col * step_x + _jitter(rng)
    cy = (py + 1) / 2 + row * step_y + _jitter(rng)
    tra, tdec = master.all_pix2world([[cx, cy]], 1)[0]
    wcs = _tan_wcs(float(tra), float(tdec), px, py, geometry.pixel_scale_arcsec / 3600.0)
    bg = (
        float(rng.uniform(80, 320)),
        float(rng.uniform(-0.15, 0.15)) * 200 / px,
        float(rng.uniform(-0.15, 0.15)) * 200 / py,
    )
    data = _render(wcs, px, py, *stars, bg, rng)
    header = fits.PrimaryHDU(data).header  # SIMPLE, BITPIX, NAXIS* first
    header.update(wcs.to_header())
    header["BUNIT"] = "DN"
    header["ORIGIN"] = "wfplan synthetic sky"
    return Tile(tile_name(row, col), row, col, header, data, bg)


def _jitter(rng: np.random.Generator) -> float:
    # Pointing jitter of 1.5 px rms, bounded so the margin always covers it.
    return float(np.clip(rng.normal(0, 1.5), -JITTER_MAX_PX, JITTER_MAX_PX))


def _render(
    wcs: WCS,
    px: int,
    py: int,
    ra: np.ndarray,
    dec: np.ndarray,
    flux: np.ndarray,
    bg: tuple[float, float, float],
    rng: np.random.Generator,
) -> np.ndarray:
    x, y = wcs.all_world2pix(ra, dec, 0)
    keep = (x > -STAMP_HALF) & (x < px + STAMP_HALF) & (y > -STAMP_HALF) & (y < py + STAMP_HALF)
    x, y, f = x[keep], y[keep], flux[keep]
    image = np.zeros((py, px))
    if len(x):
        ix = np.rint(x).astype(int)
        iy = np.rint(y).astype(int)
        d = np.arange(-STAMP_HALF, STAMP_HALF + 1)
        gx = ix[:, None] + d[None, :]  # (n, k)
        gy = iy[:, None] + d[None, :]
        # Integrate the Gaussian over each pixel (erf differences) so centroids are exact.
        wx = _pixel_integral(gx - x[:, None])
        wy = _pixel_integral(gy - y[:, None])
        stamps = f[:, None, None] * wy[:, :, None] * wx[:, None, :]
        yy = np.broadcast_to(gy[:, :, None], stamps.shape)
        xx = np.broadcast_to(gx[:, None, :], stamps.shape)
        inside = (xx >= 0) & (xx < px) & (yy >= 0) & (yy < py)
        np.add.at(image, (yy[inside], xx[inside]), stamps[inside])
    yy, xx = np.mgrid[0:py, 0:px]
    image += bg[0] + bg[1] * xx + bg[2] * yy
    image += rng.normal(0.0, NOISE_DN, image.shape)
    return image.astype(np.float32)


def _pixel_integral(offset: np.ndarray) -> np.ndarray:
    s = PSF_SIGMA_PX * math.sqrt(2.0)
    return 0.5 * (_erf((offset + 0.5) / s) - _erf((offset - 0.5) / s))


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): numpy has no erf and scipy is not a
    # dependency.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return np.asarray(sign * (1.0 - poly * np.exp(-a * a)))


def truth_lines(sky: Sky) -> Iterator[str]:
    """The truth table as IPAC table lines (id, ra, dec, flux)."""
    yield "\\ wfplan synthetic sky: true star positions (J2000 degrees) and total counts"
    yield f"\\ pixel_scale_arcsec = {sky.pixel_scale_arcsec:.6f}"
    yield "|   id  |      ra       |      dec      |     flux     |"
    yield "|  int  |    double     |    double     |    double    |"
    for i, (ra, dec, f) in enumerate(zip(sky.star_ra, sky.star_dec, sky.star_flux, strict=True)):
        yield f" {i + 1:7d} {ra:15.9f} {dec:15.9f} {f:14.4f}"


def write_sky(sky: Sky, directory: Path) -> list[Path]:
    """Write every tile and ``truth.tbl`` into ``directory`` (each through a temporary name)."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for tile in sky.tiles:
        path = directory / tile.name
        hdu = fits.PrimaryHDU(tile.data, tile.header)
        atomic_write(path, partial(hdu.writeto, overwrite=True), error=WriteError)
        written.append(path)
    truth = directory / "truth.tbl"
    atomic_write_text(truth, "\n".join(truth_lines(sky)) + "\n", error=WriteError)
    written.append(truth)
    return written
