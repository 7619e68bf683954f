"""The shape of the Montage grid paper's Fig. 13, by simulation.

A 6 x 6 degree M16-sized Montage workflow: 1,254 images on a 33 x 38 grid of tiles that
overlap their 8 neighbours (montage.md's job count: 2*nx*ny + overlaps + 7 = 7,320
jobs), per-job runtimes chosen so one processor needs about 280 minutes (the paper's
single-processor total). For P = 1..128 processors it simulates

* ``clusters.num = P`` on every level (the paper's Pegasus runs: one cluster per
  processor per level), under the modern DAGMan model (100 submits / 5 s) and the
  2005 one (about one job per second, the paper's "one second per job");
* ``--cluster auto`` (``planner.passes.autocluster``) for the same slots and models;
* the ideal: no overhead, no clustering (a lower bound the MPI version approaches).

The fast sweep simulates the compute graph directly (the paper's runs staged data on a
shared file system). ``--planned`` repeats it end to end: the workflow from the Montage
generator (``planner.apps.montage.generator.build_montage``, what ``wfplan montage
build`` runs) over synthetic tile headers, each setting planned by ``planner.plan.plan``
(``--cluster horizontal`` with ``pegasus.clusters.num = P``, or ``--cluster auto``), the
plan record simulated: stage-in, stage-out, registration and create-dir nodes included.
Run: ``.venv/bin/python bench/montage_fig13.py [--planned] [--out docs/images]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from planner.passes.autocluster import Group, choose_counts, clustered_graph
from planner.sim.engine import simulate
from planner.sim.model import DAGMAN, DAGMAN_2005, NONE, OverheadModel

# seconds per job; one processor: 1,254 x 10.3 + 4,805 x 0.5 + 1,254 x 0.5 + 860 ~ 280 min
RUNTIME = {
    "mProjectPP": 10.3,
    "mDiffFit": 0.5,
    "mConcatFit": 60.0,
    "mBgModel": 120.0,
    "mBackground": 0.5,
    "mImgtbl": 20.0,
    "mAdd": 600.0,
    "mShrink": 30.0,
    "mViewer": 30.0,
}
PROCESSORS = (1, 2, 4, 8, 16, 32, 64, 128)


def montage_graph(nx: int, ny: int) -> tuple[list[float], list[list[int]], list[Group]]:
    """Runtimes, parents and horizontal groups of an nx x ny Montage workflow."""
    runtime: list[float] = []
    parents: list[list[int]] = []
    groups: list[Group] = []

    def level(name: str, lv: int, parent_lists: list[list[int]]) -> list[int]:
        first = len(runtime)
        for ps in parent_lists:
            runtime.append(RUNTIME[name])
            parents.append(ps)
        ids = list(range(first, len(runtime)))
        groups.append(Group(lv, name, "condorpool", tuple(ids)))
        return ids

    tiles = nx * ny
    proj = level("mProjectPP", 1, [[] for _ in range(tiles)])
    pairs = []
    for y in range(ny):
        for x in range(nx):
            i = y * nx + x
            for dx, dy in ((1, 0), (0, 1), (1, 1), (-1, 1)):
                if 0 <= x + dx < nx and y + dy < ny:
                    pairs.append([proj[i], proj[(y + dy) * nx + x + dx]])
    diffs = level("mDiffFit", 2, pairs)
    concat = level("mConcatFit", 3, [diffs])
    model = level("mBgModel", 4, [concat])
    bgs = level("mBackground", 5, [[p, model[0]] for p in proj])
    table = level("mImgtbl", 6, [bgs])
    add = level("mAdd", 7, [[*bgs, table[0]]])
    shrink = level("mShrink", 8, [add])
    level("mViewer", 9, [shrink])
    return runtime, parents, groups


def sweep(nx: int, ny: int) -> list[dict[str, object]]:
    runtime, parents, groups = montage_graph(nx, ny)
    rows: list[dict[str, object]] = []
    unclustered = [len(g.members) for g in groups]
    for p in PROCESSORS:
        slots = {"condorpool": p}
        ideal = simulate(clustered_graph(runtime, parents, groups, unclustered), slots, NONE)
        row: dict[str, object] = {"processors": p, "ideal_s": round(ideal.makespan, 1)}
        per_level = [min(p, len(g.members)) for g in groups]
        model: OverheadModel
        for key, model in (("dagman", DAGMAN), ("dagman2005", DAGMAN_2005)):
            fixed = simulate(clustered_graph(runtime, parents, groups, per_level), slots, model)
            bare = simulate(clustered_graph(runtime, parents, groups, unclustered), slots, model)
            row[f"{key}_unclustered_s"] = round(bare.makespan, 1)
            auto = choose_counts(runtime, parents, groups, slots, model)
            row[f"{key}_num_eq_p_s"] = round(fixed.makespan, 1)
            row[f"{key}_auto_s"] = round(auto.makespan, 1)
            row[f"{key}_auto_counts"] = "/".join(str(c) for c in auto.counts)
        rows.append(row)
    return rows


def m16_workflow(nx: int, ny: int) -> Any:
    """The abstract workflow ``wfplan montage build`` writes for an nx x ny grid of
    synthetic tiles over 6 x 6 degrees around M16 (headers only: no FITS files), with
    ``pegasus.runtime`` from :data:`RUNTIME` on each transformation."""
    import math

    from astropy.io import fits

    from catalogs.transformation import TransformationCatalog
    from planner.apps.montage.generator import InputImage, build_montage, region_from_center

    ra0, dec0, size, scale = 274.7, -13.8, 6.0, 2.0 / 3600
    dx, dy = size / nx, size / ny
    images = []
    for j in range(ny):
        for i in range(nx):
            dec = dec0 - size / 2 + (j + 0.5) * dy
            ra = ra0 + (-size / 2 + (i + 0.5) * dx) / math.cos(math.radians(dec))
            h = fits.Header()
            h["NAXIS"], h["NAXIS1"], h["NAXIS2"] = (
                2,
                math.ceil(1.25 * dx / scale),
                math.ceil(1.25 * dy / scale),
            )
            h["CTYPE1"], h["CTYPE2"] = "RA---TAN", "DEC--TAN"
            h["CRVAL1"], h["CRVAL2"] = ra, dec
            h["CRPIX1"], h["CRPIX2"] = (h["NAXIS1"] + 1) / 2, (h["NAXIS2"] + 1) / 2
            h["CDELT1"], h["CDELT2"] = -scale, scale
            lfn = f"2mass-m16-{j:02d}-{i:02d}.fits"
            images.append(InputImage(lfn=lfn, path=Path("/sky") / lfn, header=h))
    region = region_from_center(ra0, dec0, size, size, pixel_scale_arcsec=2.0)
    # one mAdd, as mDAG and the paper laid it out
    mw = build_montage(images, region, tc_sites=("grid",), header_dir=Path("/m16/wf"), coadd=(1, 1))
    tc = TransformationCatalog(
        transformations=tuple(
            replace(t, profiles={"pegasus": {"runtime": str(RUNTIME[t.name])}})
            for t in mw.transformation_catalog.transformations
        ),
        source="m16 tc",
    )
    return mw.workflow, mw.replica_catalog, tc


def sweep_planned(nx: int, ny: int) -> list[dict[str, object]]:
    """The same sweep through ``planner.plan.plan`` and the plan record: stage-in,
    stage-out, registration and create-dir nodes included (sharedfs site ``grid``)."""
    from planner.emit.record import plan_record
    from planner.plan import Catalogs, PlanOptions, plan
    from planner.sim import graph_from_record
    from sites.defaults import with_defaults
    from sites.model import Directory, DirectoryType, FileServer, Site, SiteCatalog

    workflow, rc, tc = m16_workflow(nx, ny)
    scratch = Directory(
        type=DirectoryType.SHARED_SCRATCH,
        path="/grid/scratch",
        file_servers=(FileServer(url="file:///grid/scratch"),),
    )
    grid = Site(
        name="grid",
        directories=(scratch,),
        profiles={"pegasus": {"data.configuration": "sharedfs"}},
    )
    sc = with_defaults(SiteCatalog(sites=(grid,), source="m16 sites"), Path("/m16"))
    catalogs = Catalogs(replicas=rc, transformations=tc, sites=sc)

    def makespan(p: int, cluster: str, props: dict[str, str], model: OverheadModel) -> float:
        options = PlanOptions(
            sites=("grid",),
            cluster=(cluster,),
            cleanup="none",
            submit_dir="/m16/submit",
            properties=props,
        )
        graph = graph_from_record(plan_record(plan(workflow, catalogs, options)))
        return simulate(graph, {"grid": p, "local": p}, model).makespan

    rows: list[dict[str, object]] = []
    for p in PROCESSORS:
        row: dict[str, object] = {"processors": p}
        for key, model, name in (
            ("dagman", DAGMAN, "dagman"),
            ("dagman2005", DAGMAN_2005, "dagman-2005"),
        ):
            row[f"{key}_num_eq_p_s"] = round(
                makespan(p, "horizontal", {"pegasus.clusters.num": str(p)}, model), 1
            )
            auto = {"wfplan.cluster.auto.slots": f"grid={p}", "wfplan.cluster.auto.overhead": name}
            row[f"{key}_auto_s"] = round(makespan(p, "auto", auto, model), 1)
        rows.append(row)
        print(row, flush=True)
    return rows


def plot(rows: list[dict[str, object]], path: Path, total_jobs: int, how: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    procs = [int(str(r["processors"])) for r in rows]

    def series(key: str) -> list[float]:
        return [float(str(r[key])) / 60 for r in rows]

    fig, ax = plt.subplots(figsize=(7, 4.5))
    lines = [
        ("dagman2005_num_eq_p_s", "o-", "clusters.num = P, DAGMan 2005 (~1 job/s)"),
        ("dagman2005_auto_s", "o--", "--cluster auto, DAGMan 2005"),
        ("dagman_num_eq_p_s", "s-", "clusters.num = P, DAGMan today (100 / 5 s)"),
        ("dagman_auto_s", "s--", "--cluster auto, DAGMan today"),
        ("dagman2005_unclustered_s", "^:", "no clustering, DAGMan 2005"),
        ("ideal_s", "k:", "no overhead, no clustering (ideal)"),
    ]
    for key, style, label in lines:
        if key in rows[0]:
            ax.plot(procs, series(key), style, label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(procs, [str(p) for p in procs])
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks([15, 20, 30, 50, 100, 200, 300], ["15", "20", "30", "50", "100", "200", "300"])
    ax.set_xlabel("processors (slots)")
    ax.set_ylabel("simulated makespan (min)")
    ax.set_title(f"M16 6x6 deg Montage ({total_jobs} jobs), simulated{how}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    tmp.replace(path)


def write_csv(rows: list[dict[str, object]], path: Path) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    sys.stdout.write(buf.getvalue())
    path.write_text(buf.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nx", type=int, default=33)
    parser.add_argument("--ny", type=int, default=38)
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument(
        "--planned",
        action="store_true",
        help="also build the workflow with the Montage generator and plan every setting "
        "with wfplan's planner (about 2 minutes)",
    )
    args = parser.parse_args()
    runtime, _, _ = montage_graph(args.nx, args.ny)
    print(f"{len(runtime)} jobs, one-processor work {sum(runtime) / 60:.1f} min")
    args.out.mkdir(parents=True, exist_ok=True)
    rows = sweep(args.nx, args.ny)
    write_csv(rows, args.out / "fig13_montage_m16.csv")
    plot(rows, args.out / "fig13_montage_m16.png", len(runtime))
    if args.planned:
        planned = sweep_planned(args.nx, args.ny)
        write_csv(planned, args.out / "fig13_montage_m16_planned.csv")
        plot(
            planned, args.out / "fig13_montage_m16_planned.png", len(runtime), ", planned by wfplan"
        )


if __name__ == "__main__":
    main()
