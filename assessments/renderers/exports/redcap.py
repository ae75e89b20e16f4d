"""REDCap files: the data dictionary of an instrument version and the data to import.

The dictionary comes from `instruments.redcap`; the data is REDCap's flat
import CSV (one row per assessment, the dictionary's field names as columns,
raw codes as values, checkboxes as `field___code` columns of 0/1). Reviewers
appear as their project pseudonyms (R1, R2, ...), given by the caller.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from ...instruments import cached_na_codes
from ...instruments.redcap import HEADER, Dictionary, data_dictionary, record_values
from ...models import Assessment
from ...selectors.exports import ExportData
from . import neutralise
from .common import judgement_keys, number

NUMBER = re.compile(r"-?\d+(\.\d+)?")


def dictionary_of(data: ExportData) -> Dictionary:
    platform = (
        judgement_keys(data.definition) if data.definition.kind == "judgement" else []
    )
    return data_dictionary(data.definition, platform)


def redcap_dictionary(data: ExportData) -> tuple[str, bytes, int]:
    """(filename, CSV bytes, rows) of the version's data dictionary."""
    rows = dictionary_of(data).rows()
    return _file(data, "redcap-dictionary"), _csv([list(HEADER), *rows]), len(rows)


def redcap_data(data: ExportData, codes: Mapping[Any, str]) -> tuple[str, bytes, int]:
    """(filename, CSV bytes, rows) for REDCap's Data Import Tool.

    `codes`: each reviewer's pseudonym by user id; consensus rows say so.
    """
    dictionary = dictionary_of(data)
    columns = dictionary.columns()
    rows = [
        [_row(data, dictionary, a, codes)[c] for c in columns] for a in data.assessments
    ]
    return _file(data, "redcap-data"), _csv([columns, *rows]), len(rows)


def _row(
    data: ExportData, dictionary: Dictionary, a: Assessment, codes: Mapping[Any, str]
) -> dict[str, str]:
    answers = {
        code: None if row["na"] or row["choices"] is None else tuple(row["choices"])
        for code, row in data.answers[a.pk].items()
    }
    result = a.result or {}
    record = {
        "record_id": str(a.uuid),
        "study_id": str(a.study.uuid),
        "study_title": a.study.title,
        "study_doi": a.study.doi,
        "reviewer": "consensus"
        if a.is_consensus or a.reviewer_id is None
        else codes.get(a.reviewer_id, ""),
        "platform_total": _text(number(a.total)),
        "platform_percent": _text(result.get("percent_display", number(a.percent))),
    }
    for key, value in (result.get("judgements") or {}).items():
        record[f"platform_{key}"] = _text(value)
    return record_values(
        dictionary,
        answers,
        na=cached_na_codes(result),
        record=record,
        complete=a.status == Assessment.Status.SUBMITTED,
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    # No byte-order mark: REDCap reads UTF-8 and would take it into the first name.
    writer.writerows([_cell(c) for c in row] for row in rows)
    return out.getvalue().encode("utf-8")


def _cell(text: str) -> str:
    # Numbers (a total of -5) stay numbers; text a spreadsheet would run does not.
    return text if NUMBER.fullmatch(text) else neutralise(text)


def _file(data: ExportData, form: str) -> str:
    stamp = timezone.now().strftime("%Y%m%d")
    return f"{data.project.slug}-{data.version.key}-{form}-{stamp}.csv"
