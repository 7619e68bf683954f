"""DAX XML workflows (read-only): DAX 3.x and the DAX 2.1 of Montage's mDAG and the gallery.

3.x: ``<job id name namespace version node-label>`` with ``<argument>`` (embedded
``<file name=.../>``), ``<uses name|file link transfer register optional size>``,
``<profile namespace key>``, ``<stdin|stdout|stderr name=...>``; ``<child ref><parent
ref/></child>``; top-level ``<file>``/``<executable>`` entries become the workflow's inline
replica and transformation catalogs. 2.1: ``<filename file link>`` and ``<uses file=...>``;
a job's ``runtime`` attribute becomes the profile ``pegasus.runtime``.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from catalogs.replica import PFN, Replica, ReplicaCatalog
from catalogs.transformation import (
    Transformation,
    TransformationCatalog,
    TransformationSite,
    TransformationType,
)
from planner.errors import FormatError, UnknownProfileNamespace
from planner.formats._shape import (
    LINKS,
    NAMESPACES,
    as_bool,
    as_size,
)
from planner.model.base import Namespace
from planner.model.workflow import Job, LinkType, SubWorkflow, SubWorkflowKind, Use, Workflow


def load(path: str | os.PathLike[str]) -> Workflow:
    """Read a DAX file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FormatError(
            f"cannot read workflow: {exc.strerror or exc}", source=str(path)
        ) from None
    return _parse(data, str(path))


def loads(text: str | bytes, source: str | None = None) -> Workflow:
    """Parse DAX text; ``source`` names it in error messages."""
    return _parse(text.encode("utf-8") if isinstance(text, str) else text, source)


def _tag(element: ET.Element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _parse(data: bytes, source: str | None) -> Workflow:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        raise FormatError(
            f"malformed XML at line {line}, column {column + 1}: {reason}", source=source
        ) from None
    workflow = from_element(root, source)
    del root  # freed before the collector is back on (see pegasus_yaml.loads)
    return workflow


def from_element(root: ET.Element, source: str | None = None) -> Workflow:
    """Build a Workflow from an already-parsed ``<adag>`` element."""
    if _tag(root) != "adag":
        raise FormatError(
            f"not a DAX: the root element is <{_tag(root)}>, not <adag>", source=source
        )
    name = root.get("name") or (Path(source).stem if source else "workflow")
    jobs: list[Job] = []
    subs: list[SubWorkflow] = []
    edges: list[tuple[str, str]] = []
    replicas: list[Replica] = []
    transformations: list[Transformation] = []
    metadata: dict[str, str] = {}
    fast = _FastJobs().job
    tags: dict[object, str] = {}
    for element in root:
        tag = tags.get(element.tag)
        if tag is None:
            tag = tags[element.tag] = _tag(element)
        if tag == "job":
            jobs.append(fast(element) or _job(len(jobs), element, source))
        elif tag == "child":
            edges.extend(_child(element, source))
        elif tag in ("dag", "dax"):
            subs.append(_subworkflow(tag, len(jobs) + len(subs), element, source))
        elif tag == "file":
            replica = _replica(element, source)
            if replica is not None:
                replicas.append(replica)
        elif tag == "executable":
            transformations.append(_executable(element, source))
        elif tag == "metadata" and element.get("key"):
            metadata[element.get("key", "")] = (element.text or "").strip()
        # <filename> (2.1 file list), <transformation>, <invoke>: nothing to plan from
    if not jobs and not subs:
        raise FormatError("workflow has no jobs", source=source)
    sub_ids = {sub.id for sub in subs}
    sub_edges = tuple(e for e in edges if e[0] in sub_ids or e[1] in sub_ids)
    if sub_edges:
        edges = [e for e in edges if e[0] not in sub_ids and e[1] not in sub_ids]
    return Workflow(
        name=name,
        jobs=tuple(jobs),
        dependencies=tuple(edges),
        subworkflows=tuple(subs),
        subworkflow_edges=sub_edges,
        replica_catalog=ReplicaCatalog(replicas=tuple(replicas), source=source)
        if replicas
        else None,
        transformation_catalog=(
            TransformationCatalog(transformations=tuple(transformations), source=source)
            if transformations
            else None
        ),
        site_catalog=None,
        metadata=metadata,
        source=source,
    )


_SKIP = object()  # a <uses> of the executable itself: not a file the job reads


class _FastJobs:
    """Builds the ``<job>`` elements whose every part has the plain shape (known child
    elements, ``<file>`` names without blanks in arguments, ``<uses>`` with a known link,
    a decimal size and true/false flags, profiles in known namespaces); :meth:`job`
    returns None for anything else, which :func:`_job` then reads or refuses with a
    message naming the job. Equal ``<uses>`` and equal profiles are built once and shared
    between jobs."""

    __slots__ = ("_profiles", "_tags", "_uses")

    def __init__(self) -> None:
        self._tags: dict[str, str] = {}
        self._uses: dict[tuple[tuple[str, str], ...], object] = {}
        self._profiles: dict[tuple[str, ...], dict[Namespace, dict[str, str]]] = {}

    def _tag(self, element: ET.Element) -> str:
        tag = element.tag
        local = self._tags.get(tag)
        if local is None:
            local = self._tags[tag] = _tag(element)
        return local

    def job(self, element: ET.Element) -> Job | None:
        job_id = element.get("id")
        name = element.get("name")
        if not job_id or not name:
            return None
        arguments: tuple[str, ...] = ()
        uses: list[Use] = []
        triples: list[str] = []
        runtime = element.get("runtime")
        if runtime is not None:
            triples += ("pegasus", "runtime", runtime)
        stdin = stdout = stderr = None
        use_cache = self._uses
        tags = self._tags
        for child in element:
            tag = tags.get(child.tag) or self._tag(child)
            if tag == "uses":
                key = tuple(child.attrib.items())
                use = use_cache.get(key)
                if use is None:
                    use = use_cache[key] = _plain_use(child)
                    if use is None:
                        return None
                if use is not _SKIP:
                    uses.append(use)  # type: ignore[arg-type]
            elif tag == "argument":
                words = _plain_arguments(child, self._tag)
                if words is None:
                    return None
                arguments = words
            elif tag == "profile":
                ns_name = child.get("namespace") or ""
                key_name = child.get("key")
                if ns_name.lower() not in NAMESPACES or not key_name:
                    return None
                triples += (ns_name, key_name, (child.text or "").strip())
            elif tag == "stdin" or tag == "stdout" or tag == "stderr":
                lfn = child.get("name") or child.get("file")
                if not lfn:
                    return None
                if tag == "stdin":
                    stdin = lfn
                elif tag == "stdout":
                    stdout = lfn
                else:
                    stderr = lfn
        if triples:
            pkey = tuple(triples)
            profiles = self._profiles.get(pkey)
            if profiles is None:
                profiles = self._profiles[pkey] = {}
                for i in range(0, len(pkey), 3):
                    ns = NAMESPACES[pkey[i].lower()]
                    profiles.setdefault(ns, {})[pkey[i + 1]] = pkey[i + 2]
        else:
            profiles = {}
        return Job(
            id=job_id,
            name=name,
            namespace=element.get("namespace"),
            version=element.get("version"),
            node_label=element.get("node-label"),
            arguments=arguments,
            uses=tuple(uses),
            profiles=profiles,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
        )


_PLAIN_FLAGS = {"true": True, "false": False}


def _plain_use(element: ET.Element) -> object | None:
    """The Use of a plain ``<uses>`` (or _SKIP for the executable itself), else None."""
    get = element.get
    if get("type") == "executable" or get("executable") == "true":
        return _SKIP
    lfn = get("name") or get("file")
    link = LINKS.get((get("link") or "").lower())
    size = get("size")
    raw_register = get("register")
    raw_optional = get("optional")
    register = True if raw_register is None else _PLAIN_FLAGS.get(raw_register.lower())
    optional = False if raw_optional is None else _PLAIN_FLAGS.get(raw_optional.lower())
    if (
        not lfn
        or link is None
        or register is None
        or optional is None
        # up to 15 digits a float holds the number exactly, as the checked path reads it
        or (size is not None and not (size.isascii() and size.isdigit() and len(size) <= 15))
    ):
        return None
    transfer = get("transfer")
    return Use(
        lfn,
        link,
        stage_out=transfer is None or transfer.lower() != "false",
        register_replica=register,
        optional=optional,
        size=None if size is None else int(size),
    )


def _plain_arguments(
    element: ET.Element, tag_of: Callable[[ET.Element], str]
) -> tuple[str, ...] | None:
    """The words of an ``<argument>`` whose ``<file>`` names hold no blanks: then gluing
    each name to the text around it and splitting on whitespace is what
    :func:`_arguments` does word by word. None for anything else."""
    parts = [element.text or ""]
    for child in element:
        lfn = child.get("name") or child.get("file")
        if not lfn or tag_of(child) not in ("file", "filename") or lfn.split() != [lfn]:
            return None
        parts.append(lfn)
        parts.append(child.tail or "")
    return tuple("".join(parts).split())


def _job(index: int, element: ET.Element, source: str | None) -> Job:
    """One job, every part checked: a problem is one FormatError naming the job."""
    job_id = element.get("id")
    where = f"job {index + 1}" + (f" (id {job_id!r})" if job_id else "")
    if not job_id:
        raise FormatError(f"{where}: <job> has no id", source=source)
    name = element.get("name")
    if not name:
        raise FormatError(f"{where}: <job> has no name", source=source)
    arguments: tuple[str, ...] = ()
    uses: list[Use] = []
    profiles: dict[Namespace, dict[str, str]] = {}
    streams: dict[str, str | None] = {"stdin": None, "stdout": None, "stderr": None}
    runtime = element.get("runtime")
    if runtime is not None:
        profiles[Namespace.PEGASUS] = {"runtime": runtime}
    for k, child in enumerate(element):
        tag = _tag(child)
        if tag == "argument":
            arguments = _arguments(child, where, source)
        elif tag == "uses":
            use = _use(child, f"{where}: <uses> {k + 1}", source)
            if use is not None:
                uses.append(use)
        elif tag == "profile":
            _profile(child, profiles, where, source)
        elif tag in streams:
            lfn = child.get("name") or child.get("file")
            if not lfn:
                raise FormatError(f"{where}: <{tag}> has no name", source=source)
            streams[tag] = lfn
    return Job(
        id=job_id,
        name=name,
        namespace=element.get("namespace"),
        version=element.get("version"),
        node_label=element.get("node-label"),
        arguments=arguments,
        uses=tuple(uses),
        profiles=profiles,
        stdin=streams["stdin"],
        stdout=streams["stdout"],
        stderr=streams["stderr"],
    )


def _subworkflow(tag: str, index: int, element: ET.Element, source: str | None) -> SubWorkflow:
    """DAX 3's ``<dax id file>`` (a workflow to plan) or ``<dag id file>`` (a DAGMan
    file), with ``<argument>`` (pegasus-plan's arguments), ``<uses>`` and ``<profile>``."""
    job_id = element.get("id")
    where = f"job {index + 1}" + (f" (id {job_id!r})" if job_id else "")
    if not job_id:
        raise FormatError(f"{where}: <{tag}> has no id", source=source)
    file = element.get("file") or element.get("name")
    if not file:
        raise FormatError(f"{where}: <{tag}> has no file", source=source)
    arguments: tuple[str, ...] = ()
    uses: list[Use] = []
    profiles: dict[Namespace, dict[str, str]] = {}
    for k, child in enumerate(element):
        kind = _tag(child)
        if kind == "argument":
            arguments = _arguments(child, where, source)
        elif kind == "uses":
            use = _use(child, f"{where}: <uses> {k + 1}", source)
            if use is not None and use.lfn != file:
                uses.append(use)
        elif kind == "profile":
            _profile(child, profiles, where, source)
    return SubWorkflow(
        id=job_id,
        kind=SubWorkflowKind.PEGASUS if tag == "dax" else SubWorkflowKind.CONDOR,
        file=file,
        arguments=arguments,
        uses=tuple(uses),
        profiles=profiles,
        node_label=element.get("node-label"),
    )


def _arguments(element: ET.Element, where: str, source: str | None) -> tuple[str, ...]:
    """Split the text on whitespace; a ``<file>`` is its LFN, glued to adjacent text when
    no whitespace separates them (``-o<file name="x"/>`` is the one word ``-ox``)."""
    words: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            words.append("".join(current))
            current.clear()

    def feed(text: str | None) -> None:
        if not text:
            return
        if text[0].isspace():
            flush()
        for i, part in enumerate(text.split()):
            if i:
                flush()
            current.append(part)
        if text[-1].isspace():
            flush()

    feed(element.text)
    for child in element:
        lfn = child.get("name") or child.get("file")
        if _tag(child) not in ("file", "filename") or not lfn:
            raise FormatError(
                f"{where}: <argument> holds <{_tag(child)}> without a file name", source=source
            )
        current.append(lfn)
        feed(child.tail)
    flush()
    return tuple(words)


def _use(element: ET.Element, where: str, source: str | None) -> Use | None:
    if element.get("type") == "executable" or element.get("executable") == "true":
        return None  # the program itself, found through the transformation catalog
    lfn = element.get("name") or element.get("file")
    if not lfn:
        raise FormatError(f"{where} has no file name", source=source)
    link = LINKS.get((element.get("link") or "").lower())
    if link is None:
        raise FormatError(
            f"{where} (file {lfn!r}): link must be one of {', '.join(LINKS)}, "
            f"got {element.get('link')!r}",
            source=source,
        )
    transfer = element.get("transfer")
    size = element.get("size")
    register = element.get("register")
    optional = element.get("optional")
    return Use(
        lfn,
        link,
        stage_out=transfer is None or transfer.lower() != "false",
        register_replica=True
        if register is None
        else as_bool(register, f"{where} (file {lfn!r}): register", source),
        optional=False
        if optional is None
        else as_bool(optional, f"{where} (file {lfn!r}): optional", source),
        size=None if size is None else as_size(size, f"{where} (file {lfn!r})", source),
    )


def _profile(
    element: ET.Element, profiles: dict[Namespace, dict[str, str]], where: str, source: str | None
) -> None:
    ns_name = element.get("namespace") or ""
    key = element.get("key")
    ns = NAMESPACES.get(ns_name.lower())
    if ns is None:
        raise UnknownProfileNamespace(
            f"{where}: unknown profile namespace {ns_name!r} (known: {', '.join(NAMESPACES)})",
            source=source,
        )
    if not key:
        raise FormatError(f"{where}: <profile namespace={ns_name!r}> has no key", source=source)
    profiles.setdefault(ns, {})[key] = (element.text or "").strip()


def _child(element: ET.Element, source: str | None) -> list[tuple[str, str]]:
    child = element.get("ref")
    if not child:
        raise FormatError("<child> has no ref", source=source)
    edges = []
    for parent in element:
        if _tag(parent) != "parent":
            continue
        ref = parent.get("ref")
        if not ref:
            raise FormatError(f"<child ref={child!r}>: <parent> has no ref", source=source)
        edges.append((ref, child))
    return edges


def _pfns(element: ET.Element, where: str, source: str | None) -> list[tuple[str, str]]:
    found = []
    for pfn in element:
        if _tag(pfn) != "pfn":
            continue
        url = pfn.get("url")
        if not url:
            raise FormatError(f"{where}: <pfn> has no url", source=source)
        found.append((url, pfn.get("site") or "local"))
    return found


def _replica(element: ET.Element, source: str | None) -> Replica | None:
    lfn = element.get("name")
    if not lfn:
        raise FormatError("<file> has no name", source=source)
    pfns = _pfns(element, f"<file name={lfn!r}>", source)
    if not pfns:
        return None
    return Replica(lfn=lfn, pfns=tuple(PFN(url=u, site=s) for u, s in pfns))


def _executable(element: ET.Element, source: str | None) -> Transformation:
    name = element.get("name")
    if not name:
        raise FormatError("<executable> has no name", source=source)
    where = f"<executable name={name!r}>"
    installed = element.get("installed")
    kind = (
        TransformationType.STAGEABLE
        if installed is not None and not as_bool(installed, f"{where}: installed", source)
        else TransformationType.INSTALLED
    )
    sites = tuple(
        TransformationSite(
            name=site, pfn=url, type=kind, arch=element.get("arch"), os_type=element.get("os")
        )
        for url, site in _pfns(element, where, source)
    )
    return Transformation(
        namespace=element.get("namespace"), name=name, version=element.get("version"), sites=sites
    )


__all__ = ["LinkType", "load", "loads"]
