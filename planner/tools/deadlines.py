"""How long an http(s) transfer may take (docs/job-tools.md, "Deadlines").

Each setting has three names: the property a user writes in ``pegasus.properties``
(``pegasus.transfer.http.min.rate``), the key of the manifest's ``"http"`` object the
planner copies it into (``min_rate``), and the environment variable a hand-run tool reads
(``WFPLAN_TRANSFER_MIN_RATE``). The manifest beats the environment, which beats the
defaults.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

__all__ = ["PROPERTIES", "BadLimit", "HttpLimits", "limits_from", "planned_limits"]


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """Timeouts in seconds, rate in bytes per second.

    A source must connect within ``connect_timeout``, never go ``read_timeout`` without a
    byte, and deliver the whole file (retries included) within
    ``max(min_deadline, size / min_rate)``, where size is the larger of the announced
    Content-Length and what has arrived: a slow but steady download of a large file goes
    on, a trickle is given up after ``min_deadline``.
    """

    connect_timeout: float = 30.0
    read_timeout: float = 60.0
    min_rate: float = 64 * 1024.0
    min_deadline: float = 300.0
    attempts: int = 3

    def deadline(self, size: int) -> float:
        """Seconds a source may take for ``size`` bytes, retries included."""
        return max(self.min_deadline, size / self.min_rate)


# property -> manifest key; the environment variable is WFPLAN_TRANSFER_<KEY upper case>
PROPERTIES: dict[str, str] = {
    "pegasus.transfer.http.connect.timeout": "connect_timeout",
    "pegasus.transfer.http.read.timeout": "read_timeout",
    "pegasus.transfer.http.min.rate": "min_rate",
    "pegasus.transfer.http.min.deadline": "min_deadline",
    "pegasus.transfer.http.attempts": "attempts",
}
_KEYS = frozenset(f.name for f in fields(HttpLimits))


class BadLimit(ValueError):
    """A setting that is not a positive number (an integer for ``attempts``)."""


def _number(key: str, value: Any, where: str) -> Any:
    text = str(value).strip()
    try:
        number: float | int = int(text) if key == "attempts" else float(text)
    except ValueError:
        number = math.nan
    if isinstance(value, bool) or not (math.isfinite(number) and number > 0):
        kind = "a positive integer" if key == "attempts" else "a positive number"
        raise BadLimit(f"{where} is {value!r}, not {kind}")
    return number


def limits_from(manifest: Mapping[str, Any], environ: Mapping[str, str]) -> HttpLimits:
    """The limits for one run: defaults, then ``WFPLAN_TRANSFER_*``, then ``"http"``.

    >>> limits_from({"http": {"min_deadline": 5}}, {"WFPLAN_TRANSFER_ATTEMPTS": "1"})
    HttpLimits(connect_timeout=30.0, read_timeout=60.0, min_rate=65536.0, min_deadline=5.0, attempts=1)
    """
    limits = HttpLimits()
    for key in sorted(_KEYS):
        name = f"WFPLAN_TRANSFER_{key.upper()}"
        if name in environ:
            limits = replace(limits, **{key: _number(key, environ[name], name)})
    given = manifest.get("http")
    if given is None:
        return limits
    if not isinstance(given, Mapping):
        raise BadLimit(f'manifest key "http" is {given!r}, not an object')
    for key in sorted(given):
        if key not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            raise BadLimit(f'manifest key "http.{key}" is not one of {known}')
        limits = replace(limits, **{key: _number(key, given[key], f'manifest key "http.{key}"')})
    return limits


def planned_limits(properties: Mapping[str, str], source: str = "properties") -> dict[str, Any]:
    """The manifest's ``"http"`` object from ``pegasus.transfer.http.*`` properties; empty
    when none is set. A bad value raises :class:`BadLimit` naming the property."""
    return {
        PROPERTIES[prop]: _number(PROPERTIES[prop], properties[prop], f"{prop} in {source}")
        for prop in sorted(PROPERTIES)
        if prop in properties
    }
