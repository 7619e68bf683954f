"""Engine overhead: nodes per second of ``wfplan run`` on no-op (/bin/true) nodes.

Two 1,000-node DAGs written as real .dag/.sub files: a fan-out/fan-in (1 -> 998 -> 1)
and a chain. Each runs with -j 1 and -j 2 in a fresh directory. Prints a table and writes
bench/results/engine_overhead.json (``per_node_seconds``: the chain at -j 1, i.e. the
engine's serial cost per node, which the simulator's ``local`` overhead model reads).

    .venv/bin/python bench/engine_overhead.py [--nodes 1000]
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

from planner.engine.runner import Engine

SUBMIT = "universe = vanilla\nexecutable = /bin/true\nqueue\n"


def write_dag(folder: Path, shape: str, n: int) -> Path:
    """A fan-out/fan-in or chain DAG of ``n`` no-op nodes, with its one submit file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "true.sub").write_text(SUBMIT)
    names = [f"n{i:05d}" for i in range(n)]
    lines = [f"JOB {name} true.sub" for name in names]
    if shape == "chain":
        lines += [f"PARENT {a} CHILD {b}" for a, b in itertools.pairwise(names)]
    else:
        middle = " ".join(names[1:-1])
        lines += [f"PARENT {names[0]} CHILD {middle}", f"PARENT {middle} CHILD {names[-1]}"]
    dag = folder / f"{shape}.dag"
    dag.write_text("\n".join(lines) + "\n")
    return dag


def measure(shape: str, n: int, slots: int, root: Path) -> dict[str, float | int | str]:
    dag = write_dag(root / f"{shape}-j{slots}", shape, n)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = Engine(dag, slots=slots, progress=False, out=io.StringIO()).run()
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if not result.succeeded or result.nodes_run != n:
        raise SystemExit(f"{shape} -j {slots}: run failed ({result.failed[:3]})")
    return {
        "dag": shape,
        "nodes": n,
        "slots": slots,
        "seconds": round(elapsed, 3),
        "nodes_per_s": round(n / elapsed, 1),
        "engine_cpu_ms_per_node": round(cpu / n * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "engine_overhead.json")
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="wfplan-bench-") as tmp:
        for shape in ("fanout", "chain"):
            for slots in (1, 2):
                rows.append(measure(shape, args.nodes, slots, Path(tmp)))
    print(
        f"{'dag':8} {'nodes':>6} {'-j':>3} {'seconds':>8} {'nodes/s':>8} {'engine CPU ms/node':>19}"
    )
    for r in rows:
        print(
            f"{r['dag']:8} {r['nodes']:>6} {r['slots']:>3} {r['seconds']:>8} "
            f"{r['nodes_per_s']:>8} {r['engine_cpu_ms_per_node']:>19}"
        )
    chain1 = next(r for r in rows if r["dag"] == "chain" and r["slots"] == 1)
    doc = {
        "per_node_seconds": round(float(chain1["seconds"]) / int(chain1["nodes"]), 6),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.system(),
            "load_average_1min": round(os.getloadavg()[0], 2),
        },
        "results": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(out.name + ".tmp")
    tmp_out.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp_out, out)
    print(f"per-node cost (chain, -j 1): {doc['per_node_seconds'] * 1000:.2f} ms -> {out}")


if __name__ == "__main__":
    main()
