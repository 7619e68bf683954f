"""Shape checks shared by the readers: each failure is one FormatError naming the item.

The readers check the shapes they rely on here and then build the frozen models with
``model_construct`` (validating a million ``Use`` objects through pydantic would dominate
load time), so nothing that reaches the model is unchecked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalogs.yamlio import as_bool as yaml_bool
from planner.errors import FormatError, UnknownProfileNamespace
from planner.model.base import Namespace
from planner.model.workflow import Job, LinkType, Use

NAMESPACES: dict[str, Namespace] = {ns.value: ns for ns in Namespace}
LINKS: dict[str, LinkType] = {lt.value: lt for lt in LinkType}


def scalar_text(value: object) -> str:
    """A YAML/JSON scalar as the string Pegasus would write (booleans in lower case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_bool(value: object, where: str, source: str | None) -> bool:
    """A boolean under YAML 1.1 or 1.2 rules, else a FormatError naming ``where``."""
    return yaml_bool(value, where, source, error=FormatError)


def as_size(value: object, where: str, source: str | None) -> int:
    """A non-negative byte count (floats such as ``1024.0`` are accepted when whole)."""
    if isinstance(value, bool):
        raise FormatError(f"{where}: size must be a number, got {value!r}", source=source)
    try:
        number = float(value) if isinstance(value, str) else value
        size = int(number) if isinstance(number, int | float) else None
    except (ValueError, OverflowError):
        size = None
    if size is None or size < 0 or size != number:
        raise FormatError(
            f"{where}: size must be a whole number of bytes, got {value!r}", source=source
        )
    return size


def need_str(value: object, where: str, source: str | None) -> str:
    """A non-container scalar as text; missing or nested values are refused."""
    if value is None or isinstance(value, dict | list):
        raise FormatError(f"{where}: expected a string, got {value!r}", source=source)
    return scalar_text(value)


def profiles_from(raw: object, where: str, source: str | None) -> dict[Namespace, dict[str, str]]:
    """``{namespace: {key: value}}`` with Namespace keys and string values."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise FormatError(f"{where}: profiles must be a mapping", source=source)
    out: dict[Namespace, dict[str, str]] = {}
    for ns_name, values in raw.items():
        ns = NAMESPACES.get(str(ns_name).lower())
        if ns is None:
            known = ", ".join(NAMESPACES)
            raise UnknownProfileNamespace(
                f"{where}: unknown profile namespace {ns_name!r} (known: {known})",
                source=source,
            )
        if values is None:
            continue
        if not isinstance(values, Mapping):
            raise FormatError(f"{where}: profiles.{ns_name} must be a mapping", source=source)
        target = out.setdefault(ns, {})
        for key, value in values.items():
            if value is None or isinstance(value, dict | list):
                raise FormatError(
                    f"{where}: profile {ns_name}.{key} must be a scalar, got {value!r}",
                    source=source,
                )
            target[str(key)] = scalar_text(value)
    return out


_JOB_FIELDS = set(Job.model_fields)
_USE_FIELDS = set(Use.model_fields)
_new_object = object.__new__
_set = object.__setattr__


def make_use(
    lfn: str,
    link: LinkType,
    *,
    stage_out: bool = True,
    register_replica: bool = True,
    optional: bool = False,
    bypass: bool = False,
    size: int | None = None,
) -> Use:
    """A Use from already-checked values (no pydantic validation: the caller checked).

    The fields are set one by one, in declaration order, rather than as a dict of their
    own (as ``catalogs._common.fast_constructor`` does for catalog entries): the instance
    dicts of all uses then share one key table, ~170 bytes a use instead of ~360. A
    10^6-job workflow holds millions."""
    obj = _new_object(Use)
    _set(obj, "lfn", lfn)
    _set(obj, "link", link)
    _set(obj, "stage_out", stage_out)
    _set(obj, "register_replica", register_replica)
    _set(obj, "optional", optional)
    _set(obj, "bypass", bypass)
    _set(obj, "size", size)
    _set(obj, "__pydantic_fields_set__", _USE_FIELDS)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


def make_job(
    *,
    id: str,
    name: str,
    namespace: str | None = None,
    version: str | None = None,
    node_label: str | None = None,
    arguments: tuple[str, ...] = (),
    uses: tuple[Use, ...] = (),
    profiles: Mapping[Namespace, Mapping[str, str]] | None = None,
    stdin: str | None = None,
    stdout: str | None = None,
    stderr: str | None = None,
) -> Job:
    """A Job from already-checked values (every field set, so equality is field-exact).

    Built like :func:`make_use`, field by field, with the input and output views
    (:attr:`Job.inputs`, :attr:`Job.outputs`) set at once after them: every job's dict
    then holds the same keys in the same order and shares one key table (~310 bytes a job
    with its views, instead of ~650 when they were added to a dict of its own later)."""
    obj = _new_object(Job)
    _set(obj, "id", id)
    _set(obj, "name", name)
    _set(obj, "namespace", namespace)
    _set(obj, "version", version)
    _set(obj, "node_label", node_label)
    _set(obj, "arguments", arguments)
    _set(obj, "uses", uses)
    _set(obj, "profiles", profiles if profiles is not None else {})
    _set(obj, "stdin", stdin)
    _set(obj, "stdout", stdout)
    _set(obj, "stderr", stderr)
    _set(obj, "__pydantic_fields_set__", _JOB_FIELDS)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    obj.inputs, obj.outputs  # noqa: B018  # the views, made now, in this order
    return obj


def job_where(index: int, job_id: Any) -> str:
    """How messages name a job: ``job 3 (id 'ID4')`` (1-based position)."""
    return f"job {index + 1}" + (f" (id {job_id!r})" if job_id is not None else "")
