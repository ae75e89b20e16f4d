"""Rating matrices from the database, and the agreement figures a methods section needs.

Only reviewers' first independent submissions count: item ratings come from
``Answer.independent_choices`` and totals from ``Assessment.independent_*``,
so answers revised after unblinding never move agreement. A study enters only
when every reviewer assigned to it has submitted (blinding holds until then)
and it is not excluded. Items that do not apply (N/A) are missing ratings,
not a category. The reads are a fixed handful of queries whatever the number
of studies; the statistics are the pure functions of ``agreement``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from .. import access
from .. import agreement as ag
from ..instruments import Definition, Item
from ..instruments.definition import NA
from ..instruments.result import ANSWERED, evaluate
from ..models import Answer, Assessment, InstrumentVersion, Project

Value = Hashable | None
Matrix = list[list[Value]]


@dataclass(frozen=True)
class _Rating:
    """One reviewer's independent submission for one study."""

    assessment_id: int
    study_id: int
    reviewer_id: int
    reviewer: str
    submitted_at: Any
    total: float | None
    percent: float | None


@dataclass(frozen=True)
class Scale:
    """How an item's answers become ratings: level, categories and the mapping."""

    level: ag.Level
    categories: list[Hashable] | None
    value: Callable[[tuple[str, ...]], Hashable]


@dataclass
class RatingData:
    """Subjects x raters matrices for one project and instrument version."""

    design: ag.Design | None
    raters: list[str]
    studies: list[int]
    n_reviewers: int
    per_study: int | None
    items: dict[str, Matrix]
    totals: list[list[float | None]]
    percents: list[list[float | None]]
    n_pending: int


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


# --- reading ---------------------------------------------------------------------


def _ratings(
    project: Project, version: InstrumentVersion, user: Any = None
) -> list[_Rating]:
    chosen = Assessment.objects.filter(
        study__project=project,
        version=version,
        kind=Assessment.Kind.REVIEWER,
        study__excluded=False,
        # Someone who had seen the others' answers before rating is not an
        # independent rater.
        not_independent_reason="",
    )
    if user is not None:
        # A viewer still reviewing a study gets figures without it.
        chosen = chosen.exclude(study__in=access.pending_studies(user, project))
    rows = chosen.order_by("study_id", "pk").values_list(
        "pk",
        "study_id",
        "reviewer_id",
        "reviewer__username",
        "first_submitted_at",
        "independent_total",
        "independent_percent",
    )
    return [
        _Rating(pk, study, rid, name, at, _number(total), _number(percent))
        for pk, study, rid, name, at, total, percent in rows
    ]


def _complete_studies(ratings: list[_Rating]) -> tuple[dict[int, list[_Rating]], int]:
    """Studies every assigned reviewer has submitted, rated by two or more."""
    by_study: dict[int, list[_Rating]] = {}
    for rating in ratings:
        by_study.setdefault(rating.study_id, []).append(rating)
    complete = {
        study: rs
        for study, rs in by_study.items()
        if all(r.submitted_at is not None for r in rs)
    }
    pending = len(by_study) - len(complete)
    return {s: rs for s, rs in complete.items() if len(rs) >= 2}, pending


def _independent_answers(
    project: Project, version: InstrumentVersion, wanted: set[int]
) -> dict[int, dict[str, list[str]]]:
    rows = Answer.objects.filter(
        assessment__study__project=project,
        assessment__version=version,
        assessment__kind=Assessment.Kind.REVIEWER,
        assessment__first_submitted_at__isnull=False,
        independent_choices__isnull=False,
    ).values_list("assessment_id", "item_code", "independent_choices")
    answers: dict[int, dict[str, list[str]]] = {pk: {} for pk in wanted}
    for assessment_id, code, choices in rows:
        if assessment_id in wanted:
            answers[assessment_id][code] = list(choices or [])
    return answers


# --- matrices --------------------------------------------------------------------


def item_scale(item: Item) -> Scale:
    """Single items whose options carry points are ordinal on those points
    (options with equal points are one level); other items are nominal."""
    options = [o for o in item.options if o.code != NA]
    points = {o.code: o.points for o in options}
    scored = all(p is not None for p in points.values())
    if not item.is_multi and scored and len(set(points.values())) > 1:
        levels = sorted({float(p) for p in points.values() if p is not None})
        return Scale(
            "ordinal", list(levels), lambda chosen: float(points[chosen[0]] or 0)
        )
    if not item.is_multi:
        return Scale("nominal", [o.code for o in options], lambda chosen: chosen[0])
    order = {o.code: i for i, o in enumerate(item.options)}

    def combination(chosen: tuple[str, ...]) -> str:
        # The set of ticked boxes is the category; "none" when nothing was ticked.
        return "+".join(sorted(chosen, key=lambda c: order.get(c, 0))) or "none"

    return Scale("nominal", None, combination)


def _item_values(
    definition: Definition, answers: dict[str, list[str]], scales: dict[str, Scale]
) -> dict[str, Value]:
    sheet = evaluate(definition, answers)
    values: dict[str, Value] = {}
    for code, result in sheet.items.items():
        # Only answered items rate: N/A (by the conditions or chosen) is missing.
        answered = result.state == ANSWERED
        values[code] = scales[code].value(result.value) if answered else None
    return values


def _columns(
    design: ag.Design, studies: dict[int, list[_Rating]]
) -> tuple[list[str], Callable[[int, _Rating], int]]:
    """Fixed: one column per reviewer. Interchangeable: reviewer "slots" in
    assignment order, since who sits in a slot differs between studies."""
    if design == "fixed":
        first = next(iter(studies.values()))
        names = sorted((r.reviewer, r.reviewer_id) for r in first)
        column = {rid: j for j, (_, rid) in enumerate(names)}
        return [name for name, _ in names], lambda i, r: column[r.reviewer_id]
    width = max(len(rs) for rs in studies.values())
    return [f"reviewer {j + 1}" for j in range(width)], lambda i, r: i


def rating_data(
    project: Project,
    version: InstrumentVersion,
    ratings: list[_Rating] | None = None,
) -> RatingData:
    """Matrices of independent ratings for the studies fully submitted."""
    if ratings is None:
        ratings = _ratings(project, version)
    studies, pending = _complete_studies(ratings)
    if not studies:
        return RatingData(None, [], [], 0, None, {}, [], [], pending)
    design = ag.detect_design(
        {s: {r.reviewer_id for r in rs} for s, rs in studies.items()}
    )
    raters, column = _columns(design, studies)
    definition = version.as_definition()
    wanted = {r.assessment_id for rs in studies.values() for r in rs}
    answers = _independent_answers(project, version, wanted)
    items, totals, percents = _matrices(
        definition, answers, list(studies.values()), column, len(raters)
    )
    sizes = {len(rs) for rs in studies.values()}
    return RatingData(
        design=design,
        raters=raters,
        studies=list(studies),
        n_reviewers=len({r.reviewer_id for rs in studies.values() for r in rs}),
        per_study=sizes.pop() if len(sizes) == 1 else None,
        items=items,
        totals=totals,
        percents=percents,
        n_pending=pending,
    )


def _matrices(
    definition: Definition,
    answers: dict[int, dict[str, list[str]]],
    studies: list[list[_Rating]],
    column: Callable[[int, _Rating], int],
    width: int,
) -> tuple[dict[str, Matrix], list[list[float | None]], list[list[float | None]]]:
    """One row per study: item ratings, independent totals and percentages."""
    scales = {item.code: item_scale(item) for item in definition.items}
    items: dict[str, Matrix] = {code: [] for code in scales}
    totals: list[list[float | None]] = []
    percents: list[list[float | None]] = []
    for ratings in studies:
        rows = _study_rows(definition, scales, answers, ratings, column, width)
        for code in scales:
            items[code].append(rows[0][code])
        totals.append(rows[1])
        percents.append(rows[2])
    return items, totals, percents


def _study_rows(
    definition: Definition,
    scales: dict[str, Scale],
    answers: dict[int, dict[str, list[str]]],
    ratings: list[_Rating],
    column: Callable[[int, _Rating], int],
    width: int,
) -> tuple[dict[str, list[Value]], list[float | None], list[float | None]]:
    items: dict[str, list[Value]] = {code: [None] * width for code in scales}
    totals: list[float | None] = [None] * width
    percents: list[float | None] = [None] * width
    for i, rating in enumerate(ratings):
        j = column(i, rating)
        values = _item_values(definition, answers[rating.assessment_id], scales)
        for code, value in values.items():
            items[code][j] = value
        totals[j], percents[j] = rating.total, rating.percent
    return items, totals, percents


# --- figures -----------------------------------------------------------------------


def _coefficient(key: str, c: ag.Coefficient) -> dict[str, Any]:
    return {
        "key": key,
        "label": ag.COEFFICIENT_LABELS[key],
        "value": c.value,
        "ci95": list(c.ci95) if c.ci95 else None,
        "note": c.note,
    }


def _item_coefficient(key: str, matrix: Matrix, scale: Scale) -> ag.Coefficient:
    if key == "percent_agreement":
        value = ag.percent_agreement(matrix)
        note = None if value is not None else "no study has two or more ratings"
        return ag.Coefficient(value, None, note)
    if key == "cohen_kappa":
        weights: ag.Weights = "linear" if scale.level == "ordinal" else None
        return ag.cohen_kappa(matrix, weights, categories=scale.categories)
    if key == "fleiss_kappa":
        return ag.fleiss_kappa(matrix)
    if key == "krippendorff_alpha":
        return ag.krippendorff_alpha(matrix, scale.level, scale.categories)
    if key == "gwet_ac1":
        return ag.gwet_ac1(matrix, scale.categories)
    raise ValueError(f"unknown item coefficient {key!r}")


def _item_figures(
    definition: Definition, data: RatingData, keys: tuple[str, ...]
) -> list[dict[str, Any]]:
    figures = []
    for item in definition.items:
        matrix, scale = data.items[item.code], item_scale(item)
        paired = sum(1 for row in matrix if sum(v is not None for v in row) >= 2)
        figures.append(
            {
                "code": item.code,
                "label": item.label,
                "level": scale.level,
                "n_studies": paired,
                "coefficients": [
                    _coefficient(key, _item_coefficient(key, matrix, scale))
                    for key in keys
                ],
            }
        )
    return figures


def _score_figures(
    matrix: list[list[float | None]],
    iccs: dict[str, ag.Coefficient],
    applicable: tuple[str, ...],
    raters: list[str],
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "n_studies": sum(1 for row in matrix if all(v is not None for v in row)),
        "icc": [
            {**_coefficient(key, c), "applies": key in applicable}
            for key, c in iccs.items()
        ],
        "bland_altman": None,
    }
    if len(raters) == 2:
        first, second = zip(*matrix, strict=True) if matrix else ((), ())
        out["bland_altman"] = {
            **ag.bland_altman(first, second),
            "difference": f"{raters[0]} \N{MINUS SIGN} {raters[1]}",
        }
    return out


# Fewer complete studies than this and a reviewer's mean difference from the
# consensus comes close to giving away their individual totals.
LENIENCY_MIN_STUDIES = 3


def _leniency(
    project: Project, version: InstrumentVersion, ratings: list[_Rating]
) -> list[dict[str, Any]]:
    """Each reviewer's independent total minus the final consensus total.

    Only over studies every assigned reviewer has submitted, and only for
    reviewers with enough of them.
    """
    complete, _ = _complete_studies(ratings)
    ratings = [r for rs in complete.values() for r in rs]
    finals = dict(
        Assessment.objects.filter(
            study__project=project,
            version=version,
            kind=Assessment.Kind.CONSENSUS,
            status=Assessment.Status.SUBMITTED,
            study__excluded=False,
        ).values_list("study_id", "total")
    )
    pairs = [
        (r.reviewer, f"{timezone.localtime(r.submitted_at):%Y-%m}", r.total, final)
        for r in ratings
        if r.submitted_at is not None
        and (final := _number(finals.get(r.study_id))) is not None
    ]
    by_reviewer = sorted(ag.leniency(pairs).items(), key=lambda p: str(p[0]))
    return [
        _leniency_row(str(name), result)
        for name, result in by_reviewer
        if result.overall.n >= LENIENCY_MIN_STUDIES
    ]


def _leniency_row(reviewer: str, result: ag.Leniency) -> dict[str, Any]:
    periods = sorted(result.periods.items(), key=lambda p: str(p[0]))
    return {
        "reviewer": reviewer,
        "mean": result.overall.mean,
        "n": result.overall.n,
        "periods": [
            {"period": p, "mean": d.mean, "n": d.n}
            for p, d in periods
            if d.n >= LENIENCY_MIN_STUDIES
        ],
    }


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: undefined numbers become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


DESIGN_NOTES = {
    "fixed": "The same reviewers scored every study: reviewers are a fixed set, so "
    "Cohen's kappa (Fleiss' kappa for more than two) and the two-way ICCs, "
    "ICC(2,1) for absolute agreement and ICC(3,1) for consistency, fit.",
    "interchangeable": "Studies were scored by different reviewers: reviewers are "
    "interchangeable (columns are the first, second ... reviewer of each study), "
    "so the one-way ICC(1,1), Fleiss' kappa and Krippendorff's alpha fit.",
}
NOTES = [
    "Computed on each reviewer's first independent submission; answers revised "
    "after unblinding do not change these figures.",
    "Only studies every assigned reviewer has submitted enter; excluded studies "
    "are left out.",
    "Items that do not apply (N/A) are missing ratings, not a category.",
    "Single items whose options carry points are compared as ordinal on the "
    "points (weighted kappa with linear weights); other items as nominal.",
]


def project_agreement(
    project: Project, version: InstrumentVersion, user: Any = None
) -> dict[str, Any]:
    """JSON-safe agreement figures for one project and instrument version.

    With a user, the figures that user may see: without the studies they still
    review, and without per-reviewer figures unless they lead the project.
    """
    definition = version.as_definition()
    ratings = _ratings(project, version, user)
    per_reviewer = user is None or access.sees_per_reviewer_figures(user, project)
    data = rating_data(project, version, ratings)
    out: dict[str, Any] = {
        "project": project.slug,
        "instrument": version.key,
        "instrument_name": definition.short_name or definition.name,
        "n_studies": len(data.studies),
        "n_pending": data.n_pending,
        "n_reviewers": data.n_reviewers,
        "reviewers_per_study": data.per_study,
        "design": data.design,
        "design_note": DESIGN_NOTES.get(data.design or "", ""),
        "raters": data.raters,
        "leniency": _leniency(project, version, ratings) if per_reviewer else [],
        "leniency_shown": per_reviewer,
        "notes": NOTES,
    }
    if data.design is None:
        return _clean({**out, **_no_figures()})
    return _clean({**out, **_figures(definition, data)})


def _no_figures() -> dict[str, Any]:
    return {
        "coefficients": {"items": [], "totals": []},
        "items": [],
        "item_summary": None,
        "totals": None,
        "percents": None,
        "methods_sentence": "",
    }


def _figures(definition: Definition, data: RatingData) -> dict[str, Any]:
    assert data.design is not None
    applicable = ag.coefficients_for_design(data.design, len(data.raters))
    items = _item_figures(definition, data, applicable.items)
    summary = ag.summarize_items(
        applicable.items[0], [i["coefficients"][0]["value"] for i in items]
    )
    total_iccs = ag.icc(data.totals)
    totals = _score_figures(data.totals, total_iccs, applicable.total, data.raters)
    percents = _score_figures(
        data.percents, ag.icc(data.percents), applicable.total, data.raters
    )
    sentence = ag.methods_sentence(
        n_reviewers=data.n_reviewers,
        n_studies=len(data.studies),
        instrument=definition.short_name or definition.name,
        design=data.design,
        total_icc=total_iccs[ag.TOTAL_ICC_KEY[data.design]],
        item_summary=summary,
        reviewers_per_study=data.per_study,
    )
    return {
        "coefficients": {
            "items": [_label(k) for k in applicable.items],
            "totals": [_label(k) for k in applicable.total],
        },
        "items": items,
        "item_summary": None if summary is None else asdict(summary),
        "totals": totals,
        "percents": percents,
        "methods_sentence": sentence,
    }


def _label(key: str) -> dict[str, str]:
    return {"key": key, "label": ag.COEFFICIENT_LABELS[key]}
