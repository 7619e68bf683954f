"""``wfplan graph WF-or-SUBMIT_DIR -o out.png``: a picture of the abstract or concrete DAG.

Levels run top to bottom. A submit dir (or its plan.json) gives the concrete DAG, nodes
coloured by kind; a workflow file gives the abstract DAG, jobs coloured by transformation.
Up to ``--max-nodes`` nodes each is drawn; beyond that one box per (level, colour group)
with its count, and edges between boxes, so huge workflows stay readable.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

KIND_COLOURS: dict[str, str] = {
    "compute": "#4c72b0",
    "cluster": "#8172b2",
    "stage_in": "#55a868",
    "stage_inter": "#64b5cd",
    "stage_out": "#dd8452",
    "register": "#c44e52",
    "create_dir": "#937860",
    "cleanup": "#8c8c8c",
}
PALETTE: tuple[str, ...] = (
    "#4c72b0",
    "#dd8452",
    "#55a868",
    "#c44e52",
    "#8172b2",
    "#937860",
    "#da8bc3",
    "#8c8c8c",
    "#ccb974",
    "#64b5cd",
)


@dataclass(frozen=True)
class Picture:
    """What to draw: nodes with a level and a group (colour), and edges."""

    title: str
    nodes: tuple[tuple[str, int, str], ...]  # (name, level, group)
    edges: tuple[tuple[str, str], ...]
    colours: Mapping[str, str]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source", metavar="WF-or-SUBMIT_DIR", help="a workflow file or a planned submit dir"
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUT.png", help="image to write")
    parser.add_argument(
        "--max-nodes",
        type=int,
        default=300,
        help="draw every node up to this many; above it, one box per level and group",
    )


def run(args: argparse.Namespace) -> int:
    source = Path(args.source)
    if source.is_dir() or source.name == "plan.json":
        picture = concrete_picture(source)
    else:
        picture = abstract_picture(source)
    draw(picture, Path(args.output), max_nodes=args.max_nodes)
    print(f"wrote {args.output} ({len(picture.nodes)} nodes, {len(picture.edges)} edges)")
    return 0


def concrete_picture(submit_dir: Path) -> Picture:
    from planner.commands.explain import load_plan

    record = load_plan(submit_dir)
    nodes = tuple((n["name"], int(n.get("level") or 0), n["kind"]) for n in record["nodes"])
    edges = tuple((p, n["name"]) for n in record["nodes"] for p in n.get("parents") or [])
    return Picture(f"{record.get('workflow')} (concrete)", nodes, edges, KIND_COLOURS)


def abstract_picture(path: Path) -> Picture:
    from planner.errors import CycleError
    from planner.formats import load_workflow
    from planner.model.graph import build_job_graph

    workflow = load_workflow(path)
    graph = build_job_graph(workflow)
    try:
        levels = graph.levels()
    except CycleError as exc:
        raise CycleError(exc.message, source=str(path))
    groups = sorted({job.name for job in workflow.jobs})
    colours = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}
    nodes = tuple((job.id, levels[job.id], job.name) for job in workflow.jobs)
    edges = tuple(sorted(graph.edges()))
    return Picture(f"{workflow.name} (abstract)", nodes, edges, colours)


def layout(nodes: Sequence[tuple[str, int, str]]) -> dict[str, tuple[float, float]]:
    """x spread evenly per level (grouped by colour, then name); y = -level."""
    by_level: dict[int, list[tuple[str, str]]] = {}
    for name, level, group in nodes:
        by_level.setdefault(level, []).append((group, name))
    width = max((len(v) for v in by_level.values()), default=1)
    pos: dict[str, tuple[float, float]] = {}
    for level, members in by_level.items():
        members.sort()
        step = width / len(members)
        for i, (_, name) in enumerate(members):
            pos[name] = ((i + 0.5) * step, -float(level))
    return pos


def summarise(picture: Picture) -> Picture:
    """One node per (level, group) named ``group xN``, edges between them."""
    box: dict[str, str] = {}
    counts: dict[tuple[int, str], int] = {}
    for _, level, group in picture.nodes:
        counts[(level, group)] = counts.get((level, group), 0) + 1
    names = {key: f"L{key[0]} {key[1]} x{n}" for key, n in counts.items()}
    for name, level, group in picture.nodes:
        box[name] = names[(level, group)]
    edges = sorted({(box[p], box[c]) for p, c in picture.edges if box[p] != box[c]})
    nodes = tuple((names[key], key[0], key[1]) for key in sorted(counts))
    return Picture(picture.title + ", level summary", nodes, tuple(edges), picture.colours)


def draw(picture: Picture, out: Path, *, max_nodes: int = 300) -> None:
    """Render with matplotlib's Agg backend; written to a temporary name, then renamed."""
    import matplotlib

    from catalogs.atomic import atomic_write
    from planner.errors import WriteError

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    summary = len(picture.nodes) > max_nodes
    shown = summarise(picture) if summary else picture
    pos = layout(shown.nodes)
    levels = sorted({level for _, level, _ in shown.nodes}) or [0]
    width = max((sum(1 for _, lv, _ in shown.nodes if lv == level) for level in levels), default=1)
    per_node = 2.2 if summary else (1.1 if len(shown.nodes) <= 60 else 0.3)
    fig_w = min(max(6.0, width * per_node), 40.0)
    fig_h = min(max(4.0, len(levels) * 1.1), 40.0)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), dpi=100)
    segments = [(pos[p], pos[c]) for p, c in shown.edges if p in pos and c in pos]
    ax.add_collection(LineCollection(segments, colors="#999999", linewidths=0.6, zorder=1))
    groups = sorted({g for _, _, g in shown.nodes})
    colour = {g: shown.colours.get(g, PALETTE[i % len(PALETTE)]) for i, g in enumerate(groups)}
    for g in groups:
        pts = [pos[name] for name, _, group in shown.nodes if group == g]
        ax.scatter(
            [p[0] for p in pts],
            [p[1] for p in pts],
            s=400 if summary else 60,
            c=colour[g],
            zorder=2,
            marker="s" if summary else "o",
        )
    if summary or len(shown.nodes) <= 60:
        for name, _, _ in shown.nodes:
            x, y = pos[name]
            label = name.split(" ", 1)[1] if summary else name
            ax.annotate(
                label, (x, y), xytext=(0, 9), textcoords="offset points", ha="center", fontsize=7
            )
    handles = [Line2D([], [], marker="o", linestyle="", color=colour[g], label=g) for g in groups]
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False
    )
    ax.set_yticks([-float(level) for level in levels], [f"level {level}" for level in levels])
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"{shown.title}: {len(picture.nodes)} nodes, {len(picture.edges)} edges")
    ax.autoscale()
    ax.margins(0.08)
    fig.tight_layout()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot create its folder: {exc.strerror or exc}", source=str(out))
    try:
        atomic_write(
            out,
            lambda tmp: fig.savefig(tmp, format="png", metadata={"Software": None}),
            error=WriteError,
        )
    finally:
        plt.close(fig)
