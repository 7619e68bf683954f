"""``SUBDAG EXTERNAL`` nodes in the embedded engine (issue 17).

HTCondor DAGMan runs a sub-DAG node's job as another condor_dagman on the sub-DAG's
``.dag`` (``condor_submit_dag -no_submit`` at run time, in the node's ``DIR``); the node's
result is that DAGMan's exit code, and the sub-DAG keeps its own rescue files beside its
``.dag``. The embedded engine does the same with another engine: the node's job is
``wfplan run <sub-dag>`` in the node's directory, so a retried or resumed sub-DAG applies
its own rescue file and journal, at every level.

The job takes no slot (DAGMan's own job runs in the scheduler universe, not on an execute
slot); the nested engine runs its jobs with the same ``-j``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from planner.engine.dagfile import DagNode
from planner.engine.submitfile import JobSpec

__all__ = ["OUT_SUFFIX", "subdag_path", "subdag_spec"]

OUT_SUFFIX = ".run.out"  # beside the sub-DAG: what its engine printed (DAGMan's .dagman.out)


def subdag_path(node: DagNode, dag_dir: Path) -> Path:
    """The sub-DAG's ``.dag``; a relative name is relative to the node's ``DIR``."""
    where = dag_dir / node.directory if node.directory else dag_dir
    return where / node.submit_file


def subdag_spec(node: DagNode, dag_dir: Path, slots: int) -> JobSpec:
    """The job of a ``SUBDAG EXTERNAL`` node: a nested ``wfplan run`` of its ``.dag``."""
    where = dag_dir / node.directory if node.directory else dag_dir
    dag = subdag_path(node, dag_dir)
    out = dag.with_name(dag.name + OUT_SUFFIX)
    return JobSpec(
        submit_file=dag,
        universe="scheduler",
        executable=sys.executable,
        arguments=("-m", "planner.cli", "run", str(dag), "-j", str(slots), "--progress", "never"),
        environment={},
        getenv=True,
        initialdir=where,
        stdin=None,
        stdout=out,
        stderr=out,
        log=None,
        request_cpus=0,
        transfer=False,
        transfer_inputs=(),
        transfer_outputs=None,
        attributes={"wfplan_transformation": '"subdag"'},  # its row in the run summary
    )


def sub_dags(dag_path: Path) -> list[tuple[str, Path]]:
    """The ``SUBDAG EXTERNAL`` nodes of a ``.dag`` and their ``.dag`` files, in file
    order (for ``wfplan status`` and ``analyze``, which show the tree)."""
    from planner.engine.dagfile import parse_dag

    dag = parse_dag(dag_path)
    return [
        (name, subdag_path(node, dag.directory)) for name, node in dag.nodes.items() if node.subdag
    ]
