"""A project's disagreements to resolve: where every reviewer submitted and
they differ, and no consensus is final yet.

Items are compared as the consensus page compares them (selectors/consensus.py):
the same N/A, or the same set of options, agrees; an answer nobody gave counts
as an empty one. The comparison reads the answers' cached N/A flag, so the
list costs a few queries per instrument version whatever the number of studies.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from .. import access
from ..models import Answer, Assessment, InstrumentVersion, Project, Study
from .consensus import normal_choices
from .studies import project_versions

Key = tuple[str, ...]
NOT_ANSWERED: Key = ("answer",)


@dataclass(frozen=True)
class Disagreement:
    study: Study
    version: InstrumentVersion
    n_reviewers: int
    n_disputed: int
    consensus: str  # where the consensus stands, in words


def _candidates(
    user: Any, project: Project, version: InstrumentVersion
) -> QuerySet[Study]:
    """Studies the user may compare where all reviewers' work is in and not final."""
    mine = Q(assessments__version=version)
    reviewer = mine & Q(assessments__kind=Assessment.Kind.REVIEWER)
    consensus = mine & Q(assessments__kind=Assessment.Kind.CONSENSUS)
    final = consensus & Q(
        assessments__status=Assessment.Status.SUBMITTED, assessments__stale=False
    )
    return (
        access.comparable_studies(user, project, version)
        # Training studies' consensus makes references, not review results.
        .filter(excluded=False, training=False)
        .annotate(
            n_reviewers=Count("assessments", filter=reviewer),
            n_open=Count(
                "assessments",
                filter=reviewer & ~Q(assessments__status=Assessment.Status.SUBMITTED),
            ),
            n_consensus=Count("assessments", filter=consensus),
            n_stale=Count("assessments", filter=consensus & Q(assessments__stale=True)),
            n_final=Count("assessments", filter=final),
        )
        .filter(n_reviewers__gte=2, n_open=0, n_final=0)
        .order_by("title", "pk")
    )


def _key(choices: list[str] | None, na: bool) -> Key:
    return ("na",) if na else ("answer", *normal_choices(choices))


def _disputed_counts(
    version: InstrumentVersion, study_ids: list[int]
) -> dict[int, int]:
    """Per study, the number of items its reviewers answered differently."""
    reviewers: dict[int, list[int]] = defaultdict(list)
    for pk, study_id in Assessment.objects.filter(
        study_id__in=study_ids, version=version, kind=Assessment.Kind.REVIEWER
    ).values_list("pk", "study_id"):
        reviewers[study_id].append(pk)
    cells: dict[int, dict[str, dict[int, Key]]] = defaultdict(lambda: defaultdict(dict))
    answers = Answer.objects.filter(
        assessment__study_id__in=study_ids,
        assessment__version=version,
        assessment__kind=Assessment.Kind.REVIEWER,
    ).values_list("assessment__study_id", "assessment_id", "item_code", "choices", "na")
    for study_id, assessment_id, code, choices, na in answers:
        cells[study_id][code][assessment_id] = _key(choices, na)
    out: dict[int, int] = {}
    for study_id, ids in reviewers.items():
        items = cells.get(study_id, {})
        out[study_id] = sum(
            1
            for by_reviewer in items.values()
            if len({by_reviewer.get(pk, NOT_ANSWERED) for pk in ids}) > 1
        )
    return out


def _consensus_words(study: Any) -> str:
    if study.n_stale:
        return _("Out of date (a review was reopened)")
    if study.n_consensus:
        return _("In progress")
    return _("Not started")


def project_disagreements(user: Any, project: Project) -> list[Disagreement]:
    """Disagreements the user may resolve, per study and instrument version."""
    found: list[Disagreement] = []
    for version in project_versions(project):
        studies = list(_candidates(user, project, version))
        counts = _disputed_counts(version, [s.pk for s in studies])
        found += [
            Disagreement(
                study=study,
                version=version,
                n_reviewers=study.n_reviewers,  # type: ignore[attr-defined]
                n_disputed=counts.get(study.pk, 0),
                consensus=_consensus_words(study),
            )
            for study in studies
            if counts.get(study.pk, 0)
        ]
    return found


def disagreement_count(user: Any, project: Project) -> int:
    """How many studies and versions wait for a consensus (the project page's link)."""
    if not access.allows(user, project, access.Action.ADJUDICATE):
        return 0
    return len(project_disagreements(user, project))


def disputed_items(study: Study, version: InstrumentVersion) -> int:
    """How many items the study's reviewers answered differently in the version."""
    return _disputed_counts(version, [study.pk]).get(study.pk, 0)
