"""The background model solved exactly: the plane corrections ``mBgModel`` iterates towards.

Montage's ``mBgModel`` reads the plane ``a*x + b*y + c`` fitted to every overlap's difference
image (``fits.tbl``) and looks for one correction plane per image such that, over every
used overlap's box, the corrected difference ``d_ij - P_i + P_j`` is as small as possible in
the least-squares sense (it integrates the planes over the box instead of summing pixels).
It gets there by relaxation: each image in turn takes half of its own best step, for a
fixed number of iterations, which converges slowly on large mosaics (the error is largest
for the smooth, mosaic-wide modes). Here the same objective is solved exactly: the normal
equations are a sparse, block (3 x 3) graph-Laplacian system; in breadth-first order it is
block tridiagonal and is eliminated level by level (5,000 images on a grid in about 1.5 s
of CPU), with conjugate gradients as the fallback for a group that is singular beyond its
free common plane.

What is the same as ``mBgModel`` (Montage 6, as MontagePy 2.3 runs it):

* the fits used: not those whose ``rms`` is infinite or NaN, nor those covering fewer than
  0.001 of the average image area (``naxis1 * naxis2`` from the images table); ``-a``
  (use all) keeps every fit with a finite rms; ``-l`` fits levels only;
* each overlap weighs by its box area (the integral over the rotated box ``boxx, boxy,
  boxwidth, boxheight, boxang``); its ``rms`` only decides whether it is used;
* the output: one row per image that appears in ``fits.tbl``, in ``id`` order, in
  ``corrections.tbl``'s fixed format, so ``mBackground -t`` reads it unchanged.

The objective does not fix a plane added to every image of a connected group of
overlapping images (the relaxation leaves it wherever its iterations drift). Here it is
fixed explicitly: in each group the correction planes sum to zero, so the corrections do
not change the mosaic's mean level or gradient.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from planner.apps.montage.ipac import read_table
from planner.errors import FormatError

AREA_LIMIT = 0.001  # mBgModel's areaLimit: a fit must cover this fraction of an average image
CORRECTIONS_HEADER = "|   id   |      a       |      b       |      c       |"
FIT_COLUMNS = ("plus", "minus", "a", "b", "c", "npixel", "rms",
               "boxx", "boxy", "boxwidth", "boxheight", "boxang")  # fmt: skip
IMAGE_COLUMNS = ("cntr", "naxis1", "naxis2", "crpix1", "crpix2")


@dataclass(frozen=True, slots=True)
class Image:
    """One row of the images table: its ``cntr`` and where it sits in the frame."""

    cntr: int
    naxis1: int
    naxis2: int
    crpix1: float
    crpix2: float

    @property
    def center(self) -> tuple[float, float]:
        """The image's centre in the plane coordinates (pixels from the frame's reference)."""
        return (self.naxis1 + 1) / 2 - self.crpix1, (self.naxis2 + 1) / 2 - self.crpix2


@dataclass(frozen=True, slots=True)
class OverlapFit:
    """One row of ``fits.tbl``: the plane fitted to ``plus - minus`` over a rotated box."""

    plus: int
    minus: int
    a: float
    b: float
    c: float
    npixel: float
    rms: float
    boxx: float
    boxy: float
    width: float
    height: float
    angle: float  # degrees


Plane = tuple[float, float, float]


def read_images(path: Path) -> list[Image]:
    """The images table (``pimages.tbl``, as ``mImgtbl`` or the generator writes it)."""
    images = []
    for row in read_table(path):
        missing = [c for c in IMAGE_COLUMNS if c not in row]
        if missing:
            raise FormatError(f"need columns: {' '.join(IMAGE_COLUMNS)}", source=str(path))
        try:
            images.append(
                Image(int(row["cntr"]), int(row["naxis1"]), int(row["naxis2"]),
                      float(row["crpix1"]), float(row["crpix2"]))
            )  # fmt: skip
        except ValueError as exc:
            raise FormatError(f"cntr {row.get('cntr')!r}: {exc}", source=str(path)) from None
    if not images:
        raise FormatError("lists no images", source=str(path))
    return images


def read_fits(path: Path) -> list[OverlapFit]:
    """``fits.tbl`` as ``mConcatFit`` writes it (one row per overlapping pair)."""
    out = []
    for row in read_table(path):
        if any(c not in row for c in FIT_COLUMNS):
            raise FormatError(f"need columns: {' '.join(FIT_COLUMNS)}", source=str(path))
        try:
            out.append(
                OverlapFit(
                    plus=int(row["plus"]), minus=int(row["minus"]),
                    a=float(row["a"]), b=float(row["b"]), c=float(row["c"]),
                    npixel=float(row["npixel"]), rms=float(row["rms"]),
                    boxx=float(row["boxx"]), boxy=float(row["boxy"]),
                    width=float(row["boxwidth"]), height=float(row["boxheight"]),
                    angle=float(row["boxang"]),
                )
            )  # fmt: skip
        except ValueError as exc:
            raise FormatError(
                f"fit {row.get('plus')!r}-{row.get('minus')!r}: {exc}", source=str(path)
            ) from None
    return out


def used_fits(
    images: Sequence[Image], fits: Sequence[OverlapFit], *, use_all: bool = False
) -> list[OverlapFit]:
    """The fits mBgModel uses: finite rms, and (unless ``use_all``) a large enough area."""
    average_area = sum(i.naxis1 * i.naxis2 for i in images) / len(images)
    return [
        f
        for f in fits
        if math.isfinite(f.rms)
        and f.rms < 1e99
        and (use_all or math.trunc(f.npixel) >= AREA_LIMIT * average_area)
    ]


def box_moments(fit: OverlapFit) -> np.ndarray:
    """``M = integral of [x, y, 1]^T [x, y, 1]`` over the fit's rotated box (3 x 3).

    The box is axis-aligned in coordinates (X, Y) rotated by ``boxang`` from (x, y); the
    integrals of x, y, x^2, xy, y^2 are exact polynomials in the box's corners, as in
    mBgModel.
    """
    t = math.radians(fit.angle)
    cos, sin = math.cos(t), math.sin(t)
    x0 = fit.boxx * cos + fit.boxy * sin
    y0 = -fit.boxx * sin + fit.boxy * cos
    lo_x, hi_x = x0 - fit.width / 2, x0 + fit.width / 2
    lo_y, hi_y = y0 - fit.height / 2, y0 + fit.height / 2
    lx, ly = hi_x - lo_x, hi_y - lo_y
    ix1, iy1 = (hi_x**2 - lo_x**2) / 2, (hi_y**2 - lo_y**2) / 2
    ix2, iy2 = (hi_x**3 - lo_x**3) / 3, (hi_y**3 - lo_y**3) / 3
    n = lx * ly
    sx = cos * ix1 * ly - sin * lx * iy1
    sy = sin * ix1 * ly + cos * lx * iy1
    sxx = cos * cos * ix2 * ly - 2 * cos * sin * ix1 * iy1 + sin * sin * lx * iy2
    syy = sin * sin * ix2 * ly + 2 * sin * cos * ix1 * iy1 + cos * cos * lx * iy2
    sxy = cos * sin * ix2 * ly + (cos * cos - sin * sin) * ix1 * iy1 - sin * cos * lx * iy2
    return np.array([[sxx, sxy, sx], [sxy, syy, sy], [sx, sy, n]])


def solve_corrections(
    images: Sequence[Image],
    fits: Sequence[OverlapFit],
    *,
    level_only: bool = False,
    use_all: bool = False,
) -> dict[int, Plane]:
    """The exact least-squares correction plane ``(a, b, c)`` of every image in ``fits``.

    Images that no used fit ties to anything get no correction (0, 0, 0), as in mBgModel.
    """
    by_cntr = {i.cntr: i for i in images}
    ids = sorted({f.plus for f in fits} | {f.minus for f in fits})
    unknown = [c for c in ids if c not in by_cntr]
    if unknown:
        raise FormatError(f"fits name images {unknown[:5]} that the images table does not list")
    used = [f for f in used_fits(images, fits, use_all=use_all) if f.plus != f.minus]
    index = {c: k for k, c in enumerate(ids)}
    system = _System.build(ids, by_cntr, used, index, level_only)
    local = system.solve()
    planes = system.to_global(local)
    return _zero_mean_per_group(ids, used, index, planes)


@dataclass(frozen=True)
class _System:
    """The normal equations in per-image coordinates centred on each image and scaled to
    its size, so the three unknowns of an image are of similar size (well conditioned)."""

    transforms: np.ndarray  # (n, 3, 3): local unknowns p -> global coefficients T^T p
    pairs: np.ndarray  # (m, 2) image indices (plus, minus)
    blocks: np.ndarray  # (m, 2, 2, 3, 3): T_u M T_v^T for u, v in (plus, minus)
    rhs: np.ndarray  # (n, 3)
    mask: np.ndarray  # (3,) which unknowns are solved (slopes off for level-only)

    @staticmethod
    def build(
        ids: Sequence[int],
        by_cntr: Mapping[int, Image],
        used: Sequence[OverlapFit],
        index: Mapping[int, int],
        level_only: bool,
    ) -> _System:
        n = len(ids)
        transforms = np.zeros((n, 3, 3))
        for k, cntr in enumerate(ids):
            image = by_cntr[cntr]
            cx, cy = image.center
            s = max(1.0, max(image.naxis1, image.naxis2) / 2)
            transforms[k] = np.array(
                [[1 / s, 0.0, -cx / s], [0.0, 1 / s, -cy / s], [0.0, 0.0, 1.0]]
            )
        pairs = np.array([(index[f.plus], index[f.minus]) for f in used], dtype=int).reshape(-1, 2)
        blocks = np.zeros((len(used), 2, 2, 3, 3))
        rhs = np.zeros((n, 3))
        for k, fit in enumerate(used):
            m = box_moments(fit)
            tu, tv = transforms[pairs[k, 0]], transforms[pairs[k, 1]]
            for u, tu_ in enumerate((tu, tv)):
                for v, tv_ in enumerate((tu, tv)):
                    blocks[k, u, v] = tu_ @ m @ tv_.T
            md = m @ np.array([fit.a, fit.b, fit.c])
            rhs[pairs[k, 0]] += tu @ md
            rhs[pairs[k, 1]] -= tv @ md
        mask = np.array([0.0, 0.0, 1.0]) if level_only else np.ones(3)
        return _System(transforms, pairs, blocks, rhs * mask, mask)

    def apply(self, p: np.ndarray) -> np.ndarray:
        """``N p``: each used overlap adds its block to its two images' rows."""
        out = np.zeros_like(p)
        if len(self.pairs):
            i, j = self.pairs[:, 0], self.pairs[:, 1]
            diff = np.einsum("kab,kb->ka", self.blocks[:, 0, 0], p[i]) - np.einsum(
                "kab,kb->ka", self.blocks[:, 0, 1], p[j]
            )
            back = np.einsum("kab,kb->ka", self.blocks[:, 1, 1], p[j]) - np.einsum(
                "kab,kb->ka", self.blocks[:, 1, 0], p[i]
            )
            np.add.at(out, i, diff)
            np.add.at(out, j, back)
        return out * self.mask

    def solve(self) -> np.ndarray:
        """A solution of the normal equations: the direct block solve, or conjugate
        gradients if a group's system is singular beyond its free common plane."""
        direct = self.solve_direct()
        return direct if direct is not None else self.solve_cg()

    def solve_direct(self) -> np.ndarray | None:
        """Block-tridiagonal elimination over breadth-first levels.

        Overlaps only join images in the same or in adjacent levels of a breadth-first
        search, so the matrix is block tridiagonal in that order, and eliminating level
        by level costs about (images) x (images per level)^2: fast for thousands of images
        on a grid, where conjugate gradients need many steps (the mosaic-wide modes are
        poorly conditioned). One image per group is pinned to zero to remove the free
        plane; the caller re-centres each group.
        """
        n = len(self.rhs)
        if n == 0:
            return np.zeros_like(self.rhs)
        levels, starts = _bfs_levels(n, self.pairs)
        diag, upper = self._level_blocks(levels)
        rhs = [self.rhs[m].ravel() for m in levels]
        _pin(diag, upper, rhs, _pinned(levels, starts, self.mask == 0))
        x = _block_tridiagonal_solve(diag, upper, rhs)
        if x is None:
            return None
        out = np.zeros_like(self.rhs)
        for lv, members in enumerate(levels):
            out[members] = x[lv].reshape(-1, 3)
        residual = float(np.linalg.norm(self.apply(out) - self.rhs))
        if not np.all(np.isfinite(out)) or residual > 1e-8 * max(
            1.0, float(np.linalg.norm(self.rhs))
        ):
            return None
        return out

    def _level_blocks(
        self, levels: Sequence[Sequence[int]]
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The matrix in breadth-first order as its diagonal blocks (one per level) and
        the blocks above them (level ``l`` with level ``l + 1``)."""
        where = {}  # image -> (level, position in it)
        for lv, members in enumerate(levels):
            for pos, k in enumerate(members):
                where[k] = (lv, pos)
        diag = [np.zeros((3 * len(m), 3 * len(m))) for m in levels]
        upper = [np.zeros((3 * len(levels[lv]), 3 * len(levels[lv + 1]))) for lv in range(len(levels) - 1)]  # fmt: skip
        for k, (i, j) in enumerate(self.pairs):
            (li, pi), (lj, pj) = where[int(i)], where[int(j)]
            b = self.blocks[k]
            diag[li][3 * pi : 3 * pi + 3, 3 * pi : 3 * pi + 3] += b[0, 0]
            diag[lj][3 * pj : 3 * pj + 3, 3 * pj : 3 * pj + 3] += b[1, 1]
            if li == lj:
                diag[li][3 * pi : 3 * pi + 3, 3 * pj : 3 * pj + 3] -= b[0, 1]
                diag[li][3 * pj : 3 * pj + 3, 3 * pi : 3 * pi + 3] -= b[1, 0]
            elif lj == li + 1:
                upper[li][3 * pi : 3 * pi + 3, 3 * pj : 3 * pj + 3] -= b[0, 1]
            else:
                upper[lj][3 * pj : 3 * pj + 3, 3 * pi : 3 * pi + 3] -= b[1, 0]
        return diag, upper

    def solve_cg(self) -> np.ndarray:
        """Jacobi-preconditioned conjugate gradients from zero. The system is singular
        (one plane per group is free) but consistent, so CG converges to a solution."""
        diag = np.zeros_like(self.rhs)
        if len(self.pairs):
            np.add.at(diag, self.pairs[:, 0], np.einsum("kaa->ka", self.blocks[:, 0, 0]))
            np.add.at(diag, self.pairs[:, 1], np.einsum("kaa->ka", self.blocks[:, 1, 1]))
        inv = np.where(diag > 0, 1.0 / np.where(diag > 0, diag, 1.0), 0.0) * self.mask
        b = self.rhs
        x = np.zeros_like(b)
        r = b.copy()
        z = inv * r
        d = z.copy()
        rz = float(np.sum(r * z))
        norm_b = float(np.linalg.norm(b))
        if norm_b == 0.0:
            return x
        for _ in range(max(100, 10 * b.size)):
            nd = self.apply(d)
            dnd = float(np.sum(d * nd))
            if dnd <= 0.0:
                break
            alpha = rz / dnd
            x += alpha * d
            r -= alpha * nd
            if float(np.linalg.norm(r)) <= 1e-13 * norm_b:
                break
            z = inv * r
            rz_new = float(np.sum(r * z))
            d = z + (rz_new / rz) * d
            rz = rz_new
        return x

    def to_global(self, local: np.ndarray) -> np.ndarray:
        return np.einsum("kba,kb->ka", self.transforms, local)


def _bfs_levels(n: int, pairs: np.ndarray) -> tuple[list[list[int]], list[int]]:
    """Images in breadth-first levels, group after group (each group starts a new level
    at its lowest-numbered image), so every pair joins the same or adjacent levels; and
    the levels where a group starts (its first image is alone there)."""
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for i, j in pairs:
        neighbours[int(i)].append(int(j))
        neighbours[int(j)].append(int(i))
    seen = [False] * n
    levels: list[list[int]] = []
    starts: list[int] = []
    for start in range(n):
        if seen[start]:
            continue
        seen[start] = True
        starts.append(len(levels))
        frontier = [start]
        while frontier:
            levels.append(frontier)
            following = []
            for k in frontier:
                for m in sorted(neighbours[k]):
                    if not seen[m]:
                        seen[m] = True
                        following.append(m)
            frontier = following
    return levels, starts


def _pinned(
    levels: Sequence[Sequence[int]], starts: Sequence[int], fixed: np.ndarray
) -> list[np.ndarray]:
    """Per level, the flat indices of the unknowns held at zero: those ``fixed`` for every
    image (the slopes, when fitting levels only) and the whole plane of each group's first
    image (the plane the objective leaves free)."""
    out = []
    for lv, members in enumerate(levels):
        pinned = np.zeros((len(members), 3), dtype=bool)
        pinned[:] = fixed
        if lv in starts:
            pinned[0] = True  # the group's first image: its free plane
        out.append(np.flatnonzero(pinned.ravel()))
    return out


def _pin(
    diag: list[np.ndarray], upper: list[np.ndarray], rhs: list[np.ndarray], pinned: list[np.ndarray]
) -> None:
    """Turn the ``pinned`` unknowns' equations into ``x = 0``, in place (the blocks are the
    solve's own scratch arrays)."""
    for lv, idx in enumerate(pinned):
        diag[lv][idx, :] = 0.0
        diag[lv][:, idx] = 0.0
        diag[lv][idx, idx] = 1.0
        rhs[lv][idx] = 0.0
        if lv > 0:
            upper[lv - 1][:, idx] = 0.0
        if lv < len(pinned) - 1:
            upper[lv][idx, :] = 0.0


def _block_tridiagonal_solve(
    diag: Sequence[np.ndarray], upper: Sequence[np.ndarray], rhs: Sequence[np.ndarray]
) -> list[np.ndarray] | None:
    """Solve the symmetric block-tridiagonal system (``diag`` on the diagonal, ``upper``
    above it, its transpose below) by forward elimination and back substitution; ``None``
    when a Schur complement is singular."""
    try:
        schur = [diag[0]]
        y = [rhs[0]]
        for lv in range(1, len(diag)):
            gain = np.linalg.solve(schur[-1], upper[lv - 1]).T  # C_l S^-1 (C_l = U^T)
            schur.append(diag[lv] - gain @ upper[lv - 1])
            y.append(rhs[lv] - gain @ y[-1])
        x: list[np.ndarray] = [np.zeros(0) for _ in diag]
        x[-1] = np.linalg.solve(schur[-1], y[-1])
        for lv in range(len(diag) - 2, -1, -1):
            x[lv] = np.linalg.solve(schur[lv], y[lv] - upper[lv] @ x[lv + 1])
    except np.linalg.LinAlgError:
        return None
    return x


def _zero_mean_per_group(
    ids: Sequence[int], used: Sequence[OverlapFit], index: Mapping[int, int], planes: np.ndarray
) -> dict[int, Plane]:
    parent = list(range(len(ids)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for f in used:
        a, b = root(index[f.plus]), root(index[f.minus])
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups = np.array([root(k) for k in range(len(ids))], dtype=int)
    out = planes.copy()
    for g in np.unique(groups):
        members = groups == g
        out[members] -= out[members].mean(axis=0)
    return {c: (float(out[k, 0]), float(out[k, 1]), float(out[k, 2])) for k, c in enumerate(ids)}


def corrections_lines(corrections: Mapping[int, Plane]) -> Iterator[str]:
    """``corrections.tbl`` in mBgModel's fixed format (what ``mBackground -t`` reads)."""
    yield CORRECTIONS_HEADER
    for cntr in sorted(corrections):
        a, b, c = (0.0 if v == 0 else v for v in corrections[cntr])  # no "-0.00000e+00"
        yield f" {cntr:8d}  {a:13.5e}  {b:13.5e}  {c:13.5e}"


def read_corrections(path: Path) -> dict[int, Plane]:
    """A ``corrections.tbl`` (ours or mBgModel's) as ``{id: (a, b, c)}``."""
    try:
        return {
            int(r["id"]): (float(r["a"]), float(r["b"]), float(r["c"])) for r in read_table(path)
        }
    except (KeyError, ValueError) as exc:
        raise FormatError(f"not a corrections table: {exc}", source=str(path)) from None


def plane_errors(
    images: Sequence[Image], found: Mapping[int, Plane], exact: Mapping[int, Plane]
) -> dict[int, float]:
    """Per image, the rms over its area of ``found - exact`` once the one common plane that
    best fits those differences is removed (the objective cannot see a common plane).

    Both mappings must name the same images; a missing image counts as (0, 0, 0).
    """
    ids = sorted(set(found) | set(exact))
    if not ids:
        return {}
    by_cntr = {i.cntr: i for i in images}
    # Each image's moments over its own rectangle, in frame plane coordinates.
    moments = []
    deltas = []
    for cntr in ids:
        image = by_cntr[cntr]
        cx, cy = image.center
        box = OverlapFit(cntr, cntr, 0, 0, 0, 0, 0, cx, cy, image.naxis1, image.naxis2, 0.0)
        m = box_moments(box)
        moments.append(m / m[2, 2])
        f, e = found.get(cntr, (0.0, 0.0, 0.0)), exact.get(cntr, (0.0, 0.0, 0.0))
        deltas.append(np.subtract(f, e))
    ms = np.array(moments)
    ds = np.array(deltas)
    common = np.linalg.lstsq(ms.sum(axis=0), np.einsum("kab,kb->a", ms, ds), rcond=None)[0]
    rest = ds - common
    mean_square = np.einsum("ka,kab,kb->k", rest, ms, rest)
    return {c: math.sqrt(max(0.0, float(v))) for c, v in zip(ids, mean_square, strict=True)}
