"""Long-format ratings CSV -> JSON-ready agreement summary (pure; no Django).

Backs ``manage.py agreement FILE.csv [--level ...] [--order a,b,c]``. The file
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

from .coefficients import (
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
)
from .numeric import icc
from .ratings import Coefficient, Level, Weights
from .reporting import COEFFICIENT_LABELS

LEVELS = ("nominal", "ordinal", "interval")
_REQUIRED = ("subject", "rater", "value")
_KNOWN = (*_REQUIRED, "item")
_MISSING = {"", "na"}
_KAPPA_WEIGHTS: dict[str, Weights] = {
    "nominal": None,
    "ordinal": "linear",
    "interval": "quadratic",
}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")

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


def compute_from_csv(
    text: str, *, level: str = "nominal", order: list[str] | None = None
) -> dict[str, Any]:
    """Agreement coefficients for a long-format CSV; per item with an item column."""
    text = text.removeprefix("\N{BYTE ORDER MARK}")
    delimiter = _delimiter(text)
    options = _Options(
        _check_level(level), _check_order(level, order), delimiter == ";"
    )
    ratings, has_items = _parse(text, delimiter, options)
    if not has_items:
        return _summary(ratings, options)
    by_item: dict[str | None, list[_Rating]] = {}
    for rating in ratings:
        by_item.setdefault(rating.item, []).append(rating)
    return {"items": {code: _summary(rs, options) for code, rs in by_item.items()}}


# --- options ------------------------------------------------------------------


def _check_level(level: str) -> Level:
    if level not in LEVELS:
        raise AgreementInputError(
            f"unknown level {level!r}; use nominal, ordinal or interval"
        )
    return cast(Level, level)


def _check_order(level: str, order: Sequence[str] | None) -> list[str] | None:
    if order is None:
        return None
    if level == "interval":
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


def _summary(ratings: Sequence[_Rating], options: _Options) -> dict[str, Any]:
    subjects = list(dict.fromkeys(r.subject for r in ratings))
    raters = list(dict.fromkeys(r.rater for r in ratings))
    matrix = _matrix(ratings, subjects, raters)
    level, order = options.level, options.order
    notes: list[str] = []
    percent = percent_agreement(matrix)
    if percent is None:
        notes.append("percent agreement: no subject has two or more ratings")
    return {
        "subjects": len(subjects),
        "raters": len(raters),
        "percent_agreement": percent,
        "cohen_kappa": _kept("Cohen's kappa", _cohen(matrix, level, order), notes),
        "fleiss_kappa": _kept("Fleiss' kappa", fleiss_kappa(matrix), notes),
        "krippendorff_alpha": _kept(
            "Krippendorff's alpha", krippendorff_alpha(matrix, level, order), notes
        ),
        "gwet_ac1": _kept("Gwet's AC1", gwet_ac1(matrix, order), notes),
        "icc": _icc(matrix, notes) if level == "interval" else None,
        "notes": notes,
    }


def _matrix(
    ratings: Sequence[_Rating], subjects: list[str], raters: list[str]
) -> list[list[Value]]:
    row_of = {s: i for i, s in enumerate(subjects)}
    col_of = {r: j for j, r in enumerate(raters)}
    matrix: list[list[Value]] = [[None] * len(raters) for _ in subjects]
    for rating in ratings:
        matrix[row_of[rating.subject]][col_of[rating.rater]] = rating.value
    return matrix


def _cohen(
    matrix: list[list[Value]], level: Level, order: list[str] | None
) -> Coefficient:
    weights = _KAPPA_WEIGHTS[level]
    if level != "interval":
        return cohen_kappa(matrix, weights, categories=order)
    # Interval data: quadratic weights on the score differences themselves.
    values = sorted({v for row in matrix for v in row if isinstance(v, float)})
    return cohen_kappa(matrix, weights, categories=values, scores=values)


def _kept(label: str, coefficient: Coefficient, notes: list[str]) -> float | None:
    if coefficient.note:
        notes.append(f"{label}: {coefficient.note}")
    return coefficient.value


def _icc(matrix: list[list[Value]], notes: list[str]) -> dict[str, Any] | None:
    results = icc(matrix)
    if all(c.value is None for c in results.values()):
        notes.append(f"ICC: {results['ICC1'].note}")
        return None
    out: dict[str, Any] = {}
    for key, coefficient in results.items():
        if coefficient.note:
            notes.append(f"{COEFFICIENT_LABELS[key]}: {coefficient.note}")
        ci95 = list(coefficient.ci95) if coefficient.ci95 else None
        out[key] = {"value": coefficient.value, "ci95": ci95}
    return out
