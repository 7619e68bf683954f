"""Logical lines of HTCondor's line-oriented files (DAG files and submit descriptions)."""

from __future__ import annotations


def logical_lines(text: str, *, keep_indent: bool = False) -> list[tuple[int, str]]:
    """Join ``\\`` continuations; drop blanks and comment lines (a comment must start the
    line); keep the first physical line's number. ``keep_indent`` keeps the leading
    white space of continuation lines (DAG files) instead of stripping it (submit files).

    >>> logical_lines("# c\\nJOB a \\\\\\n  a.sub\\n")
    [(2, 'JOB a  a.sub')]
    """
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip() if keep_indent else raw.strip()
        if not pending:
            start = number
            stripped = line.lstrip()
            if not stripped or stripped.startswith("#"):
                continue
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        out.append((start, " ".join(pending)))
        pending = []
    if pending:
        out.append((start, " ".join(pending)))
    return out
