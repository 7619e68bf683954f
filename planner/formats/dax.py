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
from collections.abc import Callable, Iterator, Sequence
from itertools import repeat
from pathlib import Path

from catalogs.replica import PFN, Replica, ReplicaCatalog
from catalogs.transformation import (
    Transformation,
    TransformationCatalog,
    TransformationSite,
    TransformationType,
)
from planner.errors import FormatError, UnknownProfileNamespace
from planner.formats._shape import LINKS, NAMESPACES, as_bool
from planner.formats.records import JobBuilder, JobRecord, UseRecord, Vocabulary
from planner.model.workflow import (
    Job,
    SubWorkflow,
    SubWorkflowKind,
    Use,
    Workflow,
    split_uses,
)


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


# How messages name a job's parts (the builder's checked path uses it)
VOCABULARY = Vocabulary(
    no_id=": <job> has no id", no_name="<job> has no name", arguments="<argument> word",
    use="<uses> {1}", lfn="file", no_lfn="has no file name", link="link",
    flags=("transfer", "register", "optional", "bypass"),
)  # fmt: skip


def from_element(root: ET.Element, source: str | None = None) -> Workflow:
    """Build a Workflow from an already-parsed ``<adag>`` element."""
    if _tag(root) != "adag":
        raise FormatError(
            f"not a DAX: the root element is <{_tag(root)}>, not <adag>", source=source
        )
    parts = _Parts(source)
    for element in root:
        parts.add(element)
    if not parts.jobs and not parts.subs:
        raise FormatError("workflow has no jobs", source=source)
    sub_ids = {sub.id for sub in parts.subs}
    edges = parts.edges
    sub_edges = tuple(e for e in edges if e[0] in sub_ids or e[1] in sub_ids)
    if sub_edges:
        edges = [e for e in edges if e[0] not in sub_ids and e[1] not in sub_ids]
    return Workflow(
        name=root.get("name") or (Path(source).stem if source else "workflow"),
        jobs=tuple(parts.jobs),
        dependencies=tuple(edges),
        subworkflows=tuple(parts.subs),
        subworkflow_edges=sub_edges,
        replica_catalog=ReplicaCatalog(replicas=tuple(parts.replicas), source=source)
        if parts.replicas
        else None,
        transformation_catalog=(
            TransformationCatalog(transformations=tuple(parts.transformations), source=source)
            if parts.transformations
            else None
        ),
        site_catalog=None,
        metadata=parts.metadata,
        source=source,
    )


class _Parts:
    """The top-level elements of an ``<adag>``, gathered in file order."""

    def __init__(self, source: str | None) -> None:
        self.source = source
        self.records = _Records(source)
        self.builder = JobBuilder(VOCABULARY, source)
        self.jobs: list[Job] = []
        self.subs: list[SubWorkflow] = []
        self.edges: list[tuple[str, str]] = []
        self.replicas: list[Replica] = []
        self.transformations: list[Transformation] = []
        self.metadata: dict[str, str] = {}
        self._tags: dict[object, str] = {}

    def add(self, element: ET.Element) -> None:
        tag = self._tags.get(element.tag)
        if tag is None:
            tag = self._tags[element.tag] = _tag(element)
        source = self.source
        if tag == "job":
            index = len(self.jobs)
            job = self.records.plain_job(element, self.builder)
            self.jobs.append(job or self.builder.job(self.records.job(index, element)))
        elif tag == "child":
            self.edges.extend(_child(element, source, self.records.tag))
        elif tag in ("dag", "dax"):
            index = len(self.jobs) + len(self.subs)
            self.subs.append(_subworkflow(tag, index, element, self.builder, source))
        elif tag == "file":
            replica = _replica(element, source)
            if replica is not None:
                self.replicas.append(replica)
        elif tag == "executable":
            self.transformations.append(_executable(element, source))
        elif tag == "metadata" and element.get("key"):
            self.metadata[element.get("key", "")] = (element.text or "").strip()
        # <filename> (2.1 file list), <transformation>, <invoke>: nothing to plan from


_make_job = Job.make
_SKIP: UseRecord = (None,) * 7  # a <uses> of the executable itself: not a file the job reads
_SKIP_USE = object()  # the same, where the plain path looks uses up
_NOT_PLAIN = object()  # a <uses> the plain path leaves to the builder's checked path
_PLAIN_FLAGS = {"true": True, "false": False}


class _Records:
    """Turns ``<job>`` elements into records. Equal ``<uses>`` elements (same attributes)
    give one record, so the builder shares their Use too."""

    __slots__ = ("_plain_uses", "_source", "_tags", "_uses")

    def __init__(self, source: str | None) -> None:
        self._source = source
        self._tags: dict[str, str] = {}
        self._uses: dict[tuple[tuple[str, str], ...], UseRecord] = {}
        # by the attributes of a <uses>: its shared Use, _SKIP_USE, or _NOT_PLAIN
        self._plain_uses: dict[tuple[tuple[str, str], ...], object] = {}

    def plain_job(self, element: ET.Element, builder: JobBuilder) -> Job | None:
        """The Job of a ``<job>`` whose parts all have their plain shape, built without
        a record and without a message; None for anything else, which :meth:`job` and
        the builder then check. Both ways build equal jobs (property tests)."""
        get = element.get
        job_id = get("id")
        name = get("name")
        if not job_id or not name:
            return None
        arguments: tuple[str, ...] = ()
        uses: list[Use] = []
        runtime = get("runtime")
        triples: list[str] = [] if runtime is None else ["pegasus", "runtime", runtime]
        streams: dict[str, str] = {}
        tags = self._tags
        for child in element:
            tag = tags.get(child.tag) or self.tag(child)
            if tag == "uses":
                use = _bare_use(child.attrib, builder) or self._plain_use(child, builder)
                if use is _NOT_PLAIN:
                    return None
                if use is not _SKIP_USE:
                    uses.append(use)  # type: ignore[arg-type]  # a Use: both markers are out
            elif tag == "argument":
                words = _plain_arguments(child, self.tag)
                if words is None:
                    return None
                arguments = words
            elif tag == "profile":
                key = child.get("key")
                if not key:
                    return None
                triples += (child.get("namespace") or "", key, (child.text or "").strip())
            elif tag == "stdin" or tag == "stdout" or tag == "stderr":
                lfn = child.get("name") or child.get("file")
                if not lfn:
                    return None
                streams[tag] = lfn
        profiles = builder.fast_profiles(tuple(triples)) if triples else builder.bare_profiles
        if profiles is None:
            return None
        shared = tuple(uses)
        inputs, outputs = split_uses(shared)
        return _make_job(
            job_id, name, get("namespace"), get("version"), get("node-label"), arguments,
            shared, profiles, streams.get("stdin"), streams.get("stdout"),
            streams.get("stderr"), inputs, outputs,
        )  # fmt: skip

    def _plain_use(self, element: ET.Element, builder: JobBuilder) -> object:
        """The shared Use of a ``<uses>`` with more than a name, link and size (once per
        distinct set of attributes), :data:`_SKIP_USE` for the executable itself,
        :data:`_NOT_PLAIN` for one the builder's fast path declines."""
        key = tuple(element.attrib.items())
        use = self._plain_uses.get(key)
        if use is None:
            record = _use_record(element)
            if record is _SKIP:
                use = _SKIP_USE
            else:
                built = builder.fast_uses((record,))
                use = _NOT_PLAIN if built is None else built[0]
            self._plain_uses[key] = use
        return use

    def tag(self, element: ET.Element) -> str:
        """The element's tag without its namespace (looked up once per distinct tag)."""
        local = self._tags.get(element.tag)
        if local is None:
            local = self._tags[element.tag] = _tag(element)
        return local

    def job(self, index: int, element: ET.Element) -> JobRecord:
        """The record of a ``<job>``: its ``runtime`` attribute is profile
        ``pegasus.runtime``, ``<argument>``, ``<uses>``, ``<profile>`` and the stream
        elements fill the rest; other children are ignored."""
        get = element.get
        arguments: Sequence[object] = ()
        uses: list[UseRecord] = []
        runtime = get("runtime")
        triples: list[object] = [] if runtime is None else ["pegasus", "runtime", runtime]
        streams: dict[str, str] = {}
        for child in element:
            tag = self._tags.get(child.tag) or self.tag(child)
            if tag == "uses":
                key = tuple(child.attrib.items())
                record = self._uses.get(key)
                if record is None:
                    record = self._uses[key] = _use_record(child)
                if record is not _SKIP:
                    uses.append(record)
            elif tag == "argument":
                arguments = self._arguments(child, index, element)
            elif tag == "profile":
                triples += self._profile(child, index, element)
            elif tag == "stdin" or tag == "stdout" or tag == "stderr":
                streams[tag] = self._stream(tag, child, index, element)
        return JobRecord(
            index, get("id"), get("name"), arguments, uses, tuple(triples),
            get("namespace"), get("version"), get("node-label"),
            streams.get("stdin"), streams.get("stdout"), streams.get("stderr"),
        )  # fmt: skip

    def _arguments(self, child: ET.Element, index: int, job: ET.Element) -> tuple[str, ...]:
        words = _plain_arguments(child, self.tag)
        if words is None:
            words = _arguments(child, _where(index, job), self._source)
        return words

    def _profile(self, child: ET.Element, index: int, job: ET.Element) -> tuple[str, str, str]:
        """A ``<profile>``'s triple (its namespace is checked by the builder)."""
        key = child.get("key")
        if not key:
            return _profile_triple(child, _where(index, job), self._source)
        return (child.get("namespace") or "", key, (child.text or "").strip())

    def _stream(self, tag: str, child: ET.Element, index: int, job: ET.Element) -> str:
        lfn = child.get("name") or child.get("file")
        if not lfn:
            raise FormatError(f"{_where(index, job)}: <{tag}> has no name", source=self._source)
        return lfn


def _bare_use(attrib: dict[str, str], builder: JobBuilder) -> Use | None:
    """The shared Use of a ``<uses>`` with only ``name``, a lower-case ``link`` and a
    decimal ``size`` (as :func:`_use_record` converts it), else None: the common case,
    looked up by those three values alone."""
    lfn = attrib.get("name")
    text = attrib.get("size")
    if not lfn or len(attrib) != (2 if text is None else 3):
        return None
    if text is not None and not (text.isascii() and text.isdigit() and len(text) <= 15):
        return None
    key = (lfn, attrib.get("link"), None if text is None else int(text))
    return builder.plain_uses.get(key) or builder.plain_use(key)


def _where(index: int, element: ET.Element) -> str:
    job_id = element.get("id")
    return f"job {index + 1}" + (f" (id {job_id!r})" if job_id else "")


def _use_record(element: ET.Element) -> UseRecord:
    """The record of a ``<uses>`` (:data:`_SKIP` for the executable itself). Plain
    values are converted here (a decimal size, true/false flags), once per distinct
    element; anything else is handed on as written, for the builder to check."""
    get = element.get
    if get("type") == "executable" or get("executable") == "true":
        return _SKIP
    link = get("link")
    if link is not None and link.lower() in LINKS:
        link = link.lower()
    size: object = get("size")
    # up to 15 digits a float holds the number exactly, as the checked path reads it
    if isinstance(size, str) and size.isascii() and size.isdigit() and len(size) <= 15:
        size = int(size)
    transfer = get("transfer")
    register = get("register")
    optional = get("optional")
    return (
        get("name") or get("file"),
        link,
        size,
        False if transfer is not None and transfer.lower() == "false" else None,
        register if register is None else _PLAIN_FLAGS.get(register.lower(), register),
        optional if optional is None else _PLAIN_FLAGS.get(optional.lower(), optional),
        None,
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


def _subworkflow(
    tag: str, index: int, element: ET.Element, builder: JobBuilder, source: str | None
) -> SubWorkflow:
    """DAX 3's ``<dax id file>`` (a workflow to plan) or ``<dag id file>`` (a DAGMan
    file), with ``<argument>`` (pegasus-plan's arguments), ``<uses>`` and ``<profile>``."""
    job_id = element.get("id")
    where = _where(index, element)
    if not job_id:
        raise FormatError(f"{where}: <{tag}> has no id", source=source)
    file = element.get("file") or element.get("name")
    if not file:
        raise FormatError(f"{where}: <{tag}> has no file", source=source)
    arguments: tuple[str, ...] = ()
    uses: list[UseRecord] = []
    triples: list[object] = []
    for child in element:
        kind = _tag(child)
        if kind == "argument":
            arguments = _arguments(child, where, source)
        elif kind == "uses" and (record := _use_record(child)) is not _SKIP:
            uses.append(record)
        elif kind == "profile":
            triples += _profile_triple(child, where, source)
    return SubWorkflow(
        id=job_id,
        kind=SubWorkflowKind.PEGASUS if tag == "dax" else SubWorkflowKind.CONDOR,
        file=file,
        arguments=arguments,
        uses=tuple(use for use in builder.checked_uses(uses, where) if use.lfn != file),
        profiles=builder.checked_profiles(tuple(triples), where),
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


def _profile_triple(element: ET.Element, where: str, source: str | None) -> tuple[str, str, str]:
    """A ``<profile>``'s ``namespace, key, value``; one without a key is refused (after
    an unknown namespace, which the message names first)."""
    ns_name = element.get("namespace") or ""
    key = element.get("key")
    if ns_name.lower() not in NAMESPACES:
        raise UnknownProfileNamespace(
            f"{where}: unknown profile namespace {ns_name!r} (known: {', '.join(NAMESPACES)})",
            source=source,
        )
    if not key:
        raise FormatError(f"{where}: <profile namespace={ns_name!r}> has no key", source=source)
    return (ns_name, key, (element.text or "").strip())


def _child(
    element: ET.Element, source: str | None, tag_of: Callable[[ET.Element], str] = _tag
) -> list[tuple[str, str]]:
    child = element.get("ref")
    if not child:
        raise FormatError("<child> has no ref", source=source)
    refs = [parent.get("ref") for parent in element if tag_of(parent) == "parent"]
    if all(refs):
        return list(zip(refs, repeat(child)))  # type: ignore[arg-type]  # no None left
    where = f"<child ref={child!r}>"  # a <parent> without a ref: _each names it
    return [(ref, child) for ref, _ in _each(element, "parent", "ref", where, source)]


def _pfns(element: ET.Element, where: str, source: str | None) -> list[tuple[str, str]]:
    return [
        (url, pfn.get("site") or "local")
        for url, pfn in _each(element, "pfn", "url", where, source)
    ]


def _each(
    element: ET.Element, tag: str, key: str, where: str, source: str | None
) -> Iterator[tuple[str, ET.Element]]:
    """The ``key`` attribute of each ``<tag>`` child, and the child; one without it is
    refused."""
    for child in element:
        if _tag(child) == tag:
            value = child.get(key)
            if not value:
                raise FormatError(f"{where}: <{tag}> has no {key}", source=source)
            yield value, child


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


__all__ = ["load", "loads"]
