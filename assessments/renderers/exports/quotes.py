"""Quotes from the papers, a row each: the long export's companion table.

An answer can hold several quotes, so they get a table of their own (the
CSV "quotes" form, the XLSX long form's "Quotes" sheet) rather than columns of
the answer's row. Each row carries the W3C Web Annotation selectors the quote
was anchored with (TextQuoteSelector: exact, prefix, suffix;
TextPositionSelector: start, end into the stored page text) and the SHA-256
of the file it was made on, so that it can be found again in that file. The
rows come from the same visible answers as the long form: blinding applies.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext as _

from ...models import Assessment
from ...selectors.exports import ExportData
from .columns import (
    BOOLEAN,
    Column,
    head_columns,
    local_datetime,
    on_assessment,
    when_unit,
)
from .common import Cell, entry_labels, ordered_answers, reviewer_name

QUOTE_HEAD = ["study_uuid", "title", "reviewer", "kind", "instrument", "item"]
QUOTE_HEAD += ["item_label", "quote_id", "page", "exact", "prefix", "suffix"]
QUOTE_HEAD += ["start", "end", "verified", "quoted_by", "quoted_at", "adopted_by"]
QUOTE_HEAD += ["adopted_at", "paper_uuid", "paper_sha256"]

QuoteRow = tuple[Assessment, dict[str, Any], dict[str, Any]]


def quote_rows(data: ExportData) -> Iterator[QuoteRow]:
    """(assessment, answer row, quote) in the long form's order."""
    for a in data.assessments:
        for row in ordered_answers(data, data.answers[a.pk]):
            for quote in row.get("quotes") or []:
                if isinstance(quote, dict):
                    yield a, row, quote


def _text(quote: dict[str, Any], key: str) -> str:
    value = quote.get(key)
    return "" if value is None else str(value)


def _int(quote: dict[str, Any], key: str) -> int | None:
    value = quote.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _verified(quote: dict[str, Any]) -> bool | None:
    # None: the paper's text was not there yet when the quote was saved.
    value = quote.get("verified")
    return value if isinstance(value, bool) else None


def _moment(quote: dict[str, Any], key: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(_text(quote, key))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(quote: dict[str, Any], key: str) -> str | None:
    moment = _moment(quote, key)
    if moment is None:
        return _text(quote, key) or None
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def quote_cells(data: ExportData) -> list[list[Cell]]:
    """The CSV rows under QUOTE_HEAD: codes, ISO 8601 times, TRUE/FALSE."""
    labels = entry_labels(data.definition)
    return [
        [
            str(a.study.uuid),
            a.study.title,
            reviewer_name(a),
            a.kind,
            data.version.key,
            row["item_code"],
            labels.get(row["item_code"], ""),
            _text(q, "id"),
            _int(q, "page"),
            _text(q, "exact"),
            _text(q, "prefix"),
            _text(q, "suffix"),
            _int(q, "start"),
            _int(q, "end"),
            _verified(q),
            _text(q, "by"),
            _iso(q, "at"),
            _text(q, "adopted_by"),
            _iso(q, "adopted_at"),
            _text(q, "paper"),
            _text(q, "sha256"),
        ]
        for a, row, q in quote_rows(data)
    ]


def quote_doc(quote: dict[str, Any]) -> dict[str, Any]:
    """A quote in the JSON export: every stored field, and the W3C selectors."""
    doc = dict(quote)
    doc["selector"] = [
        {
            "type": "TextQuoteSelector",
            "exact": _text(quote, "exact"),
            "prefix": _text(quote, "prefix"),
            "suffix": _text(quote, "suffix"),
        },
        {
            "type": "TextPositionSelector",
            "start": _int(quote, "start"),
            "end": _int(quote, "end"),
        },
    ]
    return doc


# --- the XLSX sheet ---------------------------------------------------------------


def _verdict(entry: QuoteRow) -> bool | None:
    return _verified(entry[2])


def quote_columns(data: ExportData) -> list[Column]:
    """The Quotes sheet's columns: whose quote, of which item, where in the paper."""
    wording = entry_labels(data.definition)
    return [
        *(on_assessment(c) for c in head_columns(data)),
        Column(
            "Instrument",
            _("The instrument version the answer belongs to."),
            csv="instrument",
            value=lambda e: data.version.key,
        ),
        Column(
            "Item",
            _("The item's number (or code) in the instrument."),
            csv="item",
            value=lambda e: e[1]["item_code"],
        ),
        Column(
            "Item wording",
            _("The item as the instrument words it."),
            csv="item_label",
            value=lambda e: wording.get(e[1]["item_code"], ""),
        ),
        Column(
            "Quote ID",
            _(
                "The quote's identifier; a quote adopted into a consensus keeps the "
                "identifier of the reviewer's quote it was copied from."
            ),
            csv="quote_id",
            value=lambda e: _text(e[2], "id"),
        ),
        Column(
            "Page",
            _("The page of the paper the quote is on (the first page is 1)."),
            "page number",
            "page",
            value=lambda e: _int(e[2], "page"),
        ),
        Column(
            "Quoted text",
            _(
                "The words quoted from the paper, exactly as selected (the W3C Web "
                "Annotation TextQuoteSelector's exact)."
            ),
            csv="exact",
            value=lambda e: _text(e[2], "exact"),
        ),
        Column(
            "Text before",
            _(
                "A little of the page's text just before the quote (TextQuoteSelector "
                "prefix): it tells apart two places with the same words."
            ),
            csv="prefix",
            value=lambda e: _text(e[2], "prefix"),
        ),
        Column(
            "Text after",
            _(
                "A little of the page's text just after the quote (TextQuoteSelector "
                "suffix)."
            ),
            csv="suffix",
            value=lambda e: _text(e[2], "suffix"),
        ),
        Column(
            "Start",
            _(
                "Where the quote starts in the page's extracted text, in characters "
                "from the page's start (TextPositionSelector); empty when it was not "
                "found there."
            ),
            "characters",
            "start",
            value=lambda e: _int(e[2], "start"),
        ),
        Column(
            "End",
            _(
                "Where the quote ends in the page's extracted text "
                "(TextPositionSelector end, exclusive); empty when it was not found "
                "there."
            ),
            "characters",
            "end",
            value=lambda e: _int(e[2], "end"),
        ),
        Column(
            "Verified",
            _(
                "TRUE when the server found the quote on that page of the paper's "
                "text, FALSE when it did not (kept, marked not found in the paper); "
                "empty when the text had not been extracted yet."
            ),
            BOOLEAN,
            "verified",
            value=_verdict,
        ),
        Column(
            "Quoted by",
            _("The user name of who selected the quote in the paper."),
            csv="quoted_by",
            value=lambda e: _text(e[2], "by"),
        ),
        Column(
            "Quoted at",
            _("When the quote was made."),
            when_unit(),
            "quoted_at",
            value=lambda e: local_datetime(_moment(e[2], "at")),
        ),
        Column(
            "Adopted by",
            _(
                "For a consensus: who adopted the reviewer's quote into it; empty "
                "otherwise."
            ),
            csv="adopted_by",
            value=lambda e: _text(e[2], "adopted_by"),
        ),
        Column(
            "Adopted at",
            _("When the quote was adopted into the consensus."),
            when_unit(),
            "adopted_at",
            value=lambda e: local_datetime(_moment(e[2], "adopted_at")),
        ),
        Column(
            "Paper ID",
            _(
                "The identifier of the paper's file on this platform (a replaced "
                "paper keeps its own)."
            ),
            csv="paper_uuid",
            value=lambda e: _text(e[2], "paper"),
        ),
        Column(
            "Paper SHA-256",
            _(
                "The SHA-256 checksum of the PDF file the quote was made on: the same "
                "file gives the same checksum."
            ),
            csv="paper_sha256",
            value=lambda e: _text(e[2], "sha256"),
        ),
    ]
