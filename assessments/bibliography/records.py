"""Shared validation: turn a RawRecord into a StudyRecord or problems."""

from __future__ import annotations

import re
from collections.abc import Callable

from ..words import say as _
from .model import (
    METHOD_TRACKS,
    STUDY_FIELDS,
    FieldValue,
    RawRecord,
    RecordProblem,
    StudyRecord,
)
from .normalise import normalise_doi

_DOI = re.compile(r"10\.\d{4,9}/\S+")
_YEAR = re.compile(r"[12][0-9]{3}")
# PostgreSQL refuses NUL in text, and no control character other than line
# breaks and tabs means anything in a bibliographic field.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LABEL_LENGTH = 80
_VALUE_LENGTH = 60

# A converter returns the clean value and an error message ("" when fine).
Converter = Callable[[str], tuple[FieldValue, str]]


def _shown(value: str) -> str:
    """The offending value quoted, shortened so one problem stays one line."""
    if len(value) > _VALUE_LENGTH:
        value = value[: _VALUE_LENGTH - 1] + "…"
    return repr(value)


def _line(value: str) -> tuple[FieldValue, str]:
    # Tag formats wrap long values over several lines; keep one line.
    return " ".join(value.split()), ""


def _paragraphs(value: str) -> tuple[FieldValue, str]:
    # Abstract sections ("METHODS: ...") stay on their own lines.
    lines = (" ".join(line.split()) for line in value.splitlines())
    return "\n".join(line for line in lines if line), ""


def _authors(value: str) -> tuple[FieldValue, str]:
    names = (" ".join(name.split()) for name in value.split(";"))
    return "; ".join(name for name in names if name), ""


def _year(value: str) -> tuple[FieldValue, str]:
    if not value:
        return None, ""
    if _YEAR.fullmatch(value):
        return int(value), ""
    return None, _("year: %(value)s is not a 4-digit year", value=_shown(value))


def _sample_size(value: str) -> tuple[FieldValue, str]:
    if not value:
        return None, ""
    if value.isdecimal() and value.isascii() and int(value) > 0:
        return int(value), ""
    return None, _(
        "sample_size: %(value)s is not a positive integer", value=_shown(value)
    )


def _method_track(value: str) -> tuple[FieldValue, str]:
    track = re.sub(r"[\s-]+", "_", value.casefold())
    if not track or track in METHOD_TRACKS:
        return track, ""
    return "", _(
        "method_track: %(value)s is not one of %(expected)s",
        value=_shown(value),
        expected=", ".join(METHOD_TRACKS),
    )


def _doi(value: str) -> tuple[FieldValue, str]:
    doi = normalise_doi(value)
    if not doi or _DOI.fullmatch(doi):
        return doi, ""
    return "", _(
        "doi: %(value)s does not look like a DOI (10.NNNN/...)", value=_shown(value)
    )


def _pmid(value: str) -> tuple[FieldValue, str]:
    if not value or (value.isdecimal() and value.isascii()):
        return value, ""
    return "", _(
        "pmid: %(value)s is not a PubMed ID (digits only)", value=_shown(value)
    )


_CONVERTERS: dict[str, Converter] = {
    "authors": _authors,
    "abstract": _paragraphs,
    "year": _year,
    "sample_size": _sample_size,
    "method_track": _method_track,
    "doi": _doi,
    "pmid": _pmid,
}


def _label(title: FieldValue, where: str) -> str:
    if not isinstance(title, str) or not title:
        return where
    if len(title) > _LABEL_LENGTH:
        return title[: _LABEL_LENGTH - 1] + "…"
    return title


def build_record(raw: RawRecord) -> tuple[StudyRecord | None, list[RecordProblem]]:
    """Validate one record; a record with any problem is not returned."""
    fields: dict[str, FieldValue] = {}
    errors: list[str] = []
    for name in STUDY_FIELDS:
        convert = _CONVERTERS.get(name, _line)
        value = _CONTROL.sub("", raw.fields.get(name, "")).strip()
        fields[name], error = convert(value)
        if error:
            errors.append(error)
    # A record nothing could be read from is explained by raw.problems alone.
    if not fields["title"] and (raw.fields or not raw.problems):
        errors.insert(0, _("no title"))
    errors[:0] = raw.problems
    label = _label(fields["title"], raw.where)
    problems = [RecordProblem(raw.index, label, message) for message in errors]
    return (None if problems else StudyRecord(raw.index, fields)), problems
