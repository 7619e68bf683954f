"""How long ``wfplan validate`` takes: parse, build and validate, per format and shape, on
the largest shared file and on generated workflows.

    python bench/validate_scale.py [--sizes 10000,100000] [--repeat 3]
    python bench/validate_scale.py --formats yaml --shapes fanout,chain

The generated workflows (``bench/gen_workflow.py``) are written as Pegasus YAML (``yaml``),
WfFormat 1.5 JSON (``json``) and DAX 3.6 XML (``dax``) by ``bench/load_scale.py`` and kept
under ``--dir``. Prints a table of CPU seconds (steadier than wall time on a busy, shared
machine), best of ``--repeat`` runs: parse (the text into dicts/lists or an XML tree, by
the parser the reader itself uses), build (the checked workflow from that; build / parse
is their ratio), validate, and total. Never part of the test suite.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load_scale import ensure_inputs
from catalogs.yamlio import parser_name
from planner.formats import dax, pegasus_yaml, wfformat
from planner.passes.validate import validate

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FORMATS = ("yaml", "json", "dax")


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best CPU seconds of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        del result  # freed before the next call, so the runs start alike
        cpu = time.process_time()
        result = fn()
        times.append(time.process_time() - cpu)
    return min(times), result


def readers(fmt: str) -> tuple[Callable[[str, str], Any], Callable[[Any, str], Any]]:
    """The parse and build halves of one format's reader."""
    if fmt == "yaml":
        return pegasus_yaml.parse, pegasus_yaml.from_dict
    if fmt == "json":
        return lambda text, _source: json.loads(text), wfformat.from_dict
    import xml.etree.ElementTree as ET

    return lambda text, _source: ET.fromstring(text), dax.from_element


def measure(path: Path, fmt: str, repeat: int) -> dict[str, float]:
    parse, build = readers(fmt)
    text = path.read_text(encoding="utf-8")
    parse_s, doc = best(lambda: parse(text, str(path)), repeat)
    build_s, workflow = best(lambda: build(doc, str(path)), repeat)
    validate_s, _ = best(lambda: validate(workflow), repeat)
    return {
        "jobs": len(workflow.jobs),
        "parse": parse_s,
        "build": build_s,
        "validate": validate_s,
        "mb": path.stat().st_size / 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="generated workflow sizes")
    parser.add_argument("--shapes", default="montage,fanout", help="of montage,fanout,chain")
    parser.add_argument("--formats", default=",".join(FORMATS), help="of " + ",".join(FORMATS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/wfplan-load-scale"))
    args = parser.parse_args(argv)
    gc.disable()  # as ``wfplan validate`` runs
    rows: list[tuple[str, str, dict[str, float]]] = []
    if SHARED.is_dir():
        files = [p for p in SHARED.rglob("*") if p.suffix in (".xml", ".json")]
        largest = max(files, key=lambda p: p.stat().st_size)
        fmt = "dax" if largest.suffix == ".xml" else "json"
        rows.append((largest.name, fmt, measure(largest, fmt, args.repeat)))
    formats = [f for f in args.formats.split(",") if f]
    for size in (int(s) for s in args.sizes.split(",") if s):
        for shape in args.shapes.split(","):
            paths = ensure_inputs(size, args.dir, formats, shape)
            for fmt in formats:
                rows.append((paths[fmt].name, fmt, measure(paths[fmt], fmt, args.repeat)))
    print(f"YAML parser: {parser_name()}; CPUs: {os.cpu_count()}; best of {args.repeat}")
    print("CPU seconds\n")
    print("| workflow | format | MB | jobs | parse | build | build / parse | validate | total |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, fmt, row in rows:
        total = row["parse"] + row["build"] + row["validate"]
        print(
            f"| {name} | {fmt} | {row['mb']:.1f} | {row['jobs']:.0f} | {row['parse']:.3f} "
            f"| {row['build']:.3f} | {row['build'] / row['parse']:.2f} "
            f"| {row['validate']:.3f} | {total:.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
