"""wfplan's error hierarchy: one class per condition, messages that name the input.

The root, :class:`WfplanError`, is defined in ``catalogs.errors`` so that ``catalogs`` and
``sites`` can raise it without importing ``planner``. The CLI catches ``WfplanError``,
prints :meth:`WfplanError.lines` (one line per problem) and exits 1, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable

from catalogs.errors import CatalogError, CatalogFormatError, CatalogWriteError, WfplanError

__all__ = [
    "CatalogError",
    "CatalogFormatError",
    "CatalogWriteError",
    "CycleError",
    "DuplicateJobId",
    "DuplicateProducer",
    "EmitError",
    "EngineError",
    "FormatError",
    "MissingReplica",
    "NoEligibleSite",
    "PlannerError",
    "Problems",
    "StagingError",
    "TooLongForExec",
    "TransferHold",
    "UnknownJob",
    "UnknownProfileNamespace",
    "UnknownSite",
    "UnknownTransformation",
    "UnsafeArgument",
    "UnsafeLFN",
    "UnsupportedFeature",
    "WfplanError",
    "WriteError",
]


class PlannerError(WfplanError):
    """Base for the planner's own conditions."""


class FormatError(PlannerError):
    """A workflow file cannot be read: bad YAML/XML/JSON or a wrong shape."""


class UnsupportedFeature(PlannerError):
    """Valid input that wfplan does not support yet (e.g. sub-workflows)."""


class CycleError(PlannerError):
    """The workflow's dependencies form a cycle; the message names it."""


class DuplicateJobId(PlannerError):
    """Two jobs share one id."""


class DuplicateProducer(PlannerError):
    """Two jobs write the same LFN."""


class UnknownJob(PlannerError):
    """A dependency names a job id the workflow does not define."""


class UnknownSite(PlannerError):
    """A transformation is installed only at sites the site catalog does not define."""


class UnknownTransformation(PlannerError):
    """A job names a transformation no catalog knows."""


class StagingError(PlannerError):
    """Data cannot be staged as planned: a site lacks the directory or file server the
    data configuration needs, or two files would share one place on a staging site."""


class MissingReplica(PlannerError):
    """A workflow input has no replica."""


class UnsafeLFN(PlannerError):
    """An LFN is empty, absolute, contains '..' or control characters."""


class UnsafeArgument(PlannerError):
    """An argument holds shell metacharacters or control characters."""


class TooLongForExec(PlannerError):
    """A job's arguments or environment are longer than the operating system lets a
    program start with (Linux's ``MAX_ARG_STRLEN`` and ``ARG_MAX``)."""


class UnknownProfileNamespace(PlannerError):
    """A profile uses a namespace Pegasus does not define."""


class NoEligibleSite(PlannerError):
    """No candidate site can run a job; the message says why each was rejected."""


class EmitError(PlannerError):
    """The submit directory could not be written (nothing partial is left behind)."""


class WriteError(PlannerError):
    """A file wfplan writes (a picture, a Montage image or table) could not be written;
    any previous version of it is untouched."""


class EngineError(PlannerError):
    """The embedded engine cannot read or run a submit directory."""


class TransferHold(EngineError):
    """HTCondor file transfer failed: a real pool would put the job on hold with
    ``HoldReasonCode`` ``code`` (12 output, 13 input) and ``HoldReasonSubCode`` ``subcode``
    (an errno)."""

    def __init__(self, message: str, code: int, subcode: int, source: str | None = None) -> None:
        super().__init__(message, source=source)
        self.code = code
        self.subcode = subcode


class Problems(PlannerError):
    """Several problems found at once (validation reports them all, one line each)."""

    def __init__(self, problems: Iterable[WfplanError]) -> None:
        self.problems: list[WfplanError] = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)

    def lines(self) -> list[str]:
        return [line for p in self.problems for line in p.lines()]
