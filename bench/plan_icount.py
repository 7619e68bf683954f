"""Instructions executed by one ``plan()``, counted by valgrind (callgrind): a figure that
does not move with the machine's load, for comparing two versions of the planner.

Wall and CPU seconds on the shared 2-core machine swing by 30 % and more between runs of
the same code (the unchanged workflow build of ``plan_scale.py`` took 4.4 s and 7.1 s at
10^5 jobs within the hour), which hides changes of 10-20 %. Callgrind counts the
interpreter's instructions exactly; it does not see cache misses, which matter more at
10^5 jobs and up, so confirm a gain there with interleaved ``plan_scale.py`` runs.

    python bench/plan_icount.py                        # montage, 3000 jobs, this tree
    python bench/plan_icount.py --jobs 3000 --shape fanout --tree /path/to/other/checkout

Each size runs the workflow build alone and the build plus one ``plan()`` under
callgrind, and prints the difference. About 80 s per count at 3,000 jobs (callgrind is
~50x slower than a plain run). Needs ``valgrind`` on PATH (Debian's package).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The inputs come from this checkout's plan_scale.py (loaded by path), the planner from
# the tree measured, so an older checkout is measured on the same workflow.
_CASE = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("plan_scale", {bench!r})
scale = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scale)
sys.path.insert(0, {tree!r})  # after: loading plan_scale put this checkout first
from planner.plan import plan
inputs = scale.inputs
wf, catalogs, options, work = inputs({shape!r}, {jobs}, {clustered})
if {plan_it}:
    import gc
    gc.disable()  # as ``wfplan plan`` plans (older trees' plan() paused it itself)
    plan(wf, catalogs, options)
import shutil
shutil.rmtree(work, ignore_errors=True)
"""


def count(tree: Path, shape: str, jobs: int, clustered: bool, plan_it: bool) -> int:
    """Instructions callgrind collected for one run of the case script."""
    code = _CASE.format(
        tree=str(tree),
        bench=str(HERE / "plan_scale.py"),
        shape=shape,
        jobs=jobs,
        clustered=clustered,
        plan_it=plan_it,
    )
    with tempfile.TemporaryDirectory(prefix="wfplan-icount-") as tmp:
        script = Path(tmp) / "case.py"
        script.write_text(code, encoding="utf-8")
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={tmp}/out",
                sys.executable,
                str(script),
            ],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[3000])
    parser.add_argument("--shape", choices=("montage", "fanout"), default="montage")
    parser.add_argument("--clustered", action="store_true")
    parser.add_argument("--tree", type=Path, default=HERE.parent, help="checkout to measure")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 1
    tree = args.tree.resolve()
    print(f"# plan_icount: {tree}, Python {sys.version.split()[0]}, PYTHONHASHSEED=0")
    print()
    print("| shape | jobs | clustered | plan() instructions (M) | per job (k) |")
    print("|---|---:|---|---:|---:|")
    for jobs in args.jobs:
        base = count(tree, args.shape, jobs, args.clustered, plan_it=False)
        total = count(tree, args.shape, jobs, args.clustered, plan_it=True)
        planned = total - base
        print(
            f"| {args.shape} | {jobs} | {'yes' if args.clustered else 'no'} "
            f"| {planned / 1e6:,.0f} | {planned / jobs / 1e3:,.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
