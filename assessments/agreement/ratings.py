"""The ratings matrix every coefficient reads, and the result they all return.

Ratings arrive as a subjects x raters matrix (rows are studies); ``None`` or
NaN marks a missing rating, so conditional items answered N/A stay missing
rather than becoming a category. When studies get different reviewers the
columns are reviewer "slots" (first, second ... reviewer of the study).

A coefficient the data cannot support comes back as ``value=None`` with a
``note`` saying why (helpers raise ``Unsupported``, ``none_on_unsupported``
turns it into that result); programming errors (ragged matrices) still raise.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, Literal, ParamSpec, TypeGuard

import numpy as np

from ..words import say as _

Level = Literal["nominal", "ordinal", "interval", "ratio"]
Weights = Literal["linear", "quadratic"] | None
RatingMatrix = Iterable[Iterable[Any]]
Row = list[Hashable | None]

_P = ParamSpec("_P")


@dataclass(frozen=True)
class Coefficient:
    """A coefficient with what a methods reviewer asks of it: the subjects
    (rated at least twice) and raters behind it, how its CI was computed and
    which weights or metric it used; ``note`` says why ``value`` is None, or
    what else the reader should know."""

    value: float | None
    ci95: tuple[float, float] | None = None
    note: str | None = None
    n_subjects: int | None = None
    n_raters: int | None = None
    ci_method: str | None = None
    weights: str | None = None


class Unsupported(Exception):
    """Raised by helpers when the data cannot support a coefficient; its
    argument is the reason, a Phrase (``str(exc)`` reads as the English)."""


def reason(exc: Exception) -> str:
    """The reason an ``Unsupported`` gives, kept a Phrase so it can be translated."""
    said = exc.args[0] if exc.args else None
    return said if isinstance(said, str) else str(exc)


def none_on_unsupported(func: Callable[_P, Coefficient]) -> Callable[_P, Coefficient]:
    """Make ``func`` return ``Coefficient(None, None, reason)`` on ``Unsupported``,
    still with the n behind it, so a null says how little there was."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Coefficient:
        try:
            return func(*args, **kwargs)
        except Unsupported as exc:
            n_subjects, n_raters = sample(normalized_rows(args[0]))  # type: ignore[arg-type]
            return Coefficient(
                None, None, reason(exc), n_subjects=n_subjects, n_raters=n_raters
            )

    return wrapper


def sample(rows: Sequence[Row]) -> tuple[int, int]:
    """Subjects rated at least twice, and the raters (columns) who rated them."""
    paired = [row for row in rows if len(rated_values(row)) >= 2]
    width = len(rows[0]) if rows else 0
    raters = sum(1 for j in range(width) if any(row[j] is not None for row in paired))
    return len(paired), raters


MIN_PAIRED = 2


def need_paired(rows: Sequence[Row], what: str) -> None:
    """Chance-corrected coefficients need two subjects rated twice: with one,
    the formulas return a bare -1 or 0 that measures nothing."""
    n = sum(1 for row in rows if len(rated_values(row)) >= 2)
    if n == 0:
        raise Unsupported(
            _(
                "%(coefficient)s needs at least two subjects rated by two or more "
                "raters; none found",
                coefficient=what,
            )
        )
    if n < MIN_PAIRED:
        raise Unsupported(
            _(
                "%(coefficient)s needs at least two subjects rated by two or more "
                "raters; only one found",
                coefficient=what,
            )
        )


def is_missing(value: object) -> bool:
    if value is None:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def normalized_rows(matrix: RatingMatrix) -> list[Row]:
    """The matrix as lists with every missing rating as ``None``; ragged raises."""
    rows: list[Row] = [[None if is_missing(v) else v for v in row] for row in matrix]
    if len({len(row) for row in rows}) > 1:
        raise ValueError("ragged ratings matrix: every row needs one cell per rater")
    return rows


def rated_values(row: Row) -> list[Hashable]:
    return [v for v in row if v is not None]


def is_number(value: object) -> TypeGuard[Real]:
    return isinstance(value, Real) and not isinstance(value, bool)


def _sorted_values(values: Iterable[Hashable]) -> list[Hashable]:
    # Numbers in numeric order, then text; mixed nominal codes stay deterministic.
    def key(v: Hashable) -> tuple[int, float, str]:
        return (0, float(v), "") if is_number(v) else (1, 0.0, str(v))

    return sorted(set(values), key=key)


def category_list(
    rows: Sequence[Row], categories: Sequence[Hashable] | None
) -> list[Hashable]:
    """The given categories (every rating must be one), else the observed ones."""
    observed = {v for row in rows for v in rated_values(row)}
    if categories is None:
        return _sorted_values(observed)
    cats = list(categories)
    unknown = observed - set(cats)
    if unknown:
        shown = ", ".join(repr(v) for v in _sorted_values(unknown))
        raise Unsupported(
            _("ratings %(values)s are not among the given categories", values=shown)
        )
    return cats


def category_counts(rows: Sequence[Row], cats: Sequence[Hashable]) -> np.ndarray:
    """Subjects x categories table of how many raters chose each category."""
    index = {c: i for i, c in enumerate(cats)}
    table = np.zeros((len(rows), len(cats)))
    for i, row in enumerate(rows):
        for value in rated_values(row):
            table[i, index[value]] += 1
    return table
