"""The whole ``wfplan plan`` command, as a user runs it, beside the I/O floor, 10^3..10^6 jobs.

What pegasus-plan's "70 s for 10,000 jobs" measures: a fresh process that starts Python,
reads a Pegasus YAML workflow and three catalog files, plans, and writes the submit
directory (``.dag``, ``.sub`` files, the manifest bundle, ``plan.json``, catalog copies).
Inputs are made once per size under ``--work`` by ``bench/gen_workflow.py`` (fan-out,
Montage- or chain-shaped, every transformation installed on site ``exec``, every raw input
with a ``file://`` replica on ``local``; condorio, in-place cleanup, registration).

The floor, measured in the same run right after each ``wfplan plan``: a fresh Python
process that parses the same workflow file the fastest way here (json for its
one-JSON-object-a-line entries, yaml-rs or libyaml for the header) and then writes the same number of files with the same sizes
as the submit directory just written. No planner can do less than that.

    .venv/bin/python bench/cli_scale.py                          # 10^3..10^5, all shapes
    .venv/bin/python bench/cli_scale.py --max 1000000            # adds 10^6 (minutes, GBs)
    .venv/bin/python bench/cli_scale.py --shapes fanout --min 10000 --repeat 3

Prints a Markdown table: per case the wall seconds (best of ``--repeat``) and peak resident
memory of the ``wfplan`` process with that run's CPU seconds (user + system; steadier than
wall time on a loaded machine), the submit directory's files and bytes per job, the floor
process's parse and write seconds, its wall and CPU seconds and peak memory, and the
ratios of wall and of CPU time to the floor's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

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


# Run as ``python -c FLOOR workflow.yml sizes.txt outdir``: parse, then write the files.
# The parse is the fastest here for the generated file: its job and dependency entries
# are one JSON object a line (as its first line says), so json reads those; YAML reads
# the few header lines around them.
FLOOR = """
import json, os, sys, time
t0 = time.perf_counter()
with open(sys.argv[1], encoding="utf-8") as fh:
    lines = fh.read().splitlines()
items = [json.loads(line[4:]) for line in lines if line.startswith("  - {")]
head = "\\n".join(line for line in lines if not line.startswith("  - {"))
try:
    import yaml_rs
    yaml_rs.loads(head, parse_datetime=False)
except ImportError:
    import yaml
    yaml.load(head, Loader=yaml.CSafeLoader)
t1 = time.perf_counter()
out = sys.argv[3]
os.mkdir(out)
with open(sys.argv[2]) as fh:
    files = [line.rsplit(" ", 1) for line in fh.read().splitlines()]
blob = memoryview(b"x" * max([int(n) for _, n in files] + [0]))
flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
for rel, n in files:
    path = os.path.join(out, rel)
    if "/" in rel:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, flags, 0o666)
    os.write(fd, blob[: int(n)])
    os.close(fd)
t2 = time.perf_counter()
print(f"{t1 - t0} {t2 - t1}", file=sys.stderr)
"""

# Runs its arguments as a child, so RUSAGE_CHILDREN is that run's alone.
MEASURE = (
    "import resource, subprocess, sys, time, json\n"
    "t = time.perf_counter()\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,"
    " text=True)\n"
    "wall = time.perf_counter() - t\n"
    "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(json.dumps({'rc': done.returncode, 'wall': wall, 'cpu': r.ru_utime + r.ru_stime,"
    " 'peak_mb': r.ru_maxrss / 1024, 'stderr': done.stderr}))\n"
)


def measure(cmd: list[str]) -> dict[str, Any]:
    """Wall seconds, CPU seconds and peak RSS of one fresh process running ``cmd``."""
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"{cmd[0]} failed: {result['stderr']}")
    return result


def dir_sizes(root: Path) -> list[tuple[str, int]]:
    """Every file below ``root`` (relative path, bytes), in a stable order."""
    found = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            found.append((str(path.relative_to(root)), path.stat().st_size))
    return sorted(found)


def floor_once(case: Path, sizes: list[tuple[str, int]]) -> dict[str, float]:
    """Parse the workflow file and write ``sizes`` files, in one fresh process."""
    listing = case / "sizes.txt"
    listing.write_text("".join(f"{rel} {n}\n" for rel, n in sizes))
    out = case / "floor-out"
    shutil.rmtree(out, ignore_errors=True)
    try:
        result = measure(
            [sys.executable, "-c", FLOOR, str(case / "workflow.yml"), str(listing), str(out)]
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)
    parse, write = map(float, result["stderr"].split())
    return {
        "wall": float(result["wall"]),
        "cpu": float(result["cpu"]),
        "peak_mb": float(result["peak_mb"]),
        "parse": parse,
        "write": write,
    }


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
    result = {k: float(v) for k, v in measure(cmd).items() if k in ("wall", "cpu", "peak_mb")}
    sizes = dir_sizes(submit)
    shutil.rmtree(submit, ignore_errors=True)
    result["files"] = len(sizes)
    result["bytes"] = sum(n for _, n in sizes)
    floor = floor_once(case, sizes)
    result.update({f"floor_{k}": v for k, v in floor.items()})
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min", type=int, default=1_000, help="smallest job count")
    parser.add_argument("--max", type=int, default=100_000, help="largest job count")
    parser.add_argument("--shapes", default="fanout,montage,chain")
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
    print(
        "| shape | jobs | input MB | wall s | cpu s | peak MB | files | submit B/job "
        "| floor: parse s | write s | wall s | cpu s | peak MB | wall / floor | cpu / floor |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for shape in args.shapes.split(","):
        for n in (s for s in SIZES if args.min <= s <= args.max):
            case = make_inputs(shape, n, args.work)
            runs = [run_once(case, wfplan) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r["wall"])
            size = (case / "workflow.yml").stat().st_size / 1e6
            print(
                f"| {shape} | {n} | {size:.1f} | {best['wall']:.2f} | {best['cpu']:.2f} "
                f"| {best['peak_mb']:.0f} | {best['files']:.0f} | {best['bytes'] / n:.0f} "
                f"| {best['floor_parse']:.2f} | {best['floor_write']:.2f} "
                f"| {best['floor_wall']:.2f} | {best['floor_cpu']:.2f} "
                f"| {best['floor_peak_mb']:.0f} | {best['wall'] / best['floor_wall']:.1f} "
                f"| {best['cpu'] / best['floor_cpu']:.1f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
