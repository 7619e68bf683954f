"""Synthetic workflows for benchmarks: fan-out/fan-in, Montage-shaped and chain, n jobs.

Library use::

    from bench.gen_workflow import chain, fanout_fanin, montage_shaped
    wf = montage_shaped(10_000)

Script use (the extension picks the format: .yml/.yaml Pegasus YAML, .json WfFormat 1.5)::

    python bench/gen_workflow.py montage 100000 -o /tmp/m100k.yml

Deterministic: the same arguments give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.model.base import Namespace
from planner.model.workflow import Job, LinkType, Use, Workflow

try:  # a checkout from before issue 14 (plan_scale.py --tree): its model is pydantic
    from planner.formats._shape import make_job as _new_job  # type: ignore[attr-defined]
    from planner.formats._shape import make_use as _new_use  # type: ignore[attr-defined]

    _new_workflow: Any = Workflow.model_construct  # type: ignore[attr-defined]
except ImportError:
    _new_job, _new_use, _new_workflow = Job, Use, Workflow

MB = 1 << 20
# A fan-in job (mConcatFit, mImgtbl, mAdd) lists its inputs in its arguments while they
# take at most this many bytes; beyond, it names their count instead (as fanout's split
# and merge do). Listed, the 10^6-job Montage shape's mConcatFit would pass 8 MiB of
# arguments, which Linux refuses (ARG_MAX is 2 MiB) and the planner refuses at plan
# time; 1 MiB keeps every shape up to 10^5 jobs as it was.
LISTED_ARGUMENTS = 1 << 20


class _Parts:
    """Equal uses and equal profiles built once and shared between jobs, as all three
    readers (Pegasus YAML, DAX, WfFormat) build them: the workflow in memory is the one
    ``wfplan plan`` would hold after reading the same workflow from a file."""

    def __init__(self) -> None:
        self._uses: dict[tuple[str, LinkType, int], Use] = {}
        self._profiles: dict[float, dict[Namespace, dict[str, str]]] = {}

    def job(
        self,
        job_id: str,
        tx: str,
        inputs: list[str],
        outputs: list[str],
        runtime: float,
        size: int,
        arguments: tuple[str, ...] | None = None,
    ) -> Job:
        uses = [self._use(f, LinkType.INPUT, size) for f in inputs]
        uses += [self._use(f, LinkType.OUTPUT, size) for f in outputs]
        profiles = self._profiles.get(runtime)
        if profiles is None:
            profiles = self._profiles[runtime] = {Namespace.PEGASUS: {"runtime": f"{runtime:g}"}}
        return _new_job(
            id=job_id,
            name=tx,
            arguments=("-i", *inputs, "-o", *outputs) if arguments is None else arguments,
            uses=tuple(uses),
            profiles=profiles,
        )

    def _use(self, lfn: str, link: LinkType, size: int) -> Use:
        key = (lfn, link, size)
        use = self._uses.get(key)
        if use is None:
            use = self._uses[key] = _new_use(lfn, link, size=size)
        return use


def fanout_fanin(n: int, name: str | None = None) -> Workflow:
    """``split`` -> ``n - 2`` parallel ``work`` jobs -> ``merge`` (n >= 3)."""
    if n < 3:
        raise ValueError("fanout_fanin needs n >= 3")
    width = n - 2
    parts = [f"part_{i:07d}.dat" for i in range(width)]
    results = [f"result_{i:07d}.dat" for i in range(width)]
    _job = _Parts().job
    # The wide ends name their files by count: listed, 10^5 names pass ARG_MAX.
    jobs = [_job("split", "split", ["input.dat"], parts, 5.0, MB, ("-n", str(width)))]
    jobs += [
        _job(f"work_{i:07d}", "work", [parts[i]], [results[i]], 10.0 + i % 7, MB)
        for i in range(width)
    ]
    jobs.append(_job("merge", "merge", results, ["final.dat"], 20.0, MB, ("-n", str(width))))
    return _workflow(name or f"fanout-{n}", jobs)


def chain(n: int, name: str | None = None) -> Workflow:
    """``step_0`` -> ``step_1`` -> ... -> ``step_{n-1}``, each reading its parent's output
    (n >= 1): the deepest workflow of n jobs, where a cost linear in depth shows."""
    if n < 1:
        raise ValueError("chain needs n >= 1")
    files = ["input.dat", *(f"s_{i:07d}.dat" for i in range(n))]
    _job = _Parts().job
    jobs = [
        _job(f"step_{i:07d}", "step", [files[i]], [files[i + 1]], 10.0 + i % 7, MB)
        for i in range(n)
    ]
    return _workflow(name or f"chain-{n}", jobs)


def _workflow(name: str, jobs: list[Job]) -> Workflow:
    return _new_workflow(  # type: ignore[no-any-return]
        name=name,
        jobs=tuple(jobs),
        dependencies=(),
        replica_catalog=None,
        transformation_catalog=None,
        site_catalog=None,
        metadata={},
        source=None,
    )


def _fan_in(inputs: list[str], outputs: list[str]) -> tuple[str, ...] | None:
    """A fan-in job's arguments: None (its inputs listed, the default) while they fit in
    :data:`LISTED_ARGUMENTS`, else their count."""
    if sum(map(len, inputs)) + len(inputs) <= LISTED_ARGUMENTS:
        return None
    return ("-n", str(len(inputs)), "-o", *outputs)


def montage_shaped(n: int, name: str | None = None) -> Workflow:
    """Montage's shape with about ``n`` jobs (n >= 10): k mProject, d mDiffFit over
    neighbouring projections, mConcatFit, mBgModel, k mBackground, mImgtbl, mAdd,
    mShrink, mJPEG. Fan-in jobs whose inputs would not fit in a command line name
    their count instead (:data:`LISTED_ARGUMENTS`)."""
    if n < 10:
        raise ValueError("montage_shaped needs n >= 10")
    k = max(2, (n - 6) // 4)
    d = n - 6 - 2 * k
    _job = _Parts().job
    raw = [f"raw_{i:07d}.fits" for i in range(k)]
    proj = [f"p_{i:07d}.fits" for i in range(k)]
    jobs = [
        _job(f"mProject_{i:07d}", "mProject", [raw[i], "region.hdr"], [proj[i]], 15.0, 4 * MB)
        for i in range(k)
    ]
    diffs = [f"fit_{j:07d}.txt" for j in range(d)]
    for j in range(d):
        a, b = j % k, (j // k + j + 1) % k
        if a == b:
            b = (a + 1) % k
        jobs.append(_job(f"mDiffFit_{j:07d}", "mDiffFit", [proj[a], proj[b]], [diffs[j]], 2.0, 300))
    jobs.append(
        _job("mConcatFit", "mConcatFit", diffs, ["fits.tbl"], 5.0, 10_000,
             _fan_in(diffs, ["fits.tbl"]))
    )  # fmt: skip
    jobs.append(_job("mBgModel", "mBgModel", ["fits.tbl"], ["corrections.tbl"], 10.0, 10_000))
    corr = [f"c_{i:07d}.fits" for i in range(k)]
    jobs += [
        _job(f"mBackground_{i:07d}", "mBackground", [proj[i], "corrections.tbl"], [corr[i]],
             1.5, 4 * MB)
        for i in range(k)
    ]  # fmt: skip
    jobs.append(
        _job("mImgtbl", "mImgtbl", corr, ["images.tbl"], 3.0, 10_000,
             _fan_in(corr, ["images.tbl"]))
    )  # fmt: skip
    added = [*corr, "images.tbl"]
    jobs.append(
        _job("mAdd", "mAdd", added, ["mosaic.fits"], 60.0, 64 * MB,
             _fan_in(added, ["mosaic.fits"]))
    )  # fmt: skip
    jobs.append(_job("mShrink", "mShrink", ["mosaic.fits"], ["small.fits"], 5.0, 4 * MB))
    jobs.append(_job("mJPEG", "mJPEG", ["small.fits"], ["mosaic.jpg"], 2.0, MB))
    return _workflow(name or f"montage-{n}", jobs)


def wfformat_dict(workflow: Workflow) -> dict[str, object]:
    """A WfFormat 1.5 document for ``workflow`` (file edges only; runtime from
    pegasus.runtime)."""
    producer: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for job in workflow.jobs:
        for use in job.uses:
            sizes.setdefault(use.lfn, use.size or 0)
            if use.is_output:
                producer.setdefault(use.lfn, job.id)
    parents: dict[str, list[str]] = {job.id: [] for job in workflow.jobs}
    children: dict[str, list[str]] = {job.id: [] for job in workflow.jobs}
    for job in workflow.jobs:
        for use in job.inputs:
            src = producer.get(use.lfn)
            if src is not None and src != job.id and src not in parents[job.id]:
                parents[job.id].append(src)
                children[src].append(job.id)
    spec = [
        {
            "name": job.id,
            "id": job.id,
            "children": children[job.id],
            "parents": parents[job.id],
            "inputFiles": [u.lfn for u in job.inputs],
            "outputFiles": [u.lfn for u in job.outputs],
        }
        for job in workflow.jobs
    ]
    execution = [
        {
            "id": job.id,
            "runtimeInSeconds": float(job.profiles.get(Namespace.PEGASUS, {}).get("runtime", 0)),
            "command": {"program": job.name, "arguments": list(job.arguments)},
        }
        for job in workflow.jobs
    ]
    return {
        "name": workflow.name,
        "description": "synthetic workflow from bench/gen_workflow.py",
        "schemaVersion": "1.5",
        "workflow": {
            "specification": {
                "tasks": spec,
                "files": [{"id": lfn, "sizeInBytes": size} for lfn, size in sizes.items()],
            },
            "execution": {"makespanInSeconds": 0, "tasks": execution},
        },
    }


def write(workflow: Workflow, path: Path) -> None:
    """Write Pegasus YAML (.yml/.yaml) or WfFormat JSON (.json), by extension."""
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(wfformat_dict(workflow), indent=1) + "\n", encoding="utf-8")
    else:
        from planner.formats import pegasus_yaml

        pegasus_yaml.dump(workflow, path)


GENERATORS = {"chain": chain, "fanout": fanout_fanin, "montage": montage_shaped}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shape", choices=sorted(GENERATORS))
    parser.add_argument("jobs", type=int, help="number of jobs (about, for montage)")
    parser.add_argument("-o", "--output", type=Path, required=True, help=".yml/.yaml or .json")
    args = parser.parse_args(argv)
    workflow = GENERATORS[args.shape](args.jobs)
    write(workflow, args.output)
    print(f"{args.output}: {len(workflow.jobs)} jobs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
