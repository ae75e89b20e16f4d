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

from .coefficients import cohen_kappa
from .numeric import icc
from .reporting import count_of, format_range, format_value

# Kappa for one item over fewer studies than this says nothing useful.
MIN_KAPPA_STUDIES = 5
# ICC(A,1) needs some spread of studies to estimate subject variance.
MIN_ICC_REREADS = 5
# Drift: a month with fewer complete studies is left out, as for leniency.
MIN_STUDIES_PER_PERIOD = 3

# The unit the total differs in, by scoring kind: RQS sums points; METRICS
# weights items to a percentage; checklists report adherence in percent.
UNITS: dict[str, tuple[str, str]] = {
    "points": ("total", "points"),
    "weighted": ("percent", "percentage points"),
    "checklist": ("percent", "percentage points"),
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
        why = "no item was answered by both"
        return ItemAgreement(0, 0, None, None, {"percent": why, "ac1": why})
    agreed = sum(p.agrees for p in compared)
    pa = agreed / len(compared)
    pe = _chance_agreement(compared)
    if pe is None or pe >= 1:
        why = "every item has a single possible answer"
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
        reason = f"needs at least {minimum} studies (has {len(studies)})"
        return {"items": {}, "median": None, "reason": reason}
    values: dict[str, float | None] = {}
    for code, rows in by_item.items():
        values[code] = (
            cohen_kappa(rows).value if len(rows) >= minimum else None  # type: ignore[arg-type]
        )
    known = [v for v in values.values() if v is not None and math.isfinite(v)]
    median = statistics.median(known) if known else None
    why = None if known else "no item varied enough for kappa"
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
        reason = f"needs at least {MIN_ICC_REREADS} re-read studies (has {len(pairs)})"
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
    gaps = []
    n = figures.get("training_studies") or 0
    if n < threshold.min_studies:
        gaps.append(f"{n} of {threshold.min_studies} training studies done")
    agreement = figures.get("percent_agreement")
    if agreement is None or agreement < threshold.min_agreement - 1e-9:
        shown = "none yet" if agreement is None else f"{agreement:.0%}"
        gaps.append(
            f"item agreement {shown}, needs {threshold.min_agreement:.0%} or more"
        )
    difference = figures.get("mean_absolute_total_difference")
    limit = threshold.max_difference
    if limit is not None and (difference is None or difference > limit + 1e-9):
        shown = "none yet" if difference is None else f"{difference:.1f}"
        gaps.append(f"mean difference in the total {shown}, needs {limit:g} or less")
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
    clauses = []
    if reviewers and training_studies:
        clauses.append(_training_clause(reviewers, training_studies))
    if rereads:
        studies = _studies(rereads, "re-read")
        value = (icc_value or {}).get("value")
        if value is None:
            why = (icc_value or {}).get("reason") or "too few re-reads"
            clauses.append(
                f"intra-rater ICC(A,1) on {studies} was not estimated ({why})"
            )
        else:
            ci = (icc_value or {}).get("ci")
            shown = f" (95% CI {format_range(*ci)})" if ci else ""
            clauses.append(
                f"intra-rater ICC(A,1) on {studies} was {format_value(value)}{shown}"
            )
    if not clauses:
        return "No reviewer has completed calibration yet."
    text = "; ".join(clauses) + "."
    return text[0].upper() + text[1:]


def _studies(n: int, kind: str) -> str:
    return f"{n} {kind} stud{'y' if n == 1 else 'ies'}"


def _training_clause(reviewers: Sequence[tuple[float, int]], distinct: int) -> str:
    agreements = [a for a, _ in reviewers]
    counts = sorted({n for _, n in reviewers})
    who = count_of(len(reviewers), "reviewer")
    if len(counts) == 1 and counts[0] == distinct:
        where = _studies(distinct, "training")
    elif len(counts) == 1:
        where = f"{_studies(counts[0], 'training')} each, {distinct} in all"
    else:
        where = (
            f"{counts[0]} to {_studies(counts[-1], 'training')} each, {distinct} in all"
        )
    median = statistics.median(agreements)
    spread = (
        f", range {min(agreements):.0%}\N{EN DASH}{max(agreements):.0%}"
        if len(agreements) > 1
        else ""
    )
    return (
        f"Before scoring, the {who} completed calibration on {where} "
        f"(median item agreement with the reference {median:.0%}{spread})"
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
