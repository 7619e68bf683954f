"""The ``wfplan`` command.

Each subcommand lives in ``planner/commands/<name>.py`` with two functions:
``add_arguments(parser)`` (cheap: no heavy imports) and ``run(args) -> int``. Every
:class:`WfplanError` is printed one line per problem, without a traceback, exit code 1.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from catalogs.errors import WfplanError
from planner import __version__

# name -> (module under planner.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("validate", "parse and check a workflow and its catalogs"),
    "info": ("info", "jobs by transformation, levels, inputs/outputs, sizes"),
    "convert": ("convert", "convert a workflow between formats"),
    "plan": ("plan", "plan a workflow into an HTCondor DAGMan submit directory"),
    "subplan": ("subplan", "plan a sub-workflow: the PRE script of its DAG node"),
    "explain": ("explain", "why each job was pruned, placed or clustered"),
    "graph": ("graph", "draw the abstract or concrete DAG"),
    "run": ("run", "run a submit directory here with the embedded engine"),
    "status": ("status", "progress of a submit directory"),
    "analyze": ("analyze", "failed nodes with their exit codes and stderr"),
    "submit": ("submit", "submit a submit directory to HTCondor DAGMan"),
    "montage": ("montage", "Montage: synthetic sky, workflow generator, demo"),
    "simulate": ("simulate", "simulate the makespan of a planned workflow"),
    "experiment": ("experiment", "clustering sweeps: plan, simulate, plot"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wfplan",
        description="A Pegasus-style workflow planner for HTCondor DAGMan.",
    )
    parser.add_argument("--version", action="version", version=f"wfplan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        module = _command_module(module_name)
        if module is None:
            continue
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _command_module(module_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"planner.commands.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"planner.commands.{module_name}":
            return None  # command not built in this version
        raise


# Commands that read (and plan) a whole workflow and then end. The one place the cyclic
# collector is paused: they build millions of small acyclic values that live until the
# command ends, and each full collection rescans them all (planning 5*10^4 Montage jobs
# took 5.0 s of CPU with it, 2.6-3.2 s without; docs/benchmarks.md). The engine's
# long-lived commands (run, submit) keep it.
HEAP_COMMANDS = frozenset(
    {"validate", "info", "convert", "plan", "subplan", "explain", "graph", "simulate", "experiment"}
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    collecting = gc.isenabled()
    if args.command in HEAP_COMMANDS:
        gc.disable()
    try:
        return _dispatch(args)
    finally:
        if collecting:
            gc.enable()


def _dispatch(args: argparse.Namespace) -> int:
    try:
        code: int = args._run(args)
    except WfplanError as exc:
        for line in exc.lines():
            print(f"wfplan: error: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("wfplan: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``wfplan explain DIR | head``): stop quietly, and keep
        # Python from complaining again while it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return code


if __name__ == "__main__":
    sys.exit(main())
