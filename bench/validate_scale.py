"""How long ``wfplan validate`` takes: parse + validate, largest shared file and
generated workflows (Pegasus YAML through yaml-rs).

    python bench/validate_scale.py [--sizes 10000,100000] [--repeat 3]

Prints a table; best of ``--repeat`` runs. Never part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.gen_workflow import fanout_fanin, montage_shaped
from catalogs.yamlio import parser_name
from planner.formats import load_workflow
from planner.formats.pegasus_yaml import dump
from planner.passes.validate import validate

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def best(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds (CPU time is the fair number on a shared,
    busy machine)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def measure(path: Path, repeat: int) -> tuple[int, tuple[float, float], tuple[float, float]]:
    workflow = load_workflow(path)
    load_s = best(lambda: load_workflow(path), repeat)
    validate_s = best(lambda: validate(workflow), repeat)
    return len(workflow.jobs), load_s, validate_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="generated workflow sizes")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rows: list[tuple[str, int, int, tuple[float, float], tuple[float, float]]] = []
    if SHARED.is_dir():
        files = [p for p in SHARED.rglob("*") if p.suffix in (".xml", ".json")]
        largest = max(files, key=lambda p: p.stat().st_size)
        jobs, load_s, val_s = measure(largest, args.repeat)
        rows.append((largest.name, largest.stat().st_size, jobs, load_s, val_s))
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            for label, gen in (("montage", montage_shaped), ("fanout", fanout_fanin)):
                path = Path(tmp) / f"{label}-{size}.yml"
                dump(gen(size), path)
                jobs, load_s, val_s = measure(path, args.repeat)
                rows.append((path.name, path.stat().st_size, jobs, load_s, val_s))
                path.unlink()
    print(f"YAML parser: {parser_name()}; CPUs: {os.cpu_count()}; best of {args.repeat}")
    print("seconds as wall / CPU")
    head = f"{'workflow':40} {'MB':>6} {'jobs':>7} {'load':>15} {'validate':>15} {'total':>15}"
    print(head)
    for name, size, jobs, load_s, val_s in rows:
        cells = [f"{w:7.3f}/{c:7.3f}" for w, c in (load_s, val_s)]
        total = f"{load_s[0] + val_s[0]:7.3f}/{load_s[1] + val_s[1]:7.3f}"
        print(f"{name:40} {size / 1e6:6.1f} {jobs:7d} {cells[0]} {cells[1]} {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
