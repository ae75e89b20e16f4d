"""The XLSX export, for people: labelled columns, real dates, a codebook.

The CSV keeps codes and neutralises formula-like text with a leading quote,
which a spreadsheet importing CSV needs. Here every text cell is written as an
explicit string cell instead, which Excel, LibreOffice and Sheets never
evaluate, so evidence such as ``=1+1`` reads exactly as it was typed. Date
cells are Excel dates in the server's time zone (Excel has no time zones).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from ...selectors.exports import ExportData
from .columns import (
    Column,
    answer_columns,
    local_datetime,
    long_columns,
    study_columns,
)
from .common import (
    instrument_meta,
    instrument_title,
    judgement_keys,
    number,
    ordered_answers,
    shown_percent,
)
from .quotes import quote_columns, quote_rows

# The sheets keep their English names (scripts open them by name), so the
# translated descriptions name them in English too.
TABLE_WORDS = {
    "wide": gettext_lazy("Scores: a row per study and reviewer"),
    "long": gettext_lazy(
        "Answers: a row per answer; Quotes (once the project has papers): a "
        "row per quote from a paper, with its page and where it is in the paper"
    ),
    "quotes": gettext_lazy(
        "Quotes: a row per quote from a paper, with its page and where it "
        "is in the paper"
    ),
}
XLSX_MAX_CELL = 32_767  # Excel's limit on the characters of one cell
MIN_WIDTH, MAX_WIDTH = 8, 60  # in characters: readable, never a screen wide
DATE_FORMAT = "yyyy-mm-dd hh:mm"
WRAP = Alignment(wrap_text=True, vertical="top")
BOLD = Font(bold=True)


@dataclass(frozen=True)
class Table:
    name: str
    columns: list[Column]
    rows: list[list[Any]]


def workbook_bytes(data: ExportData, form: str) -> bytes:
    """The wide ("Scores"), long ("Answers", with "Quotes" once the project has
    papers) or quotes table, its codebook and an About."""
    tables = _tables(data, form)
    about = _about(data, form)
    codebook = _codebook([*tables, about])
    book = Workbook(write_only=True)
    for sheet in (*tables, codebook, about):
        _write(book, sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the tables ------------------------------------------------------------------


def _tables(data: ExportData, form: str) -> list[Table]:
    if form == "wide":
        return [_scores(data)]
    if form == "quotes":
        return [_quotes(data)]
    # Quotes need a paper: a project without any keeps the sheets it always had.
    return [_answers(data), _quotes(data)] if data.has_papers else [_answers(data)]


def _scores(data: ExportData) -> Table:
    columns = [*study_columns(data), *answer_columns(data), *_tail(data)]
    rows = [[column.value(a) for column in columns] for a in data.assessments]
    return Table("Scores", columns, rows)


def _answers(data: ExportData) -> Table:
    columns = long_columns(data)
    rows = [
        [column.value((a, row)) for column in columns]
        for a in data.assessments
        for row in ordered_answers(data, data.answers[a.pk])
    ]
    return Table("Answers", columns, rows)


def _quotes(data: ExportData) -> Table:
    columns = quote_columns(data)
    rows = [[column.value(entry) for column in columns] for entry in quote_rows(data)]
    return Table("Quotes", columns, rows)


def _tail(data: ExportData) -> list[Column]:
    if data.definition.kind == "judgement":
        return [_judgement(data, key) for key in judgement_keys(data.definition)]
    # Bands are stored by their English name (the code); the label is the reader's.
    shown = data.wording.band if data.wording else str
    bands = tuple((b.label, shown(b.label)) for b in data.definition.bands)
    return [
        Column(
            "Total (points)",
            _("The assessment's total score."),
            "points",
            "total",
            value=lambda a: number(a.total),
        ),
        Column(
            "Maximum (points)",
            _(
                "The highest total this assessment could reach with the items "
                "that apply."
            ),
            "points",
            "max",
            value=lambda a: number(a.maximum),
        ),
        Column(
            "Percentage of maximum",
            _(
                "Total as a percentage of the maximum, one "
                "decimal, as the pages show it (the project's percentage convention, "
                "see About)."
            ),
            "%",
            "percent",
            value=lambda a: number(shown_percent(a)),
        ),
        Column(
            "Band",
            _("The instrument's quality band for this total."),
            "",
            "band",
            bands,
            value=lambda a: a.band or None,
        ),
    ]


def _judgement(data: ExportData, key: str) -> Column:
    aspect = key.removeprefix("overall_")
    options = next(
        (i.options for i in data.definition.items if i.judgement == aspect), ()
    )
    labels = {o.code: o.label for o in options}
    words = aspect.replace("_", " ")
    return Column(
        f"Overall {words}",
        _(
            "Overall %(aspect)s: low if every domain is low, high if any is high, "
            "otherwise unclear; empty while a domain is unanswered."
        )
        % {"aspect": words},
        "",
        key,
        tuple(labels.items()),
        value=lambda a: _label_of(
            labels, (a.result or {}).get("judgements", {}).get(key)
        ),
    )


def _label_of(labels: dict[str, str], code: str | None) -> str | None:
    return None if code is None else labels.get(code, code)


def _about(data: ExportData, form: str) -> Table:
    version, project = data.version, data.project
    facts: list[tuple[str, Any]] = [
        (_("Instrument"), instrument_title(data)),
        (_("Full name"), version.name),
        (_("Version"), version.version),
        (_("Wording revision"), version.revision),
        (_("Instrument status"), version.get_status_display()),
        (_("Scoring"), version.get_kind_display()),
        (_("Citation"), version.citation),
        ("DOI", version.doi),
        (_("Licence"), version.licence),
        (_("Scoring fingerprint"), instrument_meta(data)["scoring_hash"]),
        (_("Project"), project.name),
        (_("Percentages"), project.get_percent_convention_display()),
        (
            _("Reviewers blinded to each other"),
            _("yes") if project.blinding else _("no"),
        ),
        (_("Reviewers per study"), project.reviewers_per_study),
        (_("Table"), str(TABLE_WORDS.get(form, TABLE_WORDS["long"]))),
        (_("Exported at"), local_datetime(timezone.now())),
        (_("Time zone of dates and times"), timezone.get_current_timezone_name()),
    ]
    columns = [
        Column(
            "Field",
            _("What the value describes."),
            "",
            "field",
            value=lambda fact: fact[0],
        ),
        Column(
            "Value",
            _("The instrument's, the project's or the export's setting."),
            "",
            "value",
            value=lambda fact: fact[1],
        ),
    ]
    return Table("About", columns, [[c.value(f) for c in columns] for f in facts])


def _codebook(tables: Sequence[Table]) -> Table:
    entries = [(t.name, n, c) for t in tables for n, c in enumerate(t.columns)]
    columns = [
        Column("Sheet", _("The sheet the column is on."), "", "", value=lambda e: e[0]),
        Column(
            "Column",
            _("The column's letter on that sheet."),
            "",
            "",
            value=lambda e: get_column_letter(e[1] + 1),
        ),
        Column(
            "Header", _("The column's header."), "", "", value=lambda e: e[2].header
        ),
        Column(
            "Meaning", _("What the column holds."), "", "", value=lambda e: e[2].meaning
        ),
        Column(
            "Unit",
            _("Unit or type of the values."),
            "",
            "",
            value=lambda e: e[2].unit or "text",
        ),
        Column(
            "Codes and labels",
            _(
                "For coded columns: each code, as the CSV and "
                "JSON exports hold it, and the label shown here."
            ),
            "",
            "",
            value=lambda e: _codes_text(e[2].codes),
        ),
        Column(
            "CSV column",
            _("The same column's header in the CSV export."),
            "",
            "",
            value=lambda e: e[2].csv,
        ),
    ]
    return Table("Codebook", columns, [[c.value(e) for c in columns] for e in entries])


def _codes_text(codes: Sequence[tuple[str, str]]) -> str | None:
    return "\n".join(f"{code} = {label}" for code, label in codes) or None


# --- writing ---------------------------------------------------------------------


def _write(book: Workbook, table: Table) -> None:
    sheet = book.create_sheet(title=table.name)
    sheet.freeze_panes = "A2"  # the header stays in view while scrolling
    for n, width in enumerate(_widths(table), start=1):
        sheet.column_dimensions[get_column_letter(n)].width = width
    heads = [_cell(sheet, c.header) for c in table.columns]
    for head in heads:
        head.font, head.alignment = BOLD, WRAP
    sheet.append(heads)
    for row in table.rows:
        sheet.append([_cell(sheet, value) for value in row])


def _widths(table: Table) -> list[float]:
    """Each column as wide as its longest line, within readable bounds."""
    widths = []
    for n, column in enumerate(table.columns):
        texts = [_shown(row[n]) for row in table.rows]
        longest = max((len(line) for t in texts for line in t.splitlines()), default=0)
        # Headers wrap, so a long header needs only a third of its length.
        wanted = max(longest, min(len(column.header), 20), len(column.header) // 3)
        widths.append(float(min(max(wanted + 2, MIN_WIDTH), MAX_WIDTH)))
    return widths


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return "2000-01-01 00:00"
    return str(value)


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> WriteOnlyCell:
    if value == "":
        value = None  # an empty cell, not an empty text
    if isinstance(value, str):
        # openpyxl refuses control characters that PDFs sometimes paste along.
        cell = WriteOnlyCell(sheet, value=clean_text(value))
        # Explicit text: "=1+1" must stay text, and nothing is prefixed to show it.
        cell.data_type = "s"
        if "\n" in value or len(value) > MAX_WIDTH:
            cell.alignment = WRAP
        return cell
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, datetime | date):
        cell.number_format = DATE_FORMAT
    return cell


def clean_text(text: str) -> str:
    """Text as Excel can hold it: no control characters, within its cell limit."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:XLSX_MAX_CELL]
