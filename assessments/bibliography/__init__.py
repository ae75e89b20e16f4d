"""Parsing uploaded bibliographies into study records (pure Python, no Django).

Formats and who reads them:

* RIS and PubMed MEDLINE (.nbib): a small line reader in ``tagged``;
* BibTeX/BibLaTeX: bibtexparser v2 with its LaTeX-decoding middleware;
* PubMed XML: expat (the parser under xml.etree) with entity declarations,
  internal DTD subsets and external entities refused;
* CSV: the csv module, header row of STUDY_FIELDS names.

``parse_studies`` returns the clean records and, per record, every problem
found; a record with a problem is left out of ``records``, so an
all-or-nothing import saves ``records`` only when ``problems`` is empty.
Problems about the whole file or the CSV header have index 0.
"""

from __future__ import annotations

from collections.abc import Callable

from ..words import say as _
from .bibtex import parse_bibtex
from .csv_table import parse_csv
from .model import (
    FORMATS,
    METHOD_TRACKS,
    STUDY_FIELDS,
    ImportFormatError,
    Parsed,
    ParseResult,
    RecordProblem,
    StudyRecord,
)
from .normalise import (
    duplicate_keys,
    find_duplicates_within,
    normalise_doi,
    normalise_title,
)
from .pubmed_xml import parse_pubmed_xml
from .records import build_record
from .tagged import parse_medline, parse_ris
from .text import decode_upload, detect_format

__all__ = [
    "FORMATS",
    "METHOD_TRACKS",
    "STUDY_FIELDS",
    "ImportFormatError",
    "ParseResult",
    "RecordProblem",
    "StudyRecord",
    "detect_format",
    "duplicate_keys",
    "find_duplicates_within",
    "normalise_doi",
    "normalise_title",
    "parse_studies",
]

_PARSERS: dict[str, Callable[[str], Parsed]] = {
    "ris": parse_ris,
    "bibtex": parse_bibtex,
    "medline": parse_medline,
    "pubmed-xml": parse_pubmed_xml,
    "csv": parse_csv,
}


def _undetected(text: str) -> ImportFormatError:
    if not text.strip():
        return ImportFormatError(_("the file is empty"))
    if text.lstrip().startswith("<"):
        return ImportFormatError(
            _("this XML is not PubMed XML (no <PubmedArticleSet> root element)")
        )
    return ImportFormatError(
        _(
            "unrecognised file format: expected RIS, BibTeX, PubMed (MEDLINE/.nbib), "
            "PubMed XML, or CSV with a header row of study field names"
        )
    )


def parse_studies(data: bytes | str, fmt: str | None = None) -> ParseResult:
    """Parse an upload; ``fmt`` (one of FORMATS) overrides detection.

    Raises ImportFormatError when the file as a whole cannot be read, and
    ValueError for an ``fmt`` outside FORMATS (a programming error).
    """
    if fmt is not None and fmt not in _PARSERS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    text = decode_upload(data)
    fmt = fmt or detect_format(text)
    if fmt is None:
        raise _undetected(text)
    raws, problems = _PARSERS[fmt](text)
    records: list[StudyRecord] = []
    for raw in raws:
        record, record_problems = build_record(raw)
        problems.extend(record_problems)
        if record is not None:
            records.append(record)
    if not raws and not problems:
        problems.append(
            RecordProblem(0, _("file"), _("no %(format)s records found", format=fmt))
        )
    return ParseResult(fmt, records, problems)
