"""Background figures of a Montage run on the synthetic sky (used by montage_seed.py).

Two questions, answered from a finished sequential run's directory:

* How far is each tile's correction plane from the exact least-squares solution of the
  same ``fits.tbl``? For the run's own ``corrections.tbl`` and for Montage's ``mBgModel``
  with mDAG's ``-i 100000`` and with the count the generator now gives it. The error of
  a tile is the rms over its area of the difference of the two planes, once the one
  common plane the objective cannot see is removed (``bgmodel.plane_errors``).
* How well do the corrected tiles agree with each other? The sky knows every tile's true
  background plane; after correction a tile keeps ``truth - correction``. One plane fitted
  to all tiles is removed (a mosaic may keep a global plane); the tile-to-tile spread is
  the standard deviation over tiles of each tile's mean remaining background, in units of
  the sky's pixel noise (``sky.NOISE_DN``).

``--figures DIR`` also draws the mosaic (plane removed, display stretch) and the residual
background maps of the exact solve and of mBgModel with mDAG's count.
"""

from __future__ import annotations

import math
import resource
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from planner.apps.montage import bgmodel
from planner.apps.montage.generator import MDAG_ITERATIONS, mbgmodel_iterations
from planner.apps.montage.ipac import read_table
from planner.apps.montage.sky import NOISE_DN, Sky, Tile

Plane = tuple[float, float, float]
SAMPLES = 24  # per tile axis, for the truth comparison


@dataclass(frozen=True)
class Residual:
    """Every tile's remaining background at sample points (frame plane coordinates)."""

    x: np.ndarray  # (tiles, samples)
    y: np.ndarray
    value: np.ndarray


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _frame(work: Path) -> WCS:
    return WCS(fits.Header.fromstring((work / "big_region.hdr").read_text(), sep="\n"))


def _plane_xy(frame: WCS, ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Montage's plane coordinates (mFitplane, mBgModel, mBackground): the 0-based pixel
    # index minus CRPIX (checked against the fits of the seed sky: 0.017 DN rms this way,
    # 0.052 DN with 1-based pixels).
    fx, fy = frame.all_world2pix(ra, dec, 0)
    return fx - frame.wcs.crpix[0], fy - frame.wcs.crpix[1]


def residuals(
    sky: Sky, cntr_of: Mapping[str, int], corrections: Mapping[int, Plane], work: Path
) -> Residual:
    """``truth - correction`` for each tile at a grid of its own pixels, in the frame."""
    frame = _frame(work)
    xs, ys, vs = [], [], []
    for tile in sky.tiles:
        h, w = tile.data.shape
        u, v = np.meshgrid(np.linspace(0, w - 1, SAMPLES), np.linspace(0, h - 1, SAMPLES))
        u, v = u.ravel(), v.ravel()
        ra, dec = WCS(tile.header).all_pix2world(u + 1, v + 1, 1)
        x, y = _plane_xy(frame, ra, dec)
        a, b, c = tile.background
        truth = a + b * u + c * v
        pa, pb, pc = corrections.get(cntr_of[tile.name], (0.0, 0.0, 0.0))
        xs.append(x)
        ys.append(y)
        vs.append(truth - (pa * x + pb * y + pc))
    return Residual(np.array(xs), np.array(ys), np.array(vs))


def _without_plane(r: Residual) -> np.ndarray:
    design = np.column_stack([r.x.ravel(), r.y.ravel(), np.ones(r.x.size)])
    coef = np.linalg.lstsq(design, r.value.ravel(), rcond=None)[0]
    return np.asarray(r.value - (coef[0] * r.x + coef[1] * r.y + coef[2]))


def spread(r: Residual) -> tuple[float, float]:
    """(std over tiles of the mean remaining background, max per-tile rms), both in DN."""
    rest = _without_plane(r)
    return float(np.std(rest.mean(axis=1))), float(np.sqrt((rest**2).mean(axis=1)).max())


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run_mbgmodel(work: Path, iterations: int) -> tuple[dict[int, Plane], float]:
    """mBgModel as the workflow's job runs it: the wrapper script in a fresh process.

    (Not in this process: MontagePy 2.3's mBgModel reads a "locked" flag one element past
    its image array for the last image, so whether that image is held at zero depends on
    what the process's memory holds; a fresh wrapper process is what a job sees.)
    """
    out = work / f"corrections.mBgModel.{iterations}.tbl"
    tool = Path(sys.executable).parent / "wfplan-mBgModel"
    cpu = _children_cpu()
    subprocess.run(
        [str(tool), "-i", str(iterations), "pimages.tbl", "fits.tbl", out.name],
        cwd=work, check=True,
    )  # fmt: skip
    return bgmodel.read_corrections(out), _children_cpu() - cpu


def report(sky: Sky, work: Path, figures: Path | None = None) -> list[str]:
    images = bgmodel.read_images(work / "pimages.tbl")
    fits_rows = bgmodel.read_fits(work / "fits.tbl")
    cpu = _cpu()
    exact = bgmodel.solve_corrections(images, fits_rows)
    exact_s = _cpu() - cpu
    cntr_of = {r["fname"][1:]: int(r["cntr"]) for r in read_table(work / "pimages.tbl")}
    candidates: list[tuple[str, Mapping[int, Plane], float]] = [
        ("exact solve (in memory)", exact, exact_s),
        ("mBgExact's corrections.tbl (the run's)",
         bgmodel.read_corrections(work / "corrections.tbl"), math.nan),
    ]  # fmt: skip
    counts = sorted({MDAG_ITERATIONS, mbgmodel_iterations(len(images))})
    for n in counts:
        planes, seconds = _run_mbgmodel(work, n)
        candidates.append((f"mBgModel -i {n}", planes, seconds))
    lines = [
        f"background: {len(images)} images, {len(fits_rows)} overlap fits; "
        f"pixel noise {NOISE_DN:g} DN",
        f"{'model':40} {'CPU s':>7} {'err rms DN':>11} {'err max DN':>11} "
        f"{'spread DN':>10} {'/ noise':>8} {'tile rms max':>13}",
    ]
    for label, planes, seconds in candidates:
        errors = np.array(list(bgmodel.plane_errors(images, planes, exact).values()))
        s, worst = spread(residuals(sky, cntr_of, planes, work))
        lines.append(
            f"{label:40} {seconds:7.2f} {math.sqrt(float((errors**2).mean())):11.4f} "
            f"{errors.max():11.4f} {s:10.4f} {s / NOISE_DN:8.4f} {worst:13.4f}"
        )
    if figures is not None:
        mdag = next(p for label, p, _ in candidates if label == f"mBgModel -i {MDAG_ITERATIONS}")
        lines += draw(sky, cntr_of, work, figures, exact, mdag)
    return lines


def _residual_map(
    tiles: Sequence[Tile], cntr_of: Mapping[str, int], planes: Mapping[int, Plane], work: Path,
    step: int = 8,
) -> np.ndarray:  # fmt: skip
    """The remaining background mosaic (mean over covering tiles, as mAdd), every ``step``
    pixels of the region, with one global plane removed."""
    region = WCS(fits.Header.fromstring((work / "region.hdr").read_text(), sep="\n"))
    frame = _frame(work)
    nx, ny = (int(n) for n in region.pixel_shape)
    gx, gy = np.meshgrid(np.arange(1, nx + 1, step), np.arange(1, ny + 1, step))
    ra, dec = region.all_pix2world(gx.ravel(), gy.ravel(), 1)
    x, y = _plane_xy(frame, ra, dec)
    total = np.zeros(x.shape)
    count = np.zeros(x.shape)
    for tile in tiles:
        h, w = tile.data.shape
        u, v = WCS(tile.header).all_world2pix(ra, dec, 0)
        inside = (u >= -0.5) & (u <= w - 0.5) & (v >= -0.5) & (v <= h - 0.5)
        a, b, c = tile.background
        pa, pb, pc = planes.get(cntr_of[tile.name], (0.0, 0.0, 0.0))
        value = a + b * u + c * v - (pa * x + pb * y + pc)
        total[inside] += value[inside]
        count[inside] += 1
    mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    ok = np.isfinite(mean)
    design = np.column_stack([x[ok], y[ok], np.ones(ok.sum())])
    coef = np.linalg.lstsq(design, mean[ok], rcond=None)[0]
    mean[ok] -= design @ coef
    return mean.reshape(gx.shape)


def draw(
    sky: Sky,
    cntr_of: Mapping[str, int],
    work: Path,
    out: Path,
    exact: Mapping[int, Plane],
    mdag: Mapping[int, Plane],
) -> list[str]:
    from matplotlib.figure import Figure

    out.mkdir(parents=True, exist_ok=True)
    lines = []
    # The mosaic: 4 x 4 block means, a plane fitted to its faint pixels removed.
    data = fits.getdata(work / "mosaic.fits").astype(float)
    h, w = (n - n % 4 for n in data.shape)
    small = np.nanmean(data[:h, :w].reshape(h // 4, 4, w // 4, 4), axis=(1, 3))
    yy, xx = np.mgrid[0 : small.shape[0], 0 : small.shape[1]]
    ok = np.isfinite(small) & (small < np.nanpercentile(small, 60))
    design = np.column_stack([xx[ok], yy[ok], np.ones(ok.sum())])
    coef = np.linalg.lstsq(design, small[ok], rcond=None)[0]
    flat = small - (coef[0] * xx + coef[1] * yy + coef[2])
    noise = float(np.nanstd(flat[ok]))
    fig = Figure(figsize=(6, 6), dpi=100)
    ax = fig.add_subplot()
    ax.imshow(np.arcsinh(flat / noise), origin="lower", cmap="gray", vmin=-3, vmax=12)
    ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(out / "montage-seed-mosaic.png")
    lines.append(f"figure: {out / 'montage-seed-mosaic.png'} (blank pixels: "
                 f"{int(np.isnan(data).sum())})")  # fmt: skip

    fig = Figure(figsize=(10, 4.6), dpi=100)
    for k, (title, planes) in enumerate(
        (("exact solve (mBgExact)", exact), (f"mBgModel -i {MDAG_ITERATIONS} (mDAG)", mdag))
    ):
        field = _residual_map(sky.tiles, cntr_of, planes, work)
        limit = max(float(np.nanmax(np.abs(field))), 1e-3)
        ax = fig.add_subplot(1, 2, k + 1)
        im = ax.imshow(field, origin="lower", cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(f"{title}\nresidual background, DN (max |r| {limit:.3f})", fontsize=9)
        ax.set_axis_off()
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    fig.savefig(out / "montage-seed-residual.png")
    lines.append(f"figure: {out / 'montage-seed-residual.png'}")
    return lines
