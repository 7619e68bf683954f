"""Does the simulator predict real runs? Montage on the embedded engine, predicted vs measured.

1. ``wfplan montage sky`` + ``build``: a 4 x 4 tile Montage workflow (80 jobs).
2. Plan it (sharedfs on ``local``) unclustered and with ``clusters.num`` = 2 and 4
   (horizontal clustering).
3. Run every plan for real (``wfplan run -j 2``) and calibrate from the unclustered
   runs' ``.events`` files: the median runtime of each transformation and of each auxiliary node
   kind, and a cluster runner's start-up (the median of ``create_dir``, another tiny
   wfplan tool).
4. Predict every setting with the ``local`` overhead model (the engine's per-node cost
   from ``bench/results/engine_overhead.json``, written by ``bench/engine_overhead.py``)
   on 2 slots and compare with the mean measured makespan.

Every setting runs ``--repeat`` times, interleaved; the calibration pools the
unclustered runs (medians), so the unclustered prediction is in-sample and the
clustered ones are true predictions. The engine runs every node's POST script before releasing
its children, so the median POST duration of the calibration runs becomes the model's
``release_delay``. Writes ``bench/results/sim_validation.json`` and
``docs/images/sim_validation.png``.

    .venv/bin/python bench/sim_validation.py [--tiles 4 4] [--jobs 2] [--work DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from planner.cli import main as wfplan
from planner.sim import (
    OverheadModel,
    graph_from_record,
    load_overhead,
    read_plan_record,
    simulate,
)
from planner.sim.record import with_runtimes

ROOT = Path(__file__).resolve().parents[1]
CENTER = ("161.265", "-59.685")
SETTINGS: list[tuple[str, dict[str, str]]] = [
    ("unclustered", {}),
    ("clusters.num=2", {"pegasus.clusters.num": "2"}),
    ("clusters.num=4", {"pegasus.clusters.num": "4"}),
]


def cli(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = wfplan(list(argv))
    if code != 0:
        raise SystemExit(f"wfplan {' '.join(argv)} failed ({code}):\n{out.getvalue()}")
    return out.getvalue()


def build(work: Path, tiles: tuple[int, int]) -> Path:
    size = str(0.0625 * max(tiles))
    cli(
        "montage",
        "sky",
        "--center",
        *CENTER,
        "--size",
        size,
        size,
        "--tiles",
        str(tiles[0]),
        str(tiles[1]),
        "--tile-pixels",
        "200",
        "200",
        "-o",
        str(work / "sky"),
    )
    cli(
        "montage",
        "build",
        "--images",
        str(work / "sky"),
        "--center",
        *CENTER,
        "--size",
        size,
        size,
        "-o",
        str(work / "wf" / "montage.yml"),
    )
    return work / "wf"


def plan(work: Path, wf: Path, name: str, props: dict[str, str], tag: str = "") -> Path:
    sub = work / f"sub-{name.replace('=', '-')}{tag}"
    conf = work / f"{name.replace('=', '-')}.properties"
    conf.write_text("".join(f"{k} = {v}\n" for k, v in sorted(props.items())))
    args = [
        "plan",
        str(wf / "montage.yml"),
        "--rc",
        str(wf / "rc.yml"),
        "--tc",
        str(wf / "tc.yml"),
        "--sites",
        "local",
        "--data-configuration",
        "sharedfs",
        "--conf",
        str(conf),
        "--dir",
        str(sub),
    ]
    if props:
        args += ["--cluster", "horizontal"]
    cli(*args)
    return sub


def run(sub: Path, jobs: int) -> float:
    """Run for real; the makespan is the engine's own span, ``dag_start`` to ``dag_end``
    in its ``.events`` file (what the simulator models: no CLI start-up)."""
    cli("run", str(sub), "-j", str(jobs))
    times = {}
    for events in sub.glob("*.events"):
        for line in events.read_text().splitlines():
            event = json.loads(line)
            if event.get("event") in ("dag_start", "dag_end"):
                times.setdefault(event["event"], event["t"])
    return float(times["dag_end"] - times["dag_start"])


Calibration = tuple[dict[str, float], dict[str, float], float, float]


def calibrate(subs: list[Path]) -> Calibration:
    """Per-transformation and per-kind median runtimes, a cluster runner's start-up and
    the median POST script duration (the engine releases children after it), pooled
    over the unclustered runs ``subs``."""
    by_tx: dict[str, list[float]] = {}
    by_kind: dict[str, list[float]] = {}
    posts: list[float] = []
    post_started: dict[str, float] = {}
    for sub, events in ((s, e) for s in subs for e in sorted(s.glob("*.events"))):
        nodes = {n["name"]: n for n in read_plan_record(sub)["nodes"]}
        for line in events.read_text().splitlines():
            event = json.loads(line)
            if event.get("event") == "post_start":
                post_started[event["node"]] = event["t"]
            elif event.get("event") == "post_end" and event["node"] in post_started:
                posts.append(event["t"] - post_started.pop(event["node"]))
            node = nodes.get(event.get("node"))
            if event.get("event") != "job_end" or node is None:
                continue
            if node["kind"] == "compute":
                by_tx.setdefault(node["tasks"][0]["transformation"], []).append(event["runtime"])
            else:
                by_kind.setdefault(node["kind"], []).append(event["runtime"])
    tx = {k: statistics.median(v) for k, v in by_tx.items()}
    kind = {k: statistics.median(v) for k, v in by_kind.items()}
    return tx, kind, kind.get("create_dir", 0.0), statistics.median(posts) if posts else 0.0


def local_model(calibration: Calibration) -> OverheadModel:
    """The ``local`` model (engine cost per node) plus the POST script before release."""
    return load_overhead("local").model_copy(update={"release_delay": calibration[3]})


def predict(sub: Path, calibration: Calibration, jobs: int) -> float:
    tx, kind, per_cluster, _ = calibration
    record = with_runtimes(read_plan_record(sub), tx, kind, per_cluster=per_cluster)
    graph = graph_from_record(record)
    return simulate(graph, dict.fromkeys(graph.sites, jobs), local_model(calibration)).makespan


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    xs = range(len(rows))
    ax.bar(
        [x - 0.2 for x in xs],
        [r["predicted_s"] for r in rows],
        0.4,
        label="predicted (local model)",
    )
    ax.bar(
        [x + 0.2 for x in xs], [r["measured_s"] for r in rows], 0.4, label="measured (wfplan run)"
    )
    ax.set_xticks(list(xs), [f"{r['setting']}\n{r['nodes']} nodes" for r in rows])
    ax.set_ylabel("makespan (s)")
    ax.set_title("Montage 4x4 tiles on the embedded engine, 2 slots")
    ax.legend(fontsize="small")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    tmp.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiles", nargs=2, type=int, default=[4, 4])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="real runs per setting (mean)")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    load = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="sim-validation-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        wf = build(work, tuple(args.tiles))
        subs = {name: plan(work, wf, name, props) for name, props in SETTINGS}
        # interleaved, so a busy spell on the (shared) machine hits every setting alike
        runs: dict[str, list[float]] = {}
        done: dict[str, list[Path]] = {}
        for attempt in range(args.repeat):
            for name, props in SETTINGS:
                fresh = plan(work, wf, name, props, f"-r{attempt}")
                runs.setdefault(name, []).append(run(fresh, args.jobs))
                done.setdefault(name, []).append(fresh)
        calibration = calibrate(done["unclustered"])
        measured = {name: statistics.fmean(v) for name, v in runs.items()}
        rows = []
        for name, _ in SETTINGS:
            predicted = predict(subs[name], calibration, args.jobs)
            nodes = sum(1 for _ in read_plan_record(subs[name])["nodes"])
            error = (predicted - measured[name]) / measured[name]
            rows.append(
                {
                    "setting": name,
                    "nodes": nodes,
                    "predicted_s": round(predicted, 2),
                    "measured_s": round(measured[name], 2),
                    "runs_s": [round(v, 2) for v in runs[name]],
                    "error": round(error, 3),
                }
            )
    print(f"{'setting':<16} {'nodes':>6} {'predicted s':>12} {'measured s':>11} {'error':>7}")
    for r in rows:
        print(
            f"{r['setting']:<16} {r['nodes']:>6} {r['predicted_s']:>12.2f} {r['measured_s']:>11.2f} {100 * r['error']:>6.1f}%"
        )
    doc = {
        "tiles": args.tiles,
        "slots": args.jobs,
        "load_average_at_start": load,
        "overhead_model": local_model(calibration).model_dump(),
        "calibration": {
            "by_transformation": calibration[0],
            "by_kind": calibration[1],
            "per_cluster": calibration[2],
            "post_script": calibration[3],
        },
        "results": rows,
    }
    out = ROOT / "bench" / "results" / "sim_validation.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    plot(rows, ROOT / "docs" / "images" / "sim_validation.png")


if __name__ == "__main__":
    main()
