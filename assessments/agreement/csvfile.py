"""Long-format ratings CSV -> JSON-ready agreement summary (pure; no Django).

Backs ``manage.py agreement FILE.csv [--level ...] [--design ...] [--order a,b,c]``.
The file
has a header naming ``subject``, ``rater`` and ``value`` and optionally
``item``, in any order, separated by commas or semicolons (as spreadsheets in
decimal-comma locales export them). An empty value, ``na`` or ``NA`` is a
missing rating. Every problem with the file raises ``AgreementInputError``
whose message starts with the line number, so the command can print it as is.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from .coefficients import LEVELS
from .design import DESIGN_CHOICES, Design, rater_columns, resolve_design
from .ratings import Level
from .summary import (
    NUMERIC_LEVELS,
    QUADRATIC_NOTE,
    flat,
    icc_json,
    item_coefficients,
    notes,
    score_coefficients,
)

_REQUIRED = ("subject", "rater", "value")
_KNOWN = (*_REQUIRED, "item")
_MISSING = {"", "na"}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")

DESIGN_NOTES = {
    "fixed": "the same raters rated every subject: Cohen's kappa (two raters) "
    "and the two-way ICCs apply",
    "interchangeable": "raters differ between subjects: columns are each "
    "subject's first, second ... rater; Fleiss' kappa, Krippendorff's alpha and "
    "the one-way ICC(1,1) and ICC(1,k) apply, Cohen's kappa and the two-way "
    "ICCs do not",
}

DESIGN_HELP = (
    "auto (the default) detects it from the file: the same raters on every "
    "subject is fixed, otherwise interchangeable"
)
LEVEL_HELP = (
    "nominal (the default), ordinal, interval or ratio; interval and ratio add "
    "the ICCs and use quadratic kappa weights spaced by value"
)

Value = str | float | None


class AgreementInputError(ValueError):
    """A bad agreement CSV or option; file problems read "line N: ..."."""


@dataclass(frozen=True)
class _Rating:
    line: int
    item: str | None
    subject: str
    rater: str
    value: Value


@dataclass(frozen=True)
class _Options:
    level: Level
    order: list[str] | None
    decimal_comma: bool


@dataclass(frozen=True)
class _Layout:
    design: Design
    raters_by_subject: dict[str, list[str]]


def compute_from_csv(
    text: str,
    *,
    level: str = "nominal",
    order: list[str] | None = None,
    design: str = "auto",
) -> dict[str, Any]:
    """Agreement coefficients for a long-format CSV; per item with an item column.

    The design is decided once for the file from who rated which subject
    (``auto``), or as asked; every item is then read the same way.
    """
    text = text.removeprefix("\N{BYTE ORDER MARK}")
    delimiter = _delimiter(text)
    options = _Options(
        _check_level(level), _check_order(level, order), delimiter == ";"
    )
    if design not in DESIGN_CHOICES:
        raise AgreementInputError(
            f"unknown design {design!r}; use auto, fixed or interchangeable"
        )
    ratings, has_items = _parse(text, delimiter, options)
    raters_by_subject: dict[str, list[str]] = {}
    for rating in ratings:
        raters = raters_by_subject.setdefault(rating.subject, [])
        if rating.rater not in raters:
            raters.append(rating.rater)
    layout = _Layout(resolve_design(design, raters_by_subject), raters_by_subject)
    if not has_items:
        return _summary(ratings, options, layout)
    by_item: dict[str | None, list[_Rating]] = {}
    for rating in ratings:
        by_item.setdefault(rating.item, []).append(rating)
    return {
        "items": {code: _summary(rs, options, layout) for code, rs in by_item.items()}
    }


# --- options ------------------------------------------------------------------


def _check_level(level: str) -> Level:
    if level not in LEVELS:
        raise AgreementInputError(
            f"unknown level {level!r}; use nominal, ordinal, interval or ratio"
        )
    return cast(Level, level)


def _check_order(level: str, order: Sequence[str] | None) -> list[str] | None:
    if order is None:
        return None
    if level in NUMERIC_LEVELS:
        raise AgreementInputError("--order applies to nominal and ordinal levels only")
    cleaned = [value.strip() for value in order]
    if not cleaned or not all(cleaned):
        raise AgreementInputError("--order needs values, e.g. --order low,medium,high")
    for value in cleaned:
        if value.lower() in _MISSING:
            raise AgreementInputError(
                f"--order cannot list {value!r}: it means missing"
            )
        if cleaned.count(value) > 1:
            raise AgreementInputError(f"--order lists {value!r} twice")
    return cleaned


# --- reading --------------------------------------------------------------------


def _delimiter(text: str) -> str:
    header = next((line for line in text.splitlines() if line.strip()), "")
    return ";" if header.count(";") > header.count(",") else ","


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank records with the line each ends on (quoted fields may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for fields in reader:
            if any(field.strip() for field in fields):
                yield reader.line_num, fields
    except csv.Error as exc:
        raise AgreementInputError(f"line {reader.line_num}: {exc}") from exc


def _parse(text: str, delimiter: str, options: _Options) -> tuple[list[_Rating], bool]:
    records = _records(text, delimiter)
    first = next(records, None)
    if first is None:
        raise AgreementInputError(
            "line 1: the file is empty; expected a header: subject,rater,value"
        )
    header_line, header = first
    columns = _columns(header, header_line)
    ratings: list[_Rating] = []
    seen: dict[tuple[str | None, str, str], int] = {}
    for line, fields in records:
        rating = _rating(fields, line, columns, options)
        key = (rating.item, rating.subject, rating.rater)
        if key in seen:
            raise AgreementInputError(_duplicate_message(rating, seen[key]))
        seen[key] = line
        ratings.append(rating)
    if not ratings:
        raise AgreementInputError(f"line {header_line}: no ratings after the header")
    return ratings, "item" in columns


def _columns(header: list[str], line: int) -> dict[str, int]:
    names = [name.strip().lower() for name in header]
    while names and not names[-1]:  # a trailing delimiter, as Excel writes it
        names.pop()
    columns: dict[str, int] = {}
    for index, name in enumerate(names):
        if name not in _KNOWN:
            raise AgreementInputError(
                f"line {line}: unexpected column {header[index].strip()!r}; the "
                "header must name subject, rater, value and optionally item"
            )
        if name in columns:
            raise AgreementInputError(f"line {line}: column {name!r} appears twice")
        columns[name] = index
    missing = [name for name in _REQUIRED if name not in columns]
    if missing:
        raise AgreementInputError(
            f"line {line}: missing column(s) {', '.join(missing)}"
        )
    return columns


def _rating(
    fields: list[str], line: int, columns: dict[str, int], options: _Options
) -> _Rating:
    width = max(columns.values()) + 1
    if len(fields) < width or any(field.strip() for field in fields[width:]):
        raise AgreementInputError(
            f"line {line}: expected {width} fields, found {len(fields)}"
        )
    labels = {}
    for name in ("item", "subject", "rater"):
        if name in columns:
            labels[name] = fields[columns[name]].strip()
            if not labels[name]:
                raise AgreementInputError(f"line {line}: empty {name}")
    value = _value(fields[columns["value"]], line, options)
    return _Rating(line, labels.get("item"), labels["subject"], labels["rater"], value)


def _value(raw: str, line: int, options: _Options) -> Value:
    token = raw.strip()
    if token.lower() in _MISSING:
        return None
    if options.order is not None:
        if token not in options.order:
            allowed = ",".join(options.order)
            raise AgreementInputError(
                f"line {line}: value {token!r} is not in --order {allowed}"
            )
        return token
    number = _number(token, options.decimal_comma)
    if number is not None:
        return number
    if options.level == "nominal":
        return token
    hint = (
        " (ordinal text values need --order a,b,c)"
        if options.level == "ordinal"
        else ""
    )
    raise AgreementInputError(f"line {line}: value {token!r} is not a number{hint}")


def _number(token: str, decimal_comma: bool) -> float | None:
    if decimal_comma and _DECIMAL_COMMA.fullmatch(token):
        token = token.replace(",", ".")
    # A strict pattern: float() would also take "nan", "inf" and "1_000".
    if not _NUMBER.fullmatch(token):
        return None
    value = float(token)
    return value if math.isfinite(value) else None


def _duplicate_message(rating: _Rating, first_line: int) -> str:
    where = f" on item {rating.item!r}" if rating.item is not None else ""
    return (
        f"line {rating.line}: a second rating by rater {rating.rater!r} of subject "
        f"{rating.subject!r}{where}; the first is on line {first_line}"
    )


# --- computing ------------------------------------------------------------------


def _summary(
    ratings: Sequence[_Rating], options: _Options, layout: _Layout
) -> dict[str, Any]:
    subjects = list(dict.fromkeys(r.subject for r in ratings))
    raters = list(dict.fromkeys(r.rater for r in ratings))
    shown = {s: layout.raters_by_subject[s] for s in subjects}
    columns, column = rater_columns(layout.design, shown)
    matrix: list[list[Value]] = [[None] * len(columns) for _ in subjects]
    row_of = {s: i for i, s in enumerate(subjects)}
    for rating in ratings:
        slot = shown[rating.subject].index(rating.rater)
        matrix[row_of[rating.subject]][column(slot, rating.rater)] = rating.value
    level = options.level
    rated_by = len({r.rater for r in ratings if r.value is not None})
    coefficients = item_coefficients(
        matrix,
        design=layout.design,
        level=level,
        categories=options.order,
        n_raters=rated_by,
    )
    found = notes(coefficients)
    iccs = None
    if level in NUMERIC_LEVELS:
        if coefficients["cohen_kappa"].value is not None:
            found.append(QUADRATIC_NOTE.format(level=level))
        results = score_coefficients(matrix, design=layout.design, n_raters=rated_by)
        iccs = icc_json(results)
        if iccs is None:
            found.append(f"ICC: {results['ICC1'].note}")
        else:
            found += notes(results)
    return {
        "subjects": len(subjects),
        "raters": len(raters),
        "design": layout.design,
        "design_note": DESIGN_NOTES[layout.design],
        "level": level,
        **flat(coefficients),
        "icc": iccs,
        "notes": found,
    }
