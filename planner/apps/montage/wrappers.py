"""Console scripts that run the real Montage code (MontagePy) with mDAG's command lines.

Each ``<module>_main`` parses the arguments Montage's ``mDAG`` writes into its DAX, calls
the MontagePy function, and turns Montage's status into the exit code: 0 on success, 1
with one line ``wfplan-<module>: error: <message>`` on stderr otherwise (Montage's own
exit codes are unreliable). What MontagePy lacks is written here with the file formats
the next module reads: ``mConcatFit``, ``mBackground -t`` (table mode) and the status
file of ``mDiffFit -s``. MontagePy is imported inside each function so ``--help`` is quick.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from catalogs.atomic import atomic_write, atomic_write_text
from planner.apps.montage.ipac import read_table
from planner.errors import WfplanError, WriteError

# What the mains import lazily and nearly every job needs: a process that forks many of
# them imports it once (planner/tools/entrypoints.py). Not numpy or astropy: only rare
# paths use them, and each forked job pays for the memory its parent holds (~18 ms a job).
FORK_PRELOAD = ("MontagePy.main",)

FIT_KEYS = (
    "a", "b", "c", "crpix1", "crpix2", "xmin", "xmax", "ymin", "ymax", "xcenter", "ycenter",
    "npixel", "rms", "boxx", "boxy", "boxwidth", "boxheight", "boxang",
)  # fmt: skip


class MontageFailed(Exception):
    """A Montage module reported an error (its message is kept)."""


def _check(module: str, result: Mapping[str, Any]) -> Mapping[str, Any]:
    if str(result.get("status")) != "0":
        raise MontageFailed(_text(result.get("msg")) or f"status {result.get('status')}")
    return result


def _text(value: Any) -> str:
    # MontagePy returns messages as bytes.
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _wrap(
    module: str,
    body: Callable[[argparse.Namespace], None],
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
) -> int:
    args = parser.parse_args(argv)
    try:
        body(args)
    except (MontageFailed, WfplanError, OSError, ValueError, KeyError) as exc:
        message = str(exc).strip().replace("\n", " ") or type(exc).__name__
        print(f"wfplan-{module}: error: {message}", file=sys.stderr)
        return 1
    return 0


def _parser(module: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog=f"wfplan-{module}", description=f"Montage's {module} (mDAG's arguments) via MontagePy"
    )


# --- mProjectPP -------------------------------------------------------------------------


def mProjectPP_main(argv: Sequence[str] | None = None) -> int:
    p = _parser("mProjectPP")
    p.add_argument("-X", dest="expand", action="store_true", help="process the whole image")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("header")

    def body(a: argparse.Namespace) -> None:
        from MontagePy.main import mProjectPP

        _need(a.input, a.header)
        _check("mProjectPP", mProjectPP(a.input, a.output, a.header, expand=a.expand))

    return _wrap("mProjectPP", body, p, argv)


def _need(*paths: str) -> None:
    for path in paths:
        if not Path(path).is_file():
            raise MontageFailed(f"input file {path!r} not found in {os.getcwd()}")


# --- mDiffFit ---------------------------------------------------------------------------


def fit_status_line(fit: Mapping[str, Any]) -> str:
    """A fit as the ``[struct stat="OK", a=..., ...]`` line of ``mDiffFit -s``."""
    parts = [f"{key}={_svc_number(fit[key])}" for key in FIT_KEYS]
    return '[struct stat="OK", ' + ", ".join(parts) + "]\n"


def _svc_number(value: Any) -> str:
    number = float(value)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


def mDiffFit_main(argv: Sequence[str] | None = None) -> int:
    p = _parser("mDiffFit")
    p.add_argument("-s", dest="status", help="write the fit status line here")
    p.add_argument("-n", dest="keep", action="store_true", help="(always on: see below)")
    p.add_argument("-l", dest="level", action="store_true", help="fit a level only")
    p.add_argument("plus")
    p.add_argument("minus")
    p.add_argument("diff")
    p.add_argument("header")

    def body(a: argparse.Namespace) -> None:
        from MontagePy.main import mDiffFit

        _need(a.plus, a.minus, a.header)
        # In-process: MontagePy runs mDiff and mFitplane inside this call, so nothing
        # needs to be on PATH (the Debian binary starts them as child processes).
        # The difference image is always kept: mDAG declares it an optional output, but
        # HTCondor's file transfer fails a job whose listed output is missing.
        result = mDiffFit(a.plus, a.minus, a.diff, a.header, keep=True, levelOnly=a.level)
        if str(result.get("status")) != "0":
            msg = _text(result.get("msg")) or _diff_message(a)
            if "overlap" not in msg.lower() or not a.status:
                raise MontageFailed(msg or f"status {result.get('status')}")
            # A pair whose footprints touch but whose pixels do not overlap: Montage
            # writes the status and carries on; mConcatFit counts it and skips it.
            atomic_write_text(
                Path(a.status), f'[struct stat="WARNING", msg="{msg}"]\n', error=WriteError
            )
            for path in (Path(a.diff), Path(_area_name(a.diff))):
                if not path.exists():
                    _empty_fits(path)
            return
        if a.status:
            atomic_write_text(Path(a.status), fit_status_line(result), error=WriteError)

    return _wrap("mDiffFit", body, p, argv)


def _area_name(fits_name: str) -> str:
    # Montage's area image beside X.fits is X_area.fits.
    stem = fits_name[: -len(".fits")] if fits_name.endswith(".fits") else fits_name
    return stem + "_area.fits"


def _diff_message(a: argparse.Namespace) -> str:
    # MontagePy's mDiffFit drops mDiff's message; ask mDiff itself (it fails fast).
    from MontagePy.main import mDiff

    return _text(mDiff(a.plus, a.minus, a.diff, a.header).get("msg"))


def _empty_fits(path: Path) -> None:
    from astropy.io import fits

    atomic_write(path, lambda tmp: fits.PrimaryHDU().writeto(tmp, overwrite=True), error=WriteError)


# --- mConcatFit (absent from MontagePy) -------------------------------------------------

CONCAT_HEADER = (
    "| plus|minus|       a    |      b     |      c     | crpix1  | crpix2  | xmin | xmax "
    "| ymin | ymax | xcenter | ycenter |  npixel |    rms     |    boxx    |    boxy    "
    "|  boxwidth  | boxheight  |   boxang   |"
)


def parse_status_line(line: str) -> dict[str, str]:
    """``[struct stat="OK", a=1.5, msg="x, y"]`` -> ``{"stat": "OK", "a": "1.5", ...}``."""
    body = line.strip()
    if not (body.startswith("[struct") and body.endswith("]")):
        raise ValueError(f"not a Montage status line: {line.strip()[:60]!r}")
    body = body[len("[struct") : -1]
    values: dict[str, str] = {}
    i = 0
    while i < len(body):
        while i < len(body) and body[i] in " ,":
            i += 1
        eq = body.find("=", i)
        if eq < 0:
            break
        key = body[i:eq].strip()
        i = eq + 1
        if i < len(body) and body[i] == '"':
            end = body.find('"', i + 1)
            end = len(body) if end < 0 else end
            values[key] = body[i + 1 : end]
            i = end + 1
        else:
            end = body.find(",", i)
            end = len(body) if end < 0 else end
            values[key] = body[i:end].strip()
            i = end
    return values


def concat_fit_lines(statfile: Path, statdir: Path) -> tuple[list[str], dict[str, int]]:
    """The lines of ``fits.tbl`` and the counts Montage's mConcatFit reports."""
    counts = {"count": 0, "failed": 0, "missing": 0, "warning": 0}
    lines = [CONCAT_HEADER]
    for row in read_table(statfile):
        try:
            cntr1, cntr2, name = int(row["cntr1"]), int(row["cntr2"]), row["stat"]
        except (KeyError, ValueError):
            raise MontageFailed(f"{statfile}: need columns: cntr1 cntr2 stat")
        counts["count"] += 1
        path = statdir / name
        try:
            first = path.read_text().splitlines()[0]
        except (OSError, IndexError):
            counts["missing"] += 1
            continue
        values = parse_status_line(first)
        stat = values.get("stat", "")
        if stat == "ABORT":
            raise MontageFailed(values.get("msg", f"{path}: aborted"))
        if stat == "ERROR":
            counts["failed"] += 1
            continue
        if stat == "WARNING":
            counts["warning"] += 1
            continue
        f = {k: float(values[k]) for k in FIT_KEYS}
        lines.append(
            f" {cntr1:5d} {cntr2:5d} {f['a']:12.5e} {f['b']:12.5e} {f['c']:12.5e}"
            f" {f['crpix1']:9.2f} {f['crpix2']:9.2f} {_c_int(values['xmin']):6d}"
            f" {_c_int(values['xmax']):6d} {_c_int(values['ymin']):6d} {_c_int(values['ymax']):6d}"
            f" {f['xcenter']:9.2f} {f['ycenter']:9.2f} {f['npixel']:9.0f} {f['rms']:12.5e}"
            f" {f['boxx']:12.1f} {f['boxy']:12.1f} {f['boxwidth']:12.1f} {f['boxheight']:12.1f}"
            f" {f['boxang']:12.1f}"
        )
    return lines, counts


def _c_int(text: str) -> int:
    # C's atoi: the leading integer part ("-101.0" -> -101).
    return math.trunc(float(text))


def mConcatFit_main(argv: Sequence[str] | None = None) -> int:
    p = _parser("mConcatFit")
    p.add_argument("-s", dest="status", help="ignored (Montage's status file)")
    p.add_argument("statfiles", help="table with columns cntr1 cntr2 stat")
    p.add_argument("fits", help="output fits.tbl")
    p.add_argument("statdir", help="directory holding the status files")

    def body(a: argparse.Namespace) -> None:
        lines, _ = concat_fit_lines(Path(a.statfiles), Path(a.statdir))
        atomic_write_text(Path(a.fits), "\n".join(lines) + "\n", error=WriteError)

    return _wrap("mConcatFit", body, p, argv)


# --- mBgModel ---------------------------------------------------------------------------


def _background_arguments(p: argparse.ArgumentParser) -> None:
    """What mBgModel and mBgExact both take: the fit options and the three tables."""
    p.add_argument("-l", dest="noslope", action="store_true", help="fit levels only")
    p.add_argument("-a", dest="useall", action="store_true", help="use all fits")
    p.add_argument("images")
    p.add_argument("fits")
    p.add_argument("corrections")


def mBgModel_main(argv: Sequence[str] | None = None) -> int:
    p = _parser("mBgModel")
    p.add_argument("-i", dest="niter", type=int, default=10000, help="iterations")
    _background_arguments(p)

    def body(a: argparse.Namespace) -> None:
        from MontagePy.main import mBgModel

        _need(a.images, a.fits)
        _check(
            "mBgModel",
            mBgModel(
                a.images,
                a.fits,
                a.corrections,
                noslope=a.noslope,
                useall=a.useall,
                niteration=a.niter,
            ),
        )

    return _wrap("mBgModel", body, p, argv)


# --- mBgExact: the background model solved exactly (planner/apps/montage/bgmodel.py) ---


def mBgExact_main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="wfplan-mBgExact",
        description="mBgModel's background model solved exactly (sparse least squares); "
        "writes corrections.tbl for mBackground -t",
    )
    _background_arguments(p)

    def body(a: argparse.Namespace) -> None:
        from planner.apps.montage import bgmodel

        _need(a.images, a.fits)
        corrections = bgmodel.solve_corrections(
            bgmodel.read_images(Path(a.images)),
            bgmodel.read_fits(Path(a.fits)),
            level_only=a.noslope,
            use_all=a.useall,
        )
        text = "\n".join(bgmodel.corrections_lines(corrections)) + "\n"
        atomic_write_text(Path(a.corrections), text, error=WriteError)

    return _wrap("mBgExact", body, p, argv)


# --- mBackground (with the table mode MontagePy lacks) -----------------------------------


def correction_for(
    image: str, images_tbl: Path, corrections_tbl: Path
) -> tuple[float, float, float]:
    """A, B, C for ``image``: its ``cntr`` in the images table (matched by exact file name,
    as Montage does), then the row with that ``id`` in the corrections table; an image
    without a correction gets none (0, 0, 0), as in Montage."""
    name = Path(image).name
    cntr = next((row["cntr"] for row in read_table(images_tbl) if row.get("fname") == name), None)
    if cntr is None:
        raise MontageFailed(f"{image} is not listed (column fname) in {images_tbl}")
    for row in read_table(corrections_tbl):
        if row.get("id") == cntr:
            return float(row["a"]), float(row["b"]), float(row["c"])
    return 0.0, 0.0, 0.0


def mBackground_main(argv: Sequence[str] | None = None) -> int:
    p = _parser("mBackground")
    p.add_argument(
        "-t",
        dest="table",
        action="store_true",
        help="table mode: IN OUT IMAGES.tbl CORRECTIONS.tbl",
    )
    p.add_argument("-n", dest="noareas", action="store_true", help="no area files")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("rest", nargs="+", help="A B C, or the two tables with -t")

    def body(a: argparse.Namespace) -> None:
        from MontagePy.main import mBackground

        _need(a.input)
        if a.table:
            if len(a.rest) != 2:
                raise MontageFailed("-t needs IMAGES.tbl CORRECTIONS.tbl")
            _need(*a.rest)
            coeffs = correction_for(a.input, Path(a.rest[0]), Path(a.rest[1]))
        else:
            if len(a.rest) != 3:
                raise MontageFailed("need A B C")
            coeffs = (float(a.rest[0]), float(a.rest[1]), float(a.rest[2]))
        _check("mBackground", mBackground(a.input, a.output, *coeffs, noAreas=a.noareas))

    return _wrap("mBackground", body, p, argv)


# --- mImgtbl ----------------------------------------------------------------------------


def mImgtbl_main(argv: Sequence[str] | None = None) -> int:
    p = _parser("mImgtbl")
    p.add_argument("-t", dest="imglist", default="", help="only the images listed here")
    p.add_argument("-r", dest="recursive", action="store_true")
    p.add_argument("directory")
    p.add_argument("table")

    def body(a: argparse.Namespace) -> None:
        from MontagePy.main import mImgtbl

        if a.imglist:
            _need(a.imglist)
        _check(
            "mImgtbl",
            mImgtbl(a.directory, a.table, recursiveMode=a.recursive, imgListFile=a.imglist),
        )

    return _wrap("mImgtbl", body, p, argv)


# --- mAdd -------------------------------------------------------------------------------


def mAdd_main(argv: Sequence[str] | None = None) -> int:
    p = _parser("mAdd")
    p.add_argument("-e", dest="exact", action="store_true", help="exactly the header's size")
    p.add_argument("-n", dest="noareas", action="store_true", help="no area files")
    p.add_argument("-p", dest="path", default=".", help="directory of the images")
    p.add_argument("-a", dest="coadd", choices=["mean", "median", "count"], default="mean")
    p.add_argument("table")
    p.add_argument("header")
    p.add_argument("output")

    def body(a: argparse.Namespace) -> None:
        from MontagePy.main import mAdd

        _need(a.table, a.header)
        mode = {"mean": 0, "median": 1, "count": 2}[a.coadd]
        _check(
            "mAdd",
            mAdd(
                a.path,
                a.table,
                a.header,
                a.output,
                shrink=not a.exact,
                haveAreas=not a.noareas,
                coadd=mode,
            ),
        )

    return _wrap("mAdd", body, p, argv)


# --- mShrink ----------------------------------------------------------------------------


def mShrink_main(argv: Sequence[str] | None = None) -> int:
    p = _parser("mShrink")
    p.add_argument("-f", dest="fixed", action="store_true", help="factor is the output size")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("factor", type=float)

    def body(a: argparse.Namespace) -> None:
        from MontagePy.main import mShrink

        _need(a.input)
        _check("mShrink", mShrink(a.input, a.output, a.factor, fixedSize=a.fixed))

    return _wrap("mShrink", body, p, argv)


# --- mViewer (in place of mJPEG) --------------------------------------------------------


def mViewer_main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    p = _parser("mViewer")
    p.add_argument(
        "words",
        nargs=argparse.REMAINDER,
        help="mViewer's display options, ending with -out FILE.png",
    )
    if args[:1] in (["-h"], ["--help"]):
        p.parse_args(args)

    def body(_: argparse.Namespace) -> None:
        from MontagePy.main import mViewer

        if "-out" not in args or args.index("-out") == len(args) - 1:
            raise MontageFailed("need -out FILE")
        at = args.index("-out")
        out = args[at + 1]
        words = args[:at] + args[at + 2 :]
        fmt = "jpeg" if out.lower().endswith((".jpg", ".jpeg")) else "png"
        _check("mViewer", mViewer(" ".join(words), out, mode=2, outFmt=fmt))

    return _wrap("mViewer", body, p, ["--", *args] if args else [])


MAINS: dict[str, Callable[[Sequence[str] | None], int]] = {
    "mProjectPP": mProjectPP_main,
    "mDiffFit": mDiffFit_main,
    "mConcatFit": mConcatFit_main,
    "mBgModel": mBgModel_main,
    "mBgExact": mBgExact_main,
    "mBackground": mBackground_main,
    "mImgtbl": mImgtbl_main,
    "mAdd": mAdd_main,
    "mShrink": mShrink_main,
    "mViewer": mViewer_main,
}
