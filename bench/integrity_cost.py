"""What integrity checking costs the planner and the emitter.

Plans and writes the same workflow with ``pegasus.integrity.checking = none`` and
``full``, interleaved in one process, and prints the best CPU seconds of each (CPU, not
wall time: the machine is shared). Workflows and catalogs are ``bench/plan_scale.py``'s.

    python bench/integrity_cost.py montage 10000 3
"""

from __future__ import annotations

import gc
import shutil
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str]) -> int:
    from bench.plan_scale import inputs
    from planner.emit import write_submit_dir
    from planner.plan import plan

    shape, n, reps = argv[0], int(argv[1]), int(argv[2]) if len(argv) > 2 else 3
    best: dict[str, list[float]] = {}
    for _ in range(reps):
        for level in ("none", "full"):
            wf, catalogs, options, work = inputs(shape, n, False)
            props = {"pegasus.integrity.checking": level}
            options = options.model_copy(update={"properties": props})
            c = time.process_time()
            cw = plan(wf, catalogs, options)
            planned = time.process_time() - c
            c = time.process_time()
            write_submit_dir(cw, work / "submit")
            emitted = time.process_time() - c
            files = sum(1 for _ in (work / "submit").iterdir())
            shutil.rmtree(work, ignore_errors=True)
            b = best.setdefault(level, [float("inf"), float("inf"), 0, 0])
            b[0], b[1] = min(b[0], planned), min(b[1], emitted)
            b[2], b[3] = files, len(cw.nodes)
            del cw, wf
            gc.collect()
    for level, (planned, emitted, files, nodes) in best.items():
        print(
            f"{shape} {n} integrity={level}: {nodes:.0f} nodes, plan {planned:.3f} s CPU, "
            f"emit {emitted:.3f} s CPU, {files:.0f} files"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
