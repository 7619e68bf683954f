"""Montage's IPAC ASCII tables: read them by column name, write them with fixed widths.

Montage reads tables by column *name* (``tcol("cntr")``) from the ``|``-delimited header
line; data lines are whitespace separated. Only what the wrappers and the generator need.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from planner.errors import FormatError


def read_table(path: Path) -> list[dict[str, str]]:
    """Rows of an IPAC table as ``{column: text}``; columns come from the first ``|`` line.

    Data values must not contain spaces (Montage's file names and numbers do not, except
    the sexagesimal ``cra``/``cdec`` columns, which are rebuilt from their field widths).
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise FormatError(f"cannot read table: {exc.strerror}", source=str(path))
    header: str | None = None
    rows: list[dict[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("\\"):
            continue
        if line.startswith("|"):
            if header is None:
                header = line
            continue
        if header is None:
            raise FormatError(
                f"line {number}: data before the column header line", source=str(path)
            )
        rows.append(_split_fixed(header, line))
    if header is None:
        raise FormatError("no column header line ('| name | ...')", source=str(path))
    return rows


def _split_fixed(header: str, line: str) -> dict[str, str]:
    # Fields sit under their header cells; each character belongs to the cell whose
    # closing '|' is at or after it.
    bars = [i for i, ch in enumerate(header) if ch == "|"]
    row: dict[str, str] = {}
    for left, right in itertools.pairwise(bars):
        name = header[left + 1 : right].strip()
        row[name] = line[left + 1 : right + 1].strip()
    return row


def table_lines(
    columns: Sequence[tuple[str, str]],
    rows: Iterable[Sequence[str]],
    *,
    comments: Sequence[str] = (),
) -> Iterator[str]:
    """An IPAC table: ``columns`` are ``(name, type)``; each column is as wide as its widest
    value and values are right-aligned under their header cells."""
    cells = [[str(v) for v in row] for row in rows]
    widths = [max(len(name), len(kind)) for name, kind in columns]
    for row in cells:
        if len(row) != len(columns):
            raise FormatError(f"row {row!r} has {len(row)} values for {len(columns)} columns")
        for k, (cell, (name, _)) in enumerate(zip(row, columns, strict=True)):
            if not cell or any(ch.isspace() for ch in cell):
                raise FormatError(f"value {cell!r} in column {name!r} is empty or has spaces")
            widths[k] = max(widths[k], len(cell))
    for comment in comments:
        yield f"\\{comment}"
    yield (
        "|"
        + "|".join(name.rjust(w + 1) for (name, _), w in zip(columns, widths, strict=True))
        + "|"
    )
    yield (
        "|"
        + "|".join(kind.rjust(w + 1) for (_, kind), w in zip(columns, widths, strict=True))
        + "|"
    )
    for row in cells:
        yield " " + " ".join(cell.rjust(w + 1) for cell, w in zip(row, widths, strict=True)) + " "
