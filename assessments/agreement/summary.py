"""Which coefficients a set of ratings gets, and the JSON they are reported in.

One place for the rules the web app's agreement page, its JSON, the API and
``manage.py agreement`` share: the design decides between Cohen's kappa and
the two-way ICCs (same raters throughout) and Fleiss' kappa and ICC(1,1)
(raters differ between subjects); the level decides the weights; what does
not fit comes back as null with the reason, never as a figure that measures
something else.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..words import say as _
from .coefficients import (
    all_agree,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    pairwise,
)
from .design import Design
from .numeric import ICC_KEYS, icc
from .ratings import Coefficient, Level, RatingMatrix, Weights, is_number
from .reporting import COEFFICIENT_LABELS

ITEM_KEYS = (
    "percent_agreement",
    "all_raters_agree",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "gwet_ac1",
)
ONE_WAY_ICCS = ("ICC1", "ICC1k")
KAPPA_WEIGHTS: dict[str, Weights] = {
    "nominal": None,
    "ordinal": "linear",
    "interval": "quadratic",
    "ratio": "quadratic",
}
NUMERIC_LEVELS = ("interval", "ratio")

NOT_COHEN = _(
    "not computed: raters differ between subjects (interchangeable design), and "
    "Cohen's kappa assumes the same two raters rated every subject"
)
NOT_TWO_WAY = _(
    "not computed: raters differ between subjects (interchangeable design); the "
    "two-way forms assume the same raters rated every subject"
)
# The command's note (assessments.agreement.csvfile), in English: str.format.
QUADRATIC_NOTE = (
    "Cohen's kappa at the {level} level uses quadratic weights spaced by the "
    "scores' values, as R irrCAC does (R irr's kappa2 spaces them by rank)"
)
# Why Fleiss' kappa and Gwet's AC1 are left out at a numeric level.
LEFT_OUT = {
    "interval": _(
        "not computed at the interval level: unweighted, it would treat each score "
        "as an unrelated category (compute it at the nominal level for that)"
    ),
    "ratio": _(
        "not computed at the ratio level: unweighted, it would treat each score "
        "as an unrelated category (compute it at the nominal level for that)"
    ),
}


def item_coefficients(
    matrix: RatingMatrix,
    *,
    design: Design,
    level: Level,
    categories: Sequence[Hashable] | None = None,
    n_raters: int | None = None,
) -> dict[str, Coefficient]:
    """Every item coefficient of ``ITEM_KEYS`` for a subjects x raters matrix.

    ``categories``: the known categories in order (the item's options, or
    ``--order``); ``n_raters``: the people behind the figures when the columns
    are slots (interchangeable reviewers), else the columns that rated.
    """
    rows = [list(row) for row in matrix]
    out = {
        "percent_agreement": pairwise(rows),
        "all_raters_agree": all_agree(rows),
        "cohen_kappa": _cohen(rows, design, level, categories),
        "fleiss_kappa": fleiss_kappa(rows),
        "krippendorff_alpha": krippendorff_alpha(rows, level, categories),
        "gwet_ac1": gwet_ac1(rows, categories),
    }
    if level in NUMERIC_LEVELS:
        for key in ("fleiss_kappa", "gwet_ac1"):
            out[key] = _nulled(out[key], LEFT_OUT[level])
    if n_raters is not None:
        out = {k: _with_raters(c, n_raters) for k, c in out.items()}
    return out


def _cohen(
    rows: list[list[Any]],
    design: Design,
    level: Level,
    categories: Sequence[Hashable] | None,
) -> Coefficient:
    if design == "interchangeable":
        return Coefficient(None, None, NOT_COHEN, ci_method=None, weights=None)
    weights = KAPPA_WEIGHTS[level]
    if level not in NUMERIC_LEVELS:
        return cohen_kappa(rows, weights, categories=categories)
    # Numeric scores: quadratic weights on the score differences themselves.
    values = sorted({float(v) for row in rows for v in row if is_number(v)})
    return cohen_kappa(rows, weights, categories=values, scores=values)


def score_coefficients(
    matrix: RatingMatrix, *, design: Design, n_raters: int | None = None
) -> dict[str, Coefficient]:
    """The six ICCs of numeric scores; under the interchangeable design the
    two-way forms are null with the reason."""
    results = icc(matrix)
    if design == "interchangeable":
        results = {
            k: c if k in ONE_WAY_ICCS else _nulled(c, NOT_TWO_WAY)
            for k, c in results.items()
        }
    if n_raters is not None:
        results = {k: _with_raters(c, n_raters) for k, c in results.items()}
    return results


def _nulled(c: Coefficient, reason: str) -> Coefficient:
    return replace(c, value=None, ci95=None, note=reason, ci_method=None)


def _with_raters(c: Coefficient, n_raters: int) -> Coefficient:
    return c if c.n_raters is None else replace(c, n_raters=n_raters)


# --- JSON -------------------------------------------------------------------------


def flat(coefficients: Mapping[str, Coefficient]) -> dict[str, Any]:
    """``name``, ``name_ci``, ``name_n_subjects``, ``name_n_raters``,
    ``name_ci_method`` and ``name_weights`` for each coefficient: the shape
    the command, the page's JSON and the API share."""
    out: dict[str, Any] = {}
    for key, c in coefficients.items():
        out[key] = c.value
        out[f"{key}_ci"] = list(c.ci95) if c.ci95 else None
        out[f"{key}_n_subjects"] = c.n_subjects
        out[f"{key}_n_raters"] = c.n_raters
        out[f"{key}_ci_method"] = c.ci_method
        out[f"{key}_weights"] = c.weights
    return out


def icc_json(results: Mapping[str, Coefficient]) -> dict[str, Any] | None:
    """``{"ICC1": {"value", "ci95", "n_subjects", "n_raters", "ci_method",
    "note"}, ...}``; None when no form could be estimated."""
    if all(c.value is None for c in results.values()):
        return None
    return {
        key: {
            "value": c.value,
            "ci95": list(c.ci95) if c.ci95 else None,
            "n_subjects": c.n_subjects,
            "n_raters": c.n_raters,
            "ci_method": c.ci_method,
            "note": c.note,
        }
        for key, c in results.items()
        if key in ICC_KEYS
    }


def notes(coefficients: Mapping[str, Coefficient]) -> list[str]:
    """ "Label: note" for every coefficient that carries one; coefficients with
    the same note share one line ("ICC(2,1), ICC(3,1) and ICC(2,k): ...")."""
    grouped: dict[str, list[str]] = {}
    for key, c in coefficients.items():
        if c.note:
            grouped.setdefault(c.note, []).append(COEFFICIENT_LABELS[key])
    return [
        _("%(coefficients)s: %(note)s", coefficients=_and(labels), note=note)
        for note, labels in grouped.items()
    ]


def _and(labels: list[str]) -> str:
    """ "A", "A and B", "A, B and C": labels may be Phrases, so no str.join."""
    if len(labels) == 1:
        return labels[0]
    if len(labels) == 2:
        return _("%(first)s and %(last)s", first=labels[0], last=labels[1])
    return _("%(first)s, %(rest)s", first=labels[0], rest=_and(labels[1:]))
