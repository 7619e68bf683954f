"""The Montage workflow generator: images + a region -> abstract workflow and catalogs.

What Montage's ``mDAG`` does without the archive: keep the images whose footprint touches
the region, find the overlapping pairs (what ``mOverlaps`` does), predict the tables mDAG
writes beside its DAX, and lay out the jobs with mDAG's names, files, arguments and edges
(mViewer in place of mJPEG, which no longer exists):

    mProjectPP x images -> mDiffFit x pairs -> mConcatFit -> mBgModel -> mBackground x images
    -> mImgtbl -> mAdd -> mShrink -> mViewer

A mosaic wider than :data:`COADD_TILE_MAX_PIXELS` is co-added in tiles instead, the way
Montage builds large mosaics (``mTileHdr`` headers, one ``mAdd`` per tile over the images
that touch it, then one ``mAdd`` of the tiles): the tiles' co-adds run in parallel and
each starts as soon as its own images are corrected. The tables the tile co-adds read are
the generator's exact prediction of what ``mProjectPP -X`` writes (which ``mImgtbl`` would
only read back), so that layout has no ``mImgtbl`` job:

    ... mBackground x images -> mAdd x tiles -> mAdd -> mShrink -> mViewer

Every job carries a DAGMan priority that follows the critical path (:func:`priorities`).

:func:`build_montage` is pure (headers in, values out); :func:`scan_images` and
:func:`write_montage` are the only functions that touch files.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from catalogs.atomic import atomic_write_text
from catalogs.replica import PFN, Replica, ReplicaCatalog
from catalogs.transformation import (
    Transformation,
    TransformationCatalog,
    TransformationSite,
    TransformationType,
)
from planner.apps.montage.ipac import table_lines
from planner.errors import FormatError, PlannerError
from planner.model.base import Namespace, Profiles
from planner.model.workflow import Job, LinkType, Use, Workflow

TRANSFORMATIONS = (
    "mProjectPP", "mDiffFit", "mConcatFit", "mBgExact", "mBgModel", "mBackground",
    "mImgtbl", "mAdd", "mShrink", "mViewer",
)  # fmt: skip

# The background model job: the exact least-squares solve (default), or Montage's own
# iterative mBgModel for users who want the toolkit's code.
BACKGROUND_MODELS = ("exact", "mBgModel")
MDAG_ITERATIONS = 100_000  # what mDAG passes to mBgModel (-i), right for its 16-image case


def mbgmodel_iterations(images: int) -> int:
    """mBgModel's ``-i`` for ``images`` images: mDAG's 100000, grown in proportion beyond
    16 images. The relaxation moves the smooth, mosaic-wide modes by a step that shrinks
    with the mosaic's size, so a fixed count leaves large mosaics unconverged."""
    return max(MDAG_ITERATIONS, MDAG_ITERATIONS * images // 16)


# The tables and headers the generator writes beside the workflow (mDAG's names, without
# its time-stamp suffix so that the same input gives the same bytes).
REGION_HDR = "region.hdr"
BIG_REGION_HDR = "big_region.hdr"
STATFILE_TBL = "statfile.tbl"
PIMAGES_TBL = "pimages.tbl"
CIMAGES_TBL = "cimages.tbl"
MOSAIC = "mosaic.fits"
SHRUNKEN = "shrunken.fits"
SHRUNKEN_PNG = "shrunken.png"
BIG_REGION_PAD = 2  # pixels added on every side of the projection frame (as mDAG does)
TILES_TBL = "tiles.tbl"

# mShrink's factor: the smallest whole number that brings the mosaic's longer side to at
# most this many pixels, the size of a preview (mViewer's cost grows with the pixels it
# draws: 3 s for the 3600 x 3600 seed mosaic, 0.25 s at a quarter of the side). Small
# mosaics keep mDAG's factor 1.
SHRUNKEN_MAX_PIXELS = 1024
# Above this many pixels on a side the mosaic is co-added in tiles of at most this size.
COADD_TILE_MAX_PIXELS = 2048
# A job's priority per job on the longest chain behind it: Pegasus's own step (10 x depth)
# turned round, so compute jobs keep ranking below Pegasus's data movement (stage-in 700,
# stage-out 900), which therefore still starts first when both are ready.
PRIORITY_STEP = 10


class NoImagesInRegion(PlannerError):
    """No input image touches the requested region."""


class CoaddGridTooFine(FormatError):
    """A co-add grid with no tile, or more tiles on an axis than the mosaic has pixels."""


@dataclass(frozen=True)
class InputImage:
    """One input image: its LFN, where it is, and its FITS header."""

    lfn: str
    path: Path
    header: fits.Header


@dataclass(frozen=True)
class Region:
    """The mosaic's frame as FITS header text (what ``mHdr``/``mMakeHdr`` write)."""

    header: fits.Header

    @property
    def naxis(self) -> tuple[int, int]:
        return int(self.header["NAXIS1"]), int(self.header["NAXIS2"])

    def padded(self, pad: int) -> Region:
        h = self.header.copy()
        h["NAXIS1"] = int(h["NAXIS1"]) + 2 * pad
        h["NAXIS2"] = int(h["NAXIS2"]) + 2 * pad
        h["CRPIX1"] = float(h["CRPIX1"]) + pad
        h["CRPIX2"] = float(h["CRPIX2"]) + pad
        return Region(h)

    def tile(self, x0: int, y0: int, naxis: tuple[int, int]) -> Region:
        """The ``naxis`` pixels starting at 0-based pixel (x0, y0): same projection and
        reference point, the reference pixel moved (what ``mTileHdr`` writes)."""
        h = self.header.copy()
        h["NAXIS1"], h["NAXIS2"] = naxis
        h["CRPIX1"] = float(h["CRPIX1"]) - x0
        h["CRPIX2"] = float(h["CRPIX2"]) - y0
        return Region(h)

    def text(self) -> str:
        """Montage's header-file text: one card a line, ending with END."""
        lines = [card.image.rstrip() for card in self.header.cards]
        return "\n".join([*lines, "END"]) + "\n"


def region_from_center(
    ra: float,
    dec: float,
    width: float,
    height: float,
    *,
    pixel_scale_arcsec: float = 1.0,
    projection: str = "TAN",
) -> Region:
    """A north-up region ``width x height`` degrees around (ra, dec), like ``mHdr``."""
    if width <= 0 or height <= 0 or pixel_scale_arcsec <= 0:
        raise FormatError(
            f"region size {width} x {height} deg at {pixel_scale_arcsec} arcsec/px must be positive"
        )
    proj = projection.upper()
    if len(proj) != 3 or not proj.isalpha():
        raise FormatError(f"projection {projection!r} is not a three-letter FITS code (e.g. TAN)")
    scale = pixel_scale_arcsec / 3600.0
    nx = max(1, math.ceil(width / scale))
    ny = max(1, math.ceil(height / scale))
    h = fits.Header()
    h["SIMPLE"] = True
    h["BITPIX"] = -64
    h["NAXIS"] = 2
    h["NAXIS1"] = nx
    h["NAXIS2"] = ny
    h["CTYPE1"] = f"RA---{proj}"
    h["CTYPE2"] = f"DEC--{proj}"
    h["EQUINOX"] = 2000.0
    h["CRVAL1"] = float(ra)
    h["CRVAL2"] = float(dec)
    h["CRPIX1"] = (nx + 1) / 2.0
    h["CRPIX2"] = (ny + 1) / 2.0
    h["CDELT1"] = -scale
    h["CDELT2"] = scale
    h["CROTA2"] = 0.0
    return Region(h)


def region_from_text(text: str, source: str) -> Region:
    """A region from a Montage header file (``KEY = value`` lines, ``END``)."""
    try:
        header = fits.Header.fromstring(text, sep="\n")
    except Exception as exc:  # astropy raises many kinds on malformed cards
        raise FormatError(f"not a FITS header: {exc}", source=source) from None
    for key in ("NAXIS1", "NAXIS2", "CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2"):
        if key not in header:
            raise FormatError(f"header lacks {key}", source=source)
    try:
        WCS(header)
    except Exception as exc:
        raise FormatError(f"no usable WCS: {exc}", source=source) from None
    return Region(header)


@dataclass(frozen=True)
class Projected:
    """Where an image lands in the projection frame (as ``mProjectPP -X`` will write it)."""

    image: InputImage
    cntr: int  # 1-based, as mDAG numbers images (fit.000001.000003.txt)
    corners: np.ndarray  # (4, 2) pixel coordinates of the image's corners in the frame
    naxis: tuple[int, int]
    crpix: tuple[float, float]
    center: tuple[float, float]  # ra, dec

    @property
    def base(self) -> str:
        return self.image.lfn


@dataclass(frozen=True)
class CoaddTile:
    """One tile of a tiled co-add: its place in the grid, its first pixel in the region
    (0-based) and its header."""

    ix: int
    iy: int
    x0: int
    y0: int
    region: Region

    @property
    def image(self) -> str:
        return f"mosaic_{self.ix}_{self.iy}.fits"

    @property
    def header(self) -> str:
        return f"region_{self.ix}_{self.iy}.hdr"

    @property
    def table(self) -> str:
        return f"cimages_{self.ix}_{self.iy}.tbl"


@dataclass(frozen=True)
class MontageWorkflow:
    """Everything ``wfplan montage build`` writes."""

    workflow: Workflow
    replica_catalog: ReplicaCatalog
    transformation_catalog: TransformationCatalog
    files: dict[str, str]  # generated side files: LFN -> text
    images: tuple[Projected, ...]
    pairs: tuple[tuple[int, int], ...]
    tiles: tuple[CoaddTile, ...] = ()  # the co-add's tiles (none: one mAdd, as mDAG)


def _edge_samples(nx: int, ny: int, per_edge: int = 33) -> tuple[np.ndarray, np.ndarray]:
    t1 = np.linspace(0.5, nx + 0.5, per_edge)
    t2 = np.linspace(0.5, ny + 0.5, per_edge)
    xs = np.concatenate([t1, t1, np.full(per_edge, 0.5), np.full(per_edge, nx + 0.5)])
    ys = np.concatenate([np.full(per_edge, 0.5), np.full(per_edge, ny + 0.5), t2, t2])
    return xs, ys


def project(images: Sequence[InputImage], frame: Region) -> list[Projected]:
    """Each image's footprint in ``frame`` and the image ``mProjectPP -X`` writes for it
    (size and reference pixel); images that do not touch the frame are dropped."""
    fw = WCS(frame.header)
    fnx, fny = frame.naxis
    kept: list[Projected] = []
    for image in images:
        try:
            wcs = WCS(image.header)
            nx, ny = int(image.header["NAXIS1"]), int(image.header["NAXIS2"])
        except Exception as exc:
            raise FormatError(f"no usable WCS: {exc}", source=str(image.path)) from None
        xs, ys = _edge_samples(nx, ny)
        with np.errstate(all="ignore"):
            ra, dec = wcs.all_pix2world(xs, ys, 1)
            fx, fy = fw.all_world2pix(ra, dec, 1)
        if not (np.all(np.isfinite(fx)) and np.all(np.isfinite(fy))):
            continue
        if fx.max() < 0.5 or fx.min() > fnx + 0.5 or fy.max() < 0.5 or fy.min() > fny + 0.5:
            continue
        corner_px = np.array([[0.5, 0.5], [nx + 0.5, 0.5], [nx + 0.5, ny + 0.5], [0.5, ny + 0.5]])
        cra, cdec = wcs.all_pix2world(corner_px[:, 0], corner_px[:, 1], 1)
        kx, ky = fw.all_world2pix(cra, cdec, 1)
        (lo_x, hi_x), (lo_y, hi_y) = _written_span(wcs, (nx, ny), fw, (kx, ky))
        cx, cy = wcs.all_pix2world([[(nx + 1) / 2, (ny + 1) / 2]], 1)[0]
        kept.append(
            Projected(
                image=image,
                cntr=0,
                corners=np.column_stack([kx, ky]),
                naxis=(hi_x - lo_x + 1, hi_y - lo_y + 1),
                crpix=(float(frame.header["CRPIX1"]) - lo_x, float(frame.header["CRPIX2"]) - lo_y),
                center=(float(cx), float(cy)),
            )
        )
    kept.sort(key=lambda p: p.image.lfn)
    return [
        Projected(p.image, i + 1, p.corners, p.naxis, p.crpix, p.center) for i, p in enumerate(kept)
    ]


def _border(nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    # Every pixel corner along the image's border (1-based pixel coordinates).
    tx = np.arange(nx + 1) + 0.5
    ty = np.arange(ny + 1) + 0.5
    xs = np.concatenate([np.full(ny + 1, 0.5), np.full(ny + 1, nx + 0.5), tx, tx])
    ys = np.concatenate([ty, ty, np.full(nx + 1, 0.5), np.full(nx + 1, ny + 0.5)])
    return xs, ys


def _written_span(
    wcs: WCS,
    naxis: tuple[int, int],
    fw: WCS,
    corners: tuple[np.ndarray, np.ndarray],
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The frame pixels (0-based, inclusive, per axis) that ``mProjectPP -X`` writes.

    mProjectPP first bounds the output by every pixel corner along the image's border,
    mapped into the frame, and allocates ``floor(min - 1)`` for ``floor(max - min + 2)``
    pixels (``-X`` widens the frame so nothing is clipped at its edges); then it writes
    every allocated pixel that the footprint covers with a positive area. What it writes
    is the intersection of the two ranges, so a footprint edge just past a pixel boundary
    is cut: the footprint alone predicts one pixel too many there.
    """
    bx, by = _border(*naxis)
    ra, dec = wcs.all_pix2world(bx, by, 1)
    ox, oy = fw.all_world2pix(ra, dec, 1)
    out = []
    for border, corner in ((ox, corners[0]), (oy, corners[1])):
        start = math.floor(border.min() - 1)
        length = math.floor(border.max() - border.min() + 2)
        lo = max(start, math.floor(corner.min() - 0.5))
        hi = min(start + length - 1, math.ceil(corner.max() - 0.5) - 1)
        out.append((lo, hi))
    return out[0], out[1]


def _separated(a: np.ndarray, b: np.ndarray) -> bool:
    # Separating-axis test for two convex quadrilaterals; touching edges do not overlap.
    for poly in (a, b):
        for i in range(len(poly)):
            edge = poly[(i + 1) % len(poly)] - poly[i]
            axis = np.array([-edge[1], edge[0]])
            pa, pb = a @ axis, b @ axis
            if pa.max() <= pb.min() + 1e-9 or pb.max() <= pa.min() + 1e-9:
                return True
    return False


def overlaps(projected: Sequence[Projected]) -> list[tuple[int, int]]:
    """Overlapping pairs ``(cntr_i, cntr_j)``, ``i < j``, sorted (what mOverlaps finds).

    A sweep over x keeps this near-linear for tile grids instead of testing every pair.
    """
    boxes = sorted(
        ((p.corners[:, 0].min(), p.corners[:, 0].max(), p) for p in projected),
        key=lambda t: (t[0], t[2].cntr),
    )
    pairs: list[tuple[int, int]] = []
    active: list[tuple[float, float, Projected]] = []
    for lo, hi, p in boxes:
        active = [a for a in active if a[1] > lo]
        for _, _, q in active:
            if not _separated(p.corners, q.corners):
                pairs.append((min(p.cntr, q.cntr), max(p.cntr, q.cntr)))
        active.append((lo, hi, p))
    return sorted(pairs)


def shrink_factor(naxis: tuple[int, int]) -> int:
    """mShrink's factor for a mosaic of ``naxis`` pixels (:data:`SHRUNKEN_MAX_PIXELS`)."""
    return max(1, math.ceil(max(naxis) / SHRUNKEN_MAX_PIXELS))


def coadd_grid(naxis: tuple[int, int]) -> tuple[int, int]:
    """Tiles per axis for the co-add: none wider than :data:`COADD_TILE_MAX_PIXELS`."""
    return (
        max(1, math.ceil(naxis[0] / COADD_TILE_MAX_PIXELS)),
        max(1, math.ceil(naxis[1] / COADD_TILE_MAX_PIXELS)),
    )


def coadd_tiles(region: Region, grid: tuple[int, int]) -> tuple[CoaddTile, ...]:
    """An ``nx x ny`` grid of tiles covering ``region``, as ``mTileHdr`` cuts it (each
    ``naxis // n`` pixels), except that the last tile of a row or column also takes the
    ``naxis % n`` pixels mTileHdr would leave out, so the tiles cover every pixel."""
    (nx, ny), (wx, wy) = grid, region.naxis
    if not (1 <= nx <= wx and 1 <= ny <= wy):
        raise CoaddGridTooFine(
            f"co-add grid {nx} x {ny} does not fit the mosaic's {wx} x {wy} pixels"
        )
    tiles = []
    for iy, (y0, y1) in enumerate(_cuts(wy, ny)):
        for ix, (x0, x1) in enumerate(_cuts(wx, nx)):
            tiles.append(CoaddTile(ix, iy, x0, y0, region.tile(x0, y0, (x1 - x0, y1 - y0))))
    return tuple(tiles)


def _cuts(n: int, parts: int) -> list[tuple[int, int]]:
    size = n // parts
    return [(k * size, n if k == parts - 1 else (k + 1) * size) for k in range(parts)]


def _covers(tile: CoaddTile, image: Projected, region: Region) -> bool:
    """Whether any pixel ``mProjectPP -X`` writes for ``image`` falls in ``tile``: the
    image's pixel 1 is the region's 0-based pixel ``CRPIX - crpix`` (same projection and
    reference point, whole-pixel offsets)."""
    w, h = tile.region.naxis
    lo_x = round(float(region.header["CRPIX1"]) - image.crpix[0])
    lo_y = round(float(region.header["CRPIX2"]) - image.crpix[1])
    return (
        lo_x <= tile.x0 + w - 1
        and lo_x + image.naxis[0] - 1 >= tile.x0
        and lo_y <= tile.y0 + h - 1
        and lo_y + image.naxis[1] - 1 >= tile.y0
    )


def build_montage(
    images: Sequence[InputImage],
    region: Region,
    *,
    name: str = "montage",
    tc_sites: Sequence[str] = ("local",),
    bin_dir: Path | None = None,
    header_dir: Path | None = None,
    background: str = "exact",
    coadd: tuple[int, int] | None = None,
) -> MontageWorkflow:
    """The abstract workflow, its replica and transformation catalogs and side files.

    ``bin_dir`` holds the ``wfplan-m*`` wrapper scripts (default: beside the running
    Python); ``header_dir`` is where the side files will be written (for their RC entries);
    ``background`` picks the background model job (:data:`BACKGROUND_MODELS`); ``coadd``
    the co-add's grid of tiles (default :func:`coadd_grid`; ``(1, 1)``: one mAdd, as mDAG).
    """
    if background not in BACKGROUND_MODELS:
        raise FormatError(
            f"background model {background!r} is not one of {', '.join(BACKGROUND_MODELS)}"
        )
    frame = region.padded(BIG_REGION_PAD)
    projected = project(images, frame)
    if not projected:
        raise NoImagesInRegion(
            f"no image touches the region {_describe(region)} (checked {len(images)} images)"
        )
    pairs = overlaps(projected)
    grid = coadd if coadd is not None else coadd_grid(region.naxis)
    tiles = coadd_tiles(region, grid) if grid != (1, 1) else ()
    covered = [(t, tuple(p for p in projected if _covers(t, p, region))) for t in tiles]
    covered = [(t, members) for t, members in covered if members]  # else it stays blank
    tiles = tuple(t for t, _ in covered)
    jobs = with_priorities(tuple(_jobs(projected, pairs, background, covered, region)))
    files = _side_files(region, frame, projected, pairs)
    for t, members in covered:
        files[t.header] = t.region.text()
        files[t.table] = "\n".join(_images_lines(members, frame, "c")) + "\n"
    if tiles:
        files[TILES_TBL] = "\n".join(_tiles_lines(tiles, region)) + "\n"
    workflow = Workflow(
        name=name,
        jobs=jobs,
        metadata={
            "generator": "wfplan montage build",
            "images": str(len(projected)),
            "overlaps": str(len(pairs)),
        },
    )
    return MontageWorkflow(
        workflow=workflow,
        replica_catalog=_replicas(projected, sorted(files), header_dir),
        transformation_catalog=transformation_catalog(tc_sites, bin_dir, names=_used_names(jobs)),
        files=files,
        images=tuple(projected),
        pairs=tuple(pairs),
        tiles=tiles,
    )


def _side_files(
    region: Region, frame: Region, projected: Sequence[Projected], pairs: Sequence[tuple[int, int]]
) -> dict[str, str]:
    """The headers and tables mDAG writes beside its DAX: LFN -> text."""
    return {
        REGION_HDR: region.text(),
        BIG_REGION_HDR: frame.text(),
        STATFILE_TBL: "\n".join(_statfile_lines(pairs)) + "\n",
        PIMAGES_TBL: "\n".join(_images_lines(projected, frame, "p")) + "\n",
        CIMAGES_TBL: "\n".join(_images_lines(projected, frame, "c")) + "\n",
    }


def _describe(region: Region) -> str:
    h = region.header
    return (
        f"centred at RA {float(h['CRVAL1']):.5f} Dec {float(h['CRVAL2']):.5f}, "
        f"{region.naxis[0]} x {region.naxis[1]} px"
    )


def _use(lfn: str, link: LinkType, *, keep: bool = False, optional: bool = False) -> Use:
    return Use(lfn=lfn, link=link, stage_out=keep, register_replica=keep, optional=optional)


def _inp(lfn: str) -> Use:
    return Use(lfn=lfn, link=LinkType.INPUT)


def _image_in(fits_name: str) -> tuple[Use, Use]:
    """An image as Montage's tools read it: the FITS file and its area image beside it."""
    return _inp(fits_name), _inp(_area(fits_name))


def _image_out(fits_name: str, *, keep: bool = False, optional: bool = False) -> tuple[Use, Use]:
    """An image as Montage's tools write it: the FITS file and its area image, alike."""
    return (
        _use(fits_name, LinkType.OUTPUT, keep=keep, optional=optional),
        _use(_area(fits_name), LinkType.OUTPUT, keep=keep, optional=optional),
    )


def _area(fits_name: str) -> str:
    return (
        fits_name[: -len(".fits")] + "_area.fits"
        if fits_name.endswith(".fits")
        else fits_name + "_area"
    )


def _fit(i: int, j: int) -> str:
    return f"fit.{i:06d}.{j:06d}.txt"


def _used_names(jobs: Sequence[Job]) -> tuple[str, ...]:
    used = {j.name for j in jobs}
    return tuple(n for n in TRANSFORMATIONS if n in used)


def _background_job(job_id: str, background: str, images: int) -> Job:
    uses = (_inp(PIMAGES_TBL), _inp("fits.tbl"), _use("corrections.tbl", LinkType.OUTPUT))
    if background == "mBgModel":
        iterations = str(mbgmodel_iterations(images))
        args: tuple[str, ...] = ("-i", iterations, PIMAGES_TBL, "fits.tbl", "corrections.tbl")
        return Job(id=job_id, name="mBgModel", arguments=args, uses=uses)
    args = (PIMAGES_TBL, "fits.tbl", "corrections.tbl")
    return Job(id=job_id, name="mBgExact", arguments=args, uses=uses)


def _jobs(
    projected: Sequence[Projected],
    pairs: Sequence[tuple[int, int]],
    background: str,
    tiles: Sequence[tuple[CoaddTile, Sequence[Projected]]],
    region: Region,
) -> Iterator[Job]:
    """mDAG's jobs, level by level, numbered ``ID000001``, ``ID000002``, ... in that order
    (with ``tiles``, the tiled co-add in place of mImgtbl and the one mAdd)."""
    ids = (f"ID{n:06d}" for n in itertools.count(1))
    by_cntr = {p.cntr: p for p in projected}
    for p in projected:
        yield _project_job(next(ids), p.base)
    for i, j in pairs:
        yield _diff_job(next(ids), by_cntr[i], by_cntr[j])
    yield _concat_job(next(ids), pairs)
    yield _background_job(next(ids), background, len(projected))
    for p in projected:
        yield _correct_job(next(ids), p.base)
    if tiles:
        for tile, members in tiles:
            yield _tile_add_job(next(ids), tile, ["c" + p.base for p in members])
        yield _add_tiles_job(next(ids), [t for t, _ in tiles])
    else:
        corrected = ["c" + p.base for p in projected]
        yield _imgtbl_job(next(ids), corrected)
        yield _add_job(next(ids), corrected)
    yield Job(
        id=next(ids),
        name="mShrink",
        arguments=(MOSAIC, SHRUNKEN, str(shrink_factor(region.naxis))),
        uses=(_inp(MOSAIC), _use(SHRUNKEN, LinkType.OUTPUT, keep=True)),
    )
    yield _viewer_job(next(ids))


def with_priorities(jobs: Sequence[Job]) -> tuple[Job, ...]:
    """``jobs`` with a DAGMan priority each (:func:`priorities`) in their dagman profiles."""
    prio = priorities(jobs)
    return tuple(replace(j, profiles=_with_priority(j.profiles, prio[j.id])) for j in jobs)


def _with_priority(profiles: Profiles, priority: int) -> Profiles:
    dagman = {**profiles.get(Namespace.DAGMAN, {}), "priority": str(priority)}
    return {**profiles, Namespace.DAGMAN: dagman}


def priorities(jobs: Sequence[Job]) -> dict[str, int]:
    """Each job's priority: :data:`PRIORITY_STEP` times the number of jobs on the longest
    chain from it to the end of the workflow (itself included), the classic list-scheduling
    rule (a ready job with more work behind it goes first). DAGMan, and the embedded
    engine, start ready nodes by priority; Pegasus's default (10 x depth) does the reverse:
    it runs every ready mDiffFit before the projections the background fit also waits for,
    and a tile's co-add before the corrections other tiles still need. ``jobs`` are in
    dependency order, as the generator lists them."""
    producer = {u.lfn: j.id for j in jobs for u in j.outputs}
    children: dict[str, set[str]] = {j.id: set() for j in jobs}
    for j in jobs:
        for u in j.inputs:
            parent = producer.get(u.lfn)
            if parent is not None and parent != j.id:
                children[parent].add(j.id)
    chain: dict[str, int] = {}
    for j in reversed(jobs):
        chain[j.id] = 1 + max((chain[c] for c in children[j.id]), default=0)
    return {j.id: PRIORITY_STEP * chain[j.id] for j in jobs}


def _project_job(job_id: str, raw: str) -> Job:
    proj = "p" + raw
    return Job(
        id=job_id,
        name="mProjectPP",
        arguments=("-X", raw, proj, BIG_REGION_HDR),
        uses=(_inp(raw), *_image_out(proj), _inp(BIG_REGION_HDR)),
    )


def _diff_job(job_id: str, first: Projected, second: Projected) -> Job:
    """The difference of two overlapping images and the plane fitted to it."""
    i, j = first.cntr, second.cntr
    a, b = "p" + first.base, "p" + second.base
    diff = f"diff.{i:06d}.{j:06d}.fits"
    return Job(
        id=job_id,
        name="mDiffFit",
        arguments=("-s", _fit(i, j), a, b, diff, BIG_REGION_HDR),
        uses=(
            _use(_fit(i, j), LinkType.OUTPUT),
            *_image_in(a),
            *_image_in(b),
            # mDiff writes the difference's area image too; declared (not staged out,
            # not registered) so cleanup removes it instead of leaving it behind.
            *_image_out(diff, optional=True),
            _inp(BIG_REGION_HDR),
        ),
    )


def _concat_job(job_id: str, pairs: Sequence[tuple[int, int]]) -> Job:
    return Job(
        id=job_id,
        name="mConcatFit",
        arguments=(STATFILE_TBL, "fits.tbl", "."),
        uses=(
            _inp(STATFILE_TBL),
            _use("fits.tbl", LinkType.OUTPUT),
            *(_inp(_fit(i, j)) for i, j in pairs),
        ),
    )


def _correct_job(job_id: str, raw: str) -> Job:
    proj, corr = "p" + raw, "c" + raw
    return Job(
        id=job_id,
        name="mBackground",
        arguments=("-t", proj, corr, PIMAGES_TBL, "corrections.tbl"),
        uses=(
            *_image_in(proj),
            _inp(PIMAGES_TBL),
            _inp("corrections.tbl"),
            *_image_out(corr),
        ),
    )


def _imgtbl_job(job_id: str, corrected: Sequence[str]) -> Job:
    return Job(
        id=job_id,
        name="mImgtbl",
        arguments=(".", "-t", CIMAGES_TBL, "newcimages.tbl"),
        uses=(
            _inp(CIMAGES_TBL),
            _use("newcimages.tbl", LinkType.OUTPUT),
            *(_inp(c) for c in corrected),
        ),
    )


def _add_job(job_id: str, corrected: Sequence[str]) -> Job:
    return Job(
        id=job_id,
        name="mAdd",
        arguments=("-e", "newcimages.tbl", REGION_HDR, MOSAIC),
        uses=(
            _inp("newcimages.tbl"),
            _inp(REGION_HDR),
            *_image_out(MOSAIC, keep=True),
            *(u for c in corrected for u in _image_in(c)),
        ),
    )


def _tile_add_job(job_id: str, tile: CoaddTile, corrected: Sequence[str]) -> Job:
    """One tile's co-add: the corrected images that touch it, on its header."""
    return Job(
        id=job_id,
        name="mAdd",
        arguments=("-e", tile.table, tile.header, tile.image),
        uses=(
            _inp(tile.table),
            _inp(tile.header),
            *_image_out(tile.image),
            *(u for c in corrected for u in _image_in(c)),
        ),
    )


def _add_tiles_job(job_id: str, tiles: Sequence[CoaddTile]) -> Job:
    """The mosaic from its tiles: they do not overlap, so each pixel is its tile's (the
    area-weighted mean of one value)."""
    return Job(
        id=job_id,
        name="mAdd",
        arguments=("-e", TILES_TBL, REGION_HDR, MOSAIC),
        uses=(
            _inp(TILES_TBL),
            _inp(REGION_HDR),
            *_image_out(MOSAIC, keep=True),
            *(u for t in tiles for u in _image_in(t.image)),
        ),
    )


def _viewer_job(job_id: str) -> Job:
    arguments = ("-ct", "1", "-gray", SHRUNKEN, "min", "max", "gaussianlog", "-out", SHRUNKEN_PNG)
    return Job(
        id=job_id,
        name="mViewer",
        arguments=arguments,
        uses=(_inp(SHRUNKEN), _use(SHRUNKEN_PNG, LinkType.OUTPUT, keep=True)),
    )


def _statfile_lines(pairs: Sequence[tuple[int, int]]) -> Iterator[str]:
    columns = [("cntr1", "int"), ("cntr2", "int"), ("stat", "char")]
    return table_lines(columns, ((str(i), str(j), _fit(i, j)) for i, j in pairs))


def _images_lines(projected: Sequence[Projected], frame: Region, prefix: str) -> Iterator[str]:
    """The projected (``p``) or corrected (``c``) images table, as mDAG predicts it: the
    geometry ``mProjectPP -X`` will write, numbered from 1 like the fit files (mBgModel
    matches the two by ``cntr``)."""
    return _geometry_lines(
        ((p.cntr, p.center, p.naxis, p.crpix, prefix + p.base) for p in projected), frame
    )


def _tiles_lines(tiles: Sequence[CoaddTile], region: Region) -> Iterator[str]:
    """The tiles' table for the final mAdd (what ``mImgtbl`` would read from them)."""
    wcs = WCS(region.header)
    rows = []
    for k, t in enumerate(tiles, start=1):
        w, h = t.region.naxis
        ra, dec = wcs.all_pix2world([[t.x0 + (w + 1) / 2, t.y0 + (h + 1) / 2]], 1)[0]
        crpix = (float(t.region.header["CRPIX1"]), float(t.region.header["CRPIX2"]))
        rows.append((k, (float(ra), float(dec)), (w, h), crpix, t.image))
    return _geometry_lines(rows, region)


GeometryRow = tuple[int, tuple[float, float], tuple[int, int], tuple[float, float], str]


def _geometry_lines(rows: Iterable[GeometryRow], frame: Region) -> Iterator[str]:
    """An images table (mImgtbl's columns that mAdd and mBgModel read): per image its
    number, centre, size, reference pixel and file name, in ``frame``'s projection."""
    h = frame.header
    columns = [
        ("cntr", "int"),
        ("ra", "double"),
        ("dec", "double"),
        ("naxis1", "int"),
        ("naxis2", "int"),
        ("ctype1", "char"),
        ("ctype2", "char"),
        ("crpix1", "double"),
        ("crpix2", "double"),
        ("crval1", "double"),
        ("crval2", "double"),
        ("cdelt1", "double"),
        ("cdelt2", "double"),
        ("crota2", "double"),
        ("equinox", "double"),
        ("hdu", "int"),
        ("fname", "char"),
    ]
    lines = (
        (
            str(cntr),
            f"{center[0]:.7f}",
            f"{center[1]:.7f}",
            str(naxis[0]),
            str(naxis[1]),
            str(h["CTYPE1"]),
            str(h["CTYPE2"]),
            f"{crpix[0]:.5f}",
            f"{crpix[1]:.5f}",
            f"{float(h['CRVAL1']):.7f}",
            f"{float(h['CRVAL2']):.7f}",
            f"{float(h['CDELT1']):.10e}",
            f"{float(h['CDELT2']):.10e}",
            f"{float(h.get('CROTA2', 0.0)):.7f}",
            f"{float(h.get('EQUINOX', 2000.0)):.2f}",
            "0",
            fname,
        )
        for cntr, center, naxis, crpix, fname in rows
    )
    return table_lines(columns, lines, comments=["datatype = fitshdr"])


def _replicas(
    projected: Sequence[Projected], side_files: Sequence[str], header_dir: Path | None
) -> ReplicaCatalog:
    entries = [
        Replica(lfn=p.image.lfn, pfns=(PFN(url=p.image.path.resolve().as_uri(), site="local"),))
        for p in projected
    ]
    if header_dir is not None:
        entries += [
            Replica(lfn=lfn, pfns=(PFN(url=(header_dir.resolve() / lfn).as_uri(), site="local"),))
            for lfn in side_files
        ]
    return ReplicaCatalog.of(entries)


def wrapper_dir() -> Path:
    """Where the ``wfplan-m*`` console scripts are installed (beside the interpreter)."""
    return Path(sys.executable).parent


def transformation_catalog(
    sites: Sequence[str], bin_dir: Path | None = None, *, names: Sequence[str] = TRANSFORMATIONS
) -> TransformationCatalog:
    """One installed entry per Montage module (``names``) and site: the wrapper scripts'
    absolute paths."""
    where = (bin_dir or wrapper_dir()).absolute()
    return TransformationCatalog(
        transformations=tuple(
            Transformation(
                name=name,
                sites=tuple(
                    TransformationSite(
                        name=site,
                        pfn=str(where / f"wfplan-{name}"),
                        type=TransformationType.INSTALLED,
                    )
                    for site in sites
                ),
            )
            for name in names
        )
    )


# --- the only file I/O --------------------------------------------------------------------

IMAGE_SUFFIXES = (".fits", ".fit", ".fts")


def scan_images(directory: Path) -> list[InputImage]:
    """Every FITS image directly in ``directory`` (sorted by name), with its header."""
    if not directory.is_dir():
        raise FormatError("not a directory of images", source=str(directory))
    images: list[InputImage] = []
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES or path.name.startswith("."):
            continue
        try:
            header = fits.getheader(path)
        except (OSError, ValueError) as exc:
            raise FormatError(f"not a readable FITS image: {exc}", source=str(path)) from None
        images.append(InputImage(lfn=path.name, path=path, header=header))
    if not images:
        raise FormatError("holds no FITS images (*.fits)", source=str(directory))
    return images


def write_side_files(files: dict[str, str], directory: Path) -> None:
    """The region headers and tables, each written to a temporary name then renamed."""
    directory.mkdir(parents=True, exist_ok=True)
    for lfn, text in sorted(files.items()):
        atomic_write_text(directory / lfn, text, error=FormatError)


def write_build(
    *,
    images: Path,
    output: Path,
    center: tuple[float, float] | None = None,
    size: tuple[float, float] | None = None,
    header: Path | None = None,
    pixel_scale: float | None = None,
    projection: str = "TAN",
    sites: Sequence[str] = ("local",),
    name: str = "montage",
    rc_path: Path | None = None,
    tc_path: Path | None = None,
    background: str = "exact",
    coadd: tuple[int, int] | None = None,
) -> MontageWorkflow:
    """``wfplan montage build``: scan, build, then write the workflow, the catalogs and the
    side files (region headers and tables) beside the workflow."""
    _check_region_args(center, size, header)
    region = _region_from_file(header) if header is not None else None
    found = scan_images(images)
    if region is None:
        assert center is not None and size is not None  # _check_region_args
        scale = pixel_scale if pixel_scale is not None else _image_scale(found[0])
        region = region_from_center(
            center[0], center[1], size[0], size[1], pixel_scale_arcsec=scale,
            projection=projection,
        )  # fmt: skip
    if not sites:
        raise FormatError("--sites names no site")
    out_dir = output.absolute().parent
    try:
        result = build_montage(
            found, region, name=name, tc_sites=sites, header_dir=out_dir,
            background=background, coadd=coadd,
        )  # fmt: skip
    except NoImagesInRegion as exc:
        raise NoImagesInRegion(exc.message, source=str(images)) from None
    except CoaddGridTooFine as exc:
        grid = coadd or (0, 0)
        raise CoaddGridTooFine(exc.message, source=f"--coadd-tiles {grid[0]} {grid[1]}") from None
    _write_result(result, output, rc_path or out_dir / "rc.yml", tc_path or out_dir / "tc.yml")
    return result


def _check_region_args(
    center: tuple[float, float] | None, size: tuple[float, float] | None, header: Path | None
) -> None:
    """The region comes from a header file or from a centre and a size, never both."""
    if header is not None and (center is not None or size is not None):
        raise FormatError("give either --header or --center/--size, not both")
    if header is None and (center is None or size is None):
        raise FormatError("need --center RA DEC and --size W H (or --header REGION.hdr)")


def _region_from_file(header: Path) -> Region:
    try:
        text = header.read_text()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", source=str(header)) from None
    return region_from_text(text, str(header))


def _write_result(result: MontageWorkflow, output: Path, rc_path: Path, tc_path: Path) -> None:
    """The side files beside the workflow, the two catalogs, then the workflow itself."""
    from catalogs import replica_yaml, transformation_yaml
    from planner.formats import pegasus_yaml

    write_side_files(result.files, output.absolute().parent)
    replica_yaml.dump(result.replica_catalog, rc_path)
    transformation_yaml.dump(result.transformation_catalog, tc_path)
    pegasus_yaml.dump(result.workflow, output)


def _image_scale(image: InputImage) -> float:
    """The first image's pixel scale in arcsec (what mMakeHdr would use)."""
    try:
        scales = WCS(image.header).proj_plane_pixel_scales()
        return float(abs(scales[0].to_value("deg"))) * 3600.0
    except Exception as exc:
        raise FormatError(f"no usable WCS: {exc}", source=str(image.path)) from None
