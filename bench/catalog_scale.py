"""How long loading (and writing) a large replica catalog takes, per format.

Usage: python bench/catalog_scale.py [ENTRIES]   (default 100,000)

Prints one table row per format: the file size, dump time and load time (best of 3), each
as wall-clock and CPU seconds, the first lookup (which builds the index) and the mean time
of one lookup after it.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from catalogs import replica_sqlite, replica_text, replica_yaml
from catalogs.replica import PFN, Replica, ReplicaCatalog
from catalogs.yamlio import parser_name


def synthetic(entries: int) -> ReplicaCatalog:
    """``entries`` LFNs, each with a PFN on the submit host and a checksum."""
    return ReplicaCatalog.of(
        Replica(
            lfn=f"data/f{i:06d}.fits",
            pfns=(PFN(url=f"file:///archive/data/f{i:06d}.fits", site="local"),),
            sha256=f"{i:064x}",
        )
        for i in range(entries)
    )


def best_of(runs: int, action: Callable[[], object]) -> tuple[float, float]:
    """The best wall-clock and CPU seconds of ``runs`` runs (CPU time is the steadier
    number on a shared machine)."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main(argv: list[str]) -> int:
    entries = int(argv[1]) if len(argv) > 1 else 100_000
    cat = synthetic(entries)
    formats = [
        ("YAML (" + parser_name() + ")", "rc.yml", replica_yaml),
        ("text", "rc.txt", replica_text),
        ("SQLite", "rc.db", replica_sqlite),
    ]
    print(f"replica catalog with {entries:,} entries")
    print(
        f"{'format':<18} {'size MB':>8} {'dump s':>7} {'(cpu)':>7} {'load s':>7} {'(cpu)':>7}"
        f" {'1st lookup ms':>13} {'lookup us':>10}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for label, name, module in formats:
            path = Path(tmp) / name
            dump_s, dump_cpu = best_of(1, partial(module.dump, cat, path))
            loaded = module.load(path)
            assert len(loaded.replicas) == entries, label
            load_s, load_cpu = best_of(3, partial(module.load, path))
            start = time.perf_counter()
            loaded.lookup("data/f000000.fits")
            first_ms = (time.perf_counter() - start) * 1e3
            lookups = 1000
            start = time.perf_counter()
            for i in range(lookups):
                loaded.lookup(f"data/f{i * (entries // lookups):06d}.fits")
            lookup_us = (time.perf_counter() - start) / lookups * 1e6
            size = path.stat().st_size / 1e6
            print(
                f"{label:<18} {size:>8.1f} {dump_s:>7.2f} {dump_cpu:>7.2f} {load_s:>7.2f}"
                f" {load_cpu:>7.2f} {first_ms:>13.1f} {lookup_us:>10.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
