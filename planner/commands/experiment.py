"""``wfplan experiment WF --vary clusters.num=1,2,4,...,128 --slots 2,4,8 --dir OUT``.

For each value of the varied setting: plan (``planner.plan.plan``, the setting applied as
a ``pegasus.*`` property with horizontal clustering), turn the result into the plan
record ``plan.json`` would hold, simulate it on every slot count, then write
``OUT/results.csv`` and ``OUT/makespan.png`` and print the best setting.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.commands.common import add_catalog_options, add_workflow_argument
from planner.commands.simulate import add_bandwidth_option, positive_number

if TYPE_CHECKING:
    from planner.model.workflow import Workflow
    from planner.plan import Catalogs, PlanOptions
    from planner.sim.model import OverheadModel, SimGraph

# --vary name -> the properties that apply one value
VARIABLES = {
    "clusters.num": ("pegasus.clusters.num",),
    "clusters.size": ("pegasus.clusters.size",),
    "cluster-maxruntime": ("pegasus.clusters.maxruntime",),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workflow_argument(parser)
    add_catalog_options(parser)
    parser.add_argument(
        "--vary",
        required=True,
        metavar="SETTING=V1,V2,...",
        help="clusters.num, clusters.size or cluster-maxruntime, with its values "
        "('1,2,4,...,128' continues a doubling or a constant step)",
    )
    parser.add_argument(
        "--slots", required=True, metavar="N,...", help="slot counts to simulate (every site)"
    )
    parser.add_argument("--dir", required=True, type=Path, metavar="OUT", help="output folder")
    parser.add_argument(
        "--overhead-model",
        default="dagman",
        metavar="none|dagman|dagman-2005|local|FILE",
        help="per-job engine costs (default: dagman)",
    )
    parser.add_argument(
        "--sites", metavar="A,B", help="execution site candidates (default: all but local)"
    )
    parser.add_argument("--output-site", default="local", help="where outputs go (default local)")
    parser.add_argument(
        "--data-configuration",
        choices=("sharedfs", "nonsharedfs", "condorio"),
        help="how data reaches jobs (default: site profile, properties, else condorio)",
    )
    parser.add_argument("--conf", metavar="FILE", help="pegasus.properties file")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random site selector")
    add_bandwidth_option(parser)


def expand_values(text: str, what: str) -> list[float]:
    """``"1,2,4,...,32"`` -> ``[1, 2, 4, 8, 16, 32]``; ``"10,20,...,50"`` steps by 10.

    Three values before ``...`` with a constant ratio continue geometrically; two values
    do so when multiplying lands exactly on the last value, else they step linearly.

    >>> expand_values("1,2,4,...,16", "clusters.num")
    [1.0, 2.0, 4.0, 8.0, 16.0]
    """
    from planner.errors import PlannerError

    parts = [p.strip() for p in text.split(",") if p.strip()]
    values: list[float] = []
    for i, part in enumerate(parts):
        if part == "...":
            if len(values) < 2 or i + 1 >= len(parts):
                raise PlannerError(f"--vary {what}: '...' needs two values before and one after")
            a, b = values[-2], values[-1]
            end = _number(parts[i + 1], what)
            ratio = b / a if a > 0 else 0.0
            geometric = ratio > 1 and (
                values[-3] * ratio == a if len(values) >= 3 else _reaches(b, ratio, end)
            )
            step = b - a
            if not geometric and step <= 0:
                raise PlannerError(f"--vary {what}: values before '...' must increase")
            nxt = b * ratio if geometric else b + step
            while nxt < end - 1e-9:
                values.append(nxt)
                nxt = nxt * ratio if geometric else nxt + step
            continue
        values.append(_number(part, what))
    if not values:
        raise PlannerError(f"--vary {what}: no values")
    return sorted(set(values))


def _reaches(start: float, ratio: float, end: float) -> bool:
    """Does doubling (or multiplying by ``ratio``) from ``start`` land on ``end``?"""
    value = start
    while value < end - 1e-9:
        value *= ratio
    return abs(value - end) <= 1e-9


def _number(text: str, what: str) -> float:
    from planner.errors import PlannerError

    return positive_number(text, f"--vary {what}", PlannerError)


def _text(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def run(args: argparse.Namespace) -> int:
    from planner.commands.common import load_for_planning
    from planner.commands.simulate import parse_bandwidth
    from planner.properties import load_properties
    from planner.sim import graph_from_record, load_overhead

    name, values = _varied(args.vary)
    slot_counts = sorted({int(v) for v in expand_values(args.slots, "--slots")})
    overhead = load_overhead(args.overhead_model)
    network = parse_bandwidth(args.bandwidth)
    out_dir: Path = args.dir
    properties = load_properties(Path(args.conf)) if args.conf else {}
    workflow, catalogs = load_for_planning(args, out_dir.absolute())
    rows: list[dict[str, object]] = []
    for value in values:
        options = _plan_options(args, name, value, properties, out_dir.absolute() / "submit")
        graph = graph_from_record(_plan_record(workflow, catalogs, options), network)
        rows.extend(_simulated(graph, name, value, slot_counts, overhead))
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(rows, out_dir / "results.csv")
    _plot(rows, name, overhead.name, out_dir / "makespan.png")
    _print_best(rows, name, slot_counts, overhead.name, out_dir)
    return 0


def _varied(vary: str) -> tuple[str, list[float]]:
    """``--vary SETTING=V1,V2,...`` as the setting's name and its expanded values."""
    from planner.errors import PlannerError

    name, sep, raw_values = vary.partition("=")
    name = name.strip()
    if not sep or name not in VARIABLES:
        raise PlannerError(
            f"--vary {vary!r}: expected SETTING=V1,V2,... with SETTING one of "
            f"{', '.join(VARIABLES)}"
        )
    return name, expand_values(raw_values, name)


def _plan_options(
    args: argparse.Namespace,
    name: str,
    value: float,
    properties: Mapping[str, str],
    submit_dir: Path,
) -> PlanOptions:
    """The plan options of one point of the sweep: horizontal clustering, and the varied
    setting applied as the ``pegasus.*`` properties that carry it."""
    from planner.model.concrete import DataConfiguration
    from planner.plan import PlanOptions

    props = dict(properties)
    for key in VARIABLES[name]:
        props[key] = _text(value)
    if name == "cluster-maxruntime":
        props["pegasus.clusterer.preference"] = "Runtime"
    return PlanOptions(
        sites=tuple(s.strip() for s in (args.sites or "").split(",") if s.strip()),
        output_site=args.output_site,
        submit_dir=str(submit_dir),
        data_configuration=DataConfiguration(args.data_configuration)
        if args.data_configuration
        else None,
        cluster=("horizontal",),
        seed=args.seed,
        properties=props,
    )


def _plan_record(workflow: Workflow, catalogs: Catalogs, options: PlanOptions) -> dict[str, Any]:
    """The record ``plan.json`` would hold for this plan."""
    from planner.emit.record import plan_record
    from planner.plan import plan

    return plan_record(plan(workflow, catalogs, options))


def _simulated(
    graph: SimGraph, name: str, value: float, slot_counts: list[int], overhead: OverheadModel
) -> list[dict[str, object]]:
    """One results row per slot count: ``graph`` simulated with that many slots a site."""
    from planner.sim import simulate
    from planner.sim.slots import site_slots

    clustered = sum(1 for k in graph.kinds if k in ("compute", "cluster"))
    rows: list[dict[str, object]] = []
    for n in slot_counts:
        result = simulate(graph, site_slots(graph.sites, None, {"*": n}), overhead)
        rows.append(
            {
                "setting": name,
                "value": _text(value),
                "slots": n,
                "makespan_s": round(result.makespan, 3),
                "nodes": len(graph),
                "compute_nodes": clustered,
            }
        )
    return rows


def _print_best(
    rows: list[dict[str, object]], name: str, slot_counts: list[int], model: str, out_dir: Path
) -> None:
    """The best value per slot count, then the best overall."""
    for n in slot_counts:
        mine = [r for r in rows if r["slots"] == n]
        best = min(mine, key=lambda r: (float(str(r["makespan_s"])), float(str(r["value"]))))
        print(f"slots {n}: best {name}={best['value']} makespan {best['makespan_s']} s")
    overall = min(rows, key=lambda r: (float(str(r["makespan_s"])), int(str(r["slots"]))))
    print(
        f"best: {name}={overall['value']} on {overall['slots']} slots, makespan "
        f"{overall['makespan_s']} s (overhead model {model}); "
        f"wrote {out_dir / 'results.csv'} and {out_dir / 'makespan.png'}"
    )


def _write_csv(rows: list[dict[str, object]], path: Path) -> None:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    tmp.replace(path)


def _plot(rows: list[dict[str, object]], name: str, model: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(7, 4.5))
    slot_counts = sorted({int(str(r["slots"])) for r in rows})
    for n in slot_counts:
        mine = [r for r in rows if r["slots"] == n]
        xs = [float(str(r["value"])) for r in mine]
        ys = [float(str(r["makespan_s"])) for r in mine]
        ax.plot(xs, ys, "o-", label=f"{n} slots")
    xs_all = sorted({float(str(r["value"])) for r in rows})
    if len(xs_all) > 2 and xs_all[0] > 0 and xs_all[-1] / xs_all[0] >= 16:
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs_all, [_text(x) for x in xs_all])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel(name)
    ax.set_ylabel("simulated makespan (s)")
    ax.set_title(f"makespan against {name} (overhead model {model})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    tmp.replace(path)
