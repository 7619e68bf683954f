"""Run a Montage workflow's jobs one after another inside this process.

The 2MASS report's hand-written DAG ran the whole mosaic as one script; this is that
baseline (and the check that the wrappers chain without any planner): every job's wrapper
``main`` is called with the job's arguments, in the workflow's order (the generator lists
jobs in dependency order), with ``workdir`` as the working directory.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from planner.apps.montage.wrappers import MAINS
from planner.errors import EngineError
from planner.model.workflow import Workflow


def run_in_process(
    workflow: Workflow,
    workdir: Path,
    *,
    skip: frozenset[str] = frozenset(),
    on_job: Callable[[str, str, float], None] | None = None,
) -> dict[str, float]:
    """Run every job (except transformations in ``skip``); returns seconds per job id.

    Raises :class:`EngineError` naming the first job that fails.
    """
    seconds: dict[str, float] = {}
    old = Path.cwd()
    os.chdir(workdir)
    try:
        for job in workflow.jobs:
            if job.name in skip:
                continue
            main = MAINS.get(job.name)
            if main is None:
                raise EngineError(f"job {job.id}: no in-process wrapper for {job.name!r}")
            start = time.perf_counter()
            code = main(list(job.arguments))
            seconds[job.id] = time.perf_counter() - start
            if on_job is not None:
                on_job(job.id, job.name, seconds[job.id])
            if code != 0:
                raise EngineError(
                    f"job {job.id} ({job.name} {' '.join(job.arguments)}) exited {code}",
                    source=str(workdir),
                )
    finally:
        os.chdir(old)
    return seconds
