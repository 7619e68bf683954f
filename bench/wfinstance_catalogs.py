"""Replica and transformation catalogs that let a WfInstances trace be planned.

A WfFormat trace has runtimes and file sizes but no catalogs: this writes ``rc.yml``
(every workflow input on ``local`` under ``--data``) and ``tc.yml`` (every program
installed on ``condorpool`` as ``/bin/true``), enough for ``wfplan plan`` / ``experiment``.

    .venv/bin/python bench/wfinstance_catalogs.py TRACE.json --out DIR [--data /data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from catalogs.yamlio import dump_yaml
from planner.formats import load_workflow
from planner.model.graph import build_job_graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("trace", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", default="/data/inputs")
    args = parser.parse_args()
    workflow = load_workflow(str(args.trace))
    inputs = build_job_graph(workflow).workflow_inputs()
    rc = {
        "pegasus": "5.0",
        "replicas": [
            {"lfn": lfn, "pfns": [{"site": "local", "pfn": f"{args.data}/{lfn}"}]} for lfn in inputs
        ],
    }
    names = sorted({job.name for job in workflow.jobs})
    tc = {
        "pegasus": "5.0",
        "transformations": [
            {"name": n, "sites": [{"name": "condorpool", "pfn": "/bin/true", "type": "installed"}]}
            for n in names
        ],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rc.yml").write_text(dump_yaml(rc))
    (args.out / "tc.yml").write_text(dump_yaml(tc))
    print(f"{len(inputs)} inputs, {len(names)} transformations -> {args.out}")


if __name__ == "__main__":
    main()
