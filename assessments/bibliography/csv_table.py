"""CSV with a header row of study field names (comma, semicolon or tab)."""

from __future__ import annotations

import csv
import io

from ..words import say as _
from .model import STUDY_FIELDS, ImportFormatError, Parsed, RawRecord, RecordProblem
from .text import column_name, sniff_delimiter


def _columns(header: list[str]) -> tuple[dict[int, str], list[RecordProblem]]:
    """Known columns by position, and the header's problems."""
    columns: dict[int, str] = {}
    unknown: list[str] = []
    repeated: list[str] = []
    for position, cell in enumerate(header):
        name = column_name(cell)
        if not name:
            continue  # spreadsheets add empty trailing columns
        if name not in STUDY_FIELDS:
            unknown.append(repr(cell.strip()))
        elif name in columns.values():
            repeated.append(name)
        else:
            columns[position] = name
    messages = []
    if unknown:
        messages.append(
            _(
                "unknown columns: %(columns)s (known: %(known)s)",
                columns=", ".join(unknown),
                known=", ".join(STUDY_FIELDS),
            )
        )
    if repeated:
        messages.append(
            _("columns given more than once: %(columns)s", columns=", ".join(repeated))
        )
    if "title" not in columns.values():
        messages.append(_("no 'title' column"))
    return columns, [RecordProblem(0, _("header"), message) for message in messages]


def _record(
    n: int, line: int, row: list[str], header: list[str], columns: dict[int, str]
) -> RawRecord:
    fields = {
        name: row[position] for position, name in columns.items() if position < len(row)
    }
    # Values beyond the header or under an empty header cell would be lost
    # silently; those under unknown columns are already a header problem.
    stray = [
        str(position + 1)
        for position, cell in enumerate(row)
        if cell.strip()
        and position not in columns
        and (position >= len(header) or not column_name(header[position]))
    ]
    problems: list[str] = []
    if stray:
        problems.append(
            _(
                "values in columns without a header: %(columns)s",
                columns=", ".join(stray),
            )
        )
    return RawRecord(n, _("line %(line)s", line=line), fields, problems)


def parse_csv(text: str) -> Parsed:
    first_line = text.lstrip().partition("\n")[0]
    # strict: a stray or unclosed quote is an error instead of silently
    # swallowing the following rows into one field.
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=sniff_delimiter(first_line),
        strict=True,
    )
    raws: list[RawRecord] = []
    line = 0  # the last line read; the next record starts after it
    try:
        # Detection skipped leading blank lines, so the header may follow them.
        header = next((row for row in reader if any(c.strip() for c in row)), [])
        line = reader.line_num
        columns, problems = _columns(header)
        if "title" not in columns.values():
            return [], problems
        for row in reader:
            if any(cell.strip() for cell in row):
                raws.append(_record(len(raws) + 1, line + 1, row, header, columns))
            # A quoted field may span lines: the next record starts after it.
            line = reader.line_num
    except csv.Error as exc:
        raise ImportFormatError(
            _(
                "CSV error in the record starting at line %(line)s: %(problem)s "
                "(is a quote not closed?)",
                line=line + 1,
                problem=str(exc),
            )
        ) from None
    return raws, problems
