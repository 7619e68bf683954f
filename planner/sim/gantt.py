"""A Gantt chart of a simulation: one row per (site, slot), one bar per node."""

from __future__ import annotations

from pathlib import Path

from planner.sim.engine import SimResult

_COLOURS = {
    "compute": "tab:blue",
    "cluster": "tab:purple",
    "stage_in": "tab:green",
    "stage_inter": "tab:olive",
    "stage_out": "tab:orange",
    "register": "tab:brown",
    "create_dir": "tab:gray",
    "cleanup": "tab:pink",
}


def write_gantt(result: SimResult, path: Path, *, title: str = "") -> None:
    """Draw ``result`` into the PNG ``path`` (written to a temporary name, then renamed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    g = result.graph
    rows = [(s, k) for s in sorted(result.slots) for k in range(result.slots[s])]
    row_of = {r: n for n, r in enumerate(rows)}
    bars: dict[str, list[tuple[int, float, float]]] = {}
    for i in range(len(g)):
        bars.setdefault(g.kinds[i], []).append(
            (
                row_of[(g.sites[i], result.slot[i])],
                result.start[i],
                result.finish[i] - result.start[i],
            )
        )
    height = min(12.0, 2.5 + 0.3 * len(rows))
    fig, ax = plt.subplots(figsize=(10, height))
    for kind in sorted(bars):
        colour = _COLOURS.get(kind, "tab:cyan")
        for row, begin, width in bars[kind]:
            ax.broken_barh(
                [(begin, width)],
                (row - 0.4, 0.8),
                facecolors=colour,
                edgecolor="black",
                linewidth=0.2,
            )
    if len(rows) <= 64:
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([f"{s}/{k}" for s, k in rows])
    ax.set_ylabel("site / slot")
    ax.set_xlabel("time (s)")
    ax.set_xlim(0, max(result.makespan, 1e-9))
    ax.set_title(title or f"makespan {result.makespan:.1f} s")
    ax.legend(
        handles=[Patch(color=_COLOURS.get(k, "tab:cyan"), label=k) for k in sorted(bars)],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize="small",
    )
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    tmp.replace(path)
