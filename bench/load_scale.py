"""How long reading a workflow (and its replica catalog) takes, per format, shape and size.

Usage::

    python bench/load_scale.py                    # 10^3, 10^4, 10^5 jobs
    python bench/load_scale.py --million          # adds 10^6 (minutes, several GB)
    python bench/load_scale.py --jobs 10000 --formats yaml,rc --runs 5
    python bench/load_scale.py --shapes fanout,montage --tree /path/to/other/checkout

Prints a Markdown table: format x shape x jobs -> import s (the reader's modules, pydantic
included), parse s (the text into Python dicts/lists or an XML tree, by the parser the
reader itself uses: for wfplan's own Pegasus YAML, json on its one-object-a-line entries),
build s (the checked frozen models from that), build / parse, total s (parse + build) and
peak MB (the process's maximum resident set). Parse and build are CPU seconds (steadier
than wall time on a shared machine). Each case runs in a fresh subprocess ``--runs`` times
and the run with the smallest total is shown (time on a shared machine only ever adds).

Inputs are Montage-shaped and fan-out/fan-in workflows from ``bench/gen_workflow.py``
written as Pegasus YAML (``yaml``), WfFormat 1.5 JSON (``json``) and DAX 3.6 XML
(``dax``), plus ``rc``: a Pegasus YAML replica catalog with one entry per workflow input.
They are generated once into ``--dir`` (default /tmp/wfplan-load-scale) and reused.
``--tree`` measures the readers of another checkout on the same files (before/after).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if os.environ.get("WFPLAN_BENCH_TREE"):  # a child measuring another checkout's readers
    sys.path.insert(0, os.environ["WFPLAN_BENCH_TREE"])

FORMATS = ("yaml", "json", "dax", "rc")
SUFFIX = {"yaml": ".yml", "json": ".json", "dax": ".dax", "rc": ".rc.yml"}


# ------------------------------------------------------------------ generating inputs


def _dax_text(workflow: Any) -> str:
    """DAX 3.6 for ``workflow``: jobs with arguments, uses and profiles, and the
    parent/child edges implied by the files (as Pegasus's DAX generators wrote them)."""
    from planner.model.base import Namespace

    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<adag xmlns="http://pegasus.isi.edu/schema/DAX" version="3.6" '
        f"name={quoteattr(workflow.name)}>",
    ]
    producer: dict[str, str] = {}
    for job in workflow.jobs:
        for use in job.outputs:
            producer.setdefault(use.lfn, job.id)
    for job in workflow.jobs:
        lines.append(f"  <job id={quoteattr(job.id)} name={quoteattr(job.name)}>")
        words = []
        files = {u.lfn for u in job.uses}
        for word in job.arguments:
            words.append(f"<file name={quoteattr(word)}/>" if word in files else word)
        lines.append(f"    <argument>{' '.join(words)}</argument>")
        runtime = job.profiles.get(Namespace.PEGASUS, {}).get("runtime")
        if runtime is not None:
            lines.append(f'    <profile namespace="pegasus" key="runtime">{runtime}</profile>')
        for use in job.uses:
            size = "" if use.size is None else f' size="{use.size}"'
            lines.append(
                f"    <uses name={quoteattr(use.lfn)} link={quoteattr(use.link.value)}{size}/>"
            )
        lines.append("  </job>")
    for job in workflow.jobs:
        parents = sorted({producer[u.lfn] for u in job.inputs if u.lfn in producer} - {job.id})
        if parents:
            lines.append(f"  <child ref={quoteattr(job.id)}>")
            lines.extend(f"    <parent ref={quoteattr(p)}/>" for p in parents)
            lines.append("  </child>")
    lines.append("</adag>")
    return "\n".join(lines) + "\n"


def _rc_text(workflow: Any) -> str:
    """A replica catalog with a ``file://`` replica on ``local`` for every workflow input."""
    from catalogs import replica_yaml
    from catalogs.replica import PFN, Replica, ReplicaCatalog

    produced = {u.lfn for job in workflow.jobs for u in job.outputs}
    inputs = dict.fromkeys(
        u.lfn for job in workflow.jobs for u in job.inputs if u.lfn not in produced
    )
    return replica_yaml.dumps(
        ReplicaCatalog(
            replicas=tuple(
                Replica(lfn=lfn, pfns=(PFN(url=f"file:///data/in/{lfn}", site="local"),))
                for lfn in inputs
            )
        )
    )


def ensure_inputs(
    jobs: int, directory: Path, formats: list[str], shape: str = "montage"
) -> dict[str, Path]:
    """The input files for ``jobs`` jobs of ``shape``, generated when missing
    (deterministic)."""
    paths = {f: directory / f"{shape}-{jobs}{SUFFIX[f]}" for f in formats}
    missing = [f for f, p in paths.items() if not p.exists()]
    if missing:
        from bench.gen_workflow import GENERATORS, wfformat_dict
        from planner.formats import pegasus_yaml

        workflow = GENERATORS[shape](jobs)
        directory.mkdir(parents=True, exist_ok=True)
        writers = {
            "yaml": lambda: pegasus_yaml.dumps(workflow),
            "json": lambda: json.dumps(wfformat_dict(workflow), indent=1) + "\n",
            "dax": lambda: _dax_text(workflow),
            "rc": lambda: _rc_text(workflow),
        }
        for fmt in missing:
            tmp = paths[fmt].with_suffix(".tmp")
            tmp.write_text(writers[fmt](), encoding="utf-8")
            tmp.replace(paths[fmt])
    return paths


# ------------------------------------------------------------------ one measured run


def _peak_mb() -> float:
    """This process's peak resident set (VmHWM: unlike ru_maxrss it does not inherit the
    parent's peak across fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(fmt: str, path: Path) -> dict[str, float]:
    """Import, parse and build once in this process; seconds and peak MB."""
    parse: Callable[[str], Any]
    build: Callable[[Any, str], Any]
    start = time.perf_counter()
    if fmt == "yaml":
        from catalogs.yamlio import load_yaml
        from planner.formats import pegasus_yaml

        def parse_yaml(text: str) -> Any:
            if hasattr(pegasus_yaml, "parse"):  # the JSON-lines fast path where present
                return pegasus_yaml.parse(text, str(path))
            return load_yaml(text, str(path))

        parse = parse_yaml
        build = pegasus_yaml.from_dict
    elif fmt == "json":
        from planner.formats import wfformat

        parse = json.loads
        build = wfformat.from_dict
    elif fmt == "dax":
        import xml.etree.ElementTree as ET

        from planner.formats import dax

        parse = ET.fromstring
        build = dax.from_element
    else:
        from catalogs import replica_yaml
        from catalogs.yamlio import load_yaml

        def parse_rc(text: str) -> Any:
            return load_yaml(text, str(path))

        parse = parse_rc
        build = replica_yaml.from_dict
    imported = time.perf_counter()
    text = path.read_text(encoding="utf-8")
    gc.disable()  # as ``wfplan plan`` reads
    read = time.process_time()
    doc = parse(text)
    parsed = time.process_time()
    result = build(doc, str(path))
    built = time.process_time()
    gc.enable()
    count = len(getattr(result, "jobs", None) or getattr(result, "replicas", None) or ())
    peak = _peak_mb()
    return {
        "import": imported - start,
        "parse": parsed - read,
        "build": built - parsed,
        "total": built - read,
        "peak": peak,
        "items": count,
    }


def run_case(fmt: str, path: Path, runs: int, tree: Path | None = None) -> dict[str, float]:
    """The best of ``runs`` fresh processes reading ``path``, with the readers of
    ``tree`` (a checkout) if given, else of this one."""
    best: dict[str, float] | None = None
    env = dict(os.environ)
    if tree is not None:
        env["WFPLAN_BENCH_TREE"] = str(tree)
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, __file__, "--child", fmt, str(path)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        row = json.loads(out.stdout)
        if best is None or row["total"] < best["total"]:
            best = row
    assert best is not None
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="1000,10000,100000", help="comma-separated sizes")
    parser.add_argument("--million", action="store_true", help="also 10^6 jobs")
    parser.add_argument("--formats", default=",".join(FORMATS), help="of " + ",".join(FORMATS))
    parser.add_argument("--runs", type=int, default=3, help="runs per case (best shown)")
    parser.add_argument("--shapes", default="montage,fanout", help="of montage,fanout,chain")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/wfplan-load-scale"))
    parser.add_argument("--tree", type=Path, help="measure the readers of this checkout")
    parser.add_argument("--child", nargs=2, metavar=("FORMAT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child[0], Path(args.child[1]))))
        return 0
    sizes = [int(n) for n in args.jobs.split(",") if n]
    if args.million:
        sizes.append(1_000_000)
    formats = [f for f in args.formats.split(",") if f]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        parser.error(f"unknown format(s) {unknown}")
    from catalogs.yamlio import parser_name

    tree = f"readers of {args.tree}" if args.tree else "this checkout's readers"
    print(
        f"YAML parser: {parser_name()}; {os.cpu_count()} CPUs; best of {args.runs} runs; "
        f"{tree}; parse and build in CPU seconds\n"
    )
    print(
        "| format | shape | jobs | items | MB on disk | import s | parse s | build s "
        "| build / parse | total s | peak MB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for jobs in sizes:
        for shape in args.shapes.split(","):
            paths = ensure_inputs(jobs, args.dir, formats, shape)
            for fmt in formats:
                row = run_case(fmt, paths[fmt], args.runs, args.tree)
                size = paths[fmt].stat().st_size / 1e6
                ratio = row["build"] / row["parse"] if row["parse"] else float("nan")
                print(
                    f"| {fmt} | {shape} | {jobs} | {int(row['items'])} | {size:.1f} "
                    f"| {row['import']:.2f} | {row['parse']:.3f} | {row['build']:.3f} "
                    f"| {ratio:.2f} | {row['total']:.3f} | {row['peak']:.0f} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
