"""Validation: every problem a workflow (and its catalogs) has, reported at once.

``validate`` raises :class:`Problems` holding one error per problem, each one line that
names the offender, in a fixed order (ids, dependencies, files, cycles, names, arguments,
profiles, then the catalogs). Linear in the size of the workflow: it runs on 10^6 jobs.
Long lists inside one line are cut after a few names (``... and 91 more``), and each kind
of problem is reported for at most :data:`MAX_LINES` offenders plus a summary line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import chain
from operator import attrgetter, methodcaller

from catalogs.errors import WfplanError
from catalogs.replica import ReplicaCatalog
from catalogs.transformation import TransformationCatalog, TransformationType
from planner.errors import (
    CycleError,
    DuplicateJobId,
    DuplicateProducer,
    MissingReplica,
    Problems,
    TooLongForExec,
    UnknownJob,
    UnknownProfileNamespace,
    UnknownSite,
    UnknownTransformation,
    UnsafeArgument,
    UnsafeLFN,
)
from planner.model.base import Namespace
from planner.model.graph import JobGraph, build_job_graph
from planner.model.workflow import Job, LinkType, Workflow
from sites.defaults import CONDORPOOL, LOCAL
from sites.model import SiteCatalog

MAX_LINES = 50  # per kind of problem; the rest is summarised in one more line
MAX_NAMES = 8  # names listed inside one line

# What Linux's execve accepts (fs/exec.c): one argument or environment string of at most
# MAX_ARG_STRLEN bytes with its NUL; all of them, with a pointer each, within ARG_MAX (a
# quarter of the stack limit: 2 MiB under the usual 8 MiB, what sysconf(_SC_ARG_MAX)
# reports). A constant, not the planning host's sysconf: the job runs on another machine,
# and the same workflow must plan the same everywhere. HTCondor and DAGMan themselves take
# lines of any length (the htcondor bindings accept a 1 MiB arguments line).
MAX_ARG_STRLEN = 131_072
ARG_MAX = 2 * 1024 * 1024
POINTER_BYTES = 8
# Kept for what the job inherits besides its own env profiles: HTCondor's _CONDOR_*
# variables, the site's and the transformation's env profiles, the executable's path.
EXEC_RESERVE = 32 * 1024
# A job whose arguments joined by spaces are shorter than this passes both limits even if
# every character took 4 bytes and every argument were empty (13 bytes a character at worst).
_SHORT_COMMAND = MAX_ARG_STRLEN // 4
assert 13 * _SHORT_COMMAND + 13 < ARG_MAX - EXEC_RESERVE

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SUSPECT = re.compile(r"[\x00-\x1f\x7f;|&<>`]|\$\(")
_SHELL = re.compile(r"[;|&<>]")
_SUBSTITUTION = re.compile(r"`|\$\(")
_SEQUENCE = re.compile(r";|&")
_SPACE = re.compile(r"\s")
# Matches every name lfn_problem refuses (and a few it accepts, such as "a..b"): empty or
# blank, a control character, absolute, or any "..".
_USES = attrgetter("uses")
_LFN = attrgetter("lfn")
_STDIO = attrgetter("stdin", "stdout", "stderr")
_ARGUMENTS = attrgetter("arguments")
_PROFILES = attrgetter("profiles")
_TX_KEY = attrgetter("namespace", "name", "version")
_ENV_PROFILE = methodcaller("get", Namespace.ENV)
_MAYBE_UNSAFE_LFN = re.compile(r"\A\s*\Z|[\x00-\x1f\x7f]|\A/|\.\.")


def names(items: Sequence[str], limit: int = MAX_NAMES) -> str:
    """``a, b, c`` with at most ``limit`` names and ``... and N more``."""
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} ... and {len(items) - limit} more"


def validate(
    workflow: Workflow,
    *,
    replicas: ReplicaCatalog | None = None,
    transformations: TransformationCatalog | None = None,
    graph: JobGraph | None = None,
    sites: SiteCatalog | None = None,
) -> None:
    """Check ``workflow``; raise :class:`Problems` listing every problem found.

    Replicas are checked only when a replica catalog is given, transformations only when a
    transformation catalog is given, and their sites when a site catalog is given too.
    ``graph`` is ``build_job_graph(workflow)`` when the caller has it already.
    """
    src = workflow.source
    found: list[WfplanError] = []
    ids = {job.id for job in workflow.jobs}
    if len(ids) != len(workflow.jobs):
        found += _capped(_duplicate_ids(workflow.jobs, src), "duplicate job ids")
    found += _capped(_unknown_jobs(workflow.dependencies, ids, src), "unknown job references")
    graph = graph or build_job_graph(workflow)
    found += _graph_problems(workflow, graph, ids)
    found += _capped(_unsafe_lfns(workflow.jobs, src), "unsafe LFNs")
    found += _capped(_unsafe_arguments(workflow.jobs, src), "unsafe arguments")
    found += _capped(_too_long_for_exec(workflow.jobs, src), "jobs too long to start")
    found += _capped(_unknown_namespaces(workflow.jobs, src), "unknown profile namespaces")
    found += _catalog_problems(workflow, graph, replicas, transformations, sites)
    if found:
        raise Problems(found)


def _graph_problems(workflow: Workflow, graph: JobGraph, ids: set[str]) -> list[WfplanError]:
    """Files with several producers, then cycles."""
    src = workflow.source
    found: list[WfplanError] = []
    if graph.rewritten:
        writers = _writers(workflow.jobs, set(graph.rewritten))
        found += _capped(_duplicate_producers(writers, src), "files with several producers")
    found += _capped(_self_loops(workflow, ids, src), "cycles")
    found += _capped(_cycles(workflow, graph, src), "cycles")
    return found


def _catalog_problems(
    workflow: Workflow,
    graph: JobGraph,
    replicas: ReplicaCatalog | None,
    transformations: TransformationCatalog | None,
    sites: SiteCatalog | None,
) -> list[WfplanError]:
    src = workflow.source
    found: list[WfplanError] = []
    if transformations is not None:
        found += _capped(
            _unknown_transformations(workflow.jobs, transformations, src),
            "unknown transformations",
        )
        if sites is not None:
            found += _capped(
                _unknown_sites(workflow.jobs, transformations, sites, src),
                "transformations installed only at unknown sites",
            )
    if replicas is not None:
        found += _capped(
            _missing_replicas(workflow.jobs, graph, replicas, src),
            "LFNs without a replica",
        )
    return found


def _capped(problems: Iterable[WfplanError], what: str) -> list[WfplanError]:
    out: list[WfplanError] = []
    extra = 0
    last: WfplanError | None = None
    for problem in problems:
        if len(out) < MAX_LINES:
            out.append(problem)
        else:
            extra += 1
            last = problem
    if extra and last is not None:
        out.append(type(last)(f"... and {extra} more {what}", source=last.source))
    return out


def _duplicate_ids(jobs: Sequence[Job], src: str | None) -> Iterable[WfplanError]:
    positions: dict[str, list[int]] = {}
    for index, job in enumerate(jobs):
        positions.setdefault(job.id, []).append(index + 1)
    for job_id, where in positions.items():
        if len(where) > 1:
            listed = names([str(i) for i in where])
            yield DuplicateJobId(f"duplicate job id {job_id!r} (jobs {listed})", source=src)


def _unknown_jobs(
    edges: Sequence[tuple[str, str]], ids: set[str], src: str | None
) -> Iterable[WfplanError]:
    unknown: dict[str, list[str]] = {}
    for parent, child in edges:
        for ref in (parent, child):
            if ref not in ids:
                unknown.setdefault(ref, []).append(f"{parent} -> {child}")
    for ref, where in unknown.items():
        yield UnknownJob(f"dependency names unknown job {ref!r} (in {names(where, 3)})", source=src)


def _writers(jobs: Sequence[Job], lfns: set[str]) -> dict[str, list[str]]:
    """The jobs that write each of ``lfns`` as ``output`` or ``checkpoint``, in job order."""
    writers: dict[str, list[str]] = {}
    output, checkpoint = LinkType.OUTPUT, LinkType.CHECKPOINT
    for job in jobs:
        job_id = job.id
        for use in job.uses:
            link = use.link
            if (link is output or link is checkpoint) and use.lfn in lfns:
                ws = writers.get(use.lfn)
                if ws is None:
                    writers[use.lfn] = [job_id]
                elif ws[-1] != job_id:
                    ws.append(job_id)
    return writers


def _duplicate_producers(writers: dict[str, list[str]], src: str | None) -> Iterable[WfplanError]:
    """One line per set of jobs that write the same files (Montage_25.xml: one line naming
    diff.txt and fit.txt and the nine mDiffFit jobs that all write them)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for lfn, jobs in writers.items():
        distinct = tuple(dict.fromkeys(jobs))
        if len(distinct) > 1:
            groups.setdefault(distinct, []).append(lfn)
    for group, lfns in groups.items():
        files = names([repr(f) for f in sorted(lfns)])
        what = f"file {files} is" if len(lfns) == 1 else f"files {files} are each"
        yield DuplicateProducer(
            f"{what} written by {len(group)} jobs ({names(list(group))}); "
            "a planner cannot tell which one to stage",
            source=src,
        )


def _self_loops(workflow: Workflow, ids: set[str], src: str | None) -> Iterable[WfplanError]:
    for parent, child in workflow.dependencies:
        if parent == child and parent in ids:
            yield CycleError(f"cycle: {parent} -> {parent}", source=src)


def _cycles(workflow: Workflow, graph: JobGraph, src: str | None) -> Iterable[WfplanError]:
    """Only the jobs the graph's generations never reached (those on or behind a cycle)
    go to networkx to name each cycle."""
    if not graph.cyclic:
        return
    import networkx as nx

    succ = graph.succ
    left = set(graph.cyclic)
    cyclic: nx.DiGraph = nx.DiGraph()
    cyclic.add_edges_from((p, c) for p in left for c in succ[p] if c in left)
    order = {job.id: i for i, job in enumerate(workflow.jobs)}
    components = [c for c in nx.strongly_connected_components(cyclic) if len(c) > 1]
    components.sort(key=lambda comp: min(order[j] for j in comp))
    for component in components:
        start = min(component, key=order.__getitem__)
        cycle = nx.find_cycle(cyclic.subgraph(component), source=start)
        path = [edge[0] for edge in cycle] + [cycle[0][0]]
        yield CycleError(f"cycle: {' -> '.join(path)}", source=src)


def lfn_problem(lfn: str) -> str | None:
    """Why ``lfn`` is unsafe as a path below a job's working directory, or None."""
    if lfn == "" or lfn.strip() == "":
        return "is empty"
    if _CONTROL.search(lfn):
        return "contains a control character or a newline"
    if lfn.startswith("/"):
        return "is absolute"
    if ".." in lfn.split("/"):
        return "has a '..' path component"
    return None


def _unsafe_lfns(jobs: Sequence[Job], src: str | None) -> Iterable[WfplanError]:
    # Every distinct name checked once by one regex; the jobs are walked again (in order,
    # to name each offender's first user) only when some name is bad.
    # (map/chain/fromkeys iterate in C: at 10^5 jobs a comprehension cost a tenth of a second)
    distinct: dict[str | None, None] = dict.fromkeys(
        map(_LFN, chain.from_iterable(map(_USES, jobs)))
    )
    distinct.update(dict.fromkeys(chain.from_iterable(map(_STDIO, jobs))))
    distinct.pop(None, None)
    names: Iterable[str] = distinct  # type: ignore[assignment]  # None was just removed
    if not any(map(_MAYBE_UNSAFE_LFN.search, names)):
        return
    checked: set[str] = set()
    for job in jobs:
        lfns = [u.lfn for u in job.uses]
        lfns += [s for s in (job.stdin, job.stdout, job.stderr) if s is not None]
        for lfn in lfns:
            if lfn in checked:
                continue
            checked.add(lfn)
            why = lfn_problem(lfn)
            if why is not None:
                yield UnsafeLFN(f"LFN {lfn!r} (job {job.id}) {why}", source=src)


def argument_problem(word: str, files: set[str] | frozenset[str] = frozenset()) -> str | None:
    """Why an argument word is unsafe, or None.

    Control characters and newlines are never allowed (they break the one-line
    ``arguments`` of a submit file). Command substitution (backtick, ``$(``) and command
    sequencing (``;``, ``&``) are refused wherever they stand (``f.in; rm -rf /``).
    ``| < >`` are refused in a word without whitespace, since such a word only makes
    sense to a shell (``>out``, ``a|b``) and no shell runs the job; a word with spaces is
    one argv word handed to the program as is (soykb's ``QD < 2.0 || FS > 60.0``). A word
    that is exactly one of the job's files is always allowed.
    """
    if not _SUSPECT.search(word) or word in files:
        return None
    if _CONTROL.search(word):
        return "contains a control character or a newline"
    if _SUBSTITUTION.search(word):
        return "contains shell command substitution (` or $()"
    if _SEQUENCE.search(word):
        return "contains a shell command separator (; or &)"
    if _SHELL.search(word) and not _SPACE.search(word):
        return "contains a shell metacharacter (| < >)"
    return None


def _unsafe_arguments(jobs: Sequence[Job], src: str | None) -> Iterable[WfplanError]:
    # One search over every argument at once decides the usual all-clean case (a space
    # between words cannot make a match: the pattern has no whitespace in it).
    if not _SUSPECT.search(" ".join(chain.from_iterable(map(_ARGUMENTS, jobs)))):
        return
    for job in jobs:
        if not job.arguments or not _SUSPECT.search(" ".join(job.arguments)):
            continue
        files = {u.lfn for u in job.uses}
        for k, word in enumerate(job.arguments):
            why = argument_problem(word, files)
            if why is not None:
                yield UnsafeArgument(f"job {job.id}: argument {k + 1} {word!r} {why}", source=src)


def _too_long_for_exec(jobs: Sequence[Job], src: str | None) -> Iterable[WfplanError]:
    # The usual case, decided in C: every job's arguments are short and no job has env
    # profiles (about 0.15 s at 10^6 jobs).
    longest = max(map(len, map(" ".join, map(_ARGUMENTS, jobs))), default=0)
    any_env = any(map(_ENV_PROFILE, map(_PROFILES, jobs)))
    if longest < _SHORT_COMMAND and not any_env:
        return
    for job in jobs:
        if len(" ".join(job.arguments)) >= _SHORT_COMMAND or job.profiles.get(Namespace.ENV):
            yield from _exec_problems(job, src)


def _exec_problems(job: Job, src: str | None) -> Iterable[WfplanError]:
    total = 0
    strings = [(f"argument {k}", word) for k, word in enumerate(job.arguments, start=1)]
    env = job.profiles.get(Namespace.ENV) or {}
    strings += [(f"env profile {key}", f"{key}={value}") for key, value in env.items()]
    for what, text in strings:
        size = len(text.encode("utf-8", "surrogatepass")) + 1
        total += size + POINTER_BYTES
        if size > MAX_ARG_STRLEN:
            yield TooLongForExec(
                f"job {job.id}: {what} is {size - 1:,} bytes; Linux starts no program with "
                f"an argument or environment string over {MAX_ARG_STRLEN - 1:,} bytes "
                "(MAX_ARG_STRLEN)",
                source=src,
            )
    if total > ARG_MAX - EXEC_RESERVE:
        yield TooLongForExec(
            f"job {job.id}: its arguments and env profiles take {total:,} bytes; Linux starts "
            f"no program whose arguments and environment pass {ARG_MAX:,} bytes (ARG_MAX), "
            f"and {EXEC_RESERVE:,} of them are kept for what HTCondor and the site add",
            source=src,
        )


def _unknown_namespaces(jobs: Sequence[Job], src: str | None) -> Iterable[WfplanError]:
    used = set(chain.from_iterable(map(_PROFILES, jobs)))
    if all(isinstance(ns, Namespace) for ns in used):
        return
    known = ", ".join(ns.value for ns in Namespace)
    for job in jobs:
        for ns in job.profiles:
            if not isinstance(ns, Namespace):
                yield UnknownProfileNamespace(
                    f"job {job.id}: unknown profile namespace {ns!r} (known: {known})",
                    source=src,
                )


def _catalog_name(source: str | None, kind: str) -> str:
    return source if source else f"the inline {kind} catalog"


def _unknown_transformations(
    jobs: Sequence[Job], catalog: TransformationCatalog, src: str | None
) -> Iterable[WfplanError]:
    missing: dict[str, list[str]] = {}
    known: dict[tuple[str | None, str, str | None], bool] = {}
    for job in jobs:
        key = (job.namespace, job.name, job.version)
        ok = known.get(key)
        if ok is None:
            ok = known[key] = catalog.lookup(*key) is not None
        if not ok:
            missing.setdefault(job.transformation, []).append(job.id)
    searched = _catalog_name(catalog.source, "transformation")
    for tx, job_ids in missing.items():
        label = "job" if len(job_ids) == 1 else "jobs"
        yield UnknownTransformation(
            f"unknown transformation {tx!r} (needed by {label} {names(job_ids)}); "
            f"searched {searched}",
            source=src,
        )


def _site_catalog_name(sc: SiteCatalog) -> str:
    if sc.source:
        return sc.source
    if set(sc.names) - {LOCAL, CONDORPOOL}:
        return "the inline site catalog"
    return "the site catalog (none given: only local and condorpool)"


def _unknown_sites(
    jobs: Sequence[Job], tc: TransformationCatalog, sc: SiteCatalog, src: str | None
) -> Iterable[WfplanError]:
    """A transformation whose every TC entry is installed at a site the site catalog lacks
    can run nowhere (a stageable entry can go to any site)."""
    defined = {*sc.names, LOCAL, CONDORPOOL}
    for key in dict.fromkeys(map(_TX_KEY, jobs)):  # each transformation once, in C
        tx = tc.lookup(*key)
        if tx is None or not tx.sites:
            continue
        if any(e.type == TransformationType.STAGEABLE for e in tx.sites):
            continue
        at = sorted({e.name for e in tx.sites})
        if defined.isdisjoint(at):
            job_ids = [job.id for job in jobs if _TX_KEY(job) == key]
            label = "job" if len(job_ids) == 1 else "jobs"
            where = f"site {at[0]}" if len(at) == 1 else f"sites {names(at)}"
            yield UnknownSite(
                f"transformation {tx.key!r} (needed by {label} {names(job_ids)}) is installed "
                f"only at {where}, which {_site_catalog_name(sc)} does not define "
                f"(in {_catalog_name(tc.source, 'transformation')})",
                source=src,
            )


def _missing_replicas(
    jobs: Sequence[Job], graph: JobGraph, catalog: ReplicaCatalog, src: str | None
) -> Iterable[WfplanError]:
    missing = [lfn for lfn in graph.workflow_inputs() if not catalog.has(lfn)]
    if not missing:
        return
    # Rare: which of them some job needs for real (an optional input may be absent).
    wanted = set(missing)
    required: set[str] = set()
    for job in jobs:
        for use in job.uses:
            if use.lfn in wanted and use.is_input and not use.optional:
                required.add(use.lfn)
    searched = _catalog_name(catalog.source, "replica")
    for lfn in missing:
        if lfn in required:
            job_ids = graph.consumers[lfn]
            label = "job" if len(job_ids) == 1 else "jobs"
            yield MissingReplica(
                f"no replica for LFN {lfn!r} (needed by {label} {names(job_ids)}) in {searched}",
                source=src,
            )
