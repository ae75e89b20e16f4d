"""The review workflow: answering, submitting, reopening, assigning.

Saving an answer never needs the broker: it locks the assessment row, refuses
a save based on an older answer than the one stored, writes the answer (the
history keeps who, when, old and new), re-scores with the engine and stores
the cached result, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef
from django.utils import timezone

from .. import access
from ..instruments import Definition, Result, score
from ..models import (
    Answer,
    Assessment,
    AuditEvent,
    ConflictOfInterest,
    InstrumentVersion,
    Membership,
    Project,
    Study,
)
from . import events
from .catalogue import definition_of

MAX_EVIDENCE = 20_000
MAX_COMMENT = 10_000
MAX_PAGE = 20
REVIEWING_ROLES = (Membership.Role.LEAD, Membership.Role.REVIEWER)


class StaleSave(Exception):
    """The answer changed since the page loaded it; the newer one is kept."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(
            f"Item {answer.item_code} was changed elsewhere (another tab or device) "
            "after this page loaded it. Your change was not saved; the newer answer "
            "is shown. Re-enter your change if it is still needed."
        )
        self.answer = answer


class LockedAssessment(Exception):
    """A submitted assessment takes no changes until a lead reopens it."""


def bump_data_revision(project_id: int) -> None:
    """Mark dashboards and cached reports of the project as out of date."""
    Project.objects.filter(pk=project_id).update(data_revision=F("data_revision") + 1)
    events.project_changed(project_id)


# --- scoring ---------------------------------------------------------------------


def answers_of(assessment: Assessment) -> dict[str, list[str]]:
    rows = Answer.objects.filter(assessment=assessment, choices__isnull=False)
    return {a.item_code: list(a.choices or []) for a in rows}


def score_assessment(assessment: Assessment, answers: dict[str, list[str]]) -> Result:
    floor = assessment.study.project.floor_percent
    return score(definition_of(assessment.version), answers, floor_percent=floor)


def _four(value: Decimal | None) -> Decimal | None:
    # METRICS scores are exact ratios with many digits; four decimals are kept.
    return None if value is None else round(value, 4)


def cached_result_fields(result: Result) -> dict[str, Any]:
    """The engine's result as the Assessment row caches it."""
    return {
        "total": _four(result.total),
        "maximum": _four(result.maximum),
        "percent": _four(result.percent),
        "band": result.band or "",
        "complete": result.complete,
        "result": result.as_dict(),
    }


def _store_result(assessment: Assessment, result: Result) -> None:
    for name, value in cached_result_fields(result).items():
        setattr(assessment, name, value)


def _refresh_item_cache(
    assessment: Assessment, result: Result, rows: list[Answer] | None = None
) -> None:
    """Per-answer points/adherence/N/A, kept in SQL for per-item aggregates."""
    changed = []
    if rows is None:
        rows = list(Answer.objects.filter(assessment=assessment))
    for answer in rows:
        item = result.items.get(answer.item_code)
        points = item.points if item else None
        adheres = item.adheres if item else None
        na = bool(item and answer.item_code in result.na)
        if (answer.points, answer.adheres, answer.na) != (points, adheres, na):
            answer.points, answer.adheres, answer.na = points, adheres, na
            changed.append(answer)
    if changed:
        Answer.objects.bulk_update(changed, ["points", "adheres", "na"])


# --- answering -------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerInput:
    item_code: str
    choices: list[str] | None
    evidence: str = ""
    page: str = ""
    comment: str = ""


def validate_answer_input(definition: Definition, data: AnswerInput) -> None:
    """Reject what no form of this instrument could send (4xx, nothing saved)."""
    try:
        entry: Any = definition.item(data.item_code)
    except KeyError:
        try:
            entry = definition.condition(data.item_code)
        except KeyError:
            raise ValidationError(
                f"'{data.item_code}' is not an item of {definition.key}."
            ) from None
    allowed = set(entry.option_codes)
    unknown = [c for c in data.choices or [] if c not in allowed]
    if unknown:
        raise ValidationError(
            f"Item {data.item_code}: {', '.join(map(repr, unknown))} is not an option "
            f"of this item; allowed: {', '.join(entry.option_codes)}."
        )
    multi = getattr(entry, "is_multi", False)
    if data.choices is not None and not multi and len(data.choices) != 1:
        raise ValidationError(f"Item {data.item_code} takes one answer.")
    if data.choices is not None and len(set(data.choices)) != len(data.choices):
        raise ValidationError(f"Item {data.item_code}: an option is repeated.")
    _check_lengths(data)


def _check_lengths(data: AnswerInput) -> None:
    limits = (("evidence", MAX_EVIDENCE), ("comment", MAX_COMMENT), ("page", MAX_PAGE))
    for name, limit in limits:
        if len(getattr(data, name)) > limit:
            raise ValidationError(
                f"The {name} of item {data.item_code} is longer than {limit} "
                "characters."
            )


@dataclass(frozen=True)
class SaveOutcome:
    assessment: Assessment
    answer: Answer
    result: Result


@transaction.atomic
def save_answer(
    *, assessment: Assessment, user: Any, data: AnswerInput, seen_revision: int
) -> SaveOutcome:
    """Autosave one item's answer, evidence, page and comment."""
    locked = (
        # Lock the assessment row only: joined rows (the project) are shared by
        # every reviewer of the project and must not serialise their saves.
        Assessment.objects.select_for_update(of=("self",))
        .select_related("study__project", "version")
        .get(pk=assessment.pk)
    )
    if locked.is_locked:
        raise LockedAssessment(
            "This assessment is submitted; ask the lead to reopen it."
        )
    validate_answer_input(definition_of(locked.version), data)
    rows = list(Answer.objects.filter(assessment=locked))
    answer = next((a for a in rows if a.item_code == data.item_code), None)
    if answer is not None and answer.revision != seen_revision:
        raise StaleSave(answer)
    if answer is None:
        answer = Answer(assessment=locked, item_code=data.item_code)
        rows.append(answer)
    locked.revision += 1
    answer.choices = data.choices
    answer.evidence, answer.page, answer.comment = (
        data.evidence,
        data.page,
        data.comment,
    )
    answer.revision = locked.revision
    answer.updated_by = user
    result = score_assessment(locked, _answers(rows))
    _set_item_cache(answer, result)
    answer.save()
    _store_result(locked, result)
    first_change = locked.status == Assessment.Status.ASSIGNED
    if first_change:
        locked.status = Assessment.Status.IN_PROGRESS
        locked.started_at = timezone.now()
    else:
        # Status history is kept; the cached score of each keystroke is not.
        locked.skip_history_when_saving = True  # type: ignore[attr-defined]
    locked.save()
    _refresh_item_cache(locked, result, [a for a in rows if a is not answer])
    if first_change:
        bump_data_revision(locked.study.project_id)
    return SaveOutcome(locked, answer, result)


def _answers(rows: list[Answer]) -> dict[str, list[str]]:
    return {a.item_code: list(a.choices) for a in rows if a.choices is not None}


def _set_item_cache(answer: Answer, result: Result) -> None:
    item = result.items.get(answer.item_code)
    answer.points = item.points if item else None
    answer.adheres = item.adheres if item else None
    answer.na = bool(item and answer.item_code in result.na)


@transaction.atomic
def submit_assessment(*, assessment: Assessment, user: Any) -> Result:
    """Check completeness and the instrument's rules, then lock the assessment."""
    locked = (
        Assessment.objects.select_for_update()
        .select_related("study__project", "version")
        .get(pk=assessment.pk)
    )
    if locked.is_locked:
        raise LockedAssessment("This assessment is already submitted.")
    result = score_assessment(locked, answers_of(locked))
    if not result.complete:
        raise ValidationError(_incomplete_messages(locked, result))
    _store_result(locked, result)
    now = timezone.now()
    locked.status = Assessment.Status.SUBMITTED
    locked.submitted_at = now
    if locked.first_submitted_at is None:
        _keep_independent(locked, now)
    elif not locked.is_consensus and locked.unblinded_at is not None:
        # Resubmitted after the others' work became visible to this reviewer.
        locked.revised_after_unblinding = True
    locked._change_reason = "submitted"  # type: ignore[attr-defined]
    locked.save()
    _refresh_item_cache(locked, result)
    if locked.first_submitted_at == now:
        Answer.objects.filter(assessment=locked).update(
            independent_choices=F("choices"), independent_points=F("points")
        )
        if not locked.is_consensus:
            access.newly_unblinded(locked.study).update(unblinded_at=now)
    bump_data_revision(locked.study.project_id)
    return result


def _keep_independent(assessment: Assessment, now: Any) -> None:
    assessment.first_submitted_at = now
    assessment.independent_total = assessment.total
    assessment.independent_percent = assessment.percent
    assessment.independent_band = assessment.band


def _incomplete_messages(assessment: Assessment, result: Result) -> list[str]:
    definition = definition_of(assessment.version)
    labels = {i.code: i.label for i in definition.items}
    labels.update({c.code: c.label for c in definition.conditions})
    messages = [
        f"Item {code} ({labels.get(code, '')}) is not answered."
        for code in result.missing
    ]
    messages += [p.message for p in result.problems]
    return messages


@transaction.atomic
def reopen_assessment(*, assessment: Assessment, user: Any, reason: str) -> Assessment:
    """A lead reopens a submitted assessment (resubmitting it after unblinding
    marks it revised)."""
    if not reason.strip():
        raise ValidationError("Give a reason for reopening.")
    locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
    if locked.status != Assessment.Status.SUBMITTED:
        raise ValidationError("Only a submitted assessment can be reopened.")
    if not locked.is_consensus:
        # Assessments made outside the form (score import) get their moment
        # of unblinding recorded here at the latest.
        access.newly_unblinded(locked.study).update(unblinded_at=timezone.now())
        locked.refresh_from_db(fields=["unblinded_at"])
        locked.revised_after_unblinding |= locked.unblinded_at is not None
    locked.status = Assessment.Status.REOPENED
    locked.reopen_reason = reason.strip()
    locked._change_reason = f"reopened: {reason.strip()}"  # type: ignore[attr-defined]
    locked.save()
    if not locked.is_consensus:
        Assessment.objects.filter(
            study_id=locked.study_id,
            version_id=locked.version_id,
            kind=Assessment.Kind.CONSENSUS,
        ).update(stale=True)
    _audit(locked.study.project_id, user, "reopen", str(locked), {"reason": reason})
    bump_data_revision(locked.study.project_id)
    return locked


def _audit(
    project_id: int | None,
    user: Any,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> None:
    AuditEvent.objects.create(
        project_id=project_id,
        actor=user if getattr(user, "pk", None) else None,
        action=action,
        target=target[:300],
        detail=detail or {},
    )


# --- assignment ------------------------------------------------------------------


def _reviewer_ids(
    project: Project, roles: Sequence[str] = REVIEWING_ROLES
) -> list[int]:
    return list(
        Membership.objects.filter(project=project, role__in=roles)
        .order_by("user__username")
        .values_list("user_id", flat=True)
    )


def check_consensus_not_started(study: Study, version: InstrumentVersion) -> None:
    """A new reviewer after the consensus would see, or change, a settled result."""
    found = Assessment.objects.filter(
        study=study, version=version, kind=Assessment.Kind.CONSENSUS
    ).first()
    if found is None:
        return
    name = definition_of(version).short_name or version.key
    if found.status == Assessment.Status.SUBMITTED:
        raise ValidationError(
            f"The {name} consensus on this study is final. To add a reviewer, "
            "reopen the consensus and discard it first."
        )
    raise ValidationError(
        f"The {name} consensus on this study has started. To add a reviewer, "
        "discard the consensus first (the reviewers' answers are kept)."
    )


@transaction.atomic
def assign_reviewer(
    *,
    study: Study,
    version: InstrumentVersion,
    reviewer: Any,
    user: Any,
    reason: str = "",
) -> Assessment:
    """Assign one reviewer by hand, honouring conflicts and independence.

    Someone who may already have seen other people's answers on the study is
    assigned only with a stated reason; their ratings are then left out of
    agreement as not independent.
    """
    project = study.project
    if reviewer.pk not in _reviewer_ids(project):
        raise ValidationError(f"{reviewer} is not a reviewer of this project.")
    if ConflictOfInterest.objects.filter(study=study, user=reviewer).exists():
        raise ValidationError(
            f"{reviewer} declared a conflict of interest on this study."
        )
    if study.excluded:
        raise ValidationError("This study is excluded.")
    check_consensus_not_started(study, version)
    seen = access.could_see_others(reviewer, study)
    if seen and not reason.strip():
        raise ValidationError(
            f"{reviewer} may already have seen other reviewers' answers on this "
            "study. Give a reason to assign them anyway; their ratings will be "
            "marked as not independent and left out of agreement figures."
        )
    assessment, created = Assessment.objects.get_or_create(
        study=study,
        version=version,
        reviewer=reviewer,
        kind=Assessment.Kind.REVIEWER,
        defaults={"not_independent_reason": reason.strip() if seen else ""},
    )
    if not created:
        raise ValidationError(f"{reviewer} is already assigned to this study.")
    if seen:
        _audit(
            project.pk,
            user,
            "assign-not-independent",
            str(study),
            {"reviewer": str(reviewer), "version": version.key, "reason": reason},
        )
    bump_data_revision(project.pk)
    return assessment


@transaction.atomic
def auto_assign(
    *, project: Project, version: InstrumentVersion, per_study: int | None, user: Any
) -> int:
    """Balanced assignment: N reviewers per study, least-loaded first, no repeats."""
    per_study = per_study or project.reviewers_per_study
    # Leads review only when assigned by hand.
    reviewers = _reviewer_ids(project, [Membership.Role.REVIEWER])
    if len(reviewers) < per_study:
        raise ValidationError(
            f"{per_study} reviewers per study need at least {per_study} reviewers; "
            f"the project has {len(reviewers)}."
        )
    existing = Assessment.objects.filter(
        study__project=project, version=version, kind=Assessment.Kind.REVIEWER
    )
    load = dict.fromkeys(reviewers, 0)
    for row in existing.values("reviewer_id").annotate(n=Count("id")):
        if row["reviewer_id"] in load:
            load[row["reviewer_id"]] = row["n"]
    taken: dict[int, set[int]] = {}
    for study_id, reviewer_id in existing.values_list("study_id", "reviewer_id"):
        taken.setdefault(study_id, set()).add(reviewer_id)
    for study_id, user_id in ConflictOfInterest.objects.filter(
        study__project=project
    ).values_list("study_id", "user_id"):
        taken.setdefault(study_id, set()).add(user_id)
    _keep_independent_raters(project, reviewers, taken)
    new = _balanced(project, version, per_study, load, taken, existing)
    Assessment.objects.bulk_create(new, batch_size=1000)
    if new:
        _audit(project.pk, user, "auto-assign", version.key, {"assessments": len(new)})
        bump_data_revision(project.pk)
    return len(new)


def _keep_independent_raters(
    project: Project, reviewers: list[int], taken: dict[int, set[int]]
) -> None:
    """Adjudicators may have seen a study's answers once anyone submitted it:
    automatic assignment never picks them there (a lead may, with a reason)."""
    adjudicators = set(
        Membership.objects.filter(
            project=project, user_id__in=reviewers, adjudicator=True
        ).values_list("user_id", flat=True)
    )
    if not adjudicators:
        return
    submitted = Assessment.objects.filter(
        study__project=project,
        kind=Assessment.Kind.REVIEWER,
        first_submitted_at__isnull=False,
    ).values_list("study_id", flat=True)
    for study_id in set(submitted):
        taken.setdefault(study_id, set()).update(adjudicators)


def _balanced(
    project: Project,
    version: InstrumentVersion,
    per_study: int,
    load: dict[int, int],
    taken: dict[int, set[int]],
    existing: Any,
) -> list[Assessment]:
    counts = dict(
        existing.values("study_id").annotate(n=Count("id")).values_list("study_id", "n")
    )
    new: list[Assessment] = []
    consensus = Assessment.objects.filter(
        study_id=OuterRef("pk"), version=version, kind=Assessment.Kind.CONSENSUS
    )
    # Once a consensus exists the study's reviewers are settled.
    studies = (
        Study.objects.filter(project=project, excluded=False)
        .exclude(Exists(consensus))
        .order_by("pk")
    )
    for study_id in studies.values_list("pk", flat=True):
        need = per_study - counts.get(study_id, 0)
        blocked = taken.get(study_id, set())
        for _ in range(max(need, 0)):
            candidates = [r for r in load if r not in blocked]
            if not candidates:
                break
            chosen = min(candidates, key=lambda r: (load[r], r))
            load[chosen] += 1
            blocked = blocked | {chosen}
            new.append(
                Assessment(
                    study_id=study_id,
                    version=version,
                    reviewer_id=chosen,
                    kind=Assessment.Kind.REVIEWER,
                )
            )
    return new


@transaction.atomic
def reassign_assessment(
    *, assessment: Assessment, to_user: Any, user: Any
) -> Assessment:
    """Hand a reviewer's open work to another reviewer (answers start afresh).

    The previous reviewer's answers are removed from the new reviewer's view
    (independence); the history keeps every word they typed.
    """
    locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
    if locked.is_consensus or locked.first_submitted_at is not None:
        raise ValidationError(
            "Only open, never-submitted reviewer work can be reassigned."
        )
    project = locked.study.project
    if to_user.pk not in _reviewer_ids(project):
        raise ValidationError(f"{to_user} is not a reviewer of this project.")
    check_consensus_not_started(locked.study, locked.version)
    if access.could_see_others(to_user, locked.study):
        raise ValidationError(
            f"{to_user} may already have seen other reviewers' answers on this "
            "study; assign them from the study page with a reason instead."
        )
    clash = Assessment.objects.filter(
        study_id=locked.study_id, version_id=locked.version_id, reviewer=to_user
    ).exists()
    if (
        clash
        or ConflictOfInterest.objects.filter(
            study_id=locked.study_id, user=to_user
        ).exists()
    ):
        raise ValidationError(
            f"{to_user} cannot take this study (assigned or conflict)."
        )
    previous = locked.reviewer
    for answer in Answer.objects.filter(assessment=locked):
        answer.delete()  # one by one so the history records each removal
    locked.reviewer = to_user
    locked.status = Assessment.Status.ASSIGNED
    locked.revision += 1
    _store_result(locked, score_assessment(locked, {}))
    locked._change_reason = f"reassigned from {previous}"  # type: ignore[attr-defined]
    locked.save()
    _audit(
        project.pk,
        user,
        "reassign",
        str(locked.study),
        {"from": str(previous), "to": str(to_user), "assessment": str(locked.uuid)},
    )
    bump_data_revision(project.pk)
    return locked


@transaction.atomic
def exclude_study(*, study: Study, reason: str, user: Any) -> Study:
    if not reason.strip():
        raise ValidationError("Give a reason for excluding the study.")
    study.excluded = True
    study.exclusion_reason = reason.strip()
    study._change_reason = f"excluded: {reason.strip()}"  # type: ignore[attr-defined]
    study.save(update_fields=["excluded", "exclusion_reason"])
    _audit(study.project_id, user, "exclude", str(study), {"reason": reason})
    bump_data_revision(study.project_id)
    return study


@transaction.atomic
def declare_conflict(*, study: Study, reviewer: Any, reason: str, user: Any) -> None:
    ConflictOfInterest.objects.get_or_create(
        study=study, user=reviewer, defaults={"reason": reason, "declared_by": user}
    )
    _audit(study.project_id, user, "conflict", str(study), {"reviewer": str(reviewer)})
