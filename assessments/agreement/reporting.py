"""Reporting agreement: coefficient labels, item summaries, the methods
sentence for a paper (only when the sample supports one), and reviewer
leniency against the consensus."""

from __future__ import annotations

import statistics
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from .design import TOTAL_ICC_KEY, Design
from .ratings import Coefficient, is_missing

COEFFICIENT_LABELS: dict[str, str] = {
    "percent_agreement": "mean pairwise agreement",
    "all_raters_agree": "all raters agree",
    "cohen_kappa": "Cohen's kappa",
    "fleiss_kappa": "Fleiss' kappa",
    "krippendorff_alpha": "Krippendorff's alpha",
    "gwet_ac1": "Gwet's AC1",
    "ICC1": "ICC(1,1)",
    "ICC2": "ICC(2,1)",
    "ICC3": "ICC(3,1)",
    "ICC1k": "ICC(1,k)",
    "ICC2k": "ICC(2,k)",
    "ICC3k": "ICC(3,k)",
}


@dataclass(frozen=True)
class ItemSummary:
    coefficient: str  # key of COEFFICIENT_LABELS, e.g. "fleiss_kappa"
    median: float
    low: float
    high: float
    n_items: int
    n_undefined: int = 0


def summarize_items(
    coefficient: str, values: Iterable[float | None]
) -> ItemSummary | None:
    """Median and range of one coefficient over items; None when none is defined."""
    values = list(values)
    defined = [v for v in values if v is not None]
    if not defined:
        return None
    return ItemSummary(
        coefficient,
        statistics.median(defined),
        min(defined),
        max(defined),
        len(defined),
        len(values) - len(defined),
    )


_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight")


def number_word(n: int) -> str:
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


def count_of(n: int, noun: str) -> str:
    return f"{number_word(n)} {noun}{'' if n == 1 else 's'}"


def format_value(x: float) -> str:
    text = f"{x:.2f}"
    text = "0.00" if text == "-0.00" else text
    return text.replace("-", "\N{MINUS SIGN}")


def format_range(low: float, high: float) -> str:
    lo, hi = format_value(low), format_value(high)
    # An en dash next to a minus sign reads as a subtraction; spell it out then.
    negative = "\N{MINUS SIGN}" in lo + hi
    return f"{lo} to {hi}" if negative else f"{lo}\N{EN DASH}{hi}"


def methods_sentence(
    *,
    n_reviewers: int,
    n_studies: int,
    instrument: str,
    design: Design,
    total_icc: Coefficient | None,
    item_summary: ItemSummary | None = None,
    reviewers_per_study: int | None = None,
) -> str:
    """A methods/results sentence naming the coefficients that fit the design.

    ``total_icc`` must be the form for the design: ``icc(m)[TOTAL_ICC_KEY[design]]``
    (ICC2 when the same reviewers scored every study, ICC1 otherwise).
    """
    clauses = [
        _opening(n_reviewers, n_studies, instrument, design, reviewers_per_study),
        _total_clause(design, total_icc),
    ]
    if item_summary is not None:
        clauses.append(_item_clause(item_summary))
    return "; ".join(clauses) + "."


def _opening(
    n_reviewers: int,
    n_studies: int,
    instrument: str,
    design: Design,
    per_study: int | None,
) -> str:
    studies = f"{n_studies} stud{'y' if n_studies == 1 else 'ies'}"
    if design == "fixed":
        reviewers = count_of(n_reviewers, "reviewer").capitalize()
        return f"{reviewers} independently scored {studies} with {instrument}"
    if per_study:
        who = f"{number_word(per_study)} of {count_of(n_reviewers, 'reviewer')}"
    else:
        who = f"reviewers drawn from a pool of {number_word(n_reviewers)}"
    return f"Each of {studies} was scored independently by {who} with {instrument}"


def _total_clause(design: Design, total: Coefficient | None) -> str:
    if total is None or total.value is None:
        reason = f" ({total.note})" if total is not None and total.note else ""
        return f"agreement on the total score could not be estimated{reason}"
    label = COEFFICIENT_LABELS[TOTAL_ICC_KEY[design]]
    ci = f" (95% CI {format_range(*total.ci95)})" if total.ci95 else ""
    model = (
        "absolute agreement, two-way random effects"
        if design == "fixed"
        else "one-way random effects, as reviewers differed between studies"
    )
    return (
        f"agreement on the total score was {label} = "
        f"{format_value(total.value)}{ci}, {model}"
    )


def _item_clause(summary: ItemSummary) -> str:
    label = COEFFICIENT_LABELS[summary.coefficient]
    if summary.n_items == 1:
        text = f"item-level {label} was {format_value(summary.median)} for the one item"
    else:
        text = (
            f"item-level agreement had a median {label} of "
            f"{format_value(summary.median)} "
            f"(range {format_range(summary.low, summary.high)}) "
            f"across {summary.n_items} items"
        )
    if summary.n_undefined:
        more = count_of(summary.n_undefined, "more item")
        text += f", and could not be estimated for {more}"
    return text


# --- how many studies an estimate needs --------------------------------------------

# With fewer studies a coefficient's 95% CI spans most of its range: a single
# figure, let alone a sentence in a paper, would claim more than the data hold.
# ICCs need more subjects than kappas because they estimate two variance
# components; percent agreement, Krippendorff's alpha and Gwet's AC1 describe
# the same item ratings as the kappas and share their minimum. Bland-Altman
# limits rest on the SD of the differences of the totals and share the ICC's.
MIN_STUDIES_ICC = 10
MIN_STUDIES_ITEMS = 5
_TOTAL_FIGURES = frozenset(
    [*(key for key in COEFFICIENT_LABELS if key.startswith("ICC")), "bland_altman"]
)


def minimum_studies(coefficient: str) -> int:
    """The fewest studies for a reliable estimate of this coefficient."""
    return MIN_STUDIES_ICC if coefficient in _TOTAL_FIGURES else MIN_STUDIES_ITEMS


def too_few_studies(n: int) -> str:
    return f"too few studies (n = {n}) for a reliable estimate"


def instrument_name(name: str, modified_from: str = "") -> str:
    """The instrument as a reader should know it: a modified copy says so."""
    return f"{name} (modified from {modified_from})" if modified_from else name


def modified_from(*sources: object) -> str:
    """The first non-empty ``modified_from`` mark of the given versions/definitions.

    The mark may be text or a record naming the original; absent on
    instruments that were never modified.
    """
    for source in sources:
        mark = getattr(source, "modified_from", None)
        if mark:
            if isinstance(mark, str):
                return mark
            return str(getattr(mark, "short_name", "") or getattr(mark, "name", mark))
    return ""


@dataclass(frozen=True)
class MethodsText:
    text: str
    reliable: bool  # True: a sentence to copy into a manuscript


def reported_methods(
    *,
    n_reviewers: int,
    n_studies: int,
    instrument: str,
    design: Design,
    total_icc: Coefficient | None,
    item_summary: ItemSummary | None = None,
    reviewers_per_study: int | None = None,
    n_total_studies: int | None = None,
) -> MethodsText:
    """The methods sentence when the sample supports it, else why there is none.

    The sentence leads with the ICC of the total score, so it needs that
    coefficient's minimum: ``n_total_studies`` (the studies with every total;
    ``n_studies`` when not given).
    """
    n = n_studies if n_total_studies is None else n_total_studies
    if n < MIN_STUDIES_ICC:
        return MethodsText(
            f"Inter-rater agreement on {instrument} is not reported: "
            f"{too_few_studies(n)} (at least {MIN_STUDIES_ICC} studies are needed "
            f"for the intraclass correlation of the total score and "
            f"{MIN_STUDIES_ITEMS} for item-level kappas).",
            reliable=False,
        )
    sentence = methods_sentence(
        n_reviewers=n_reviewers,
        n_studies=n_studies,
        instrument=instrument,
        design=design,
        total_icc=total_icc,
        item_summary=item_summary,
        reviewers_per_study=reviewers_per_study,
    )
    return MethodsText(sentence, reliable=True)


# --- reviewer leniency ------------------------------------------------------------


@dataclass(frozen=True)
class MeanDifference:
    mean: float
    n: int


@dataclass(frozen=True)
class Leniency:
    overall: MeanDifference
    periods: dict[Hashable, MeanDifference]


def leniency(
    pairs: Iterable[tuple[Hashable, Hashable, Any, Any]],
) -> dict[Hashable, Leniency]:
    """Per reviewer, the mean of (reviewer total - consensus total), overall and
    per period; positive means the reviewer scores more generously than the
    consensus. Pairs missing either total are skipped."""
    diffs: dict[Hashable, dict[Hashable, list[float]]] = {}
    for reviewer, period, own, consensus in pairs:
        if is_missing(own) or is_missing(consensus):
            continue
        per_period = diffs.setdefault(reviewer, {})
        per_period.setdefault(period, []).append(float(own) - float(consensus))
    return {
        reviewer: Leniency(
            overall=_mean_difference([d for ds in periods.values() for d in ds]),
            periods={p: _mean_difference(ds) for p, ds in periods.items()},
        )
        for reviewer, periods in diffs.items()
    }


def _mean_difference(values: list[float]) -> MeanDifference:
    return MeanDifference(statistics.fmean(values), len(values))
