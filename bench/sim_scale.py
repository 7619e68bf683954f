"""How fast is the makespan simulator? Prints a table of nodes, edges, seconds.

Random layered DAGs (fixed seed), 10-1,000 nodes per level, 1-3 parents per node,
simulated under the ``none`` and ``dagman`` overhead models on 64 slots.
Run: ``.venv/bin/python bench/sim_scale.py [--max 100000]``.
"""

from __future__ import annotations

import argparse
import random
import time

from planner.sim import DAGMAN, NONE, graph_from_record, simulate


def layered_record(n: int, seed: int = 1) -> dict[str, object]:
    rng = random.Random(seed)
    nodes: list[dict[str, object]] = []
    previous: list[str] = []
    while len(nodes) < n:
        width = min(n - len(nodes), rng.randint(10, 1000))
        level = [f"n{len(nodes) + k}" for k in range(width)]
        for name in level:
            parents = (
                rng.sample(previous, min(len(previous), rng.randint(1, 3))) if previous else []
            )
            nodes.append(
                {
                    "name": name,
                    "kind": "compute",
                    "site": "condorpool",
                    "parents": parents,
                    "runtime": rng.uniform(1, 60),
                    "jobs": [name],
                }
            )
        previous = level
    return {"nodes": nodes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max", type=int, default=100_000)
    args = parser.parse_args()
    sizes = [n for n in (1_000, 10_000, 100_000, 1_000_000) if n <= args.max]
    print(
        f"{'nodes':>9} {'edges':>9} {'read s':>8} {'none s':>8} {'dagman s':>9} {'makespan(dagman)':>17}"
    )
    for n in sizes:
        record = layered_record(n)
        t0 = time.perf_counter()
        graph = graph_from_record(record)
        t1 = time.perf_counter()
        simulate(graph, {"condorpool": 64}, NONE)
        t2 = time.perf_counter()
        result = simulate(graph, {"condorpool": 64}, DAGMAN)
        t3 = time.perf_counter()
        edges = sum(len(p) for p in graph.parents)
        print(
            f"{n:>9} {edges:>9} {t1 - t0:>8.2f} {t2 - t1:>8.2f} {t3 - t2:>9.2f} {result.makespan:>17.1f}"
        )


if __name__ == "__main__":
    main()
