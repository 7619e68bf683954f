"""Sub-workflow nodes in the DAG (issue 17): ``SUBDAG EXTERNAL`` lines, their PRE scripts,
and the request each PRE script plans from.

A ``pegasusWorkflow`` job is the node ``pegasus-plan_<id>``, as pegasus-plan writes it::

    SUBDAG EXTERNAL pegasus-plan_<id> <submit dir>/<id>/<id>.dag DIR <submit dir>/<id>
    SCRIPT PRE pegasus-plan_<id> <tools>/wfplan subplan <submit dir>/pegasus-plan_<id>.subwf.json
    RETRY pegasus-plan_<id> 1

The PRE script plans the sub-workflow into ``<submit dir>/<id>`` (created empty here, so
DAGMan can enter it) when the node becomes ready; DAGMan then runs the ``.dag`` it wrote.
A ``condorWorkflow`` job is ``subdag_<id>``, the given ``.dag`` run in its own folder.
Paths are absolute, as in the rest of the submit dir.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from planner.errors import EmitError
from planner.model.concrete import ConcreteWorkflow, SubWorkflowNode

__all__ = ["CATALOG_NAMES", "REQUEST_SUFFIX", "request_text", "yield_subdag_lines"]

REQUEST_SUFFIX = ".subwf.json"
# role -> the file in the submit dir holding the parent's catalogs, as its sub-workflows
# are planned with them
CATALOG_NAMES: Mapping[str, str] = {
    "rc": "subworkflow-replicas.yml",
    "tc": "subworkflow-transformations.yml",
    "sc": "subworkflow-sites.yml",
}


def _subworkflow_dir(submit_dir: Path, sub: SubWorkflowNode) -> Path:
    """Where a sub-workflow runs: its own sub-directory (pegasusWorkflow), else the
    folder of the given ``.dag``."""
    if sub.kind == "pegasusWorkflow":
        return submit_dir / sub.job
    return Path(_path(sub.url)).parent


def dag_path(submit_dir: Path, sub: SubWorkflowNode) -> Path:
    if sub.kind == "pegasusWorkflow":
        return submit_dir / sub.job / f"{sub.job}.dag"
    return Path(_path(sub.url))


def _path(url: str) -> str:
    return unquote(urlsplit(url).path) if url.startswith("file:") else url


def _plain(text: str, what: str) -> str:
    if not text or any(c.isspace() for c in text):
        raise EmitError(
            f"{what} {text!r} is empty or contains whitespace; DAGMan splits SUBDAG and SCRIPT "
            "lines on whitespace with no quoting"
        )
    return text


def yield_subdag_lines(cw: ConcreteWorkflow, submit_dir: Path, wfplan: str) -> Iterator[str]:
    """The sub-workflow nodes and their edges (newline-terminated lines)."""
    taken = {node.name for node in cw.nodes}
    for sub in cw.subworkflows:
        if sub.name in taken:
            raise EmitError(f"sub-workflow node {sub.name!r} has the name of another node")
        name = sub.name
        dag = _plain(str(dag_path(submit_dir, sub)), f"sub-workflow {sub.job}: DAG file")
        where = _plain(str(_subworkflow_dir(submit_dir, sub)), f"sub-workflow {sub.job}: DIR")
        yield f"SUBDAG EXTERNAL {name} {dag} DIR {where}\n"
        if sub.kind == "pegasusWorkflow":
            request = _plain(str(submit_dir / f"{name}{REQUEST_SUFFIX}"), "request file")
            yield f"SCRIPT PRE {name} {_plain(wfplan, 'wfplan')} subplan {request}\n"
        yield f"RETRY {name} {sub.retry}\n"
    children: dict[str, list[str]] = {}
    for parent, child in cw.subworkflow_edges:
        children.setdefault(parent, []).append(child)
    for parent in sorted(children):
        yield f"PARENT {parent} CHILD {' '.join(sorted(set(children[parent])))}\n"


def request_text(
    cw: ConcreteWorkflow, sub: SubWorkflowNode, submit_dir: Path, catalogs: Mapping[str, str]
) -> str:
    """What the PRE script of ``sub`` plans with (JSON): the workflow file, the directory
    and DAG name, the ``wfplan plan`` arguments, and the parent's catalogs, properties,
    output site and output replica catalog (so outputs land where the parent's do)."""
    options = cw.options
    request = {
        "job": sub.job,
        "workflow": _path(sub.url),
        "dir": str(submit_dir / sub.job),
        "dag": sub.job,
        "arguments": list(sub.arguments),
        "output_site": options.get("output_site", "local"),
        "output_rc": options.get("output_rc"),
        "data_configuration": options.get("data_configuration"),
        "properties": dict(options.get("properties") or {}),
        "catalogs": {role: str(submit_dir / name) for role, name in sorted(catalogs.items())},
    }
    return json.dumps(request, indent=1, sort_keys=True) + "\n"
