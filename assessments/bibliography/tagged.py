"""RIS and PubMed MEDLINE (.nbib): line-oriented "TAG  - value" formats.

rispy is not used for RIS although it is fast enough (about 0.15 s for
10,000 records): it silently drops a record that lacks its "TY" line or the
file's final "ER" line and merges a record whose "ER" is missing into the
next one, and it reports no positions. An import that is all-or-nothing has
to name such records instead. rispy does not read MEDLINE at all (4-letter
tags, records separated by blank lines), so both share this small reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..words import say as _
from .model import Parsed, RawRecord
from .normalise import year_from_date

_RIS_TAG = re.compile(r"([A-Z][A-Z0-9])  -(?: (.*))?")
_MEDLINE_TAG = re.compile(r"([A-Z][A-Z0-9]{1,3}) *- (.*)")
# RIS "AN"/"M1" hold many kinds of numbers (Embase accession numbers, issue
# numbers); only 6-8 digits are taken as a PMID, which covers every PMID
# from the 1970s to today and nothing else commonly found there.
_RIS_PMID = re.compile(r"[0-9]{6,8}")
_MEDLINE_DOI = re.compile(r"(.*\S)\s*\[doi\]")


class _TaggedRecord:
    """Tags of one record, each value kept as the parts of its lines."""

    def __init__(self, line: int) -> None:
        self.line = line
        self.problems: list[str] = []
        self._tags: dict[str, list[list[str]]] = {}
        self._last: list[str] | None = None

    def add(self, tag: str, value: str) -> None:
        self._last = [value]
        self._tags.setdefault(tag, []).append(self._last)

    def extend(self, text: str) -> None:
        # Parts are joined once at the end: repeated string concatenation
        # would be quadratic on a hostile file of many continuation lines.
        if self._last is not None:
            self._last.append(text)

    def values(self, *tags: str) -> list[str]:
        joined = (
            " ".join(parts).strip() for tag in tags for parts in self._tags.get(tag, [])
        )
        return [value for value in joined if value]

    def first(self, *tags: str) -> str:
        return next(iter(self.values(*tags)), "")


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _scan_ris(lines: Iterable[str]) -> list[_TaggedRecord]:
    records: list[_TaggedRecord] = []
    current: _TaggedRecord | None = None
    for number, line in enumerate(lines, start=1):
        match = _RIS_TAG.fullmatch(line.rstrip())
        if match is None:
            if current is not None and line.strip():
                current.extend(line.strip())
            continue
        tag, value = match.group(1), (match.group(2) or "").strip()
        if tag == "ER":
            if current is not None:
                records.append(current)
            current = None
            continue
        if tag == "TY" and current is not None:
            current.problems.append(
                _("no 'ER  -' line before the next record (line %(line)s)", line=number)
            )
            records.append(current)
            current = None
        if current is None:
            current = _TaggedRecord(number)
            if tag != "TY":
                current.problems.append(_("does not start with a 'TY  -' line"))
        current.add(tag, value)
    if current is not None:
        current.problems.append(_("no closing 'ER  -' line (is the file truncated?)"))
        records.append(current)
    return records


def _ris_fields(record: _TaggedRecord) -> dict[str, str]:
    numbers = record.values("AN", "M1")
    return {
        "title": record.first("TI", "T1"),
        "authors": "; ".join(record.values("AU", "A1")),
        "year": year_from_date(record.first("PY", "Y1", "DA")),
        "journal": record.first("JO", "JF", "T2", "JA"),
        "doi": record.first("DO"),
        "abstract": record.first("AB", "N2"),
        "pmid": next((n for n in numbers if _RIS_PMID.fullmatch(n)), ""),
    }


def parse_ris(text: str) -> Parsed:
    raws = [
        RawRecord(
            n,
            _("record %(n)s (line %(line)s)", n=n, line=rec.line),
            _ris_fields(rec),
            rec.problems,
        )
        for n, rec in enumerate(_scan_ris(_lines(text)), start=1)
    ]
    return raws, []


def _scan_medline(lines: Iterable[str]) -> list[_TaggedRecord]:
    records: list[_TaggedRecord] = []
    current: _TaggedRecord | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            current = None  # records are separated by blank lines
            continue
        match = _MEDLINE_TAG.fullmatch(line.rstrip())
        if match is None or len(line) < 6 or line[4:6] != "- ":
            if current is not None:
                current.extend(line.strip())  # continuation, indented 6 spaces
            continue
        tag, value = match.group(1), match.group(2).strip()
        # PubMed starts every record with PMID, even without a blank line.
        if current is None or tag == "PMID":
            current = _TaggedRecord(number)
            records.append(current)
        current.add(tag, value)
    return records


def _medline_doi(record: _TaggedRecord) -> str:
    for value in record.values("LID", "AID"):
        match = _MEDLINE_DOI.fullmatch(value)
        if match:
            return match.group(1)
    return ""


def _medline_fields(record: _TaggedRecord) -> dict[str, str]:
    # CN is a group author, as CollectiveName in PubMed XML.
    authors = (record.values("FAU") or record.values("AU")) + record.values("CN")
    return {
        "title": record.first("TI"),
        "authors": "; ".join(authors),
        "year": year_from_date(record.first("DP")),
        "journal": record.first("JT", "TA"),
        "doi": _medline_doi(record),
        "abstract": record.first("AB"),
        "pmid": record.first("PMID"),
    }


def _medline_where(n: int, record: _TaggedRecord) -> str:
    pmid = record.first("PMID")
    if pmid:
        return _("record %(n)s (PMID %(pmid)s)", n=n, pmid=pmid)
    return _("record %(n)s (line %(line)s)", n=n, line=record.line)


def parse_medline(text: str) -> Parsed:
    raws = [
        RawRecord(n, _medline_where(n, rec), _medline_fields(rec), rec.problems)
        for n, rec in enumerate(_scan_medline(_lines(text)), start=1)
    ]
    return raws, []
