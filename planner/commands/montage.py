"""``wfplan montage sky|build|demo``: the Montage workflow from images and a region.

* ``sky``: write a deterministic synthetic 2MASS-like sky (tiles + ``truth.tbl``).
* ``build``: keep the images that touch the region, find the overlapping pairs and write
  the abstract workflow (Pegasus YAML), its replica and transformation catalogs and the
  region headers and tables mDAG would write beside its DAX.
* ``demo``: sky -> build -> ``wfplan plan`` over two sites -> ``wfplan run`` -> mosaic,
  then plan again to show that every job is reused.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

NGC3372 = (161.265, -59.685)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="montage_command", metavar="ACTION")
    sub.required = True
    _add_sky(sub.add_parser("sky", help="write synthetic overlapping 2MASS-like tiles"))
    _add_build(sub.add_parser("build", help="write the abstract Montage workflow and catalogs"))
    _add_demo(sub.add_parser("demo", help="sky, build, plan over two sites, run, mosaic, re-plan"))


def _add_sky(sky: argparse.ArgumentParser) -> None:
    _region_args(sky, required=True)
    _pair(sky, "--tiles", int, ("NX", "NY"),
          help="grid of tiles (default: the smallest that covers the region)")  # fmt: skip
    _pair(sky, "--tile-pixels", int, ("X", "Y"),
          help="tile size in pixels (2MASS: 512 1024; default: from the grid and the scale)")  # fmt: skip
    sky.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sky.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    sky.set_defaults(_action=_sky)


def _add_build(build: argparse.ArgumentParser) -> None:
    build.add_argument(
        "--images", type=Path, required=True, metavar="DIR", help="directory of input FITS images"
    )
    _region_args(build, required=False)
    build.add_argument(
        "--header",
        type=Path,
        metavar="REGION.hdr",
        help="the mosaic's header instead of --center/--size",
    )
    build.add_argument("--projection", default="TAN", help="FITS projection code (default TAN)")
    build.add_argument(
        "--sites",
        type=_names,
        default="local",
        help="comma-separated sites where the Montage wrappers are installed "
        "(transformation catalog; default: local)",
    )
    build.add_argument(
        "--background",
        choices=("exact", "mBgModel"),
        default="exact",
        help="background model job: exact (least-squares solve, wfplan-mBgExact; default) "
        "or mBgModel (Montage's iterative code, -i growing with the number of images)",
    )
    _pair(build, "--coadd-tiles", int, ("NX", "NY"),
          help="co-add the mosaic in NX x NY tiles (1 1: one mAdd, as mDAG; default: "
          "tiles of at most 2048 pixels a side)")  # fmt: skip
    build.add_argument("--name", default="montage", help="workflow name (default montage)")
    build.add_argument("-o", "--output", type=Path, required=True, metavar="WORKFLOW.yml")
    build.add_argument(
        "--rc",
        type=Path,
        metavar="RC.yml",
        help="replica catalog to write (default: rc.yml beside the workflow)",
    )
    build.add_argument(
        "--tc",
        type=Path,
        metavar="TC.yml",
        help="transformation catalog to write (default: tc.yml beside it)",
    )
    build.set_defaults(_action=_build)


def _add_demo(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--dir", type=Path, required=True, metavar="DIR")
    _pair(demo, "--tiles", int, ("NX", "NY"), default=[3, 3])
    _pair(demo, "--tile-pixels", int, ("X", "Y"), default=[256, 256])
    demo.add_argument("-j", "--jobs", type=int, default=2, help="jobs at a time (default 2)")
    demo.add_argument("--seed", type=int, default=3372)
    demo.set_defaults(_action=_demo)


def _region_args(parser: argparse.ArgumentParser, *, required: bool) -> None:
    _pair(parser, "--center", float, ("RA", "DEC"), required=required,
          help="centre in degrees (J2000)")  # fmt: skip
    _pair(parser, "--size", float, ("W", "H"), required=required,
          help="width and height in degrees")  # fmt: skip
    parser.add_argument(
        "--pixel-scale",
        type=float,
        default=None,
        metavar="ARCSEC",
        help="arcsec per pixel (default 1, or the images' scale for build)",
    )


def _names(text: str) -> list[str]:
    """``"a,b"`` -> ``["a", "b"]``; argparse applies it to the default too."""
    return [s for s in text.split(",") if s]


def _pair(
    parser: argparse.ArgumentParser,
    flag: str,
    kind: type[int] | type[float],
    names: tuple[str, str],
    **more: Any,
) -> None:
    """An option that takes two numbers (a centre, a size, a grid of tiles)."""
    parser.add_argument(flag, nargs=2, type=kind, metavar=names, **more)


def run(args: argparse.Namespace) -> int:
    code: int = args._action(args)
    return code


def _sky(args: argparse.Namespace) -> int:
    from planner.apps.montage.sky import make_sky, write_sky
    from planner.errors import FormatError

    tiles = tuple(args.tiles) if args.tiles else None
    if tiles is not None and min(tiles) < 1:
        raise FormatError(f"--tiles {tiles[0]} {tiles[1]}: need at least one tile each way")
    if args.size[0] <= 0 or args.size[1] <= 0:
        raise FormatError(f"--size {args.size[0]} {args.size[1]}: must be positive")
    pixels = tuple(args.tile_pixels) if args.tile_pixels else None
    scale = args.pixel_scale
    if scale is None and (tiles is None or pixels is None):
        scale = 1.0  # 2MASS's
    sky = make_sky(
        tuple(args.center), tuple(args.size), tiles, tile_pixels=pixels,
        pixel_scale_arcsec=scale, seed=args.seed,
    )  # fmt: skip
    write_sky(sky, args.output)
    t = sky.tiles[0]
    rows = max(t.row for t in sky.tiles) + 1
    print(
        f"wrote {len(sky.tiles)} tiles ({len(sky.tiles) // rows} x {rows}) of "
        f"{t.data.shape[1]} x {t.data.shape[0]} px ({sky.pixel_scale_arcsec:.3f} arcsec/px) "
        f"and truth.tbl ({len(sky.star_ra)} stars) to {args.output}"
    )
    return 0


def _build(args: argparse.Namespace) -> int:
    from planner.apps.montage.generator import write_build

    result = write_build(
        images=args.images,
        output=args.output,
        center=tuple(args.center) if args.center else None,
        size=tuple(args.size) if args.size else None,
        header=args.header,
        pixel_scale=args.pixel_scale,
        projection=args.projection,
        sites=args.sites,
        name=args.name,
        rc_path=args.rc,
        tc_path=args.tc,
        background=args.background,
        coadd=tuple(args.coadd_tiles) if args.coadd_tiles else None,
    )
    counts: dict[str, int] = {}
    for job in result.workflow.jobs:
        counts[job.name] = counts.get(job.name, 0) + 1
    summary = ", ".join(f"{n} {name}" for name, n in counts.items())
    print(f"wrote {args.output}: {len(result.workflow.jobs)} jobs ({summary})")
    print(f"  {len(result.images)} images, {len(result.pairs)} overlapping pairs")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from planner.apps.montage.demo import run_demo

    return run_demo(
        args.dir,
        tiles=tuple(args.tiles),
        tile_pixels=tuple(args.tile_pixels),
        jobs=args.jobs,
        seed=args.seed,
    )
