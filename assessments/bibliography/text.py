"""Decoding uploads and recognising their format from the content."""

from __future__ import annotations

import codecs
import csv
import re

from ..words import say as _
from .model import STUDY_FIELDS, ImportFormatError

# Enough to see an XML root, a CSV header or the first few tagged records.
_HEAD_CHARS = 65536
_PUBMED_ROOT = re.compile(r"<PubmedArticle(?:Set)?[\s/>]")
_BIBTEX_ENTRY = re.compile(r"^[ \t]*@[ \t]*[A-Za-z]+[ \t]*[{(]", re.MULTILINE)
_RIS_START = re.compile(r"^TY  -", re.MULTILINE)
_MEDLINE_START = re.compile(r"^PMID- ", re.MULTILINE)
_DELIMITERS = (",", ";", "\t")
_COLUMN_SEPARATORS = re.compile(r"[\s-]+")


def decode_upload(data: bytes | str) -> str:
    """UTF-8 text without a byte-order mark, or ImportFormatError naming the byte."""
    if isinstance(data, str):
        return _checked_text(data).removeprefix("\ufeff")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFormatError(
            _("the file is UTF-16 or UTF-32 encoded; save it as UTF-8")
        )
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(_not_utf8(data, start + exc.start)) from None


def _checked_text(text: str) -> str:
    # Lone surrogates cannot come from a decoded file but can from a caller.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ImportFormatError(
            _(
                "invalid character at offset %(offset)s (unpaired surrogate)",
                offset=exc.start,
            )
        ) from None
    return text


def _not_utf8(data: bytes, offset: int) -> str:
    where = {
        "byte": f"{data[offset]:02X}",
        "offset": offset,
        "line": data.count(b"\n", 0, offset) + 1,
    }
    if data.startswith(b"PK\x03\x04"):
        return _(
            "not UTF-8 (byte 0x%(byte)s at offset %(offset)s, line %(line)s): "
            "this looks like a ZIP or Excel file; export it as CSV",
            **where,
        )
    return _(
        "not UTF-8 (byte 0x%(byte)s at offset %(offset)s, line %(line)s): "
        "save the file with UTF-8 encoding",
        **where,
    )


def detect_format(data: bytes | str) -> str | None:
    """One of FORMATS judged from the content (not the file name), or None."""
    if isinstance(data, bytes):
        # A cut through a multi-byte character at the end of the head is fine.
        data = data[: _HEAD_CHARS * 4].decode("utf-8", errors="replace")
    head = data[:_HEAD_CHARS].lstrip("\ufeff \t\r\n")
    if head.startswith("<"):
        return "pubmed-xml" if _PUBMED_ROOT.search(head) else None
    first_line = head.partition("\n")[0].rstrip("\r")
    if first_line.startswith("TY  -"):
        return "ris"
    if first_line.startswith("PMID- "):
        return "medline"
    if is_csv_header(first_line):
        return "csv"
    # Exports may start with comments or a preamble before the first record.
    for fmt, pattern in (
        ("bibtex", _BIBTEX_ENTRY),
        ("ris", _RIS_START),
        ("medline", _MEDLINE_START),
    ):
        if pattern.search(head):
            return fmt
    return None


def column_name(header: str) -> str:
    """CSV header cell as a field name: case-insensitive, spaces/hyphens -> _."""
    return _COLUMN_SEPARATORS.sub("_", header.strip().lower())


def sniff_delimiter(first_line: str) -> str:
    """The most frequent of comma, semicolon and tab in the header line.

    The header alone decides: csv.Sniffer is easily misled by the commas and
    quotes inside abstracts further down.
    """
    counts = {delimiter: first_line.count(delimiter) for delimiter in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def is_csv_header(line: str) -> bool:
    """True if the line reads as a header naming at least one study field."""
    try:
        cells = next(csv.reader([line], delimiter=sniff_delimiter(line)), [])
    except csv.Error:
        return False
    return any(column_name(cell) in STUDY_FIELDS for cell in cells)
