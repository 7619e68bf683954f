"""The 2MASS report's Montage case on the embedded engine: unclustered, clustered, one job.

The report mosaicked 1 x 1 degree of 2MASS K band around NGC 3372 (212 images of
512 x 1024 px) with a hand-written two-node DAG whose second node ran the whole mosaic as
one script. Here the same sky is synthetic (``wfplan montage sky``: 2MASS's geometry,
512 x 1024 px tiles at 1 arcsec/px overlapping their 8 neighbours, an 8 x 4 grid of 32 at
full size), the workflow comes from ``wfplan montage build`` (mosaic at 1 arcsec/px,
3600 x 3600 px, co-added in 2 x 2 tiles) and runs three ways:

* ``dag``: ``wfplan plan`` (sharedfs on ``local``) then ``wfplan run -j CORES``: one process
  per job, as DAGMan would;
* ``clustered``: the same with ``--cluster horizontal`` and ``pegasus.clusters.num = CORES``
  (each level in as many jobs as cores, as the Montage grid paper did);
* ``sequential``: every job's wrapper called in this one process, one after the other
  (the report's single mosaic job).

Reported first: each transformation's work in the sequential run (jobs, seconds in all,
the longest job). Then per mode: makespan (wall), CPU time (user + system of the
jobs' and scripts' processes), the engine's own CPU time (it runs in this process), and
the ratio of the makespan to the ideal ``max(critical path, total CPU / cores)`` where the
critical path and the total use the per-job times of the sequential run (pure work, no
process start-up), and its ratio to the *floor*, a lower bound on the makespan of any
schedule of the same jobs on these cores (:func:`_floor`: the ideal ignores that the workflow's
last jobs must wait for all the others and then run one after another). For each engine
mode it also prints where the time went, read from the engine's event log
(:func:`_breakdown`). ``--scale`` shrinks the sky's area (0.25: half a degree on each side,
about a quarter of the tiles) so that it fits in a short session.

After the sequential run it reports the background figures (bench/montage_background.py:
each tile's correction against an exact solve of the same fits.tbl, for the run's own
table and for mBgModel, and the tile-to-tile spread in units of the pixel noise);
``--figures DIR`` also draws the mosaic and the residual background maps.

    .venv/bin/python bench/montage_seed.py --scale 0.1 --dir /tmp/montage-bench
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
from montage_background import report as background_report

from planner.apps.montage.generator import write_build
from planner.apps.montage.inprocess import run_in_process
from planner.apps.montage.sky import make_sky, write_sky
from planner.cli import main as wfplan
from planner.emit.record import load_plan_record
from planner.model.workflow import Workflow
from sites import site_yaml
from sites.model import Directory, DirectoryType, FileServer, Site, SiteCatalog

CENTER = (161.265, -59.685)
TILE_PIXELS = (512, 1024)  # 2MASS Atlas images, at 1 arcsec/px


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _sites(root: Path, cores: int, clustered: bool) -> SiteCatalog:
    def directory(kind: DirectoryType, path: Path) -> Directory:
        return Directory(type=kind, path=str(path), file_servers=(FileServer(url=path.as_uri()),))

    profiles = {"data.configuration": "sharedfs"}
    if clustered:
        profiles["clusters.num"] = str(cores)
    return SiteCatalog(
        sites=(
            Site(
                name="local",
                directories=(
                    directory(DirectoryType.SHARED_SCRATCH, root / "scratch"),
                    directory(DirectoryType.LOCAL_STORAGE, root / "outputs"),
                ),
                profiles={"pegasus": profiles},
            ),
        )
    )


def _critical_path(workflow: Workflow, seconds: dict[str, float]) -> float:
    g = _graph(workflow)
    finish: dict[str, float] = {}
    for node in nx.topological_sort(g):
        start = max((finish[p] for p in g.predecessors(node)), default=0.0)
        finish[node] = start + seconds.get(node, 0.0)
    return max(finish.values(), default=0.0)


def _graph(workflow: Workflow) -> nx.DiGraph:
    producer = {u.lfn: j.id for j in workflow.jobs for u in j.outputs}
    g = nx.DiGraph()
    g.add_nodes_from(j.id for j in workflow.jobs)
    g.add_edges_from(
        (producer[u.lfn], j.id) for j in workflow.jobs for u in j.inputs if u.lfn in producer
    )
    return g


def _floor(workflow: Workflow, seconds: dict[str, float], cores: int) -> tuple[float, str]:
    """A lower bound on any schedule of these jobs on ``cores`` cores, at least the ideal.

    A job ``v`` starts only after all its ancestors end, which takes at least their work
    over the cores and at least the longest chain of them; from its start the longest chain
    through its descendants still runs one job after another. The bound is the largest
    such sum over all jobs (and the ideal); the job that gives it is returned too.
    """
    g = _graph(workflow)
    order = list(nx.topological_sort(g))
    head: dict[str, float] = {}  # longest chain that must end before the job starts
    for v in order:
        head[v] = max((head[p] + seconds.get(p, 0.0) for p in g.predecessors(v)), default=0.0)
    tail: dict[str, float] = {}  # longest chain from the job's start to the end
    for v in reversed(order):
        tail[v] = seconds.get(v, 0.0) + max((tail[c] for c in g.successors(v)), default=0.0)
    total = sum(seconds.get(v, 0.0) for v in order)
    best, where = max(max(tail.values(), default=0.0), total / cores), ""
    for v in order:
        before = sum(seconds.get(a, 0.0) for a in nx.ancestors(g, v)) / cores
        bound = max(before, head[v]) + tail[v]
        if bound > best:
            best, where = bound, v
    return best, where


def _breakdown(submit: Path, cores: int) -> list[str]:
    """Where a run's makespan went, from the engine's event log: how long 0, 1, ... jobs
    ran at once; the engine's delay, summed over jobs, between the moment a job could have
    started (released by its last parent's success and a slot free) and its start; the
    start-up (job_start to the process running); the POST scripts' wall time; the CPU of
    the jobs and of the scripts."""
    from planner.engine.dagfile import parse_dag

    dag = parse_dag(next(submit.glob("*.dag")))
    events = [json.loads(line) for line in next(submit.glob("*.dag.events")).open()]
    first, last = events[0]["t"], events[-1]["t"]
    success: dict[str, float] = {}
    started: dict[str, float] = {}
    running: list[tuple[float, int]] = []
    slots_free = [first] * cores  # when each free slot became free (a heap)
    delay = startup = post_wall = job_cpu = post_cpu = 0.0
    jobs = scripts = 0
    for e in events:
        node, kind, t = e["node"], e["event"], e["t"]
        if kind == "job_start":
            started[node] = t
            released = max((success[p] for p in dag.nodes[node].parents), default=first)
            delay += max(0.0, t - max(released, heapq.heappop(slots_free)))
            running.append((t, 1))
        elif kind == "job_end" and node in started:
            running.append((t, -1))
            heapq.heappush(slots_free, t)
            startup += t - e["runtime"] - started[node]
            job_cpu += e.get("cpu", 0.0)
            jobs += 1
        elif kind in ("pre_end", "post_end"):
            post_wall += e["runtime"]
            post_cpu += e.get("cpu", 0.0)
            scripts += 1
        elif kind == "node_success":
            success[node] = t
    at_once = [0.0] * (cores + 1)
    level, prev = 0, first
    for t, step in sorted(running):
        at_once[min(level, cores)] += t - prev
        level, prev = level + step, t
    at_once[min(level, cores)] += last - prev
    return [
        "  jobs running at once: "
        + ", ".join(f"{k}: {s:.1f} s" for k, s in enumerate(at_once))
        + f" (makespan {last - first:.1f} s)",
        f"  {jobs} jobs, {scripts} scripts; engine delay {delay:.2f} s in all, "
        f"start-up {startup:.2f} s, scripts {post_wall:.2f} s wall",
        f"  CPU: jobs {job_cpu:.1f} s, scripts {post_cpu:.1f} s",
    ]


def _work_by_transformation(seconds: dict[str, float], names: dict[str, str]) -> list[str]:
    """The sequential run's seconds per transformation, in workflow order."""
    by: dict[str, list[float]] = {}
    for job_id, s in seconds.items():
        by.setdefault(names[job_id], []).append(s)
    return ["work per transformation (in-process): jobs, total s, longest s"] + [
        f"  {name:12} {len(v):4d} {sum(v):7.2f} {max(v):7.3f}" for name, v in by.items()
    ]


def _engine_mode(
    root: Path, wf: Path, cores: int, clustered: bool
) -> tuple[float, float, float, int]:
    name = "clustered" if clustered else "dag"
    base = root / name
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    sc = base / "sites.yml"
    site_yaml.dump(_sites(base, cores, clustered), sc)
    plan = ["plan", str(wf), "--sc", str(sc), "--rc", str(wf.parent / "rc.yml"),
            "--tc", str(wf.parent / "tc.yml"), "--sites", "local", "--output-site", "local",
            "--cleanup", "none", "--dir", str(base / "submit")]  # fmt: skip
    if clustered:
        plan += ["--cluster", "horizontal"]
    if wfplan(plan) != 0:
        raise SystemExit(f"planning {name} failed")
    nodes = len(load_plan_record(base / "submit")["nodes"])
    cpu0, self0, t0 = _children_cpu(), _self_cpu(), time.perf_counter()
    code = wfplan(["run", str(base / "submit"), "-j", str(cores), "--progress", "never"])
    makespan = time.perf_counter() - t0
    engine = _self_cpu() - self0  # the engine runs in this process
    if code != 0:
        raise SystemExit(f"running {name} failed")
    for line in _breakdown(base / "submit", cores):
        print(f"{name}:{line}")
    return makespan, _children_cpu() - cpu0, engine, nodes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the 1 x 1 deg area")
    p.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    p.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "wfplan-montage-bench")
    p.add_argument("--modes", default="sequential,dag,clustered")
    p.add_argument("--figures", type=Path, help="write the background figures (PNG) here")
    args = p.parse_args(argv)
    side = math.sqrt(args.scale)
    size = (round(side, 4), round(side, 4))
    root = args.dir.absolute()
    images = root / "images"
    shutil.rmtree(images, ignore_errors=True)

    t0 = time.perf_counter()
    sky = make_sky(CENTER, size, tile_pixels=TILE_PIXELS, pixel_scale_arcsec=1.0, seed=212)
    nx_ = max(t.col for t in sky.tiles) + 1
    ny_ = max(t.row for t in sky.tiles) + 1
    write_sky(sky, images)
    sky_s = time.perf_counter() - t0
    wf = root / "workflow" / "workflow.yml"
    t0 = time.perf_counter()
    built = write_build(images=images, output=wf, center=CENTER, size=size, pixel_scale=1.0)
    build_s = time.perf_counter() - t0
    njobs = len(built.workflow.jobs)
    print(f"sky: {nx_} x {ny_} = {nx_ * ny_} tiles of {TILE_PIXELS[0]} x {TILE_PIXELS[1]} px "
          f"over {size[0]} x {size[1]} deg ({sky.pixel_scale_arcsec:.2f} arcsec/px) in {sky_s:.1f} s; "
          f"workflow: {njobs} jobs, {len(built.pairs)} overlaps, built in {build_s:.1f} s; "
          f"cores: {args.cores}")  # fmt: skip

    modes = [m for m in args.modes.split(",") if m]
    rows: list[tuple[str, int, float, float, float]] = []
    seconds: dict[str, float] = {}
    # The sequential run always goes first: its per-job times define the ideal.
    work = root / "sequential"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for lfn, text in built.files.items():
        (work / lfn).write_text(text)
    for image in built.images:
        os.symlink(image.image.path, work / image.image.lfn)
    cpu0, t0 = _self_cpu(), time.perf_counter()
    seconds = run_in_process(built.workflow, work)
    seq_wall = time.perf_counter() - t0
    rows.append(("sequential (1 job)", 1, seq_wall, _self_cpu() - cpu0, 0.0))
    for line in background_report(sky, work, args.figures):
        print(line)
    names = {j.id: j.name for j in built.workflow.jobs}
    for line in _work_by_transformation(seconds, names):
        print(line)
    total = sum(seconds.values())
    critical = _critical_path(built.workflow, seconds)
    ideal = max(critical, total / args.cores)
    floor, pinch = _floor(built.workflow, seconds, args.cores)
    for mode in modes:
        if mode == "dag":
            makespan, cpu, engine, nodes = _engine_mode(root, wf, args.cores, clustered=False)
            rows.append((f"embedded engine, -j {args.cores}", nodes, makespan, cpu, engine))
        elif mode == "clustered":
            makespan, cpu, engine, nodes = _engine_mode(root, wf, args.cores, clustered=True)
            rows.append((f"horizontal clusters.num={args.cores}", nodes, makespan, cpu, engine))
    print(f"work per job (in-process): total {total:.1f} s, critical path {critical:.1f} s, "
          f"ideal on {args.cores} cores max(cp, total/cores) = {ideal:.1f} s")  # fmt: skip
    print(f"floor: no schedule on {args.cores} cores ends before {floor:.1f} s "
          f"({floor / ideal:.2f} x the ideal): everything before {names.get(pinch, pinch)} "
          f"{pinch}, then the longest chain from it")  # fmt: skip
    # Makespans on a shared machine mean little without the load they were measured under.
    print(
        "load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    # CPU s: the jobs' and scripts' processes (the fork servers included); engine s: the
    # engine's own process, which shares the cores with them.
    print(f"{'mode':38} {'nodes':>6} {'makespan s':>11} {'CPU s':>8} {'engine s':>9} "
          f"{'/ ideal':>8} {'/ floor':>8}")  # fmt: skip
    for label, nodes, makespan, cpu, engine in rows:
        print(f"{label:38} {nodes:6d} {makespan:11.1f} {cpu:8.1f} {engine:9.2f} "
              f"{makespan / ideal:8.2f} {makespan / floor:8.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
