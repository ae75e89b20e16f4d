"""Normalised identifiers, and duplicate detection built on them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from urllib.parse import unquote

from ..words import say as _
from .model import StudyRecord

# Longest first, so "https://dx.doi.org/" is not left as "dx.doi.org/".
_DOI_URL_PREFIXES = (
    "https://dx.doi.org/",
    "http://dx.doi.org/",
    "https://doi.org/",
    "http://doi.org/",
    "dx.doi.org/",
    "doi.org/",
)
_NON_WORD = re.compile(r"[\W_]+")
_LEADING_YEAR = re.compile(r"\s*(\d{4})(?!\d)")
_REASONS = {"doi": _("same DOI"), "pmid": _("same PMID"), "title": _("same title")}


def normalise_doi(s: object) -> str:
    """Lower-case DOI without resolver prefixes or whitespace ("" for None)."""
    if s is None:
        return ""
    doi = "".join(str(s).split()).lower()
    if doi.startswith("doi:"):
        doi = doi[4:]
    for prefix in _DOI_URL_PREFIXES:
        if doi.startswith(prefix):
            # Resolver URLs may percent-encode the slash ("10.1000%2Fabc").
            doi = unquote(doi[len(prefix) :])
            break
    return doi


def normalise_title(s: object) -> str:
    """Title reduced for comparison: no accents, case, punctuation or spacing."""
    if s is None:
        return ""
    decomposed = unicodedata.normalize("NFKD", str(s))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", bare.casefold()).strip()


def normalise_pmid(s: object) -> str:
    """PMID as stored: just the stripped text ("" for None)."""
    return "" if s is None else str(s).strip()


def year_from_date(s: str) -> str:
    """The leading 4-digit year of a date ("2021///", "2020 Dec-2021 Jan").

    Anything else is returned unchanged so that validation can name it.
    """
    match = _LEADING_YEAR.match(s)
    return match.group(1) if match else s


def duplicate_keys(fields: Mapping[str, object]) -> list[tuple[str, str]]:
    """[("doi", ...), ("pmid", ...), ("title", ...)] for the non-empty ones."""
    keys = [
        ("doi", normalise_doi(fields.get("doi"))),
        ("pmid", normalise_pmid(fields.get("pmid"))),
        ("title", normalise_title(fields.get("title"))),
    ]
    return [(kind, value) for kind, value in keys if value]


def find_duplicates_within(
    records: Iterable[StudyRecord],
) -> list[tuple[StudyRecord, StudyRecord, str]]:
    """(earlier, later, reason) for each record that repeats an earlier one.

    A later record is reported once, against the first record sharing its
    strongest key (DOI, then PMID, then title).
    """
    first_seen: dict[tuple[str, str], StudyRecord] = {}
    duplicates: list[tuple[StudyRecord, StudyRecord, str]] = []
    for record in records:
        keys = duplicate_keys(record.fields)
        match = next((key for key in keys if key in first_seen), None)
        if match is not None:
            duplicates.append((first_seen[match], record, _REASONS[match[0]]))
        for key in keys:
            first_seen.setdefault(key, record)
    return duplicates
