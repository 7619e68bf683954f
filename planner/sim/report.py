"""What ``wfplan simulate`` prints: a summary dict and its text rendering (pure)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from planner.sim.engine import SimResult
from planner.sim.model import OverheadModel


def summary(result: SimResult, overhead: OverheadModel) -> dict[str, Any]:
    """Makespan, per-site utilisation and the critical path as plain JSON-able data."""
    g = result.graph
    return {
        "makespan": round(result.makespan, 6),
        "nodes": len(g),
        "nodes_without_runtime": g.unknown_runtime,
        "overhead_model": overhead.model_dump(),
        "slots": {s: result.slots[s] for s in sorted(result.slots)},
        "utilisation": {s: round(u, 6) for s, u in result.utilisation().items()},
        "critical_path": [
            {
                "name": g.names[i],
                "kind": g.kinds[i],
                "site": g.sites[i],
                "submitted": round(result.submitted[i], 6),
                "start": round(result.start[i], 6),
                "finish": round(result.finish[i], 6),
            }
            for i in result.critical_path
        ],
    }


def yield_summary_lines(data: dict[str, Any]) -> Iterator[str]:
    """The human-readable report of :func:`summary`'s dict."""
    yield f"makespan: {data['makespan']:.2f} s ({data['nodes']} nodes, overhead model {data['overhead_model']['name']})"
    if data["nodes_without_runtime"]:
        yield (
            f"note: {data['nodes_without_runtime']} compute/cluster nodes have no runtime "
            "(no pegasus.runtime profile); counted as 0 s"
        )
    yield "utilisation:"
    for site, u in data["utilisation"].items():
        yield f"  {site}: {100 * u:.1f}% of {data['slots'][site]} slot(s)"
    yield f"critical path ({len(data['critical_path'])} nodes):"
    for step in data["critical_path"]:
        wait = step["start"] - step["submitted"]
        yield (
            f"  {step['start']:10.2f} -> {step['finish']:10.2f}  {step['name']}"
            f" [{step['kind']}@{step['site']}]" + (f" (waited {wait:.2f} s)" if wait > 0 else "")
        )
