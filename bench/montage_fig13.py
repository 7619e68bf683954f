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

Compute nodes only (the paper's runs staged data on a shared file system).
Run: ``.venv/bin/python bench/montage_fig13.py [--out docs/images] [--nx 33 --ny 38]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

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


def plot(rows: list[dict[str, object]], path: Path, total_jobs: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    procs = [int(str(r["processors"])) for r in rows]

    def series(key: str) -> list[float]:
        return [float(str(r[key])) / 60 for r in rows]

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(
        procs,
        series("dagman2005_num_eq_p_s"),
        "o-",
        label="clusters.num = P, DAGMan 2005 (~1 job/s)",
    )
    ax.plot(procs, series("dagman2005_auto_s"), "o--", label="--cluster auto, DAGMan 2005")
    ax.plot(
        procs, series("dagman_num_eq_p_s"), "s-", label="clusters.num = P, DAGMan today (100 / 5 s)"
    )
    ax.plot(procs, series("dagman_auto_s"), "s--", label="--cluster auto, DAGMan today")
    ax.plot(procs, series("dagman2005_unclustered_s"), "^:", label="no clustering, DAGMan 2005")
    ax.plot(procs, series("ideal_s"), "k:", label="no overhead, no clustering (ideal)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(procs, [str(p) for p in procs])
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks([15, 20, 30, 50, 100, 200, 300], ["15", "20", "30", "50", "100", "200", "300"])
    ax.set_xlabel("processors (slots)")
    ax.set_ylabel("simulated makespan (min)")
    ax.set_title(f"M16 6x6 deg Montage ({total_jobs} jobs), simulated")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    tmp.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nx", type=int, default=33)
    parser.add_argument("--ny", type=int, default=38)
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args()
    runtime, _, _ = montage_graph(args.nx, args.ny)
    print(f"{len(runtime)} jobs, one-processor work {sum(runtime) / 60:.1f} min")
    rows = sweep(args.nx, args.ny)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    sys.stdout.write(buf.getvalue())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fig13_montage_m16.csv").write_text(buf.getvalue())
    plot(rows, args.out / "fig13_montage_m16.png", len(runtime))


if __name__ == "__main__":
    main()
