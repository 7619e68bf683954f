"""How fast ``plan()`` (and plan + emit) is on 10^3..10^6-job workflows.

Each case runs in its own subprocess so peak memory (``ru_maxrss``) belongs to that case
alone. Workflows come from ``bench/gen_workflow.py`` (fan-out/fan-in and Montage-shaped);
catalogs: every transformation installed on one execution site, every workflow input with a
``file://`` replica on ``local``; condorio (the default). "clustered" sets
``pegasus.clusters.size = 10`` in the properties (horizontal clustering).

    python bench/plan_scale.py                 # 10^3..10^5, with and without clustering
    python bench/plan_scale.py --max 1000000   # add 10^6 (minutes)
    python bench/plan_scale.py --emit          # also time write_submit_dir
    python bench/plan_scale.py --tree ../old   # another checkout's planner, same inputs

With ``--tree`` the planner (and catalogs) come from that checkout, the workflow from
this checkout's ``bench/gen_workflow.py``, so two versions plan the same input (run it
with the other checkout's interpreter when their dependencies differ). At 10^6 jobs the
generator's fan-in jobs name their inputs' count instead of listing them (a list would
pass Linux's ARG_MAX, which the planner refuses).

Prints a Markdown table: build = generating the workflow and catalogs (not planning),
plan = ``plan()`` alone (validation included; wall and CPU seconds, CPU being the
honest figure on a shared machine), emit = ``write_submit_dir``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = (1_000, 10_000, 100_000, 1_000_000)


def _generators() -> Any:
    """This checkout's ``bench/gen_workflow.py``, loaded by its path: under ``--tree`` the
    ``bench`` package on the path is the other checkout's."""
    import importlib.util

    path = Path(__file__).resolve().with_name("gen_workflow.py")
    spec = importlib.util.spec_from_file_location("plan_scale_gen_workflow", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def inputs(shape: str, n: int, clustered: bool) -> tuple[Any, Any, Any, Path]:
    """(workflow, catalogs, options, scratch dir) of one case (see the module docstring)."""
    gen = _generators()
    fanout_fanin, montage_shaped = gen.fanout_fanin, gen.montage_shaped
    from catalogs.replica import PFN, Replica, ReplicaCatalog
    from catalogs.transformation import Transformation, TransformationCatalog, TransformationSite
    from planner.model.graph import build_job_graph
    from planner.plan import Catalogs, PlanOptions
    from sites.defaults import with_defaults
    from sites.model import Directory, DirectoryType, Site, SiteCatalog

    wf = (fanout_fanin if shape == "fanout" else montage_shaped)(n)
    keys = sorted({(j.namespace, j.name, j.version) for j in wf.jobs}, key=str)
    tc = TransformationCatalog(
        transformations=tuple(
            Transformation(
                namespace=ns,
                name=name,
                version=ver,
                sites=(TransformationSite(name="exec", pfn=f"/opt/bin/{name}"),),
            )
            for ns, name, ver in keys
        )
    )
    rc = ReplicaCatalog(
        replicas=tuple(
            Replica(
                lfn=lfn, pfns=(PFN(url=f"/data/in/{lfn}", site="local"),)
            )
            for lfn in build_job_graph(wf).workflow_inputs()
        ),
        source=None,
    )
    work = Path(tempfile.mkdtemp(prefix="wfplan-bench-"))
    exec_site = Site(
        name="exec",
        directories=(Directory(type=DirectoryType.SHARED_SCRATCH, path=str(work / "exec")),),
    )
    sc = with_defaults(SiteCatalog(sites=(exec_site,)), work)
    catalogs = Catalogs(replicas=rc, transformations=tc, sites=sc)
    props = {"pegasus.clusters.size": "10"} if clustered else {}
    options = PlanOptions(
        sites=("exec",),
        submit_dir=str(work / "submit"),
        properties=props,
        cluster=("horizontal",) if clustered else (),
    )
    return wf, catalogs, options, work


def run_case(
    shape: str, n: int, clustered: bool, emit: bool, tree: str | None = None
) -> dict[str, object]:
    if tree is not None:
        sys.path.insert(0, tree)  # before this checkout, put first on import
    from planner.plan import plan

    t0 = time.perf_counter()
    wf, catalogs, options, work = inputs(shape, n, clustered)
    gc.disable()  # as ``wfplan plan`` runs planning and writing
    t1 = time.perf_counter()
    c1 = time.process_time()
    cw = plan(wf, catalogs, options)
    t2 = time.perf_counter()
    cpu = time.process_time() - c1
    emit_s = None
    if emit:
        from planner.emit import write_submit_dir

        write_submit_dir(cw, work / "submit")
        emit_s = time.perf_counter() - t2
    gc.enable()
    shutil.rmtree(work, ignore_errors=True)
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "shape": shape,
        "jobs": len(wf.jobs),
        "clustered": clustered,
        "nodes": len(cw.nodes),
        "edges": len(cw.edges),
        "build_s": t1 - t0,
        "plan_s": t2 - t1,
        "plan_cpu_s": cpu,
        "emit_s": emit_s,
        "peak_mb": rss_kb / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=100_000, help="largest job count")
    parser.add_argument("--emit", action="store_true", help="also time write_submit_dir")
    parser.add_argument("--shapes", default="fanout,montage")
    parser.add_argument("--tree", help="plan with this checkout's planner (same inputs)")
    parser.add_argument(
        "--case", nargs=3, metavar=("SHAPE", "N", "CLUSTERED"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.case:
        shape, n, clustered = args.case
        print(json.dumps(run_case(shape, int(n), clustered == "1", args.emit, args.tree)))
        return 0
    load = os.getloadavg()[0]
    print(
        f"# plan_scale on {os.cpu_count()} cores (load {load:.1f}), Python {sys.version.split()[0]}"
    )
    print()
    print(
        "| shape | jobs | clustered | nodes | edges | build s | plan s (cpu) | emit s | peak MB |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for shape in args.shapes.split(","):
        for n in (s for s in SIZES if s <= args.max):
            for clustered in (False, True):
                cmd = [sys.executable, __file__, "--case", shape, str(n), "1" if clustered else "0"]
                if args.emit:
                    cmd.append("--emit")
                if args.tree:
                    cmd += ["--tree", args.tree]
                done = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    print(f"| {shape} | {n} | {clustered} | failed: {done.stderr.strip()[-200:]} |")
                    continue
                r = json.loads(done.stdout)
                emit_s = f"{r['emit_s']:.2f}" if r["emit_s"] is not None else "-"
                print(
                    f"| {r['shape']} | {r['jobs']} | {'yes' if r['clustered'] else 'no'} "
                    f"| {r['nodes']} | {r['edges']} | {r['build_s']:.2f} | {r['plan_s']:.2f} ({r['plan_cpu_s']:.2f}) "
                    f"| {emit_s} | {r['peak_mb']:.0f} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
