"""``wfplan explain SUBMIT_DIR [NODE]``: what the planner decided and why, from plan.json.

Without NODE: the pruned jobs and why, each abstract job's node, site, cluster and the
reasons recorded for it, and which replica each staged file comes from (with fallbacks).
With NODE (a node name or an abstract job id): that node in detail. A sub-workflow's node
(``pegasus-plan_<id>``, or its job id) shows where it is planned and, once its PRE script
has planned it, that plan's summary; ``NODE/INNER`` follows it in: INNER explained in the
sub-workflow's plan (``pegasus-plan_mid/pegasus-plan_leaf/step_deep`` goes two levels down).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from planner.emit.record import PlanReader


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submit_dir", metavar="SUBMIT_DIR", help="a directory wfplan plan wrote")
    parser.add_argument("node", metavar="NODE", nargs="?", help="a DAG node name or a job id")


def run(args: argparse.Namespace) -> int:
    submit_dir = Path(args.submit_dir)
    node = args.node
    dag = node is not None  # the summary shows no edges: the DAG need not be read
    record = stream_plan(submit_dir, dag=dag)
    # NODE/INNER: into the sub-workflow planned for NODE, one level per part
    while node is not None and "/" in node:
        head, node = node.split("/", 1)
        sub = _subworkflow(record, head)
        if sub is None:
            from planner.errors import PlannerError

            raise PlannerError(
                f"{head!r} is not a sub-workflow node of this plan", source=record.get("_source")
            )
        submit_dir = _subworkflow_dir(record, sub)
        record = stream_plan(submit_dir, dag=dag)
    write_lines(explain_lines(record, node), sys.stdout)
    return 0


def _subworkflow(record: Mapping[str, Any], wanted: str) -> Mapping[str, Any] | None:
    subs: list[Mapping[str, Any]] = record.get("subworkflows") or []
    return next((s for s in subs if wanted in (s.get("name"), s.get("job"))), None)


def _subworkflow_dir(record: Mapping[str, Any], sub: Mapping[str, Any]) -> Path:
    """Where a sub-workflow's plan is: ``<submit dir>/<job id>`` (pegasusWorkflow)."""
    base = Path(str(record.get("_source", "plan.json"))).parent
    return base / str(sub.get("job"))


def _subworkflow_lines(record: Mapping[str, Any], sub: Mapping[str, Any]) -> Iterator[str]:
    yield f"node {sub['name']}"
    yield f"  kind: sub-workflow ({sub.get('kind')})"
    yield f"  job: {sub.get('job')}"
    yield f"  level: {sub.get('level')}"
    yield f"  workflow file: {sub.get('file')} ({sub.get('url')})"
    if sub.get("arguments"):
        yield f"  plan arguments: {' '.join(sub['arguments'])}"
    if sub.get("outputs"):
        yield f"  outputs (to the output site): {', '.join(sub['outputs'])}"
    yield f"  retry: {sub.get('retry')}"
    yield from _relatives_lines(sub)
    for why in sub.get("reasons") or []:
        yield f"  why: {why}"
    if sub.get("kind") != "pegasusWorkflow":
        return
    where = _subworkflow_dir(record, sub)
    if not (where / "plan.json").is_file():
        yield f"  plan: not planned yet (its PRE script plans it into {where})"
        return
    top = Path(str(record.get("_source", "plan.json"))).parent
    yield f"  plan: {where} ('wfplan explain {top} {sub['name']}/NODE' follows it)"
    inner = stream_plan(where, dag=False)
    for line in summary_lines(inner):
        yield f"    {line}" if line else ""


def write_lines(lines: Iterator[str], out: TextIO) -> None:
    for line in lines:
        out.write(line + "\n")


def stream_plan(submit_dir: Path, *, dag: bool = True) -> dict[str, Any]:
    """The head of a submit dir's plan record, with ``nodes`` an iterator (read once);
    ``dag=False``: the nodes without the edges and submit files the DAG holds."""
    record = open_plan(submit_dir)
    return {**record.head, "_source": record.source, "nodes": record.nodes(dag=dag)}


def open_plan(submit_dir: Path) -> PlanReader:
    """The plan record of a submit dir (or of a plan.json path), its nodes streamed."""
    from planner.emit.record import PlanReader, plan_path
    from planner.errors import PlannerError

    path = plan_path(submit_dir)
    if not path.is_file():
        raise PlannerError("not a wfplan submit dir (no plan.json)", source=str(submit_dir))
    return PlanReader(path)


def explain_lines(record: Mapping[str, Any], node: str | None = None) -> Iterator[str]:
    if node is not None:
        yield from node_lines(record, node)
    else:
        yield from summary_lines(record)


def _pair_text(f: Mapping[str, Any]) -> str:
    fallbacks = f.get("fallbacks") or []
    text = f"{f.get('lfn') or '(dir)'}: {f.get('src') or '-'} -> {f.get('dst')}"
    if fallbacks:
        text += f" (fallbacks: {', '.join(fallbacks)})"
    return text


def _decisions(record: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, list[str]]:
    """A node's jobs' recorded lines: on the node as read from a submit dir, else in the
    record's top-level map (a record built in memory)."""
    if "decisions" in node:
        return node["decisions"] or {}
    return record.get("decisions") or {}


def summary_lines(record: Mapping[str, Any]) -> Iterator[str]:
    """The summary, after one pass over ``record["nodes"]`` (a list or an iterator)."""
    jobs_part: list[str] = []
    replicas: list[str] = []
    seen: set[tuple[str, str]] = set()
    count = 0
    for n in record["nodes"]:
        count += 1
        jobs_part.extend(_job_lines(record, n))
        if n.get("kind") not in ("stage_in", "stage_inter"):
            continue
        for f in n.get("files") or []:
            key = (str(f.get("lfn")), str(f.get("dst")))
            if key not in seen:
                seen.add(key)
                replicas.append(f"  {_pair_text(f)}  [{n['name']}]")
    pruned = record.get("pruned") or []
    yield (
        f"workflow {record.get('workflow')} (wfplan {record.get('wfplan_version')}): "
        f"{count} nodes, {len(pruned)} pruned jobs"
    )
    options = record.get("options") or {}
    if options:
        shown = ", ".join(f"{k}={options[k]}" for k in sorted(options) if k != "properties")
        yield f"options: {shown}"
    yield ""
    yield "pruned (data reuse):" if pruned else "pruned (data reuse): none"
    for p in pruned:
        yield f"  {p.get('job')}: {p.get('reason')}"
    subs: list[Mapping[str, Any]] = record.get("subworkflows") or []
    if subs:
        yield ""
        yield "sub-workflows:"
        for sub in subs:
            yield f"  {sub.get('job')}: node {sub.get('name')}, level {sub.get('level')}"
            for why in sub.get("reasons") or []:
                yield f"      why: {why}"
    yield ""
    yield "jobs:"
    yield from jobs_part
    yield ""
    yield "replicas chosen (first source; fallbacks in order):"
    yield from replicas


def _job_lines(record: Mapping[str, Any], n: Mapping[str, Any]) -> Iterator[str]:
    jobs = n.get("jobs") or []
    if n.get("kind") not in ("compute", "cluster"):
        return
    decisions = _decisions(record, n)
    where = f"node {n['name']} on {n.get('site')}, level {n.get('level')}"
    for job in jobs:
        if n.get("kind") == "cluster":
            yield f"  {job}: {where}, clustered with {len(jobs) - 1} more ({', '.join(jobs)})"
        else:
            yield f"  {job}: {where}"
        for why in decisions.get(job, []):
            yield f"      why: {why}"
    for why in n.get("reasons") or []:
        yield f"      node: {why}"


def _style_text(record: Mapping[str, Any], site: object) -> str:
    """`` (style glite, grid_resource batch slurm)`` for a site the record describes."""
    style = (record.get("sites") or {}).get(site)
    if not isinstance(style, Mapping) or not style:
        return ""
    # plan.json sorts keys; the style reads first
    keys = sorted(style, key=lambda k: (k != "style", k))
    return " (" + ", ".join(f"{k} {style[k]}" for k in keys) + ")"


def node_lines(record: Mapping[str, Any], wanted: str) -> Iterator[str]:
    match, by_job = _find_node(record["nodes"], wanted)
    sub = _subworkflow(record, wanted) if match is None else None
    if sub is not None:
        yield from _subworkflow_lines(record, sub)
        return
    if match is None and by_job is not None:
        yield f"job {wanted} runs in node {by_job['name']}"
        match = by_job
    if match is None:
        yield _pruned_line(record, wanted)
        return
    yield from _node_detail_lines(record, match)


def _pruned_line(record: Mapping[str, Any], wanted: str) -> str:
    """Why job ``wanted`` has no node, or the error that no such node or job exists."""
    from planner.errors import PlannerError

    pruned = {p.get("job"): p.get("reason") for p in record.get("pruned") or []}
    if wanted in pruned:
        return f"job {wanted} was pruned: {pruned[wanted]}"
    raise PlannerError(
        f"no node or job named {wanted!r} in this plan", source=record.get("_source")
    )


def _node_detail_lines(record: Mapping[str, Any], n: Mapping[str, Any]) -> Iterator[str]:
    yield f"node {n['name']}"
    yield f"  kind: {n.get('kind')}"
    yield f"  site: {n.get('site')}{_style_text(record, n.get('site'))}"
    yield f"  level: {n.get('level')}"
    for key, label in _OPTIONAL_FIELDS:
        if n.get(key):
            yield f"  {label}: {n[key]}"
    if n.get("jobs"):
        yield f"  jobs: {', '.join(n['jobs'])}"
    for t in n.get("tasks") or []:
        runtime = f" ({t['runtime']} s)" if t.get("runtime") is not None else ""
        args = " ".join(t.get("arguments") or [])
        yield f"  task {t.get('job')}: {t.get('executable')} {args}{runtime}".rstrip()
    if n.get("runtime") is not None:
        yield f"  runtime: {n['runtime']} s"
    yield from _file_lines(n)
    yield from _relatives_lines(n)
    if n.get("submit"):
        yield f"  submit file: {n['submit']}"
    decisions = _decisions(record, n)
    for job in n.get("jobs") or []:
        for why in decisions.get(job, []):
            yield f"  why {job}: {why}"
    for why in n.get("reasons") or []:
        yield f"  why: {why}"


# a node's fields shown only when set: (record key, label)
_OPTIONAL_FIELDS = (
    ("transformation", "transformation"),
    ("staging_site", "staging site"),
    ("data_configuration", "data configuration"),
)


def _file_lines(n: Mapping[str, Any]) -> Iterator[str]:
    for label in ("files", "inputs", "outputs"):
        entries = n.get(label) or []
        if entries:
            yield f"  {label}:"
            for f in entries:
                size = f" ({f['size']} bytes)" if f.get("size") is not None else ""
                yield f"    {_pair_text(f)}{size}"


def _relatives_lines(entry: Mapping[str, Any]) -> Iterator[str]:
    """A node's (or a sub-workflow's) parents and children, ``-`` for none."""
    yield f"  parents: {', '.join(entry.get('parents') or []) or '-'}"
    yield f"  children: {', '.join(entry.get('children') or []) or '-'}"


def _find_node(
    nodes: Iterable[Mapping[str, Any]], wanted: str
) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """The node named ``wanted`` (reading no further once found), else None and the first
    node that runs a job of that id."""
    by_job = None
    for n in nodes:
        if n.get("name") == wanted:
            return n, None
        if by_job is None and wanted in (n.get("jobs") or []):
            by_job = n
    return None, by_job
