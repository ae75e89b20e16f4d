"""Reporting agreement: coefficient labels, item summaries, the methods
sentence for a paper (only when the sample supports one), and reviewer
leniency against the consensus."""

from __future__ import annotations

import statistics
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from ..words import Figure, Phrase
from ..words import say as _
from .design import TOTAL_ICC_KEY, Design
from .ratings import Coefficient, is_missing

COEFFICIENT_LABELS: dict[str, str] = {
    # Descriptions are words (Phrases); the named coefficients are proper names.
    "percent_agreement": _("mean pairwise agreement"),
    "all_raters_agree": _("all raters agree"),
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


# Small counts in words, as a paper writes them; a number beyond them. (No
# word for zero: "no" and "No" are the catalogue's answers, not counts.)
_WORDS = {
    1: _("one"),
    2: _("two"),
    3: _("three"),
    4: _("four"),
    5: _("five"),
    6: _("six"),
    7: _("seven"),
    8: _("eight"),
}
# The same opening a sentence ("One reviewer ..." has a sentence of its own).
_CAPITALISED = {
    2: _("Two"),
    3: _("Three"),
    4: _("Four"),
    5: _("Five"),
    6: _("Six"),
    7: _("Seven"),
    8: _("Eight"),
}


def number_word(n: int) -> str:
    return _WORDS.get(n) or str(n)


def _capital_number(n: int) -> str:
    return _CAPITALISED.get(n) or str(n)


def study_count(n: int) -> str:
    """ "1 study", "24 studies"."""
    return _("1 study") if n == 1 else _("%(n)s studies", n=n)


def _more_items(n: int) -> str:
    return _("one more item") if n == 1 else _("%(n)s more items", n=number_word(n))


def format_value(x: float) -> str:
    text = f"{x:.2f}"
    text = "0.00" if text == "-0.00" else text
    return Figure(text.replace("-", "\N{MINUS SIGN}"))


def format_range(low: float, high: float) -> str:
    lo, hi = format_value(low), format_value(high)
    # An en dash next to a minus sign reads as a subtraction; spell it out then.
    if "\N{MINUS SIGN}" in lo + hi:
        return _("%(low)s to %(high)s", low=lo, high=hi)
    # Not for translators (no words), but a Phrase so the numbers are localised.
    return Phrase("%(low)s\N{EN DASH}%(high)s", {"low": lo, "high": hi})


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
    opening = _opening(n_reviewers, n_studies, instrument, design, reviewers_per_study)
    total = _total_clause(design, total_icc)
    if item_summary is None:
        return _("%(opening)s; %(total)s.", opening=opening, total=total)
    return _(
        "%(opening)s; %(total)s; %(items)s.",
        opening=opening,
        total=total,
        items=_item_clause(item_summary),
    )


def _opening(
    n_reviewers: int,
    n_studies: int,
    instrument: str,
    design: Design,
    per_study: int | None,
) -> str:
    studies = study_count(n_studies)
    if design == "fixed":
        if n_reviewers == 1:
            return _(
                "One reviewer independently scored %(studies)s with %(instrument)s",
                studies=studies,
                instrument=instrument,
            )
        return _(
            "%(reviewers)s reviewers independently scored %(studies)s with "
            "%(instrument)s",
            reviewers=_capital_number(n_reviewers),
            studies=studies,
            instrument=instrument,
        )
    if per_study:
        return _(
            "Each of %(studies)s was scored independently by %(per_study)s of "
            "%(n)s reviewers with %(instrument)s",
            studies=studies,
            per_study=number_word(per_study),
            n=number_word(n_reviewers),
            instrument=instrument,
        )
    return _(
        "Each of %(studies)s was scored independently by reviewers drawn from a "
        "pool of %(n)s with %(instrument)s",
        studies=studies,
        n=number_word(n_reviewers),
        instrument=instrument,
    )


def _total_clause(design: Design, total: Coefficient | None) -> str:
    if total is None or total.value is None:
        if total is not None and total.note:
            return _(
                "agreement on the total score could not be estimated (%(reason)s)",
                reason=total.note,
            )
        return _("agreement on the total score could not be estimated")
    figures: dict[str, Any] = {
        "coefficient": COEFFICIENT_LABELS[TOTAL_ICC_KEY[design]],
        "value": format_value(total.value),
    }
    if total.ci95:
        figures["range"] = format_range(*total.ci95)
    if design == "fixed" and total.ci95:
        return _(
            "agreement on the total score was %(coefficient)s = %(value)s "
            "(95%% CI %(range)s), absolute agreement, two-way random effects",
            **figures,
        )
    if design == "fixed":
        return _(
            "agreement on the total score was %(coefficient)s = %(value)s, "
            "absolute agreement, two-way random effects",
            **figures,
        )
    if total.ci95:
        return _(
            "agreement on the total score was %(coefficient)s = %(value)s "
            "(95%% CI %(range)s), one-way random effects, as reviewers differed "
            "between studies",
            **figures,
        )
    return _(
        "agreement on the total score was %(coefficient)s = %(value)s, one-way "
        "random effects, as reviewers differed between studies",
        **figures,
    )


def _item_clause(summary: ItemSummary) -> str:
    label = COEFFICIENT_LABELS[summary.coefficient]
    more = _more_items(summary.n_undefined) if summary.n_undefined else ""
    if summary.n_items == 1 and summary.n_undefined:
        return _(
            "item-level %(coefficient)s was %(value)s for the one item, and could "
            "not be estimated for %(more)s",
            coefficient=label,
            value=format_value(summary.median),
            more=more,
        )
    if summary.n_items == 1:
        return _(
            "item-level %(coefficient)s was %(value)s for the one item",
            coefficient=label,
            value=format_value(summary.median),
        )
    figures: dict[str, Any] = {
        "coefficient": label,
        "median": format_value(summary.median),
        "range": format_range(summary.low, summary.high),
        "n": summary.n_items,
    }
    if summary.n_undefined:
        return _(
            "item-level agreement had a median %(coefficient)s of %(median)s "
            "(range %(range)s) across %(n)s items, and could not be estimated "
            "for %(more)s",
            more=more,
            **figures,
        )
    return _(
        "item-level agreement had a median %(coefficient)s of %(median)s "
        "(range %(range)s) across %(n)s items",
        **figures,
    )


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
    return _("too few studies (n = %(n)s) for a reliable estimate", n=n)


def instrument_name(name: str, modified_from: str = "") -> str:
    """The instrument as a reader should know it: a modified copy says so."""
    if not modified_from:
        return name
    return _("%(name)s (modified from %(original)s)", name=name, original=modified_from)


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
            _(
                "Inter-rater agreement on %(instrument)s is not reported: too few "
                "studies (n = %(n)s) for a reliable estimate (at least %(icc)s "
                "studies are needed for the intraclass correlation of the total "
                "score and %(items)s for item-level kappas).",
                instrument=instrument,
                n=n,
                icc=MIN_STUDIES_ICC,
                items=MIN_STUDIES_ITEMS,
            ),
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
