"""Calibration figures: one reviewer against a reference, and against themselves.

Pure arithmetic over plain values; the selectors gather the answers. Every
figure the data cannot support is None with a reason beside it.

- Item agreement with the reference: the share of items answered alike, and
  Gwet's AC1 with each item compared within its own options. Items sharing
  the same options pool their category shares, as Gwet's AC1 does for
  subjects rated on one scale; when every item has the same options this is
  exactly ``gwet_ac1`` over the items with those options as categories.
- Kappa per item across training studies, once there are enough of them.
- The difference in the total, in the instrument's unit.
- Intra-rater reliability on re-reads: kappa per item and, for totals,
  ICC(A,1) (McGraw and Wong's absolute agreement, single measure: Shrout and
  Fleiss' ICC(2,1)), as Koo and Li (2016) recommend for intra-rater designs.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..words import Figure
from ..words import say as _
from .coefficients import cohen_kappa
from .numeric import icc
from .reporting import format_range, format_value, number_word

# Kappa for one item over fewer studies than this says nothing useful.
MIN_KAPPA_STUDIES = 5
# ICC(A,1) needs some spread of studies to estimate subject variance.
MIN_ICC_REREADS = 5
# Drift: a month with fewer complete studies is left out, as for leniency.
MIN_STUDIES_PER_PERIOD = 3

# The unit the total differs in, by scoring kind: RQS sums points; METRICS
# weights items to a percentage; checklists report adherence in percent.
# The unit is words (a Phrase), said beside the difference.
UNITS: dict[str, tuple[str, str]] = {
    "points": ("total", _("points")),
    "weighted": ("percent", _("percentage points")),
    "checklist": ("percent", _("percentage points")),
}


def choice_key(choices: Sequence[str] | None) -> str | None:
    """One comparable value per answer: the ticked options, order ignored."""
    if choices is None:
        return None
    return "+".join(sorted(choices))


@dataclass(frozen=True)
class ItemPair:
    """One item of one study: the reviewer's answer and the reference's."""

    code: str
    options: tuple[str, ...]
    mine: str | None
    reference: str | None

    @property
    def compared(self) -> bool:
        return self.mine is not None and self.reference is not None

    @property
    def agrees(self) -> bool:
        return self.compared and self.mine == self.reference


@dataclass(frozen=True)
class ItemAgreement:
    items: int
    agreed: int
    percent: float | None
    ac1: float | None
    reasons: dict[str, str] = field(default_factory=dict)


def item_agreement(pairs: Iterable[ItemPair]) -> ItemAgreement:
    """Percent agreement (a fraction) and Gwet's AC1 over the compared items."""
    compared = [p for p in pairs if p.compared]
    if not compared:
        why = _("no item was answered by both")
        return ItemAgreement(0, 0, None, None, {"percent": why, "ac1": why})
    agreed = sum(p.agrees for p in compared)
    pa = agreed / len(compared)
    pe = _chance_agreement(compared)
    if pe is None or pe >= 1:
        why = _("every item has a single possible answer")
        return ItemAgreement(len(compared), agreed, pa, None, {"ac1": why})
    return ItemAgreement(len(compared), agreed, pa, (pa - pe) / (1 - pe))


def _chance_agreement(pairs: Sequence[ItemPair]) -> float | None:
    """Gwet's pe averaged over items, each over its own option set's shares."""
    groups: dict[tuple[str, ...], list[ItemPair]] = defaultdict(list)
    for pair in pairs:
        groups[pair.options].append(pair)
    per_item: list[float] = []
    for options, members in groups.items():
        categories = set(options)
        shares: dict[str, float] = defaultdict(float)
        for pair in members:
            for value in (pair.mine, pair.reference):
                categories.add(str(value))
                shares[str(value)] += 0.5 / len(members)
        q = len(categories)
        if q < 2:
            return None
        pe = sum(pi * (1 - pi) for pi in shares.values()) / (q - 1)
        per_item += [pe] * len(members)
    return statistics.fmean(per_item)


def kappa_per_item(
    studies: Sequence[Mapping[str, tuple[str | None, str | None]]],
    minimum: int = MIN_KAPPA_STUDIES,
) -> dict[str, Any]:
    """Cohen's kappa per item across studies ({code: (mine, other)} each)."""
    by_item: dict[str, list[list[str | None]]] = defaultdict(list)
    for study in studies:
        for code, (mine, other) in study.items():
            if mine is not None and other is not None:
                by_item[code].append([mine, other])
    if len(studies) < minimum:
        reason = _(
            "needs at least %(minimum)s studies (has %(n)s)",
            minimum=minimum,
            n=len(studies),
        )
        return {"items": {}, "median": None, "reason": reason}
    values: dict[str, float | None] = {}
    for code, rows in by_item.items():
        values[code] = (
            cohen_kappa(rows).value if len(rows) >= minimum else None  # type: ignore[arg-type]
        )
    known = [v for v in values.values() if v is not None and math.isfinite(v)]
    median = statistics.median(known) if known else None
    why = None if known else _("no item varied enough for kappa")
    return {"items": values, "median": median, "reason": why}


def total_difference(
    kind: str, mine: Mapping[str, Any], reference: Mapping[str, Any]
) -> float | None:
    """Reviewer minus reference, in the instrument's unit; None without one."""
    unit = UNITS.get(kind)
    if unit is None:
        return None
    a, b = mine.get(unit[0]), reference.get(unit[0])
    if a is None or b is None:
        return None
    return float(Decimal(a) - Decimal(b))


def unit_of(kind: str) -> str | None:
    found = UNITS.get(kind)
    return found[1] if found else None


def intra_rater_icc(pairs: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """ICC(A,1) of first read against re-read, with its 95% CI."""
    if len(pairs) < MIN_ICC_REREADS:
        reason = _(
            "needs at least %(minimum)s re-read studies (has %(n)s)",
            minimum=MIN_ICC_REREADS,
            n=len(pairs),
        )
        return {"value": None, "ci": None, "reason": reason}
    found = icc([[a, b] for a, b in pairs])["ICC2"]
    ci = list(found.ci95) if found.ci95 else None
    return {"value": found.value, "ci": ci, "reason": found.note}


@dataclass(frozen=True)
class Threshold:
    min_studies: int
    min_agreement: float  # a fraction
    max_difference: float | None  # None: the instrument has no total


def meets(threshold: Threshold, figures: Mapping[str, Any]) -> list[str]:
    """What stands between the figures and the threshold, in words; [] when met."""
    gaps: list[str] = []
    n = figures.get("training_studies") or 0
    if n < threshold.min_studies:
        gaps.append(
            _(
                "%(n)s of %(needed)s training studies done",
                n=n,
                needed=threshold.min_studies,
            )
        )
    agreement = figures.get("percent_agreement")
    needed = Figure(f"{threshold.min_agreement:.0%}")
    if agreement is None:
        gaps.append(
            _("item agreement none yet, needs %(needed)s or more", needed=needed)
        )
    elif agreement < threshold.min_agreement - 1e-9:
        gaps.append(
            _(
                "item agreement %(agreement)s, needs %(needed)s or more",
                agreement=Figure(f"{agreement:.0%}"),
                needed=needed,
            )
        )
    difference = figures.get("mean_absolute_total_difference")
    limit = threshold.max_difference
    if limit is None:
        return gaps
    if difference is None:
        gaps.append(
            _(
                "mean difference in the total none yet, needs %(limit)s or less",
                limit=Figure(f"{limit:g}"),
            )
        )
    elif difference > limit + 1e-9:
        gaps.append(
            _(
                "mean difference in the total %(difference)s, needs %(limit)s or less",
                difference=Figure(f"{difference:.1f}"),
                limit=Figure(f"{limit:g}"),
            )
        )
    return gaps


@dataclass(frozen=True)
class Period:
    month: str  # "2026-11"
    studies: int
    agreement: float | None
    leniency: float | None


def drift(
    rows: Iterable[tuple[str, bool, float | None]],
    minimum: int = MIN_STUDIES_PER_PERIOD,
) -> list[Period]:
    """Per month: (month, item agreement, total difference) rows, summarised.

    Only months with at least ``minimum`` complete studies are kept.
    """
    months: dict[str, list[tuple[float | None, float | None]]] = defaultdict(list)
    for month, agreement, difference in rows:
        months[month].append((agreement, difference))  # type: ignore[arg-type]
    periods = []
    for month in sorted(months):
        values = months[month]
        if len(values) < minimum:
            continue
        agreements = [a for a, _ in values if a is not None]
        differences = [d for _, d in values if d is not None]
        periods.append(
            Period(
                month,
                len(values),
                statistics.fmean(agreements) if agreements else None,
                statistics.fmean(differences) if differences else None,
            )
        )
    return periods


def calibration_sentence(
    *,
    reviewers: Sequence[tuple[float, int]],
    training_studies: int,
    rereads: int,
    icc_value: Mapping[str, Any] | None,
) -> str:
    """The methods sentence: what calibration happened, with its figures.

    ``reviewers`` holds each calibrated reviewer's item agreement (a fraction)
    and how many training studies they scored; ``training_studies`` counts
    the distinct studies.
    """
    training = (
        _training_clause(reviewers, training_studies)
        if reviewers and training_studies
        else None
    )
    if training is not None and rereads:
        return _(
            "%(training)s; %(rereads)s.",
            training=training,
            rereads=_reread_clause(rereads, icc_value or {}),
        )
    if training is not None:
        return _("%(training)s.", training=training)
    if rereads:
        return _reread_sentence(rereads, icc_value or {})
    return _("No reviewer has completed calibration yet.")


def _reread_figures(rereads: int, icc_value: Mapping[str, Any]) -> dict[str, Any]:
    """What the re-read clause says: the studies, and the ICC or why there is none."""
    figures: dict[str, Any] = {"studies": _studies(rereads, "re-read")}
    value = icc_value.get("value")
    if value is None:
        figures["reason"] = icc_value.get("reason") or _("too few re-reads")
        return figures
    figures["value"] = format_value(value)
    ci = icc_value.get("ci")
    if ci:
        figures["range"] = format_range(*ci)
    return figures


def _reread_clause(rereads: int, icc_value: Mapping[str, Any]) -> str:
    """The re-read clause after the training one."""
    figures = _reread_figures(rereads, icc_value)
    if "reason" in figures:
        return _(
            "intra-rater ICC(A,1) on %(studies)s was not estimated (%(reason)s)",
            **figures,
        )
    if "range" in figures:
        return _(
            "intra-rater ICC(A,1) on %(studies)s was %(value)s (95%% CI %(range)s)",
            **figures,
        )
    return _("intra-rater ICC(A,1) on %(studies)s was %(value)s", **figures)


def _reread_sentence(rereads: int, icc_value: Mapping[str, Any]) -> str:
    """The re-read clause as the whole sentence (no training to report)."""
    figures = _reread_figures(rereads, icc_value)
    if "reason" in figures:
        return _(
            "Intra-rater ICC(A,1) on %(studies)s was not estimated (%(reason)s).",
            **figures,
        )
    if "range" in figures:
        return _(
            "Intra-rater ICC(A,1) on %(studies)s was %(value)s (95%% CI %(range)s).",
            **figures,
        )
    return _("Intra-rater ICC(A,1) on %(studies)s was %(value)s.", **figures)


def _studies(n: int, kind: str) -> str:
    """ "1 training study", "5 re-read studies"."""
    if kind == "re-read":
        return _("1 re-read study") if n == 1 else _("%(n)s re-read studies", n=n)
    return _("1 training study") if n == 1 else _("%(n)s training studies", n=n)


def _training_clause(reviewers: Sequence[tuple[float, int]], distinct: int) -> str:
    agreements = [a for a, _n in reviewers]
    counts = sorted({n for _a, n in reviewers})
    if len(counts) == 1 and counts[0] == distinct:
        where = _studies(distinct, "training")
    elif len(counts) == 1:
        where = _(
            "%(studies)s each, %(total)s in all",
            studies=_studies(counts[0], "training"),
            total=distinct,
        )
    else:
        where = _(
            "%(low)s to %(studies)s each, %(total)s in all",
            low=counts[0],
            studies=_studies(counts[-1], "training"),
            total=distinct,
        )
    median = Figure(f"{statistics.median(agreements):.0%}")
    if len(reviewers) == 1:
        return _(
            "Before scoring, the one reviewer completed calibration on %(studies)s "
            "(median item agreement with the reference %(median)s)",
            studies=where,
            median=median,
        )
    return _(
        "Before scoring, the %(n)s reviewers completed calibration on %(studies)s "
        "(median item agreement with the reference %(median)s, range "
        "%(low)s–%(high)s)",  # noqa: RUF001
        n=number_word(len(reviewers)),
        studies=where,
        median=median,
        low=Figure(f"{min(agreements):.0%}"),
        high=Figure(f"{max(agreements):.0%}"),
    )


__all__ = [
    "MIN_ICC_REREADS",
    "MIN_KAPPA_STUDIES",
    "MIN_STUDIES_PER_PERIOD",
    "ItemAgreement",
    "ItemPair",
    "Period",
    "Threshold",
    "calibration_sentence",
    "choice_key",
    "drift",
    "intra_rater_icc",
    "item_agreement",
    "kappa_per_item",
    "meets",
    "total_difference",
    "unit_of",
]
