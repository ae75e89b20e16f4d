"""Training reads: what a reviewer may train on, the feedback after a training
study, and the project's calibration in one sentence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from ..agreement.calibration import (
    ItemAgreement,
    calibration_sentence,
    choice_key,
    intra_rater_icc,
    item_agreement,
    total_difference,
    unit_of,
)
from ..models import Answer, Assessment, InstrumentVersion, Project, Reference, Study
from .audit import choices_text
from .calibration import (
    calibration_rows,
    current_references,
    item_pairs,
    settings_for,
)
from .studies import project_versions
from .wording import wording_for


def training_studies(project: Project) -> QuerySet[Study]:
    """The project's training studies, with or without a reference yet."""
    return Study.objects.filter(project=project, training=True, excluded=False)


def available_training(project: Project, user: Any) -> list[dict[str, Any]]:
    """Training studies with a reference that the user has not started, per version.

    None where hidden checks are on: a study seen in this list could later be
    recognised as a check, so there the lead assigns training instead.
    """
    offers = []
    for version in project_versions(project):
        if settings_for(project, version).hidden_checks:
            continue
        mine = Assessment.objects.filter(
            study_id=OuterRef("pk"), version=version, reviewer_id=user.pk
        ).exclude(kind=Assessment.Kind.REREAD)
        referenced = Reference.objects.filter(
            study_id=OuterRef("pk"), version=version, current=True
        )
        studies = (
            training_studies(project)
            .filter(Exists(referenced))
            .exclude(Exists(mine))
            .order_by("title")
        )
        offers += [{"study": s, "version": version} for s in studies]
    return offers


def my_training(project: Project, user: Any) -> QuerySet[Assessment]:
    return (
        Assessment.objects.filter(
            study__project=project, reviewer_id=user.pk, kind=Assessment.Kind.TRAINING
        )
        .select_related("study", "version__instrument")
        .order_by("-updated_at")
    )


@dataclass
class FeedbackRow:
    code: str
    label: str
    explanation: str
    mine: str
    my_points: Any
    reference: str
    reference_points: Any
    agrees: bool | None
    rationale: str
    evidence: str
    page: str
    quotes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Feedback:
    reference: Reference
    rows: list[FeedbackRow]
    agreement: ItemAgreement
    my_total: Any
    reference_total: Any
    difference: float | None
    unit: str | None
    kappa: dict[str, Any]


def feedback(assessment: Assessment) -> Feedback | None:
    """Item by item beside the current reference; None without a reference.

    Call only once ``access.may_see_reference`` allows it.
    """
    reference = current_references([assessment.study_id], [assessment.version_id]).get(
        (assessment.study_id, assessment.version_id)
    )
    if reference is None:
        return None
    definition = wording_for(assessment.version).definition
    answers = {
        a.item_code: a
        for a in Answer.objects.filter(assessment=assessment).only(
            "item_code",
            "independent_choices",
            "choices",
            "independent_points",
            "points",
        )
    }
    mine = {
        code: (
            a.independent_choices if a.independent_choices is not None else a.choices
        )
        for code, a in answers.items()
    }
    rows = []
    for item in definition.items:
        theirs = reference.answers.get(item.code) or {}
        answer = answers.get(item.code)
        a, b = choice_key(mine.get(item.code)), choice_key(theirs.get("choices"))
        rows.append(
            FeedbackRow(
                code=item.code,
                label=item.label,
                explanation=item.help,
                mine=choices_text(item, mine.get(item.code)),
                my_points=(
                    answer.independent_points
                    if answer and answer.independent_points is not None
                    else (answer.points if answer else None)
                ),
                reference=choices_text(item, theirs.get("choices")),
                reference_points=theirs.get("points"),
                agrees=(a == b) if a is not None and b is not None else None,
                rationale=(reference.rationales or {}).get(item.code, ""),
                evidence=theirs.get("evidence", ""),
                page=theirs.get("page", ""),
                quotes=list(theirs.get("quotes") or []),
            )
        )
    pairs = item_pairs(definition, mine, reference.answers)
    mine_totals = {
        "total": assessment.independent_total,
        "percent": assessment.independent_percent,
    }
    theirs_totals = {"total": reference.total, "percent": reference.percent}
    field_name = "total" if definition.kind == "points" else "percent"
    rows_for_me = calibration_rows(assessment.study.project, [assessment.reviewer_id])
    kappa: dict[str, Any] = next(
        (r["kappa"] for r in rows_for_me if r["instrument"] == assessment.version.key),
        {"items": {}, "median": None, "reason": None},
    )
    return Feedback(
        reference=reference,
        rows=rows,
        agreement=item_agreement(pairs),
        my_total=mine_totals[field_name],
        reference_total=theirs_totals[field_name],
        difference=total_difference(definition.kind, mine_totals, theirs_totals),
        unit=unit_of(definition.kind),
        kappa=kappa,
    )


def methods_sentence(
    project: Project,
    version: InstrumentVersion,
    rows: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """What calibration happened in the project for a version, with figures.

    ``rows``: every reviewer's calibration rows when the caller has them. The
    sentence is a Phrase: English for the command, and a page says it in the
    reader's words with ``in_words(..., gettext)``.
    """
    if rows is None:
        rows = calibration_rows(project)
    trained = [
        (r["percent_agreement"], r["training_studies"])
        for r in rows
        if r["instrument"] == version.key
        and r["training_studies"]
        and r["percent_agreement"] is not None
    ]
    studies = (
        Assessment.objects.filter(
            study__project=project,
            version=version,
            kind=Assessment.Kind.TRAINING,
            first_submitted_at__isnull=False,
        )
        .values("study_id")
        .distinct()
        .count()
    )
    pairs = reread_totals(project, version)
    return calibration_sentence(
        reviewers=trained,
        training_studies=studies,
        rereads=len(pairs),
        icc_value=intra_rater_icc(pairs) if pairs else None,
    )


def reread_totals(
    project: Project, version: InstrumentVersion
) -> list[tuple[float, float]]:
    """First read and re-read totals over every reviewer (the overall ICC)."""
    kind = version.as_definition().kind
    if unit_of(kind) is None:
        return []
    field_name = "total" if kind == "points" else "percent"
    found = Assessment.objects.filter(
        study__project=project,
        version=version,
        kind=Assessment.Kind.REREAD,
        first_submitted_at__isnull=False,
    ).values_list(f"reread_of__independent_{field_name}", f"independent_{field_name}")
    return [(float(a), float(b)) for a, b in found if a is not None and b is not None]
