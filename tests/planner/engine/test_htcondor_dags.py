"""A DAG written by a third party, HTCondor's own ``htcondor.dags`` writer, runs unchanged."""

from __future__ import annotations

import io
import os
from pathlib import Path

from planner.engine.runner import Engine


def test_dag_written_by_htcondor_dags_runs(tmp_path: Path):
    os.environ.setdefault("CONDOR_CONFIG", "/dev/null")
    import htcondor
    from htcondor import dags

    dag = dags.DAG()
    sub = htcondor.Submit({"executable": "/bin/sh", "arguments": "\"-c 'echo $(x) >> out.txt'\""})
    first = dag.layer(
        name="a",
        submit_description=sub,
        vars=[{"x": "one"}, {"x": "two"}],
        retries=2,
        priority=5,
        pre=dags.Script(executable="/bin/true", arguments=["$JOB"]),
        post=dags.Script(executable="/bin/true", arguments=["$RETURN"]),
    )
    first.child_layer(
        name="b",
        submit_description=sub,
        vars=[{"x": "three"}],
        abort=dags.DAGAbortCondition(node_exit_value=7, dag_return_value=3),
    )
    dag_file = dags.write_dag(dag, tmp_path, dag_file_name="x.dag")
    result = Engine(dag_file, slots=2, progress=False, out=io.StringIO()).run()
    assert result.succeeded and result.done == 3
    lines = (tmp_path / "out.txt").read_text().split()
    assert sorted(lines[:2]) == ["one", "two"] and lines[2] == "three"
