"""Reading ``plan.json`` as record version 2 wrote it (the release before the current
layout): JSON lines, text written once in a table, one object per node with every field
spelled out (docs/submit-dir.md, "Earlier layouts"). Only read, never written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from catalogs.jsonio import loads_json
from planner.errors import FormatError


def decisions_of(
    jobs: Sequence[str], decided: Sequence[Any] | None, text: Callable[[Any], Any]
) -> dict[str, list[Any]]:
    """A node's per-job decisions (one list of text references per job, or None) as the
    ``decisions`` field explain reads: shared by records 2 and 3."""
    return {
        job: [text(r) for r in d]
        for job, d in zip(jobs, decided or (), strict=False)
        if d is not None
    }


def decode_lines(
    lines: Iterable[tuple[int, str]],
    source: str,
    list_entry: Callable[[list[Any]], None],
    node: Callable[[dict[str, Any]], dict[str, Any]],
    lists: str,
) -> Iterator[dict[str, Any]]:
    """The nodes of a record's numbered lines: an object is a node, a list goes to
    ``list_entry`` (``lists`` says what a list may be); anything else, or a line that
    does not decode, is one error naming the line and ``source``."""
    for number, line in lines:
        try:
            value = loads_json(line)
            if type(value) is list:
                list_entry(value)
                continue
            if type(value) is not dict:
                raise ValueError(f"neither a node nor {lists}")
            yield node(value)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise FormatError(
                f"line {number}: not a plan record line ({type(exc).__name__}: {exc})",
                source=source,
            ) from None


class Decoder2:
    """Record-2 lines after the head -> node dicts (no parents, children or submit)."""

    def __init__(self, source: str) -> None:
        self.table: list[str] = []
        self.source = source
        self._profiles: dict[int, Any] = {}

    def text(self, value: Any) -> Any:
        return self.table[value] if type(value) is int else value

    def url(self, value: Any, lfn: Any) -> Any:
        if type(value) is int:
            return self.table[value] + lfn
        if type(value) is list:
            return self.table[value[0]] + value[1]
        return value

    def file(self, entry: list[Any]) -> dict[str, Any]:
        # the url() cases inline: a plan has several file entries per job
        table = self.table
        lfn, src, dst, size, site = entry[:5]
        cls = src.__class__
        if cls is int:
            src = table[src] + lfn
        elif cls is list:
            src = table[src[0]] + src[1]
        cls = dst.__class__
        if cls is int:
            dst = table[dst] + lfn
        elif cls is list:
            dst = table[dst[0]] + dst[1]
        more = len(entry) > 5
        return {
            "lfn": lfn,
            "src": src,
            "fallbacks": [self.url(u, lfn) for u in entry[6]] if len(entry) > 6 else [],
            "dst": dst,
            "size": size,
            "sha256": entry[5] if more else None,
            "site": table[site] if site.__class__ is int else site,
        }

    def profiles(self, value: Any) -> Any:
        if value is None:
            return {}
        if type(value) is not int:
            return value
        return loads_json(self.table[value])

    def node(self, line: dict[str, Any]) -> dict[str, Any]:
        text = self.text
        jobs = line.get("j", [])
        tasks = [
            {
                "job": jobs[i] if t[0] is None and i < len(jobs) else t[0],
                "transformation": text(t[1]),
                "executable": text(t[2]),
                "arguments": t[3],
                "runtime": t[4],
            }
            for i, t in enumerate(line.get("x", ()))
        ]
        runtimes = [t["runtime"] for t in tasks]
        runtime = None
        if runtimes and all(r is not None for r in runtimes):
            runtime = float(sum(runtimes))
        decided = line.get("d")
        return {
            "name": line["n"],
            "kind": text(line["k"]),
            "site": text(line["s"]),
            "transformation": text(line.get("t")),
            "jobs": jobs,
            "files": [self.file(f) for f in line.get("f", ())],
            "inputs": [self.file(f) for f in line.get("i", ())],
            "outputs": [self.file(f) for f in line.get("o", ())],
            "level": line["l"],
            "runtime": runtime,
            "tasks": tasks,
            "data_configuration": text(line.get("c")),
            "staging_site": text(line.get("g")),
            "working_dir": text(line.get("w")),
            "reasons": [text(r) for r in line.get("y", ())],
            "profiles": self.profiles(line.get("p")),
            "decisions": decisions_of(jobs, decided, text),
        }

    def lines(self, lines: Iterable[tuple[int, str]]) -> Iterator[dict[str, Any]]:
        return decode_lines(lines, self.source, self.list_entry, self.node, "a table entry")

    def list_entry(self, value: list[Any]) -> None:
        (entry,) = value
        if type(entry) is not str:
            raise ValueError("a table entry is one string")
        self.table.append(entry)
