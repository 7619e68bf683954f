"""Does a job cost the same at any depth? A linear chain against a fan-out of the same size.

A chain of n jobs has n levels, a fan-out/fan-in three: any step whose cost grows with
the depth (a walk back to the roots, a list rebuilt per level) shows as a chain costing
more per job. Both run as whole ``wfplan validate`` and ``wfplan plan --dry-run``
processes on Pegasus YAML, with the same catalogs (every transformation on site
``exec``, every raw input with a ``file://`` replica on ``local``).

    .venv/bin/python bench/chain_depth.py                 # 10^4 and 10^5 jobs
    .venv/bin/python bench/chain_depth.py --jobs 100000 --repeat 3

Prints a Markdown table of wall and CPU seconds (the run with the least CPU of
``--repeat``) per command and shape, and the chain over fan-out ratio of CPU seconds. Inputs are made once under ``--work`` and kept.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.gen_workflow import MB, _Parts, fanout_fanin, write
from planner.model.workflow import Workflow


def chain(n: int) -> Workflow:
    """``step_0 -> step_1 -> ... -> step_{n-1}``, each reading its parent's output."""
    files = [f"link_{i:07d}.dat" for i in range(n + 1)]
    _job = _Parts().job
    jobs = tuple(
        replace(
            _job(f"step_{i:07d}", "step", [files[i]], [files[i + 1]], 10.0, MB),
            arguments=(f"step_{i:07d}",),
        )
        for i in range(n)
    )
    return Workflow(name=f"chain-{n}", jobs=jobs, dependencies=())


def fanout(n: int) -> Workflow:
    """:func:`bench.gen_workflow.fanout_fanin` with one short argument per job: split and
    merge would otherwise list every file, past what Linux lets one command line hold at
    10^5 jobs (validation refuses them)."""
    wf = fanout_fanin(n)
    return replace(wf, jobs=tuple(replace(job, arguments=(job.id,)) for job in wf.jobs))


SHAPES = {"fanout": fanout, "chain": chain}


def make_inputs(shape: str, n: int, work: Path) -> Path:
    """Workflow and catalogs for one case in ``work/<shape>-<n>/`` (kept between runs)."""
    from catalogs import replica_yaml, transformation_yaml
    from catalogs.replica import PFN, Replica, ReplicaCatalog
    from catalogs.transformation import Transformation, TransformationCatalog, TransformationSite
    from sites import site_yaml
    from sites.model import Directory, DirectoryType, FileServer, Operation, Site, SiteCatalog

    case = work / f"{shape}-{n}"
    if (case / "sites.yml").is_file():
        return case
    case.mkdir(parents=True, exist_ok=True)
    workflow = SHAPES[shape](n)
    write(workflow, case / "workflow.yml")
    names = sorted({job.name for job in workflow.jobs})
    tc = TransformationCatalog(
        transformations=tuple(
            Transformation(
                name=name, sites=(TransformationSite(name="exec", pfn=f"/opt/bin/{name}"),)
            )
            for name in names
        )
    )
    written = {u.lfn for job in workflow.jobs for u in job.uses if u.is_output}
    raw = dict.fromkeys(u.lfn for job in workflow.jobs for u in job.uses if u.lfn not in written)
    rc = ReplicaCatalog(
        replicas=tuple(
            Replica(lfn=lfn, pfns=(PFN(url=f"/data/in/{lfn}", site="local"),)) for lfn in raw
        )
    )
    scratch = case / "exec-scratch"
    server = FileServer(url=f"file://{scratch}", operation=Operation.ALL)
    directory = Directory(
        type=DirectoryType.SHARED_SCRATCH, path=str(scratch), file_servers=(server,)
    )
    sc = SiteCatalog(sites=(Site(name="exec", directories=(directory,)),))
    (case / "tc.yml").write_text(transformation_yaml.dumps(tc))
    (case / "rc.yml").write_text(replica_yaml.dumps(rc))
    (case / "sites.yml").write_text(site_yaml.dumps(sc))
    return case


def command(case: Path, verb: str) -> list[str]:
    wfplan = str(Path(sys.executable).with_name("wfplan"))
    cats = ["--sc", str(case / "sites.yml"), "--tc", str(case / "tc.yml")]
    cats += ["--rc", str(case / "rc.yml")]
    if verb == "validate":
        return [wfplan, "validate", str(case / "workflow.yml"), *cats]
    return [wfplan, "plan", str(case / "workflow.yml"), *cats, "--sites", "exec", "--dry-run"]


def best_times(cmd: list[str], repeat: int) -> tuple[float, float]:
    """(wall, CPU) seconds of the run with the least CPU: on a shared machine the wall
    clock also counts other people's work, the CPU seconds only this process's."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best, (wall, cpu), key=lambda t: t[1])
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None, help="inputs (default: a temp dir)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="wfplan-chain-"))
    print("| jobs | command | fan-out wall / CPU s | chain wall / CPU s | chain / fan-out (CPU) |")
    print("|---:|---|---:|---:|---:|")
    try:
        for n in args.jobs:
            cases = {shape: make_inputs(shape, n, work) for shape in SHAPES}
            for verb in ("validate", "plan"):
                t = {s: best_times(command(c, verb), args.repeat) for s, c in cases.items()}
                (fw, fc), (cw, cc) = t["fanout"], t["chain"]
                print(
                    f"| {n} | {verb} | {fw:.2f} / {fc:.2f} | {cw:.2f} / {cc:.2f} | {cc / fc:.1f} |",
                    flush=True,
                )
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
