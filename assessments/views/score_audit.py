"""Check a published score table: upload a review's table for an instrument
and see which rows do not add up and which are impossible. Nothing is stored."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from ..instruments.reported import TableError, table_text
from ..instruments.spreadsheet import TableRow, read_table, template_header
from ..models import InstrumentVersion
from ..words import in_words
from . import uploads
from .pages import versions_for

SHOW, DOWNLOAD = "page", "csv"


class AuditForm(forms.Form):
    # Lives here, not in forms.py: nothing it reads is stored.
    file = forms.FileField(
        label=gettext_lazy("Score table (CSV or XLSX)"),
        help_text=gettext_lazy(
            "One row per study: id, then one column per condition and item, "
            "and the figures the review reported as reported_total, "
            "reported_percent or reported_band."
        ),
    )
    output = forms.ChoiceField(
        label=gettext_lazy("Result"),
        choices=[
            (SHOW, gettext_lazy("Show it on this page")),
            (DOWNLOAD, gettext_lazy("Download it as CSV")),
        ],
        initial=SHOW,
        widget=forms.RadioSelect,
    )


@dataclass(frozen=True)
class Line:
    row: TableRow
    status: str  # adds up, mis-scored, impossible

    @property
    def found(self) -> list[str]:
        """The row's problems as found (English: the CSV's column)."""
        return self.row.errors + self.row.differences

    @property
    def problems(self) -> list[str]:
        """The problems as the page shows them, in the reader's words."""
        return [str(in_words(problem, gettext)) for problem in self.found]

    @property
    def label(self) -> str:
        """The status as the page shows it (the CSV keeps the code)."""
        return str(STATUS_LABELS.get(self.status, self.status))


STATUS_LABELS = {
    "adds up": gettext_lazy("Adds up"),
    "mis-scored": gettext_lazy("Mis-scored"),
    "impossible": gettext_lazy("Impossible"),
}


def _lines(rows: list[TableRow]) -> list[Line]:
    def status(row: TableRow) -> str:
        if row.errors:
            return "impossible"
        return "mis-scored" if row.differences else "adds up"

    return [Line(r, status(r)) for r in rows]


def summary(lines: list[Line]) -> str:
    """ "7 of 52 rows mis-scored; 2 impossible under the instrument"."""
    wrong = sum(1 for line in lines if line.status == "mis-scored")
    impossible = sum(1 for line in lines if line.status == "impossible")
    n = len(lines)
    figures = {"wrong": wrong, "n": n, "impossible": impossible}
    if impossible:
        return (
            ngettext(
                "%(wrong)s of %(n)s row mis-scored; "
                "%(impossible)s impossible under the instrument",
                "%(wrong)s of %(n)s rows mis-scored; "
                "%(impossible)s impossible under the instrument",
                n,
            )
            % figures
        )
    return (
        ngettext(
            "%(wrong)s of %(n)s row mis-scored", "%(wrong)s of %(n)s rows mis-scored", n
        )
        % figures
    )


def _csv(version: InstrumentVersion, lines: list[Line]) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    figures = ("total", "max", "percent", "band", "reported_total", "difference")
    writer.writerow(["id", "status", *figures, "problems"])
    for line in lines:
        row = line.row.row or {}
        cells = [row.get(k, "") for k in figures]
        problems = "; ".join(line.found)
        writer.writerow([line.row.row_id, line.status, *cells, problems])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"score-table-audit-{version.key}.csv"
    response["Content-Disposition"] = content_disposition_header(True, name) or ""
    response["Cache-Control"] = "private, no-store"
    return response


def _said(exc: Exception) -> str:
    """The exception's message, still a Phrase when it was raised with one."""
    message = exc.args[0] if len(exc.args) == 1 else None
    return message if isinstance(message, str) else str(exc)


def _version(request: HttpRequest, key: str) -> InstrumentVersion:
    found = [v for v in versions_for(request.user) if v.key == key]  # type: ignore[attr-defined]
    if not found:
        raise Http404("No such instrument version")
    return found[0]


@uploads.size_limited
@require_http_methods(["GET", "POST"])
def instrument_audit(request: HttpRequest, key: str) -> HttpResponse:
    version = _version(request, key)
    definition = version.as_definition()
    form = AuditForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {
        "version": version,
        "form": form,
        "columns": ", ".join(template_header(definition)[1:]),
    }
    if request.method != "POST":
        return render(request, "assessments/instrument_audit.html", context)
    status = 400
    if form.is_valid() and form.cleaned_data["file"].size > settings.UPLOAD_MAX_BYTES:
        form.add_error("file", uploads.too_large_text())
        status = 413
    elif form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            problems, rows = read_table(
                definition, table_text(upload.read(), upload.name or "")
            )
        except (TableError, csv.Error) as exc:
            problems, rows = [_said(exc)], []
        if problems:
            for problem in problems:
                text = str(in_words(problem, gettext))
                form.add_error("file", text[:1].upper() + text[1:] + ".")
        else:
            lines = _lines(rows)
            if form.cleaned_data["output"] == DOWNLOAD:
                return _csv(version, lines)
            context.update(lines=lines, summary=summary(lines))
            status = 200
    return render(request, "assessments/instrument_audit.html", context, status=status)
