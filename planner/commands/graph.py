"""``wfplan graph WF-or-SUBMIT_DIR -o out.png``: a picture of the abstract or concrete DAG.

Levels (longest path from a root) run top to bottom; within a level, nodes are ordered by
a few barycenter sweeps so that edges cross less. A submit dir (or its plan.json) gives
the concrete DAG, compute and cluster nodes coloured by transformation and the others by
kind (each kind its own marker); a workflow file gives the abstract DAG, jobs coloured by
transformation. Every node is drawn with a label that fits (its name without the
transformation or kind the legend already gives, shortened in the middle when long),
side by side or, when a level is too wide for that, turned upright. Past ``--max-nodes``
nodes, or when even upright labels would not fit the width cap, the picture is one box per
(level, colour group) with its count, and the edges between boxes.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.text import Text

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
KIND_MARKERS: dict[str, str] = {
    "compute": "o",
    "cluster": "h",
    "stage_in": "v",
    "stage_inter": "D",
    "stage_out": "^",
    "register": "s",
    "create_dir": "P",
    "cleanup": "X",
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
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)

# Geometry, in inches (the axes' data unit is one inch, so measured text sizes apply).
DPI = 100
FONT = 7.0  # points, node labels
TITLE_FONT = 12.0
LABEL_CHARS = 18  # a longer label is shortened in the middle
WIDTH_CAP = 36.0  # the widest level may not be wider than this
# a picture wider than FLAT_WIDTH and ASPECT times its height staggers its labels
FLAT_WIDTH, ASPECT = 16.0, 4.0
HEIGHT_CAP = 300.0
LEFT, TOP, BOTTOM = 0.9, 0.6, 0.3
SWEEPS = 4
BEND = 0.8  # how far an arrow that skips levels bends out (summary)


@dataclass(frozen=True)
class Picture:
    """What to draw: nodes with a level and a group (colour), and edges."""

    title: str
    nodes: tuple[tuple[str, int, str], ...]  # (name, level, group)
    edges: tuple[tuple[str, str], ...]
    colours: Mapping[str, str]
    markers: Mapping[str, str] = field(default_factory=dict)  # group -> marker, default "o"


@dataclass(frozen=True)
class Drawing:
    """A rendered picture: the figure, its node labels, and how it was drawn
    (``"labels"``, ``"upright labels"`` or ``"summary"``)."""

    figure: Figure
    labels: tuple[Text, ...]
    mode: str


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
    mode = draw(picture, Path(args.output), max_nodes=args.max_nodes)
    how = "one box per level and group" if mode == "summary" else f"every node, {mode}"
    print(f"wrote {args.output} ({len(picture.nodes)} nodes, {len(picture.edges)} edges; {how})")
    return 0


def short_transformation(name: str) -> str:
    """``ns::name:1.0`` -> ``name``."""
    return name.rsplit("::", 1)[-1].split(":", 1)[0]


def concrete_picture(submit_dir: Path) -> Picture:
    from planner.commands.explain import stream_plan

    record = stream_plan(submit_dir)
    nodes = []
    edges: list[tuple[str, str]] = []
    markers: dict[str, str] = {}
    colours: dict[str, str] = {}
    for n in record["nodes"]:
        edges.extend((p, n["name"]) for p in n.get("parents") or [])
        kind = str(n["kind"])
        tx = n.get("transformation")
        group = short_transformation(str(tx)) if tx and kind in ("compute", "cluster") else kind
        markers[group] = KIND_MARKERS.get(kind, "o")
        if group == kind:
            colours[group] = KIND_COLOURS.get(kind, "#333333")
        nodes.append((str(n["name"]), int(n.get("level") or 0), group))
    tx_groups = sorted({g for _, _, g in nodes} - set(colours))
    colours.update({g: PALETTE[i % len(PALETTE)] for i, g in enumerate(tx_groups)})
    title = f"{record.get('workflow')} (concrete)"
    return Picture(title, tuple(nodes), tuple(edges), colours, markers)


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


def order_levels(
    nodes: Sequence[tuple[str, int, str]],
    edges: Iterable[tuple[str, str]] = (),
    sweeps: int = SWEEPS,
) -> dict[int, list[str]]:
    """Each level's nodes, left to right: first by (group, name), then ``sweeps``
    alternating barycenter sweeps (down: by the mean place of a node's parents; up: of
    its children); the order with the fewest crossings is kept, so never worse than the
    first. Places are fractions of the level's width, so levels of any width compare.
    """
    level_of = {name: level for name, level, _ in nodes}
    by_level: dict[int, list[str]] = {}
    for name, level, _ in sorted(nodes, key=lambda n: (n[1], n[2], n[0])):
        by_level.setdefault(level, []).append(name)
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    kept = [(p, c) for p, c in edges if p in level_of and c in level_of]
    for p, c in kept:
        children.setdefault(p, []).append(c)
        parents.setdefault(c, []).append(p)
    place: dict[str, float] = {}
    for members in by_level.values():
        _place(members, place)
    best = {lv: list(m) for lv, m in by_level.items()}
    fewest = crossings(best, kept)
    order = sorted(by_level)
    for sweep in range(sweeps):
        down = sweep % 2 == 0
        neighbours = parents if down else children
        for level in order if down else reversed(order):
            members = by_level[level]
            members.sort(key=lambda n: _barycenter(n, neighbours, place))
            _place(members, place)
        now = crossings(by_level, kept)
        if now < fewest:
            best, fewest = {lv: list(m) for lv, m in by_level.items()}, now
    return best


def _place(members: Sequence[str], place: dict[str, float]) -> None:
    width = len(members)
    for i, name in enumerate(members):
        place[name] = (i + 0.5) / width


def _barycenter(
    name: str, neighbours: Mapping[str, list[str]], place: Mapping[str, float]
) -> float:
    around = neighbours.get(name)
    if not around:
        return place[name]  # stays where it is (the sort is stable)
    return sum(place[m] for m in around) / len(around)


def crossings(order: Mapping[int, Sequence[str]], edges: Iterable[tuple[str, str]]) -> int:
    """Pairs of edges that cross, counted among edges that join the same two levels
    (a Fenwick tree over the child's index: O(E log V))."""
    index: dict[str, tuple[int, int]] = {}
    for level, members in order.items():
        for i, name in enumerate(members):
            index[name] = (level, i)
    spans: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for p, c in edges:
        (lp, ip), (lc, ic) = index[p], index[c]
        spans.setdefault((lp, lc), []).append((ip, ic))
    total = 0
    for (_, lc), pairs in spans.items():
        size = len(order[lc])
        tree = [0] * (size + 1)
        seen = 0
        pairs.sort()
        start = 0
        while start < len(pairs):
            end = start
            while end < len(pairs) and pairs[end][0] == pairs[start][0]:
                end += 1
            for _, ic in pairs[start:end]:  # earlier parents whose child is to the right
                total += seen - _prefix(tree, ic + 1)
            for _, ic in pairs[start:end]:
                _add(tree, ic + 1)
                seen += 1
            start = end
    return total


def _prefix(tree: list[int], i: int) -> int:
    s = 0
    while i > 0:
        s += tree[i]
        i -= i & -i
    return s


def _add(tree: list[int], i: int) -> None:
    while i < len(tree):
        tree[i] += 1
        i += i & -i


def layout(
    nodes: Sequence[tuple[str, int, str]],
    edges: Iterable[tuple[str, str]] = (),
    slot: float = 1.0,
    gap: float = 1.0,
) -> dict[str, tuple[float, float]]:
    """Node -> (x, y): levels top to bottom ``gap`` apart (y = -gap * level index), each
    level's nodes ``slot`` apart in :func:`order_levels` order, centred on the widest."""
    order = order_levels(nodes, edges)
    widest = max((len(m) for m in order.values()), default=0)
    pos: dict[str, tuple[float, float]] = {}
    for k, level in enumerate(sorted(order)):
        members = order[level]
        left = (widest - len(members)) * slot / 2
        for i, name in enumerate(members):
            pos[name] = (left + (i + 0.5) * slot, -gap * k)
    return pos


def summarise(picture: Picture) -> Picture:
    """One node per (level, group) named ``L<level> <group> x<count>``, edges between them."""
    box: dict[str, str] = {}
    counts: dict[tuple[int, str], int] = {}
    for _, level, group in picture.nodes:
        counts[(level, group)] = counts.get((level, group), 0) + 1
    names = {key: f"L{key[0]} {key[1]} x{n}" for key, n in counts.items()}
    for name, level, group in picture.nodes:
        box[name] = names[(level, group)]
    edges = sorted({(box[p], box[c]) for p, c in picture.edges if box[p] != box[c]})
    nodes = tuple((names[key], key[0], key[1]) for key in sorted(counts))
    return Picture(
        picture.title + ", level summary",
        nodes,
        tuple(edges),
        picture.colours,
        picture.markers,
    )


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    """``text`` if it has at most ``limit`` characters, else its start and end around '…'
    (the end gets the odd character: it usually holds the job's number)."""
    if len(text) <= limit:
        return text
    tail = limit // 2
    head = limit - 1 - tail
    return f"{text[:head]}…{text[len(text) - tail :]}"


_NAME_PREFIX = {"cleanup": "clean_up_"}  # Pegasus's name for the kind's nodes


def node_label(name: str, group: str) -> str:
    """The name without the group the colour already gives (``mDiffFit_ID00012`` and
    ``mDiffFit_mDiffFit_ID00012`` of group ``mDiffFit`` are ``ID00012``), shortened in
    the middle to :data:`LABEL_CHARS` (the end, often the job's number, stays)."""
    label = name
    for prefix in (f"{group}_", _NAME_PREFIX.get(group, f"{group}_")):
        while label.startswith(prefix) and len(label) > len(prefix):
            label = label[len(prefix) :]
    return shorten(label)


def _box_label(name: str) -> str:
    level_group, _, count = name.rpartition(" x")
    group = level_group.split(" ", 1)[1]
    return f"{shorten(group, 2 * LABEL_CHARS)}\n×{count}"


@dataclass(frozen=True)
class _Fit:
    mode: str
    slot: float
    gap: float
    labels: dict[str, str]


def _measure(texts: Iterable[str], size: float = FONT) -> tuple[float, float]:
    """Widest and tallest of ``texts`` at ``size`` points, in inches."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    renderer = RendererAgg(10, 10, DPI)
    prop = FontProperties(size=size)
    width = height = 0.0
    for text in texts:
        for line in text.split("\n"):
            w = renderer.get_text_width_height_descent(line, prop, ismath=False)[0]
            width = max(width, w / DPI)
        lines = text.count("\n") + 1
        height = max(height, lines * size * 1.25 / 72)
    return width, height


def _fit_labels(shown: Picture) -> _Fit | None:
    """Every node with its label within the width cap: side by side, staggered on two
    rows, or upright; None when even upright labels would not fit."""
    widths = _level_widths(shown.nodes)
    widest = max(widths.values(), default=1)
    labels = {name: node_label(name, group) for name, _, group in shown.nodes}
    w, h = _measure(labels.values())
    side_by_side = widest * (w + 0.2)
    flat = side_by_side > max(FLAT_WIDTH, ASPECT * len(widths) * (h + 0.6))
    if side_by_side <= WIDTH_CAP and not flat:
        return _Fit("labels", max(w + 0.2, 0.3), h + 0.6, labels)
    if side_by_side / 2 <= WIDTH_CAP:  # every other label one row lower
        return _Fit("staggered labels", max((w + 0.2) / 2, 0.3), 2 * h + 0.65, labels)
    if widest * (h + 0.08) <= WIDTH_CAP:
        return _Fit("upright labels", max(h + 0.08, 0.16), w + 0.6, labels)
    return None


def _fit_boxes(summary: Picture) -> _Fit:
    """One box per node of a :func:`summarise` picture, its group over its count."""
    labels = {name: _box_label(name) for name, _, _ in summary.nodes}
    w, h = _measure(labels.values())
    return _Fit("summary", w + 0.45, h + 0.75, labels)


def _level_widths(nodes: Iterable[tuple[str, int, str]]) -> dict[int, int]:
    widths: dict[int, int] = {}
    for _, level, _ in nodes:
        widths[level] = widths.get(level, 0) + 1
    return widths


def figure(picture: Picture, *, max_nodes: int = 300) -> Drawing:
    """Lay out and draw ``picture`` (see the module docstring); nothing is written."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fit = None if len(picture.nodes) > max_nodes else _fit_labels(picture)
    shown = picture
    if fit is None:
        shown = summarise(picture)
        fit = _fit_boxes(shown)
    levels = sorted({level for _, level, _ in shown.nodes}) or [0]
    gap = min(fit.gap, HEIGHT_CAP / len(levels))
    pos = layout(shown.nodes, shown.edges, fit.slot, gap)
    widest = max(_level_widths(shown.nodes).values(), default=1)
    width, height = widest * fit.slot, len(levels) * gap
    if fit.mode == "summary":  # room on both sides for the arrows that bend round boxes
        pos = {name: (x + BEND, y) for name, (x, y) in pos.items()}
        width += 2 * BEND
    groups = sorted({g for _, _, g in shown.nodes})
    colour = {g: shown.colours.get(g, PALETTE[i % len(PALETTE)]) for i, g in enumerate(groups)}
    title = f"{shown.title}: {len(picture.nodes)} nodes, {len(picture.edges)} edges"
    legend_w = _measure(groups)[0] + 0.8
    fig_w = max(LEFT + width + legend_w, LEFT + _measure([title], TITLE_FONT)[0] + 0.3, 4.0)
    fig_h = TOP + height + BOTTOM
    fig = Figure(figsize=(fig_w, fig_h), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((LEFT / fig_w, BOTTOM / fig_h, width / fig_w, height / fig_h))
    top = gap * 0.2  # room above the first level's dots
    ax.set_xlim(0, width)
    ax.set_ylim(-height + top, top)
    summary = fit.mode == "summary"
    _draw_edges(ax, shown, pos, summary)
    labels = (
        _draw_boxes(ax, shown, pos, fit, colour)
        if summary
        else _draw_nodes(ax, shown, pos, fit, colour)
    )
    _decorate(fig, ax, shown, levels, gap, colour, legend_at=(LEFT + width + 0.2) / fig_w)
    ax.set_title(title, fontsize=TITLE_FONT, loc="left")
    return Drawing(fig, labels, fit.mode)


def _draw_edges(ax: Any, shown: Picture, pos: Mapping[str, Any], summary: bool) -> None:
    from matplotlib.collections import LineCollection

    edges = [(p, c) for p, c in shown.edges if p in pos and c in pos]
    if summary:
        _draw_box_edges(ax, edges, pos)
        return
    ax.add_collection(
        LineCollection(
            [(pos[p], pos[c]) for p, c in edges],
            colors="#9a9a9a",
            linewidths=0.5,
            alpha=0.7,
            zorder=1,
        )
    )


def _draw_box_edges(ax: Any, edges: Sequence[tuple[str, str]], pos: Mapping[str, Any]) -> None:
    """Arrows between boxes; one that skips levels bends, so that it does not run behind
    the boxes between and read as a chain through them."""
    from matplotlib.patches import FancyArrowPatch

    middle = (min(x for x, _ in pos.values()) + max(x for x, _ in pos.values())) / 2
    for p, c in edges:
        (x0, y0), (x1, y1) = pos[p], pos[c]
        straight = _adjacent(y0, y1, pos)
        # arc3 puts its control point rad * length to the left of a downward arrow:
        # bend outwards by the same distance whatever the length
        length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1e-9)
        rad = min(0.5, BEND / length) * (1 if (x0 + x1) / 2 <= middle else -1)
        ax.add_patch(
            FancyArrowPatch(
                (x0, y0),
                (x1, y1),
                arrowstyle="-|>",
                mutation_scale=8,
                connectionstyle="arc3" if straight else f"arc3,rad={rad:.4f}",
                color="#7a7a7a",
                linewidth=1.0,
                shrinkA=9,
                shrinkB=9,
                zorder=1,
            )
        )


def _adjacent(y0: float, y1: float, pos: Mapping[str, Any]) -> bool:
    """No box lies strictly between the two rows (so a straight arrow crosses none)."""
    rows = {round(y, 6) for _, y in pos.values()}
    low, high = sorted((round(y0, 6), round(y1, 6)))
    return not any(low < y < high for y in rows)


def _draw_nodes(
    ax: Any, shown: Picture, pos: Mapping[str, Any], fit: _Fit, colour: Mapping[str, str]
) -> tuple[Text, ...]:
    upright = fit.mode == "upright labels"
    by_group: dict[str, list[tuple[float, float]]] = {}
    for name, _, group in shown.nodes:
        by_group.setdefault(group, []).append(pos[name])
    for group, points in sorted(by_group.items()):
        ax.scatter(
            [p[0] for p in points],
            [p[1] for p in points],
            s=36,
            c=colour[group],
            marker=shown.markers.get(group, "o"),
            zorder=2,
            edgecolors="white",
            linewidths=0.5,
        )
    second_row = _second_row(pos) if fit.mode == "staggered labels" else set()
    row = (_measure(["Ag"])[1] + 0.03) * 72  # points down to the second row
    return tuple(
        ax.annotate(
            fit.labels[name],
            tuple(pos[name]),
            xytext=(0, -6 - (row if name in second_row else 0)),
            textcoords="offset points",
            va="top",
            rotation=90 if upright else 0,
            **_label_style("square,pad=0.05", fill="white", edge="none", alpha=0.8),
        )
        for name, _, _ in shown.nodes
    )


def _second_row(pos: Mapping[str, Any]) -> set[str]:
    """Every other node of each level, left to right: its label goes one row lower."""
    rows: dict[float, list[tuple[float, str]]] = {}
    for name, (x, y) in pos.items():
        rows.setdefault(y, []).append((x, name))
    return {name for row_nodes in rows.values() for _, name in sorted(row_nodes)[1::2]}


def _draw_boxes(
    ax: Any, shown: Picture, pos: Mapping[str, Any], fit: _Fit, colour: Mapping[str, str]
) -> tuple[Text, ...]:
    return tuple(
        ax.text(
            *pos[name],
            fit.labels[name],
            va="center",
            **_label_style("round,pad=0.3", fill=colour[group], edge="#444444", alpha=0.9),
        )
        for name, _, group in shown.nodes
    )


def _label_style(box: str, *, fill: str, edge: str, alpha: float) -> dict[str, Any]:
    """What node labels and level boxes share: centred, in FONT, above edges and markers."""
    return {
        "ha": "center",
        "fontsize": FONT,
        "zorder": 3,
        "bbox": {"boxstyle": box, "fc": fill, "ec": edge, "alpha": alpha},
    }


def _decorate(
    fig: Any,
    ax: Any,
    shown: Picture,
    levels: Sequence[int],
    gap: float,
    colour: Mapping[str, str],
    legend_at: float,
) -> None:
    from matplotlib.lines import Line2D

    handles = [
        Line2D(
            [],
            [],
            marker=shown.markers.get(g, "o"),
            linestyle="",
            color=colour[g],
            label=g,
        )
        for g in sorted(colour)
    ]
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(legend_at, 1.0 - TOP / fig.get_figheight()),
        fontsize=FONT + 1,
        frameon=False,
    )
    ax.set_yticks([-gap * k for k in range(len(levels))], [f"level {lv}" for lv in levels])
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)


def draw(picture: Picture, out: Path, *, max_nodes: int = 300) -> str:
    """Render with matplotlib's Agg backend; written to a temporary name, then renamed.
    Returns how it was drawn (:attr:`Drawing.mode`)."""
    from catalogs.atomic import atomic_write
    from planner.errors import WriteError

    drawing = figure(picture, max_nodes=max_nodes)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot create its folder: {exc.strerror or exc}", source=str(out))
    atomic_write(
        out,
        lambda tmp: drawing.figure.savefig(tmp, format="png", metadata={"Software": None}),
        error=WriteError,
    )
    return drawing.mode
