"""DOIs and PMIDs in a paper's text, its metadata, and its file name.

DOIs are case-insensitive, so they come back lower-cased, and without the
punctuation that ends the sentence around them ("see 10.1000/xyz.").
Everything comes back de-duplicated, in the order found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

# Prefix "10.<registrant>" then the suffix: anything up to whitespace, quotes
# or angle brackets (the Crossref advice, widened for older suffixes).
DOI = re.compile(r"\b10\.\d{4,9}(?:\.\d+)*(?:/|%2[fF])[^\s\"'<>]+")
# A DOI the layout split at its own hyphen or after a slash, across lines.
DOI_LINE_BREAK = re.compile(r"(?<=[-/\u2010])\n(?=[^\s])")
TRAILING = ".,;:"
CLOSING = {")": "(", "]": "["}
DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-"})

PMID_PATTERNS = (
    re.compile(r"\bPMID\s*:?\s*(\d{1,9})\b", re.IGNORECASE),
    re.compile(r"\bPubMed\s+ID\s*:?\s*(\d{1,9})\b", re.IGNORECASE),
    re.compile(r"\bpubmed(?:\.ncbi\.nlm\.nih\.gov)?/(\d{1,9})\b", re.IGNORECASE),
)

# In file names a DOI's "/" cannot be written: "_", "+" or "%2F" stand for it.
# A "-" could be part of the suffix, so it is not read as the slash.
FILENAME_DOI = re.compile(r"(?<!\d)10\.\d{4,9}(?:\.\d+)*(?:_|\+|%2[fF])[^\s]+")
FILENAME_PMID = re.compile(r"(?<![a-z])pmid[-_ :.]?(\d{1,9})(?!\d)", re.IGNORECASE)
BARE_PMID = re.compile(r"\d{7,8}")
# "paper (1).pdf": a browser's suffix for a second download of the same name.
DUPLICATE_MARK = re.compile(r"\s*\(\d+\)$")


@dataclass(frozen=True)
class Identifiers:
    dois: tuple[str, ...] = ()
    pmids: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.dois or self.pmids)


def identifiers_in(text: str) -> Identifiers:
    """The DOIs and PMIDs written in a text (a page, or metadata values)."""
    joined = DOI_LINE_BREAK.sub("", text)
    dois = [clean_doi(match.group(0)) for match in DOI.finditer(joined)]
    found = sorted(
        (match.start(), match.group(1))
        for pattern in PMID_PATTERNS
        for match in pattern.finditer(text)
    )
    return Identifiers(
        dois=unique(doi for doi in dois if doi),
        pmids=unique(normal_pmid(pmid) for _, pmid in found),
    )


def identifiers_in_filename(name: str) -> Identifiers:
    """Identifiers in a file name such as "10.1186_s13244-023-01572-w.pdf".

    Only unambiguous forms count: a DOI with its slash written as "_", "+" or
    "%2F"; "pmid-12345678" or "PMID12345678"; or a stem of 7 or 8 digits alone,
    which is how PubMed numbers are saved.
    """
    base = PureWindowsPath(PurePosixPath(name).name).name
    stem = re.sub(r"\.pdf$", "", base, flags=re.IGNORECASE)
    stem = DUPLICATE_MARK.sub("", stem)
    dois = [
        clean_doi(re.sub(r"_|\+|%2[fF]", "/", match.group(0), count=1))
        for match in FILENAME_DOI.finditer(stem)
    ]
    pmids = [match.group(1) for match in FILENAME_PMID.finditer(stem)]
    if BARE_PMID.fullmatch(stem):
        pmids.append(stem)
    return Identifiers(
        dois=unique(doi for doi in dois if doi),
        pmids=unique(normal_pmid(pmid) for pmid in pmids),
    )


def clean_doi(raw: str) -> str:
    """Lower-cased, "%2F" decoded, without trailing punctuation or brackets."""
    doi = raw.translate(DASHES).replace("%2F", "/").replace("%2f", "/").lower()
    while doi and (doi[-1] in TRAILING or unbalanced(doi)):
        doi = doi[:-1]
    # "10.1000/" alone is a prefix, not a DOI.
    return doi if "/" in doi and not doi.endswith("/") else ""


def unbalanced(doi: str) -> bool:
    """Whether the DOI ends in a bracket it never opened: "(doi:10.1/x)"."""
    last = doi[-1]
    return last in CLOSING and doi.count(last) > doi.count(CLOSING[last])


def normal_pmid(pmid: str) -> str:
    return pmid.lstrip("0") or "0"


def unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
