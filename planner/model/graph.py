"""The job graph of an abstract workflow: explicit edges plus producer -> consumer edges.

Built once, in linear time, and shared by the passes. Nodes are job ids in workflow order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import networkx as nx

from planner.model.workflow import Workflow


@dataclass(frozen=True)
class JobGraph:
    """A workflow's dependency graph with the file maps the passes need.

    ``producer`` maps an LFN to the first job that writes it (``output``/``checkpoint``,
    or ``inout`` when no other job writes it); ``consumers`` maps an LFN to the jobs that
    read it; ``graph`` is a networkx DiGraph over job ids.
    """

    graph: nx.DiGraph
    producer: dict[str, str] = field(default_factory=dict)
    consumers: dict[str, list[str]] = field(default_factory=dict)

    def parents(self, job_id: str) -> Iterable[str]:
        return self.graph.predecessors(job_id)

    def children(self, job_id: str) -> Iterable[str]:
        return self.graph.successors(job_id)

    def workflow_inputs(self) -> list[str]:
        """LFNs read by some job and written by none, in first-use order."""
        return [lfn for lfn in self.consumers if lfn not in self.producer]

    def topological_order(self) -> list[str]:
        """Job ids, parents before children.

        Raises networkx.NetworkXUnfeasible on a cycle (validation reports cycles first).
        """
        return list(nx.topological_sort(self.graph))

    def levels(self, order: Sequence[str] | None = None) -> dict[str, int]:
        """Level of every job: 1 + the longest distance from a root (roots are level 1).

        ``order`` is :meth:`topological_order`, when the caller has it already.
        """
        level: dict[str, int] = {}
        pred = self.graph.pred
        for job_id in self.topological_order() if order is None else order:
            level[job_id] = 1 + max((level[p] for p in pred[job_id]), default=0)
        return level


def build_job_graph(workflow: Workflow) -> JobGraph:
    """Derive the job graph: explicit dependencies plus an edge from each file's producer
    to each job that reads it. Edges to unknown job ids are ignored here (validation
    reports them)."""
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(job.id for job in workflow.jobs)
    producer: dict[str, str] = {}
    inout_writer: dict[str, str] = {}
    consumers: dict[str, list[str]] = {}
    for job in workflow.jobs:
        for use in job.uses:
            if use.link.value in ("output", "checkpoint"):
                producer.setdefault(use.lfn, job.id)
            elif use.link.value == "inout":
                inout_writer.setdefault(use.lfn, job.id)
            if use.is_input:
                consumers.setdefault(use.lfn, []).append(job.id)
    for lfn, job_id in inout_writer.items():
        producer.setdefault(lfn, job_id)
    known = graph.nodes
    graph.add_edges_from(
        (p, c) for p, c in workflow.dependencies if p in known and c in known and p != c
    )
    for lfn, readers in consumers.items():
        src = producer.get(lfn)
        if src is not None:
            graph.add_edges_from((src, r) for r in readers if r != src)
    return JobGraph(graph=graph, producer=producer, consumers=consumers)
