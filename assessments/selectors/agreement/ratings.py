"""Rating matrices: reviewers' first independent submissions, study by study."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ... import access
from ... import agreement as ag
from ...instruments import Definition, Item
from ...instruments.definition import NA
from ...instruments.result import ANSWERED, evaluate
from ...models import Answer, Assessment, InstrumentVersion, Project
from ..wording import ENGLISH, MIXED

Value = Hashable | None
Matrix = list[list[Value]]


@dataclass(frozen=True)
class Rating:
    """One reviewer's independent submission for one study."""

    assessment_id: int
    study_id: int
    reviewer_id: int
    reviewer: str
    submitted_at: Any
    total: float | None
    percent: float | None
    # The instrument wording the reviewer saved in ("en", "nl", "mixed").
    wording_language: str = ENGLISH


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


def as_float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


# --- reading ---------------------------------------------------------------------


def independent_ratings(
    project: Project, version: InstrumentVersion, user: Any = None
) -> list[Rating]:
    chosen = Assessment.objects.filter(
        study__project=project,
        version=version,
        kind=Assessment.Kind.REVIEWER,
        study__excluded=False,
        study__training=False,
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
        "wording_language",
    )
    return [
        # Not recorded: saved before translations existed, so in English.
        Rating(
            pk,
            study,
            rid,
            name,
            at,
            as_float(total),
            as_float(percent),
            lang or ENGLISH,
        )
        for pk, study, rid, name, at, total, percent, lang in rows
    ]


def study_languages(ratings: list[Rating]) -> dict[int, str]:
    """Each study's wording language: the one all its reviewers used, else
    "mixed" (reviewers of the study, or one reviewer's saves, differed)."""
    used: dict[int, set[str]] = {}
    for rating in ratings:
        used.setdefault(rating.study_id, set()).add(rating.wording_language)
    return {
        study: languages.pop() if len(languages) == 1 else MIXED
        for study, languages in used.items()
    }


def complete_studies(ratings: list[Rating]) -> tuple[dict[int, list[Rating]], int]:
    """Studies every assigned reviewer has submitted, rated by two or more."""
    by_study: dict[int, list[Rating]] = {}
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
    design: ag.Design, studies: dict[int, list[Rating]]
) -> tuple[list[str], Callable[[int, Rating], int]]:
    """Fixed: one column per reviewer, by name. Interchangeable: reviewer
    "slots" in assignment order (``agreement.rater_columns``, as the command)."""
    keyed = {
        study: sorted((r.reviewer, r.reviewer_id) for r in rs)
        if design == "fixed"
        else [(r.reviewer, r.reviewer_id) for r in rs]
        for study, rs in studies.items()
    }
    names, column = ag.rater_columns(design, keyed)
    # Slot names stay Phrases ("reviewer 1"), said in the reader's words later.
    labels = [
        str(name[0])
        if isinstance(name, tuple)
        else name
        if isinstance(name, str)
        else str(name)
        for name in names
    ]
    return labels, lambda i, r: column(i, (r.reviewer, r.reviewer_id))


def rating_data(
    project: Project,
    version: InstrumentVersion,
    ratings: list[Rating] | None = None,
) -> RatingData:
    """Matrices of independent ratings for the studies fully submitted."""
    if ratings is None:
        ratings = independent_ratings(project, version)
    studies, pending = complete_studies(ratings)
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
    studies: list[list[Rating]],
    column: Callable[[int, Rating], int],
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
    ratings: list[Rating],
    column: Callable[[int, Rating], int],
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
