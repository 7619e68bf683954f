"""Benchmark: time and peak memory to write a submit dir, one .sub per node vs shared.

Builds a fan-out/fan-in concrete workflow in memory (condorio: compute nodes with one
task each over four transformations, a stage-in per 10 compute nodes, one stage-out,
register and create-dir), then times ``write_submit_dir`` in each mode, each case in a
fresh process (peak RSS is per process). Prints a table; never used as a test.

    .venv/bin/python bench/emit_scale.py                 # 10^3, 10^4, 10^5, both modes
    .venv/bin/python bench/emit_scale.py --sizes 1000000 --modes shared
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def one_case(n: int, mode: str, where: str) -> dict[str, float | int | str]:
    from planner.emit import write_submit_dir

    root = Path(tempfile.mkdtemp(prefix="wfplan-emit-bench-", dir=where))
    try:
        t0 = time.perf_counter()
        cw = workflow(n, root)
        t1 = time.perf_counter()
        c1 = os.times()
        write_submit_dir(cw, root / "submit", tools_dir=Path("/opt/wfplan/bin"), emit_mode=mode)  # type: ignore[arg-type]
        t2 = time.perf_counter()
        c2 = os.times()
        files = sum(1 for _ in os.scandir(root / "submit"))
        size = sum(e.stat().st_size for e in os.scandir(root / "submit"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "nodes": len(cw.nodes),
        "mode": mode,
        "build_s": round(t1 - t0, 2),
        "emit_s": round(t2 - t1, 2),
        # user = Python work, sys = kernel (file creation dominates: see docs/submit-dir.md)
        "user_s": round(c2.user - c1.user, 2),
        "sys_s": round(c2.system - c1.system, 2),
        "files": files,
        "mb": round(size / 1e6, 1),
        "peak_mb": round(peak_kib / 1024),
    }


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
    parser.add_argument("--one", nargs=2, metavar=("N", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_case(int(args.one[0]), args.one[1], args.where)))
        return
    print(
        f"{'compute':>9} {'nodes':>9} {'mode':>9} {'emit s':>8} {'user s':>7} {'sys s':>6} "
        f"{'files':>9} {'MB':>7} {'peak MB':>8}",
        flush=True,
    )
    for n in (int(s) for s in args.sizes.split(",")):
        for mode in args.modes.split(","):
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(n), mode, "--where", args.where],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            r = json.loads(out)
            print(
                f"{n:>9} {r['nodes']:>9} {mode:>9} {r['emit_s']:>8} {r['user_s']:>7} "
                f"{r['sys_s']:>6} {r['files']:>9} "
                f"{r['mb']:>7} {r['peak_mb']:>8}",
                flush=True,
            )


if __name__ == "__main__":
    main()
