"""Raw job records, as the three readers make them, and the one builder of checked Jobs.

Each reader (``pegasus_yaml``, ``dax``, ``wfformat``) checks the structure of its file
(containers, keys, elements) and turns every job into a :class:`JobRecord`: the values as
the file gave them, not yet checked. :class:`JobBuilder` turns records into
:class:`~planner.model.workflow.Job` values in one of two ways:

* the fast path takes the plain shapes every writer produces (string ids, names and
  arguments; uses with a string LFN, a known link, an int size, boolean flags; string
  profiles in known namespaces) and formats no message;
* the checked path takes everything else: it converts what Pegasus accepts (a number
  where a string belongs, ``"true"`` for a flag, ``"12"`` for a size) and refuses the
  rest with one :class:`~planner.errors.FormatError` naming the job, the field and the
  file, in the words of the file's format (:class:`Vocabulary`).

Both paths build equal jobs (the property tests hold them to it). Equal uses and equal
profiles are built once per builder and shared between jobs: they are immutable values,
so a file read by many jobs, or one runtime profile on 10^5 jobs, costs one object.

A use record is a plain 7-tuple, ``(lfn, link, size, stage_out, register_replica,
optional, bypass)``: the cheapest key to share uses by. ``None`` flags take Pegasus's
defaults (stage out and register: yes; optional and bypass: no).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from planner.errors import FormatError, UnknownProfileNamespace
from planner.formats._shape import LINKS, NAMESPACES, as_bool, as_size, need_str, scalar_text
from planner.model.base import Namespace, merge_profiles
from planner.model.workflow import Job, Use, split_uses

# raw values, as the file gave them: Any, since nothing about them is known yet
UseRecord = tuple[Any, Any, Any, Any, Any, Any, Any]
Profiles = dict[Namespace, dict[str, str]]
_FLAG_DEFAULTS = (True, True, False, False)  # stage_out, register_replica, optional, bypass
_make_job = Job.make
_make_use = Use.make
EMPTY = "\0no keys\0"  # key and value of the triple standing for a namespace without keys


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """How a format names a job's parts in its messages; the defaults are Pegasus
    YAML's words.

    ``use`` labels a use record: ``{0}`` is its 0-based place, ``{1}`` its 1-based
    one; ``flags`` name stage_out, register_replica, optional and bypass.
    """

    job: str = "job"  # "job 1 (id 'A')"
    no_id: str = ": job has no id"  # appended to the job's label
    no_name: str = "job has no transformation 'name'"  # likewise, after ": "
    arguments: str = "arguments"
    use: str = "uses[{0}]"
    lfn: str = "lfn"
    no_lfn: str = "has no lfn"
    link: str = "type"
    flags: tuple[str, str, str, str] = ("stageOut", "registerReplica", "optional", "bypass")

    def where(self, index: int, job_id: object) -> str:
        """``job 3 (id 'ID4')``: the 1-based position and, if known, the id."""
        return f"{self.job} {index + 1}" + (f" (id {job_id!r})" if job_id is not None else "")

    def use_where(self, job: str, k: int) -> str:
        return f"{job}: {self.use.format(k, k + 1)}"


class JobRecord(NamedTuple):
    """One job as its file gave it; ``position`` is its 0-based place among the file's
    jobs, for messages.

    ``arguments`` is a sequence of words, ``uses`` of use records (see the module),
    ``profiles`` a flat tuple of ``namespace, key, value`` triples in file order.
    """

    position: int
    id: Any
    name: Any
    arguments: Sequence[Any] = ()
    uses: Sequence[UseRecord] = ()
    profiles: tuple[Any, ...] = ()
    namespace: Any = None
    version: Any = None
    node_label: Any = None
    stdin: Any = None
    stdout: Any = None
    stderr: Any = None


def _plain_flags(stage_out: object, register: object, optional: object, bypass: object) -> bool:
    return (
        (stage_out is None or stage_out is True or stage_out is False)
        and (register is None or register is True or register is False)
        and (optional is None or optional is True or optional is False)
        and (bypass is None or bypass is True or bypass is False)
    )


class JobBuilder:
    """Builds the jobs of one file: :meth:`job` for each record.

    ``defaults`` are workflow-level profiles, merged under each job's own.

    >>> from planner.formats.pegasus_yaml import VOCABULARY
    >>> builder = JobBuilder(VOCABULARY, "wf.yml")
    >>> use = ("f.a", "input", 3, None, None, None, None)
    >>> builder.job(JobRecord(0, "A", "t", ["-i", "f.a"], [use])).uses[0].size
    3
    """

    __slots__ = (
        "_defaults", "_profiles", "_source", "_uses", "_vocabulary", "bare_profiles",
        "plain_uses",
    )  # fmt: skip

    def __init__(
        self, vocabulary: Vocabulary, source: str | None, defaults: Profiles | None = None
    ) -> None:
        self._vocabulary = vocabulary
        self._source = source
        self._defaults: Profiles = defaults or {}
        self.bare_profiles: Profiles = merge_profiles(self._defaults)
        self._uses: dict[UseRecord, Use] = {}
        self._profiles: dict[tuple[object, ...], Profiles] = {}
        # the readers' own fast paths look uses up here by (lfn, link, size), and add
        # the ones they miss through plain_use
        self.plain_uses: dict[tuple[Any, Any, Any], Use] = {}

    def job(self, record: JobRecord) -> Job:
        """The Job of ``record``; a FormatError naming it if a value is wrong."""
        job = self.fast_job(record)
        return job if job is not None else self.checked_job(record)

    # ------------------------------------------------------------------ fast path

    def fast_job(self, record: JobRecord) -> Job | None:
        """The Job when every value has its plain shape, else None (nothing raised)."""
        (_, job_id, name, arguments, raw_uses, raw_profiles,
         namespace, version, node_label, stdin, stdout, stderr) = record  # fmt: skip
        if not (
            type(job_id) is str
            and job_id
            and type(name) is str
            and name
            and (namespace is None or type(namespace) is str)
            and (version is None or type(version) is str)
            and (node_label is None or type(node_label) is str)
            and (stdin is None or type(stdin) is str)
            and (stdout is None or type(stdout) is str)
            and (stderr is None or type(stderr) is str)
        ):
            return None
        for word in arguments:
            if type(word) is not str:
                return None
        uses = self.fast_uses(raw_uses)
        profiles = self.fast_profiles(raw_profiles) if raw_profiles else self.bare_profiles
        if uses is None or profiles is None:
            return None
        inputs, outputs = split_uses(uses)
        return _make_job(
            job_id, name, namespace, version, node_label, tuple(arguments), uses, profiles,
            stdin, stdout, stderr, inputs, outputs,
        )  # fmt: skip

    def plain_use(self, key: tuple[Any, Any, Any]) -> Use | None:
        """The use of a plain ``(lfn, link, size)`` key (no flags: Pegasus's defaults),
        entered in :attr:`plain_uses`; None if a value is not plain.

        A reader looks the key up in :attr:`plain_uses` first, having checked that the
        size is None or an exact int (``True == 1`` as a dict key)."""
        lfn, link, size = key
        kind = LINKS.get(link) if type(link) is str else None
        if type(lfn) is not str or kind is None or not (size is None or type(size) is int):
            return None
        if size is not None and size < 0:
            return None
        use = self.plain_uses[key] = _make_use(lfn, kind, True, True, False, False, size)
        return use

    def fast_uses(self, records: Sequence[UseRecord]) -> tuple[Use, ...] | None:
        """The uses of plain records (shared between jobs), else None."""
        cache = self._uses
        built: list[Use] = []
        append = built.append
        for record in records:
            lfn, link, size, stage_out, register, optional, bypass = record
            # exact types before the lookup, as True == 1 == 1.0 as dict keys (a cached
            # record's lfn and link are strings, which nothing else equals)
            if not (
                (size is None or type(size) is int)
                and (
                    (stage_out is None and register is None and optional is None and bypass is None)
                    or _plain_flags(stage_out, register, optional, bypass)
                )
            ):
                return None
            try:
                use = cache.get(record)
            except TypeError:  # unhashable: a list or mapping where a string belongs
                return None
            if use is None:
                kind = LINKS.get(link) if type(link) is str else None
                if type(lfn) is not str or kind is None or (size and size < 0):
                    return None
                use = cache[record] = _make_use(
                    lfn,
                    kind,
                    True if stage_out is None else stage_out,
                    True if register is None else register,
                    False if optional is None else optional,
                    False if bypass is None else bypass,
                    size,
                )
            append(use)
        return tuple(built)

    def fast_profiles(self, triples: tuple[Any, ...]) -> Profiles | None:
        """The job's profiles (workflow defaults beneath) when all are strings in known
        namespaces, else None. Equal triples mean equal content: shared between jobs."""
        try:
            found = self._profiles.get(triples)
        except TypeError:  # unhashable: a list or mapping where a string belongs
            return None
        if found is not None:
            return found
        for part in triples:
            if type(part) is not str:
                return None
        for ns_name in triples[::3]:
            if ns_name.lower() not in NAMESPACES:
                return None
        found = self._profiles[triples] = self._merged(triples)
        return found

    def _merged(self, triples: tuple[object, ...]) -> Profiles:
        own: Profiles = {}
        for i in range(0, len(triples), 3):
            values = own.setdefault(NAMESPACES[str(triples[i]).lower()], {})
            key = triples[i + 1]
            if key is not EMPTY:
                values[str(key)] = scalar_text(triples[i + 2])
        return merge_profiles(self._defaults, own) if self._defaults else own

    # --------------------------------------------------------------- checked path

    def checked_job(self, record: JobRecord) -> Job:
        """The Job, every value checked and converted; a FormatError names the first
        wrong one."""
        words = self._vocabulary
        where = words.where(record.position, record.id)
        return Job(
            id=self._id(record.id, where),
            name=self._name(record.name, where),
            namespace=self._text(record.namespace, where, "namespace"),
            version=self._text(record.version, where, "version"),
            node_label=self._text(record.node_label, where, "nodeLabel"),
            arguments=self.checked_arguments(record.arguments, where),
            uses=self.checked_uses(record.uses, where),
            profiles=self.checked_profiles(record.profiles, where),
            stdin=self._text(record.stdin, where, "stdin"),
            stdout=self._text(record.stdout, where, "stdout"),
            stderr=self._text(record.stderr, where, "stderr"),
        )

    def _fail(self, message: str) -> FormatError:
        return FormatError(message, source=self._source)

    def _id(self, job_id: object, where: str) -> str:
        if not isinstance(job_id, str | int) or isinstance(job_id, bool) or job_id == "":
            raise self._fail(f"{where}{self._vocabulary.no_id}")
        return str(job_id)

    def _name(self, name: object, where: str) -> str:
        if not isinstance(name, str) or not name:
            raise self._fail(f"{where}: {self._vocabulary.no_name}")
        return name

    def _text(self, value: object, where: str, key: str) -> str | None:
        return None if value is None else need_str(value, f"{where}: {key}", self._source)

    def checked_arguments(self, words: Sequence[object], where: str) -> tuple[str, ...]:
        label = f"{where}: {self._vocabulary.arguments}"
        return tuple(need_str(w, f"{label}[{k}]", self._source) for k, w in enumerate(words))

    def checked_uses(self, records: Sequence[UseRecord], where: str) -> tuple[Use, ...]:
        """Every use checked (and built anew: this path is for the jobs the fast path
        declines, and is kept apart from it so that each can be tested against the other)."""
        return tuple(
            self.checked_use(record, self._vocabulary.use_where(where, k))
            for k, record in enumerate(records)
        )

    def checked_use(self, record: UseRecord, where: str) -> Use:
        """One use; ``where`` names it (``job 1 (id 'A'): uses[0]``)."""
        words = self._vocabulary
        lfn_value, link_value, size_value, *flag_values = record
        # an empty LFN is read: validation reports it with the workflow's other problems
        if lfn_value is None or isinstance(lfn_value, dict | list):
            raise self._fail(f"{where} {words.no_lfn}")
        lfn = scalar_text(lfn_value)
        named = f"{where} ({words.lfn} {lfn_value!r})"
        link = LINKS.get(link_value) if isinstance(link_value, str) else None
        if link is None:
            raise self._fail(
                f"{named}: {words.link} must be one of {', '.join(LINKS)}, got {link_value!r}"
            )
        size = None if size_value is None else as_size(size_value, named, self._source)
        stage_out, register, optional, bypass = (
            default if value is None else as_bool(value, f"{named}: {key}", self._source)
            for value, key, default in zip(flag_values, words.flags, _FLAG_DEFAULTS, strict=True)
        )
        return Use(lfn, link, stage_out, register, optional, bypass, size)

    def checked_profiles(self, triples: tuple[object, ...], where: str) -> Profiles:
        """The profiles, each namespace and value checked (workflow defaults beneath)."""
        for i in range(0, len(triples), 3):
            ns_name, key, value = triples[i : i + 3]
            if str(ns_name).lower() not in NAMESPACES:
                raise UnknownProfileNamespace(
                    f"{where}: unknown profile namespace {ns_name!r} "
                    f"(known: {', '.join(NAMESPACES)})",
                    source=self._source,
                )
            if key is not EMPTY and (value is None or isinstance(value, dict | list)):
                raise self._fail(
                    f"{where}: profile {ns_name}.{key} must be a scalar, got {value!r}"
                )
        return self._merged(triples)


def flat_profiles(raw: object, where: str, source: str | None) -> tuple[object, ...]:
    """A ``{namespace: {key: value}}`` mapping as flat triples, structure checked (the
    values are checked by the builder)."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise FormatError(f"{where}: profiles must be a mapping", source=source)
    triples: list[object] = []
    for ns_name, values in raw.items():
        if values is None:
            continue
        if not isinstance(values, Mapping):
            raise FormatError(f"{where}: profiles.{ns_name} must be a mapping", source=source)
        triples += _namespace_triples(ns_name, values)
    return tuple(triples)


def _namespace_triples(ns_name: object, values: Mapping[object, object]) -> list[object]:
    """One namespace's triples; an empty namespace is one triple keyed :data:`EMPTY`,
    so that it is kept (and a workflow reads back equal to the one written)."""
    if not values:
        return [ns_name, EMPTY, EMPTY]
    triples: list[object] = []
    for key, value in values.items():
        triples += (ns_name, key, value)
    return triples
