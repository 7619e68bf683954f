"""``wfplan simulate SUBMIT_DIR``: the predicted makespan of a planned workflow."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalogs.jsonio import loads_json

if TYPE_CHECKING:
    from planner.errors import PlannerError
    from planner.sim.model import Network, SimGraph


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submit_dir", type=Path, metavar="SUBMIT_DIR")
    parser.add_argument(
        "--slots",
        action="append",
        default=[],
        metavar="SITE=N",
        help="slots of a site (repeatable; a bare N applies to every site); "
        "default: the site catalog's pegasus.slots profile, else 1",
    )
    parser.add_argument(
        "--overhead-model",
        default="none",
        metavar="none|dagman|dagman-2005|local|FILE",
        help="per-job engine costs (default: none); FILE is a JSON object of the model's fields",
    )
    add_bandwidth_option(parser)
    parser.add_argument(
        "--runtimes",
        type=Path,
        metavar="FILE.json",
        help="measured runtimes to fill in: {by_transformation: {tx: s}, by_kind: {kind: s}, "
        "per_cluster: s} (the calibration section of bench/results/sim_validation.json)",
    )
    parser.add_argument("--gantt", type=Path, metavar="OUT.png", help="draw a Gantt chart")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def add_bandwidth_option(parser: argparse.ArgumentParser) -> None:
    """``--bandwidth``, read by :func:`parse_bandwidth` (``wfplan experiment`` takes it too)."""
    parser.add_argument("--bandwidth", action="append", default=[], metavar="[SRC->DST=]BYTES_PER_S",
                        help="transfer bandwidth, default 100e6 bytes/s (repeatable, per site pair)")  # fmt: skip


def positive_number(text: str, where: str, error: type[PlannerError]) -> float:
    """``text`` as a finite number above zero, else ``error`` whose message starts with
    ``where``.

    ``float()`` accepts ``nan`` and ``inf``: NaN fails every comparison, so a bare
    ``<= 0`` check would let it through to the simulation, and an infinite value never
    ends a ``1,2,...,inf`` sweep.
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isnan(value):
        raise error(f"{where}: {text!r} is not a number")
    if value <= 0:
        raise error(f"{where}: {text!r} must be positive")
    if math.isinf(value):
        raise error(f"{where}: {text!r} must be finite")
    return value


def parse_bandwidth(values: list[str]) -> Network:
    from planner.sim.errors import SimulationError
    from planner.sim.model import Network

    default = 100e6
    pairs: dict[str, float] = {}
    for value in values:
        pair, sep, number = value.rpartition("=")
        bw = positive_number(number, f"--bandwidth {value!r}", SimulationError)
        if sep:
            if "->" not in pair:
                raise SimulationError(f"--bandwidth {value!r}: expected SRC->DST=BYTES_PER_S")
            pairs[pair] = bw
        else:
            default = bw
    return Network(default_bandwidth=default, pairs=pairs)


def apply_runtimes(record: dict[str, Any], path: Path) -> dict[str, Any]:
    """``record`` with the runtimes of a calibration file filled in."""
    from planner.sim.errors import SimulationError
    from planner.sim.record import with_runtimes

    try:
        data = loads_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SimulationError(f"cannot read runtimes: {exc}", source=str(path))
    if isinstance(data, dict) and isinstance(data.get("calibration"), dict):
        data = data["calibration"]
    try:
        by_tx = {str(k): float(v) for k, v in (data.get("by_transformation") or {}).items()}
        by_kind = {str(k): float(v) for k, v in (data.get("by_kind") or {}).items()}
        per_cluster = float(data.get("per_cluster") or 0.0)
    except (AttributeError, TypeError, ValueError):
        raise SimulationError(
            "runtimes must be {by_transformation: {name: seconds}, by_kind: {kind: seconds}, "
            "per_cluster: seconds}",
            source=str(path),
        )
    return with_runtimes(record, by_tx, by_kind, per_cluster=per_cluster)


def check_runtimes_known(graph: SimGraph, source: str) -> None:
    """Refuse a plan none of whose jobs has a runtime: its makespan would be 0 s (or the
    overhead model alone), which says nothing about the workflow."""
    from planner.sim.errors import SimulationError

    jobs = sum(kind in ("compute", "cluster") for kind in graph.kinds)
    if jobs and graph.unknown_runtime == jobs:
        raise SimulationError(
            f"nothing to simulate: none of the {jobs} job nodes has a runtime estimate; give "
            "runtimes with the pegasus.runtime profile (seconds; on the jobs, in the "
            "transformation catalog, or as a --conf property) and plan again, or pass "
            "measured ones with --runtimes FILE.json",
            source=source,
        )


def run(args: argparse.Namespace) -> int:
    from planner.sim import graph_from_record, load_overhead, read_plan_record, simulate
    from planner.sim.report import summary, yield_summary_lines
    from planner.sim.slots import find_site_catalog, parse_slot_options, site_slots

    submit_dir: Path = args.submit_dir
    overrides = parse_slot_options(args.slots)
    overhead = load_overhead(args.overhead_model)
    network = parse_bandwidth(args.bandwidth)
    record = read_plan_record(submit_dir)
    if args.runtimes is not None:
        record = apply_runtimes(record, args.runtimes)
    graph = graph_from_record(record, network, source=str(submit_dir / "plan.json"))
    check_runtimes_known(graph, str(submit_dir / "plan.json"))
    catalog = find_site_catalog(submit_dir)
    result = simulate(graph, site_slots(graph.sites, catalog, overrides), overhead)
    data = summary(result, overhead)
    if args.gantt is not None:
        from planner.sim.gantt import write_gantt

        write_gantt(
            result,
            args.gantt,
            title=f"{record.get('workflow', submit_dir.name)}: "
            f"makespan {result.makespan:.1f} s ({overhead.name})",
        )
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        for line in yield_summary_lines(data):
            print(line)
    return 0
