"""Benchmark: time and peak memory to write a submit dir, one .sub per node vs shared.

By default builds a fan-out/fan-in concrete workflow in memory (condorio: compute nodes
with one task each over four transformations, a stage-in per 10 compute nodes, one
stage-out, register and create-dir); ``--workflow montage|fanout|chain`` plans one of
``bench/gen_workflow.py``'s abstract workflows instead (as ``bench/plan_scale.py`` does:
stage-in, stage-out, registration and cleanup nodes, all with manifests), ``--clustered``
with horizontal clustering (size 10). Then times ``write_submit_dir`` in each mode, each
case in a fresh process (peak RSS is per process), the best of ``--repeat`` emits of the
same workflow by CPU time. Prints a table; never used as a test. Beside the whole emit it
gives the CPU seconds spent making the text of the DAG and of ``plan.json`` (the time
inside their generators, writing excluded) and their bytes per job (per abstract job for
``--workflow``, per compute node otherwise). The garbage collector is off, as in
``wfplan plan``. Copied into another checkout's ``bench/``, it measures that checkout.

    .venv/bin/python bench/emit_scale.py                 # 10^3, 10^4, 10^5, both modes
    .venv/bin/python bench/emit_scale.py --sizes 1000000 --modes shared
    .venv/bin/python bench/emit_scale.py --workflow montage --sizes 10000 --modes shared
    .venv/bin/python bench/emit_scale.py --workflow fanout --sizes 100000 --phases

``--phases`` (shared mode only, with the cyclic garbage collector off as in ``wfplan
plan``) prints instead, per case, the CPU seconds of the two steps that build the submit
descriptions and manifests (``_write_manifests``, which also
writes ``manifests.jsonl``, and ``plan_submit_files``), the median over ``--repeat`` emits,
and the bytes per job of ``manifests.jsonl`` and of the ``.sub`` files. Run it from another
checkout (``PYTHONPATH=<checkout>``) to measure that version the same way.
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.model.concrete import (
    ConcreteWorkflow,
    DataConfiguration,
    Node,
    NodeKind,
    Task,
    Transfer,
)

TXS = ("mProjectPP", "mDiffFit", "mBackground", "mAdd")


def workflow(n: int, root: Path) -> ConcreteWorkflow:
    staging = root / "staging"
    nodes: list[Node] = [
        Node(
            name="create_dir_scale_0_local",
            kind=NodeKind.CREATE_DIR,
            site="local",
            level=0,
            files=(Transfer(lfn="", dst=staging.as_uri()),),
        )
    ]
    edges: list[tuple[str, str]] = []
    for k in range(0, n, 10):
        name = f"stage_in_local_local_0_{k // 10}"
        files = tuple(
            Transfer(
                lfn=f"in{i}.fits",
                src=((root / "data" / f"in{i}.fits").as_uri(),),
                dst=(staging / f"in{i}.fits").as_uri(),
            )
            for i in range(k, min(k + 10, n))
        )
        nodes.append(Node(name=name, kind=NodeKind.STAGE_IN, site="local", level=0, files=files))
        edges.append(("create_dir_scale_0_local", name))
    for i in range(n):
        tx = TXS[i % len(TXS)]
        name = f"{tx}_ID{i:07d}"
        nodes.append(
            Node(
                name=name,
                kind=NodeKind.COMPUTE,
                site="condorpool",
                level=1,
                transformation=f"montage::{tx}:6.0",
                jobs=(f"ID{i:07d}",),
                tasks=(
                    Task(
                        job_id=f"ID{i:07d}",
                        transformation=f"montage::{tx}:6.0",
                        executable=f"/opt/montage/bin/{tx}",
                        arguments=("-X", f"in{i}.fits", f"p{i}.fits", "region.hdr"),
                        runtime=10.0,
                    ),
                ),
                inputs=(
                    Transfer(
                        lfn=f"in{i}.fits",
                        src=((staging / f"in{i}.fits").as_uri(),),
                        dst=f"in{i}.fits",
                    ),
                ),
                outputs=(
                    Transfer(
                        lfn=f"p{i}.fits", src=(f"p{i}.fits",), dst=(staging / f"p{i}.fits").as_uri()
                    ),
                ),
                data_configuration=DataConfiguration.CONDORIO,
                staging_site="local",
            )
        )
        edges.append((f"stage_in_local_local_0_{i // 10}", name))
    nodes.append(
        Node(
            name="stage_out_local_local_2_0",
            kind=NodeKind.STAGE_OUT,
            site="local",
            level=2,
            files=(
                Transfer(
                    lfn="p0.fits", src=((staging / "p0.fits").as_uri(),), dst="file:///out/p0.fits"
                ),
            ),
        )
    )
    edges.extend((f"{TXS[i % len(TXS)]}_ID{i:07d}", "stage_out_local_local_2_0") for i in range(n))
    return ConcreteWorkflow(name="scale", nodes=tuple(nodes), edges=tuple(edges))


def planned(n: int, shape: str, clustered: bool, root: Path) -> ConcreteWorkflow:
    """``bench/plan_scale.py``'s case: ``shape`` with n jobs planned onto one site."""
    from bench.gen_workflow import GENERATORS
    from catalogs.replica import PFN, Replica, ReplicaCatalog
    from catalogs.transformation import Transformation, TransformationCatalog, TransformationSite
    from planner.model.graph import build_job_graph
    from planner.plan import Catalogs, PlanOptions, plan
    from sites.defaults import with_defaults
    from sites.model import Directory, DirectoryType, Site, SiteCatalog

    wf = GENERATORS[shape](n)
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
    exec_dir = Directory(type=DirectoryType.SHARED_SCRATCH, path=str(root / "exec"))
    sc = with_defaults(SiteCatalog(sites=(Site(name="exec", directories=(exec_dir,)),)), root)
    options = PlanOptions(
        sites=("exec",),
        submit_dir=str(root / "submit"),
        properties={"pegasus.clusters.size": "10"} if clustered else {},
        cluster=("horizontal",) if clustered else (),
    )
    return plan(wf, Catalogs(replicas=rc, transformations=tc, sites=sc), options)


class _PhaseClock:
    """CPU seconds spent inside a text generator of the writer, and the bytes it made."""

    def __init__(self, module: Any, name: str) -> None:
        self.cpu = 0.0
        self.bytes = 0
        inner = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Iterator[str]:
            chunks = inner(*args, **kwargs)
            while True:
                t = time.process_time()
                chunk = next(chunks, None)
                self.cpu += time.process_time() - t
                if chunk is None:
                    return
                self.bytes += len(chunk.encode("utf-8"))
                yield chunk

        setattr(module, name, timed)


def one_case(
    n: int,
    mode: str,
    where: str,
    shape: str = "synthetic",
    clustered: bool = False,
    repeat: int = 1,
) -> dict[str, float | int | str]:
    import planner.emit.writer as writer
    from planner.emit import write_submit_dir

    dag_clock = _PhaseClock(writer, "yield_dag_chunks")
    record_clock = _PhaseClock(writer, "yield_plan_text")
    root = Path(tempfile.mkdtemp(prefix="wfplan-emit-bench-", dir=where))
    gc.disable()  # as `wfplan plan` runs (planner/cli.py): no collections of the plan's heap
    try:
        t0 = time.perf_counter()
        cw = workflow(n, root) if shape == "synthetic" else planned(n, shape, clustered, root)
        t1 = time.perf_counter()
        best: tuple[float, float, float] | None = None
        phases: tuple[float, float] | None = None
        for i in range(repeat):
            dag_clock.cpu = record_clock.cpu = 0.0
            dag_clock.bytes = record_clock.bytes = 0
            submit = root / f"submit{i}"
            c1, w1 = os.times(), time.perf_counter()
            write_submit_dir(cw, submit, tools_dir=Path("/opt/wfplan/bin"), emit_mode=mode)  # type: ignore[arg-type]
            w2, c2 = time.perf_counter(), os.times()
            # user = Python work, sys = kernel (file creation: see docs/submit-dir.md)
            run = (w2 - w1, c2.user - c1.user, c2.system - c1.system)
            if best is None or run[1] + run[2] < best[1] + best[2]:
                best = run
            if phases is None or dag_clock.cpu + record_clock.cpu < sum(phases):
                phases = (dag_clock.cpu, record_clock.cpu)
            files = sum(1 for _ in os.scandir(submit))
            size = sum(e.stat().st_size for e in os.scandir(submit))
            shutil.rmtree(submit)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert best is not None and phases is not None
    jobs = n if shape != "synthetic" else sum(1 for node in cw.nodes if node.jobs)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "nodes": len(cw.nodes),
        "mode": mode,
        "build_s": round(t1 - t0, 2),
        "emit_s": round(best[0], 2),
        "user_s": round(best[1], 2),
        "sys_s": round(best[2], 2),
        "files": files,
        "mb": round(size / 1e6, 1),
        "peak_mb": round(peak_kib / 1024),
        "dag_cpu_s": round(phases[0], 3),
        "dag_b_job": round(dag_clock.bytes / jobs),
        "record_cpu_s": round(phases[1], 3),
        "record_b_job": round(record_clock.bytes / jobs),
    }


# The writer's steps timed by --phases (by name, so an older checkout is timed alike).
PHASES = ("_write_manifests", "plan_submit_files")


def phases_case(n: int, shape: str, clustered: bool, repeat: int, where: str) -> dict[str, Any]:
    """CPU seconds of each of PHASES (median of ``repeat`` emits) and bytes per job."""
    import gc
    import statistics

    from planner.emit import write_submit_dir, writer

    spent: dict[str, list[float]] = {name: [] for name in PHASES}

    def timed(name: str, func: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.process_time()
            try:
                return func(*args, **kwargs)
            finally:
                spent[name].append(time.process_time() - t)

        return wrapper

    for name in PHASES:
        setattr(writer, name, timed(name, getattr(writer, name)))
    # as `wfplan plan` runs (planner/cli.py): without the cyclic collector, whose full
    # passes over the workflow's millions of objects would land in whichever step
    # allocates when one is due
    gc.disable()
    root = Path(tempfile.mkdtemp(prefix="wfplan-emit-bench-", dir=where))
    try:
        cw = workflow(n, root) if shape == "synthetic" else planned(n, shape, clustered, root)
        sizes: dict[str, int] = {}
        for i in range(repeat):
            submit = root / f"submit{i}"
            write_submit_dir(cw, submit, tools_dir=Path("/opt/wfplan/bin"), emit_mode="shared")
            sizes = {"manifests": 0, "sub": 0}
            for entry in os.scandir(submit):
                if entry.name == "manifests.jsonl":
                    sizes["manifests"] += entry.stat().st_size
                elif entry.name.endswith(".sub"):
                    sizes["sub"] += entry.stat().st_size
            shutil.rmtree(submit)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    out: dict[str, Any] = {k: round(statistics.median(v), 3) for k, v in spent.items()}
    out.update({f"{k}_per_job": round(v / n, 1) for k, v in sizes.items()})
    out["nodes"] = len(cw.nodes)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--modes", default="per-node,shared")
    parser.add_argument(
        "--where",
        default=".",
        help="directory for the scratch submit dirs (default: here; /tmp may be a slow "
        "overlay, so measure on the disk submit dirs live on)",
    )
    parser.add_argument(
        "--workflow",
        choices=("synthetic", "montage", "fanout", "chain"),
        default="synthetic",
        help="synthetic: the concrete fan-out built here; montage/fanout/chain: plan "
        "bench/gen_workflow.py's workflow (n = jobs) first",
    )
    parser.add_argument("--clustered", action="store_true", help="with --workflow: cluster by 10")
    parser.add_argument("--repeat", type=int, default=1, help="emits per case; best by CPU")
    parser.add_argument(
        "--phases", action="store_true", help="CPU of the description/manifest steps, bytes/job"
    )
    parser.add_argument("--one", nargs=2, metavar=("N", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phases:
        for n in (int(s) for s in args.sizes.split(",")):
            r = phases_case(n, args.workflow, args.clustered, args.repeat, args.where)
            print(json.dumps({"workflow": args.workflow, "n": n, **r}), flush=True)
        return
    if args.one:
        case = one_case(
            int(args.one[0]), args.one[1], args.where, args.workflow, args.clustered, args.repeat
        )
        print(json.dumps(case))
        return
    print(
        f"# {args.workflow}{' clustered' if args.clustered else ''}, load "
        f"{os.getloadavg()[0]:.1f}, {os.cpu_count()} cores, best of {args.repeat}",
        flush=True,
    )
    print(
        f"{'n':>9} {'nodes':>9} {'mode':>9} {'emit s':>8} {'user s':>7} {'sys s':>6} "
        f"{'files':>9} {'MB':>7} {'peak MB':>8} {'dag cpu s':>9} {'dag B/job':>9} "
        f"{'rec cpu s':>9} {'rec B/job':>9}",
        flush=True,
    )
    for n in (int(s) for s in args.sizes.split(",")):
        for mode in args.modes.split(","):
            extra = ["--workflow", args.workflow, "--repeat", str(args.repeat)]
            if args.clustered:
                extra.append("--clustered")
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(n), mode, "--where", args.where, *extra],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            r = json.loads(out)
            print(
                f"{n:>9} {r['nodes']:>9} {mode:>9} {r['emit_s']:>8} {r['user_s']:>7} "
                f"{r['sys_s']:>6} {r['files']:>9} "
                f"{r['mb']:>7} {r['peak_mb']:>8} {r['dag_cpu_s']:>9} {r['dag_b_job']:>9} "
                f"{r['record_cpu_s']:>9} {r['record_b_job']:>9}",
                flush=True,
            )


if __name__ == "__main__":
    main()
