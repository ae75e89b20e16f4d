"""Export files of a project's assessments for one instrument version.

Wide (a row per study x reviewer, a column per item), long (a row per answer,
with evidence), quotes (a row per quote from a paper, with its page and W3C
selectors; in the XLSX long form too) and JSON (with the instrument version's
metadata, a codebook and each answer's quotes in full), as CSV or XLSX, ready
for R, Stata or a supplement.

The rows are what selectors/exports.py read for the user (blinding applied);
services/exports.py records every export. Text a spreadsheet would run as a
formula is neutralised (OWASP CSV injection guidance); numbers stay numbers.
The CSV and JSON keep codes for machines (R, Python); the XLSX is for people
(`workbook`: labels, real dates, a codebook).
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from ...instruments import Condition, Definition, Item, cached_na_codes
from ...models import Assessment
from ...selectors.exports import ExportData, ExportError, entry_codes
from . import workbook
from .common import Cell, shown_percent
from .common import entry_labels as _labels
from .common import instrument_meta as _instrument_meta
from .common import judgement_keys as _judgement_keys
from .common import number as _number
from .common import ordered_answers as _ordered
from .common import project_meta as _project_meta
from .common import reviewer_name as _who
from .quotes import QUOTE_HEAD, quote_cells, quote_doc
from .revman import Rationales, revman_csv
from .robvis import check_judgement, robvis_csv

FORMS = ("wide", "long", "quotes", "json", "robvis", "robvis-applicability", "revman")
# Forms for the next tool: one CSV layout each, judgement instruments only.
SYNTHESIS_FORMS = ("robvis", "robvis-applicability", "revman")
# Who quoted or adopted a quote is stored by user name inside the answer.
QUOTE_PEOPLE = ("by", "adopted_by")
UNKNOWN_REVIEWER = "unknown reviewer"
FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
# A text cell starting with one of these is run by Excel, LibreOffice or Sheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
STUDY_HEAD = ["study_uuid", "title", "doi", "pmid", "year", "modality", "disease"]
WHO_HEAD = ["reviewer", "kind", "status", "submitted_at", "revised_after_unblinding"]
WIDE_HEAD = STUDY_HEAD + WHO_HEAD
ANSWER_HEAD = ["item", "item_label", "choices", "points", "na", "evidence", "page"]
LONG_HEAD = ["study_uuid", "title", "reviewer", "kind", *ANSWER_HEAD]
LONG_HEAD += ["comment", "updated_at"]


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content_type: str
    content: bytes
    rows: int = 0  # for the audit log


@dataclass(frozen=True)
class Sheet:
    name: str
    headers: list[str]
    rows: list[list[Cell]]


# --- public API -----------------------------------------------------------------------


def export(
    data: ExportData,
    form: str,
    fmt: str = "csv",
    *,
    european: bool = False,
    rationales: Rationales | None = None,
) -> ExportFile:
    """Dispatch on the form: wide, long, quotes, json, robvis or revman."""
    if form in SYNTHESIS_FORMS:
        return export_synthesis(data, form, rationales or {})
    if form == "json":
        return export_json(data)
    if form == "wide":
        return export_wide(data, fmt, european=european)
    if form == "long":
        return export_long(data, fmt, european=european)
    if form == "quotes":
        return export_quotes(data, fmt, european=european)
    raise ExportError(
        _("Unknown form %(form)s; choose one of %(forms)s.")
        % {"form": repr(form), "forms": ", ".join(FORMS)}
    )


def export_wide(data: ExportData, fmt: str, *, european: bool = False) -> ExportFile:
    """A row per study x reviewer (and consensus), a column per condition and item."""
    check_format(fmt)
    return _finish(data, _wide_sheet(data), "wide", fmt, european)


def export_long(data: ExportData, fmt: str, *, european: bool = False) -> ExportFile:
    """A row per answer, with evidence, page and comment."""
    check_format(fmt)
    return _finish(data, _long_sheet(data), "long", fmt, european)


def export_quotes(data: ExportData, fmt: str, *, european: bool = False) -> ExportFile:
    """A row per quote from a paper: the answer's item, page, selectors, verdict."""
    check_format(fmt)
    sheet = Sheet("quotes", QUOTE_HEAD, quote_cells(data))
    return _finish(data, sheet, "quotes", fmt, european)


def export_json(data: ExportData) -> ExportFile:
    """Instrument metadata, project settings, codebook and every visible assessment."""
    doc = {
        "format": "rqs-platform-export/1",
        "exported_at": _when(timezone.now()),
        "instrument": _instrument_meta(data),
        "project": _project_meta(data.project),
        "codebook": _codebook(data.definition),
        "assessments": [_assessment_doc(data, a) for a in data.assessments],
    }
    text = json.dumps(doc, ensure_ascii=False, indent=2, default=_json_default)
    return ExportFile(
        _filename(data, "json", "json"),
        CONTENT_TYPES["json"],
        text.encode(),
        len(data.assessments),
    )


def export_synthesis(data: ExportData, form: str, rationales: Rationales) -> ExportFile:
    """robvis or RevMan Web CSV of the final judgements (always comma-separated:
    both tools read the file by its commas)."""
    check_judgement(data, form)
    if form == "revman":
        content, rows = revman_csv(data, rationales)
    else:
        aspect = "applicability" if form == "robvis-applicability" else "risk_of_bias"
        content, rows = robvis_csv(data, aspect)
    return ExportFile(_filename(data, form, "csv"), CONTENT_TYPES["csv"], content, rows)


def quote_people(data: ExportData) -> set[str]:
    """User names written in the quotes (who quoted, who adopted)."""
    return {
        str(quote[key])
        for answers in data.answers.values()
        for row in answers.values()
        for quote in row.get("quotes") or []
        if isinstance(quote, dict)
        for key in QUOTE_PEOPLE
        if quote.get(key)
    }


def pseudonymise(data: ExportData, codes: Mapping[str, str]) -> ExportData:
    """The same data with every reviewer named by code (user name -> "R1").

    One substitution before rendering, so no form (CSV, XLSX, JSON, quotes)
    can name a reviewer by mistake; a name without a code becomes "unknown
    reviewer" rather than itself. The copies are never saved.
    """
    assessments = []
    for a in data.assessments:
        shown = copy.copy(a)  # Django copies the cached relations too
        if a.reviewer is not None and not a.is_consensus:
            name = a.reviewer.get_username()
            # Same id (the REDCap data keys rows by it), code for a name.
            shown.reviewer = type(a.reviewer)(
                pk=a.reviewer_id, username=codes.get(name, UNKNOWN_REVIEWER)
            )
        assessments.append(shown)
    answers = {
        pk: {code: _coded_row(row, codes) for code, row in rows.items()}
        for pk, rows in data.answers.items()
    }
    return replace(data, assessments=assessments, answers=answers)


def _coded_row(row: dict[str, Any], codes: Mapping[str, str]) -> dict[str, Any]:
    quotes = row.get("quotes")
    if not quotes:
        return row
    coded = []
    for quote in quotes:
        if isinstance(quote, dict):
            quote = dict(quote)
            for key in QUOTE_PEOPLE:
                if quote.get(key):
                    quote[key] = codes.get(str(quote[key]), UNKNOWN_REVIEWER)
        coded.append(quote)
    return {**row, "quotes": coded}


# --- reading --------------------------------------------------------------------------


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ExportError(
            _("Unknown format %(format)s; choose one of %(formats)s.")
            % {"format": repr(fmt), "formats": ", ".join(FORMATS)}
        )


# --- wide -----------------------------------------------------------------------------


def _wide_sheet(data: ExportData) -> Sheet:
    codes = entry_codes(data.definition)
    is_judgement = data.definition.kind == "judgement"
    tail = (
        _judgement_keys(data.definition)
        if is_judgement
        else ["total", "max", "percent", "band"]
    )
    rows = [
        [
            *_study_cells(a),
            *_item_cells(data, a, codes),
            *(_judgements(a, tail) if is_judgement else _score_cells(a)),
        ]
        for a in data.assessments
    ]
    return Sheet("wide", WIDE_HEAD + codes + tail, rows)


def _study_cells(a: Assessment) -> list[Cell]:
    study = a.study
    return [
        str(study.uuid),
        study.title,
        study.doi,
        study.pmid,
        study.year,
        study.modality,
        study.disease,
        _who(a),
        a.kind,
        a.status,
        _when(a.submitted_at),
        a.revised_after_unblinding,
    ]


def _item_cells(data: ExportData, a: Assessment, codes: list[str]) -> list[Cell]:
    answers, na = data.answers[a.pk], set(cached_na_codes(a.result or {}))
    return [
        _item_cell(answers.get(code), code in na, code in data.by_points)
        for code in codes
    ]


def _item_cell(answer: dict[str, Any] | None, na: bool, by_points: bool) -> Cell:
    """`na`, the item's points (points instruments) or the chosen codes."""
    if na or (answer is not None and answer["na"]):
        return "na"
    if answer is None or answer["choices"] is None:
        return None
    if by_points and answer["points"] is not None:
        return _number(answer["points"])
    return "+".join(answer["choices"])


def _score_cells(a: Assessment) -> list[Cell]:
    return [
        _number(a.total),
        _number(a.maximum),
        _number(shown_percent(a)),
        a.band or None,
    ]


def _judgements(a: Assessment, keys: list[str]) -> list[Cell]:
    given = (a.result or {}).get("judgements", {})
    return [given.get(key) for key in keys]


# --- long -----------------------------------------------------------------------------


def _long_sheet(data: ExportData) -> Sheet:
    labels = _labels(data.definition)
    rows: list[list[Cell]] = []
    for a in data.assessments:
        head: list[Cell] = [str(a.study.uuid), a.study.title, _who(a), a.kind]
        answers = _ordered(data, data.answers[a.pk])
        rows += [[*head, *_answer_cells(r, labels)] for r in answers]
    return Sheet("long", LONG_HEAD, rows)


def _answer_cells(row: dict[str, Any], labels: dict[str, str]) -> list[Cell]:
    choices = row["choices"]
    return [
        row["item_code"],
        labels.get(row["item_code"], ""),
        None if choices is None else "+".join(choices),
        _number(row["points"]),
        bool(row["na"]),
        row["evidence"],
        row["page"],
        row["comment"],
        _when(row["updated_at"]),
    ]


# --- JSON -----------------------------------------------------------------------------


def _codebook(definition: Definition) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = [
        {"code": c.code, "label": c.label, "role": "condition", "options": _opts(c)}
        for c in definition.conditions
    ]
    entries += [
        {
            "code": i.code,
            "label": i.label,
            "role": "item",
            "section": i.section,
            "type": i.type,
            "options": _opts(i),
        }
        for i in definition.items
    ]
    return entries


def _opts(entry: Condition | Item) -> list[dict[str, Any]]:
    return [
        {"code": o.code, "label": o.label, "points": o.points} for o in entry.options
    ]


def _assessment_doc(data: ExportData, a: Assessment) -> dict[str, Any]:
    result = a.result or {}
    cells = dict(zip(WIDE_HEAD, _study_cells(a), strict=True))
    study = {k: cells[k] for k in ("title", "doi", "pmid", "year", "modality")}
    shown = result.get("percent_display")
    labels = _labels(data.definition)
    return {
        "uuid": str(a.uuid),
        "study": {"uuid": cells["study_uuid"], **study, "disease": cells["disease"]},
        **{k: cells[k] for k in ("reviewer", "kind", "status", "submitted_at")},
        "revised_after_unblinding": a.revised_after_unblinding,
        "complete": a.complete,
        "total": a.total,
        "maximum": a.maximum,
        "percent": a.percent,
        "percent_display": None if shown is None else Decimal(shown),
        "band": a.band or None,
        "judgements": result.get("judgements") or {},
        "answers": [
            _answer_doc(row, labels) for row in _ordered(data, data.answers[a.pk])
        ],
    }


def _answer_doc(row: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    doc: dict[str, Any] = dict(
        zip(LONG_HEAD[4:], _answer_cells(row, labels), strict=True)
    )
    doc["choices"] = row["choices"]  # a list in JSON, not joined with "+"
    doc["quotes"] = [
        quote_doc(q) for q in row.get("quotes") or [] if isinstance(q, dict)
    ]
    return doc


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, datetime):
        return _when(value)
    raise TypeError(f"Not JSON serialisable: {type(value).__name__}")


# --- cells and files ------------------------------------------------------------------


def _when(value: datetime | None) -> str | None:
    return (
        None if value is None else value.astimezone(UTC).isoformat(timespec="seconds")
    )


def neutralise(text: str) -> str:
    """Prefix a quote to text a spreadsheet would evaluate as a formula (OWASP)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_cell(value: Cell, european: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        text = repr(value)
        return text.replace(".", ",") if european else text
    return neutralise(str(value))


def _csv_bytes(sheet: Sheet, european: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if european else ",", lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in sheet.headers])
    writer.writerows([_csv_cell(v, european) for v in row] for row in sheet.rows)
    # The byte-order mark makes Excel read UTF-8 instead of the local code page.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _finish(
    data: ExportData, sheet: Sheet, form: str, fmt: str, european: bool
) -> ExportFile:
    if fmt == "xlsx":
        # The same rows, for people: labels instead of codes, and a codebook.
        content = workbook.workbook_bytes(data, form)
    else:
        content = _csv_bytes(sheet, european)
    return ExportFile(
        _filename(data, form, fmt), CONTENT_TYPES[fmt], content, len(sheet.rows)
    )


def _filename(data: ExportData, form: str, ext: str) -> str:
    stamp = timezone.now().strftime("%Y%m%d")
    return f"{data.project.slug}-{data.version.key}-{form}-{stamp}.{ext}"
