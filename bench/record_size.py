"""Bytes per job of the submit directory, of its plan record and of its DAG, with the time
and peak memory of ``wfplan plan``, ``explain`` and ``simulate`` on it.

    .venv/bin/python bench/record_size.py                      # fanout 10^4 and 10^5
    .venv/bin/python bench/record_size.py --shapes fanout,montage --sizes 10000

Inputs come from ``bench/cli_scale.py`` (same generator, same ``--work`` cache). Each
command runs in a child process; its wall time and peak resident memory are printed.
Run from another checkout (``PYTHONPATH=<checkout>``) to measure that version's record.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

def timed(*argv: str) -> dict[str, float]:
    """Wall seconds and peak MB of ``python -m planner.cli ARGV`` in a fresh process."""
    from bench.cli_scale import measure

    return measure([sys.executable, "-m", "planner.cli", *argv])


def measure(case: Path, jobs: int) -> dict[str, float]:
    submit = case / "submit"
    shutil.rmtree(submit, ignore_errors=True)
    catalogs = ["--sc", case / "sites.yml", "--tc", case / "tc.yml", "--rc", case / "rc.yml"]
    plan = timed("plan", str(case / "workflow.yml"), *map(str, catalogs), "--sites", "exec",
                 "--dir", str(submit))  # fmt: skip
    total = sum(p.stat().st_size for p in submit.rglob("*") if p.is_file())
    record = (submit / "plan.json").stat().st_size
    dag = next(submit.glob("*.dag")).stat().st_size
    manifests = (submit / "manifests.jsonl").stat().st_size
    subs = sum(p.stat().st_size for p in submit.glob("*.sub"))
    explain = timed("explain", str(submit))
    simulate = timed("simulate", str(submit))
    shutil.rmtree(submit, ignore_errors=True)
    return {
        "dir_per_job": total / jobs,
        "record_per_job": record / jobs,
        "manifests_per_job": manifests / jobs,
        "sub_per_job": subs / jobs,
        "record_mb": record / 1e6,
        "dag_per_job": dag / jobs,
        "plan_s": plan["wall"],
        "explain_s": explain["wall"],
        "explain_mb": explain["peak_mb"],
        "simulate_s": simulate["wall"],
        "simulate_mb": simulate["peak_mb"],
    }


def main(argv: list[str] | None = None) -> int:
    from bench.cli_scale import make_inputs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="fanout")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--work", type=Path, default=Path("/tmp/wfplan-cli-scale"))
    args = parser.parse_args(argv)
    print(
        "| shape | jobs | submit dir B/job | plan.json B/job | .dag B/job "
        "| manifests.jsonl B/job | .sub B/job | plan.json MB | plan s "
        "| explain s (MB) | simulate s (MB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for shape in args.shapes.split(","):
        for n in (int(s) for s in args.sizes.split(",")):
            r = measure(make_inputs(shape, n, args.work), n)
            print(
                f"| {shape} | {n} | {r['dir_per_job']:.0f} | {r['record_per_job']:.0f} "
                f"| {r['dag_per_job']:.0f} | {r['manifests_per_job']:.0f} "
                f"| {r['sub_per_job']:.0f} | {r['record_mb']:.1f} | {r['plan_s']:.2f} "
                f"| {r['explain_s']:.2f} ({r['explain_mb']:.0f}) "
                f"| {r['simulate_s']:.2f} ({r['simulate_mb']:.0f}) |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
