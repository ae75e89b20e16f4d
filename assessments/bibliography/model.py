"""Value types shared by the bibliography parsers (no Django, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..words import Phrase
from ..words import say as _

FORMATS = ("ris", "bibtex", "medline", "pubmed-xml", "csv")

STUDY_FIELDS = (
    "title",
    "authors",
    "year",
    "journal",
    "doi",
    "pmid",
    "abstract",
    "modality",
    "disease",
    "clinical_task",
    "method_track",
    "sample_size",
    "data_url",
    "code_url",
    "xnat_project",
)

METHOD_TRACKS = ("handcrafted", "deep_learning", "both")

FieldValue = str | int | None


class ImportFormatError(ValueError):
    """The upload as a whole cannot be read (encoding, format, XML safety).

    Its message (``args[0]``) is a Phrase: English as str(), translatable where
    it is shown.
    """


@dataclass(frozen=True)
class StudyRecord:
    """One clean record, ready to save.

    ``index`` is the 1-based record number in the file; ``fields`` holds every
    key of STUDY_FIELDS (strings stripped, "" when absent; ``year`` and
    ``sample_size`` are int or None).
    """

    index: int
    fields: dict[str, FieldValue]


@dataclass(frozen=True)
class RecordProblem:
    """Why a record (or, with index 0, the file or CSV header) was rejected.

    ``label`` is the record's title, or a Phrase locating it ("record 3 (line
    21)", "header"); ``message`` is a Phrase (plain text only when made above
    the floor, already in the reader's language).
    """

    index: int
    label: str
    message: str

    @property
    def phrase(self) -> Phrase:
        """The problem as "label: message", translatable (words.in_words)."""
        return _("%(label)s: %(message)s", label=self.label, message=self.message)

    def __str__(self) -> str:
        return str.__str__(self.phrase)


@dataclass(frozen=True)
class ParseResult:
    """Records without problems, and every problem found, in file order."""

    format: str
    records: list[StudyRecord]
    problems: list[RecordProblem]


@dataclass
class RawRecord:
    """What a format parser read, before the shared validation.

    ``where`` locates the record for people ("record 3 (line 21)", "line 7")
    and is the label used when the record has no title. ``problems`` holds
    structural complaints found by the format parser itself. Both are Phrases.
    """

    index: int
    where: str
    fields: dict[str, str]
    problems: list[str] = field(default_factory=list)


# What every format parser returns: its records and file-level problems.
Parsed = tuple[list[RawRecord], list[RecordProblem]]
