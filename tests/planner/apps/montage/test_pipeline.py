"""The whole Montage chain on a 3 x 3 sky: stars where the truth table says, seams gone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from planner.apps.montage.ipac import read_table


def _centroid_errors(mosaic: Path, truth: Path) -> list[float]:
    with fits.open(mosaic) as hdul:
        data = np.asarray(hdul[0].data, dtype=float)
        wcs = WCS(hdul[0].header)
    rows = read_table(truth)
    ra = np.array([float(r["ra"]) for r in rows])
    dec = np.array([float(r["dec"]) for r in rows])
    flux = np.array([float(r["flux"]) for r in rows])
    x, y = wcs.all_world2pix(ra, dec, 0)
    errors: list[float] = []
    yy, xx = np.mgrid[-5:6, -5:6]
    for i in np.flatnonzero(flux > 600):
        others = np.hypot(x - x[i], y - y[i])
        others[i] = np.inf
        xi, yi = round(float(x[i])), round(float(y[i]))
        if others.min() < 12 or not (8 <= xi < data.shape[1] - 8 and 8 <= yi < data.shape[0] - 8):
            continue  # blended or at the edge: not a fair test of position
        stamp = data[yi - 5 : yi + 6, xi - 5 : xi + 6]
        ring = np.concatenate([data[yi - 7 : yi + 8, xi - 7], data[yi - 7 : yi + 8, xi + 7]])
        if not (np.all(np.isfinite(stamp)) and np.all(np.isfinite(ring))):
            continue
        s = np.clip(stamp - np.median(ring), 0, None)
        cx = xi + float((s * xx).sum() / s.sum())
        cy = yi + float((s * yy).sum() / s.sum())
        errors.append(float(np.hypot(cx - x[i], cy - y[i])))
    return errors


def test_truth_stars_within_half_a_pixel(montage_chain) -> None:  # type: ignore[no-untyped-def]
    errors = _centroid_errors(
        montage_chain.work / "mosaic.fits", montage_chain.images / "truth.tbl"
    )
    assert len(errors) >= 5
    assert max(errors) < 0.5


def _overlap_offsets(work: Path, prefix: str) -> list[float]:
    """|median difference| of each overlapping pair in its common pixels (same frame)."""
    names = {int(r["cntr"]): r["fname"][1:] for r in read_table(work / "pimages.tbl")}
    out: list[float] = []
    for row in read_table(work / "fits.tbl"):
        a, b = (fits.getheader(work / (prefix + names[int(row[k])])) for k in ("plus", "minus"))
        da, db = (fits.getdata(work / (prefix + names[int(row[k])])) for k in ("plus", "minus"))
        ox = round(a["CRPIX1"] - b["CRPIX1"])
        oy = round(a["CRPIX2"] - b["CRPIX2"])
        ys = slice(max(0, oy), min(da.shape[0], db.shape[0] + oy))
        xs = slice(max(0, ox), min(da.shape[1], db.shape[1] + ox))
        pa = da[ys, xs]
        pb = db[ys.start - oy : ys.stop - oy, xs.start - ox : xs.stop - ox]
        both = np.isfinite(pa) & np.isfinite(pb)
        assert both.sum() > 100
        out.append(abs(float(np.median(pa[both] - pb[both]))))
    return out


def test_background_steps_removed(montage_chain) -> None:  # type: ignore[no-untyped-def]
    before = _overlap_offsets(montage_chain.work, "p")
    after = _overlap_offsets(montage_chain.work, "c")
    assert len(before) == len(after) == 20
    assert np.mean(before) > 10  # the sky's tiles really do disagree
    assert np.mean(after) * 10 <= np.mean(before)
    assert max(after) < 1.0


def test_products_exist(montage_chain) -> None:  # type: ignore[no-untyped-def]
    work = montage_chain.work
    assert (work / "shrunken.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    region = fits.Header.fromstring((work / "region.hdr").read_text(), sep="\n")
    mosaic = fits.getheader(work / "mosaic.fits")
    assert (mosaic["NAXIS1"], mosaic["NAXIS2"]) == (region["NAXIS1"], region["NAXIS2"])
