"""The whole ``wfplan plan`` command, as a user runs it, on 10^3..10^5 (10^6) jobs.

What pegasus-plan's "70 s for 10,000 jobs" measures: a fresh process that starts Python,
reads a Pegasus YAML workflow and three catalog files, plans, and writes the submit
directory (``.dag``, ``.sub`` files, the manifest bundle, ``plan.json``, catalog copies).
Inputs are made once per size under ``--work`` by ``bench/gen_workflow.py`` (Montage- or
fan-out-shaped, every transformation installed on site ``exec``, every raw input with a
``file://`` replica on ``local``; condorio, in-place cleanup, registration).

    .venv/bin/python bench/cli_scale.py                     # 10^3..10^5, montage
    .venv/bin/python bench/cli_scale.py --max 1000000       # adds 10^6 (minutes, ~10 GB)
    .venv/bin/python bench/cli_scale.py --shapes montage,fanout --repeat 3

Prints a Markdown table: wall seconds (best of ``--repeat``), that run's CPU seconds (user
+ system) and peak resident memory of the ``wfplan`` process, and the files written.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = (1_000, 10_000, 100_000, 1_000_000)


def make_inputs(shape: str, n: int, work: Path) -> Path:
    """Workflow and catalogs for one case in ``work/<shape>-<n>/`` (kept between runs)."""
    from bench.gen_workflow import GENERATORS, write
    from catalogs import replica_yaml, transformation_yaml
    from catalogs.replica import PFN, Replica, ReplicaCatalog
    from catalogs.transformation import (
        Transformation,
        TransformationCatalog,
        TransformationSite,
    )
    from planner.model.graph import build_job_graph
    from sites import site_yaml
    from sites.model import Directory, DirectoryType, FileServer, Operation, Site, SiteCatalog

    case = work / f"{shape}-{n}"
    if (case / "sites.yml").is_file():
        return case
    case.mkdir(parents=True, exist_ok=True)
    workflow = GENERATORS[shape](n)
    write(workflow, case / "workflow.yml")
    keys = sorted({(j.namespace, j.name, j.version) for j in workflow.jobs}, key=str)
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
            Replica(lfn=lfn, pfns=(PFN(url=f"/data/in/{lfn}", site="local"),))
            for lfn in build_job_graph(workflow).workflow_inputs()
        )
    )
    scratch = case / "exec-scratch"
    sc = SiteCatalog(
        sites=(
            Site(
                name="exec",
                directories=(
                    Directory(
                        type=DirectoryType.SHARED_SCRATCH,
                        path=str(scratch),
                        file_servers=(
                            FileServer(url=f"file://{scratch}", operation=Operation.ALL),
                        ),
                    ),
                ),
            ),
        )
    )
    (case / "tc.yml").write_text(transformation_yaml.dumps(tc))
    (case / "rc.yml").write_text(replica_yaml.dumps(rc))
    (case / "sites.yml").write_text(site_yaml.dumps(sc))
    return case


def run_once(case: Path, wfplan: str) -> dict[str, float]:
    submit = case / "submit"
    shutil.rmtree(submit, ignore_errors=True)
    cmd = [
        wfplan,
        "plan",
        str(case / "workflow.yml"),
        "--sc",
        str(case / "sites.yml"),
        "--tc",
        str(case / "tc.yml"),
        "--rc",
        str(case / "rc.yml"),
        "--sites",
        "exec",
        "--dir",
        str(submit),
    ]
    # A child per run, so RUSAGE_CHILDREN is this run's alone.
    code = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "wall = time.perf_counter() - t\n"
        "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps({'rc': done.returncode, 'wall': wall, 'cpu': r.ru_utime + r.ru_stime,"
        " 'peak_mb': r.ru_maxrss / 1024}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *cmd], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"wfplan plan failed on {case}")
    result["files"] = sum(1 for _ in submit.iterdir())
    shutil.rmtree(submit, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=100_000, help="largest job count")
    parser.add_argument("--shapes", default="montage")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case (best wall kept)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/wfplan-cli-scale"))
    args = parser.parse_args(argv)
    wfplan = str(Path(sys.executable).parent / "wfplan")
    if not os.path.exists(wfplan):
        wfplan = shutil.which("wfplan") or "wfplan"
    load = os.getloadavg()[0]
    print(
        f"# cli_scale on {os.cpu_count()} cores (load {load:.1f}), Python {sys.version.split()[0]}"
    )
    print()
    print("| shape | jobs | input MB | wall s | cpu s | peak MB | files written |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for shape in args.shapes.split(","):
        for n in (s for s in SIZES if s <= args.max):
            case = make_inputs(shape, n, args.work)
            runs = [run_once(case, wfplan) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r["wall"])
            size = (case / "workflow.yml").stat().st_size / 1e6
            print(
                f"| {shape} | {n} | {size:.1f} | {best['wall']:.2f} | {best['cpu']:.2f} "
                f"| {best['peak_mb']:.0f} | {best['files']:.0f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
