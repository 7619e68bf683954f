"""``wfplan run SUBMIT_DIR [-j N]``: run a submit directory with the embedded engine."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wfplan run``."""
    parser.add_argument("submit_dir", metavar="SUBMIT_DIR", help="submit directory or .dag file")
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="slots: jobs run at once, counted in request_cpus (default: CPU count)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="run every node again: ignore rescue files and the journal of earlier runs",
    )
    parser.add_argument(
        "--progress",
        choices=["auto", "always", "never"],
        default="auto",
        help="progress line (default: only on a terminal)",
    )


def format_summary(result: object) -> list[str]:
    """The per-transformation table printed at the end of a run."""
    from planner.engine.runner import RunResult

    assert isinstance(result, RunResult)
    rows = [("transformation", "count", "failures", "retries", "total s", "mean s")]
    for name, s in result.summary.items():
        rows.append(
            (
                name,
                str(s.count),
                str(s.failures),
                str(s.retries),
                f"{s.runtime:.2f}",
                f"{s.mean:.3f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
    return lines


def run(args: argparse.Namespace) -> int:
    """Run the DAG; exit 0 when it succeeded, 1 when nodes failed (rescue file named)."""
    from planner.engine.runner import Engine, find_dag
    from planner.errors import EngineError

    if args.jobs is not None and args.jobs < 1:
        raise EngineError(f"-j must be at least 1, got {args.jobs}")
    dag = find_dag(args.submit_dir)
    progress = {"auto": None, "always": True, "never": False}[args.progress]
    engine = Engine(dag, slots=args.jobs, progress=progress, out=sys.stderr, fresh=args.force)
    result = engine.run()  # Ctrl-C / SIGTERM: jobs stopped, state kept (KeyboardInterrupt)
    out = sys.stdout
    total = len(engine.runs)
    if result.succeeded and result.nodes_run == 0 and engine.initial_done == total:
        print(f"wfplan run: {dag.name}: all {total} nodes were already done", file=out)
        return 0
    for line in format_summary(result):
        print(line, file=out)
    if result.succeeded:
        print(
            f"wfplan run: {dag.name} succeeded: {result.done}/{total} nodes done, "
            f"{result.nodes_run} jobs run in {result.elapsed:.1f} s",
            file=out,
        )
        return 0
    how = "aborted" if result.aborted else "failed"
    failed = ", ".join(result.failed[:10]) + (" ..." if len(result.failed) > 10 else "")
    print(
        f"wfplan run: {dag.name} {how}: {len(result.failed)} node(s) failed ({failed}), "
        f"{len(result.unrunnable)} unrunnable, {result.done}/{total} done",
        file=sys.stderr,
    )
    if result.rescue is not None:
        print(
            f"wfplan run: rescue file {result.rescue}; fix the cause and run "
            f"'wfplan run {args.submit_dir}' again to resume "
            f"('wfplan analyze {args.submit_dir}' shows why)",
            file=sys.stderr,
        )
    return 1
