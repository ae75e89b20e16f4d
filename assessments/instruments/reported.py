"""Checking a published score table: the figures a review reported against
the ones its own answers give (`rqs score` with reported_* columns).

A reported figure matches when it is within half a unit of its own last
decimal of the exact recomputed value: a table that printed 64.8 for 64.81 is
right, one that printed 60 for 57.4 is not. A figure equal to the one this
tool shows at that precision matches too: METRICS shows 59.97 as 59.9 (the
band is the exact score's, "moderate"), and a table that printed 59.9 is not
mis-scored. A band is checked against the exact score's band, so a table that
called 59.97 "good" (the rounded 60.0's band) is listed.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal

import openpyxl

from .definition import Definition
from .result import Result, round_half_up, shown_percent

REPORTED = ("reported_total", "reported_percent", "reported_band")
# Appended to the output, after its own columns, when the sheet reports figures.
OUTPUT = ("reported_total", "difference")
_FIGURE = re.compile(r"([+-]?\d+(?:[.,](\d+))?)\s*%?")


@dataclass(frozen=True)
class Checked:
    cells: dict[str, str]  # the output's extra columns
    differences: list[str]  # "reported X, computed Y", one per figure that differs
    errors: list[str]  # unreadable reported cells


def _figure(raw: str) -> tuple[Decimal, Decimal] | None:
    """(value, tolerance) of a reported number such as 64.8, 64,8 or 64.8%."""
    match = _FIGURE.fullmatch(raw.strip())
    if match is None:
        return None
    decimals = len(match.group(2) or "")
    value = Decimal(match.group(1).replace(",", "."))
    return value, Decimal(5).scaleb(-decimals - 1)


def _text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _shown(
    definition: Definition, exact: Decimal, places: int, percent: bool
) -> Decimal:
    """The figure as this tool shows it at `places` decimals."""
    if percent:
        return shown_percent(definition, exact, places)
    return round_half_up(exact, places)


def check(
    definition: Definition, result: Result, shown_total: str, cells: dict[str, str]
) -> Checked:
    """The reported_* cells of one row against its recomputed result.

    `shown_total` is the output's own `total` cell: the difference column is
    that figure minus the reported one, in the same unit (points for RQS,
    percent for METRICS).
    """
    percent_unit = definition.kind == "weighted"
    exact_total = result.percent if percent_unit else result.total
    unit = "%" if percent_unit else ""
    out = {"reported_total": cells.get("reported_total", "").strip(), "difference": ""}
    differences: list[str] = []
    errors: list[str] = []
    for column, exact, suffix in (
        ("reported_total", exact_total, unit),
        ("reported_percent", result.percent, "%"),
    ):
        raw = cells.get(column, "").strip()
        if not raw:
            continue
        figure = _figure(raw)
        if figure is None:
            errors.append(f"{column}: '{raw}' is not a number")
            continue
        value, tolerance = figure
        if exact is None:
            differences.append(f"reported {raw}, computed nothing (no {column[9:]})")
            continue
        if column == "reported_total" and shown_total:
            out["difference"] = _text(Decimal(shown_total) - value)
        places = max(-value.as_tuple().exponent, 0)  # type: ignore[operator]
        percent = column == "reported_percent" or percent_unit
        if abs(exact - value) > tolerance and value != _shown(
            definition, exact, places, percent
        ):
            computed = _shown(definition, exact, max(places, 1), percent)
            differences.append(f"reported {raw}, computed {_text(computed)}{suffix}")
    band = cells.get("reported_band", "").strip()
    if band and band.lower() != (result.band or "").lower():
        differences.append(f"reported {band}, computed {result.band or 'no band'}")
    return Checked(out, differences, errors)


class TableError(ValueError):
    """The uploaded table cannot be read (its message names why)."""


def table_text(data: bytes, filename: str) -> str:
    """A score table as CSV text: a CSV file as it is (UTF-8), or the first
    sheet of an XLSX workbook, its cells as the spreadsheet shows them."""
    if filename.lower().endswith(".xlsx") or data[:2] == b"PK":
        return _xlsx_text(data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(
            f"The file is not UTF-8 text ({exc.reason}): save it as CSV UTF-8, "
            "or upload the XLSX workbook."
        ) from None


def _xlsx_text(data: bytes) -> str:
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise TableError(f"The file is not a readable XLSX workbook ({exc}).") from None
    sheet = book.worksheets[0]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for cells in sheet.iter_rows(values_only=True):
        writer.writerow(["" if c is None else _cell(c) for c in cells])
    book.close()
    return out.getvalue()


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
