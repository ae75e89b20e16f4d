"""Who reviews what: assignment by hand and balanced, reassignment, exclusion,
conflicts of interest, and the independence of the raters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.utils.translation import gettext as _

from .. import access
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
from . import calibration
from .answering import score_assessment, store_result
from .assignment_exclusion import (
    declare_conflict,
    exclude_studies,
    exclude_study,
    include_studies,
    include_study,
    refuse_all,
)
from .changes import bump_data_revision
from .notifications import notify_assigned
from .prefilling import prefill_conditions

__all__ = [
    "REVIEWING_ROLES",
    "assign_reviewer",
    "assign_studies",
    "auto_assign",
    "check_consensus_not_started",
    "declare_conflict",
    "exclude_studies",
    "exclude_study",
    "include_studies",
    "include_study",
    "reassign_assessment",
]

REVIEWING_ROLES = (Membership.Role.LEAD, Membership.Role.REVIEWER)


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
    name = version.as_definition().short_name or version.key
    if found.status == Assessment.Status.SUBMITTED:
        raise ValidationError(
            _(
                "The %(name)s consensus on this study is final. To add a reviewer, "
                "reopen the consensus and discard it first."
            )
            % {"name": name}
        )
    raise ValidationError(
        _(
            "The %(name)s consensus on this study has started. To add a reviewer, "
            "discard the consensus first (the reviewers' answers are kept)."
        )
        % {"name": name}
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
        raise ValidationError(
            _("%(reviewer)s is not a reviewer of this project.")
            % {"reviewer": reviewer}
        )
    if ConflictOfInterest.objects.filter(study=study, user=reviewer).exists():
        raise ValidationError(
            _("%(reviewer)s declared a conflict of interest on this study.")
            % {"reviewer": reviewer}
        )
    if study.excluded:
        raise ValidationError(_("This study is excluded."))
    check_consensus_not_started(study, version)
    calibrating = Assessment.objects.filter(
        study=study, version=version, reviewer=reviewer
    ).exclude(kind=Assessment.Kind.REVIEWER)
    if calibrating.exists():
        raise ValidationError(
            _(
                "%(reviewer)s has trained or been checked on this study, so their "
                "review would not be independent."
            )
            % {"reviewer": reviewer}
        )
    seen = access.could_see_others(reviewer, study)
    if seen and not reason.strip():
        raise ValidationError(
            _(
                "%(reviewer)s may already have seen other reviewers' answers on "
                "this study. Give a reason to assign them anyway; their ratings "
                "will be marked as not independent and left out of agreement "
                "figures."
            )
            % {"reviewer": reviewer}
        )
    assessment, created = Assessment.objects.get_or_create(
        study=study,
        version=version,
        reviewer=reviewer,
        kind=Assessment.Kind.REVIEWER,
        defaults={"not_independent_reason": reason.strip() if seen else ""},
    )
    if not created:
        raise ValidationError(
            _("%(reviewer)s is already assigned to this study.")
            % {"reviewer": reviewer}
        )
    prefill_conditions(assessments=[assessment])
    if seen:
        AuditEvent.objects.record(
            project.pk,
            user,
            "assign-not-independent",
            str(study),
            {"reviewer": str(reviewer), "version": version.key, "reason": reason},
        )
    bump_data_revision(project.pk)
    notify_assigned([assessment])
    return assessment


@transaction.atomic
def auto_assign(
    *, project: Project, version: InstrumentVersion, per_study: int | None, user: Any
) -> int:
    """Balanced assignment: N reviewers per study, least-loaded first, no repeats."""
    per_study = per_study or project.reviewers_per_study
    # Leads review only when assigned by hand; so do uncertified reviewers.
    reviewers = _reviewer_ids(project, [Membership.Role.REVIEWER])
    skip = calibration.uncertified(project, version) or set()
    if skip and len([r for r in reviewers if r not in skip]) < per_study:
        raise ValidationError(
            _(
                "%(per_study)s reviewers per study need %(per_study)s certified "
                "reviewers; %(certified)s of the project's %(reviewers)s reviewers "
                "are certified. Assign by hand to go ahead without certification."
            )
            % {
                "per_study": per_study,
                "certified": len(reviewers) - len(skip & set(reviewers)),
                "reviewers": len(reviewers),
            }
        )
    if len(reviewers) < per_study:
        raise ValidationError(
            _(
                "%(per_study)s reviewers per study need at least %(per_study)s "
                "reviewers; the project has %(reviewers)s."
            )
            % {"per_study": per_study, "reviewers": len(reviewers)}
        )
    _reviewers, load, taken, existing = _balancing_state(project, version)
    new = _balanced(project, version, per_study, load, taken, existing)
    Assessment.objects.bulk_create(new, batch_size=1000)
    prefill_conditions(assessments=new)
    if new:
        AuditEvent.objects.record(
            project.pk, user, "auto-assign", version.key, {"assessments": len(new)}
        )
        bump_data_revision(project.pk)
        notify_assigned(new)
    return len(new)


def _balancing_state(
    project: Project, version: InstrumentVersion
) -> tuple[list[int], dict[int, int], dict[int, set[int]], Any]:
    """Reviewers, their load, who may not take which study, existing assessments."""
    reviewers = _reviewer_ids(project, [Membership.Role.REVIEWER])
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
    # Until certified, a reviewer is assigned by hand only (with a warning).
    skip = calibration.uncertified(project, version) or set()
    load = {r: n for r, n in load.items() if r not in skip}
    return reviewers, load, taken, existing


@transaction.atomic
def assign_studies(
    *,
    project: Project,
    studies: Sequence[Study],
    version: InstrumentVersion,
    user: Any,
    per_study: int | None = None,
    reviewer: Any = None,
) -> int:
    """Assign the chosen studies, all or nothing: to one named reviewer, or
    balanced up to `per_study` reviewers each. Returns the assignments made."""
    if reviewer is not None:
        made = _assign_one_reviewer(studies, version, reviewer, user)
        detail: dict[str, Any] = {"reviewer": str(reviewer)}
    else:
        made = _top_up(project, studies, version, per_study or 1)
        detail = {"reviewers_per_study": per_study or 1}
    AuditEvent.objects.record(
        project.pk,
        user,
        "bulk-assign",
        version.key,
        {**detail, "studies": len(studies), "assessments": len(made)},
    )
    if made:
        bump_data_revision(project.pk)
        notify_assigned(made)
    return len(made)


def _assign_one_reviewer(
    studies: Sequence[Study], version: InstrumentVersion, reviewer: Any, user: Any
) -> list[Assessment]:
    problems, made = [], []
    for study in studies:
        try:
            # Its own savepoint: a refusal is collected, the rest rolled back below.
            made.append(
                assign_reviewer(
                    study=study, version=version, reviewer=reviewer, user=user
                )
            )
        except ValidationError as exc:
            problems.append(f"{study}: {' '.join(exc.messages)}")
    refuse_all(problems)
    return made


def _top_up(
    project: Project,
    studies: Sequence[Study],
    version: InstrumentVersion,
    per_study: int,
) -> list[Assessment]:
    reviewers, load, taken, existing = _balancing_state(project, version)
    counts = dict(
        existing.values("study_id").annotate(n=Count("id")).values_list("study_id", "n")
    )
    started = set(
        Assessment.objects.filter(
            study__in=studies, version=version, kind=Assessment.Kind.CONSENSUS
        ).values_list("study_id", flat=True)
    )
    problems: list[str] = []
    new: list[Assessment] = []
    for study in sorted(studies, key=lambda s: s.pk):
        need = per_study - counts.get(study.pk, 0)
        if need <= 0:
            continue
        if study.excluded or study.pk in started or study.training:
            if study.excluded:
                why = _("%(study)s: no reviewer can be added, it is excluded.")
            elif study.training:
                why = _("%(study)s: no reviewer can be added, it is a training study.")
            else:
                why = _(
                    "%(study)s: no reviewer can be added, its consensus has started."
                )
            problems.append(why % {"study": study})
            continue
        blocked = set(taken.get(study.pk, set()))
        for _slot in range(need):
            candidates = [r for r in load if r not in blocked]
            if not candidates:
                problems.append(
                    _(
                        "%(study)s: not enough reviewers who may take it (assigned "
                        "already, a conflict of interest, not independent, or not "
                        "yet certified)."
                    )
                    % {"study": study}
                )
                break
            chosen = min(candidates, key=lambda r: (load[r], r))
            load[chosen] += 1
            blocked.add(chosen)
            new.append(
                Assessment(
                    study=study,
                    version=version,
                    reviewer_id=chosen,
                    kind=Assessment.Kind.REVIEWER,
                )
            )
    if not reviewers:
        problems.append(_("The project has no reviewers yet; add them under Members."))
    refuse_all(problems)
    Assessment.objects.bulk_create(new, batch_size=1000)
    prefill_conditions(assessments=new)
    return new


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
        Study.objects.filter(project=project, excluded=False, training=False)
        .exclude(Exists(consensus))
        .order_by("pk")
    )
    for study_id in studies.values_list("pk", flat=True):
        need = per_study - counts.get(study_id, 0)
        blocked = taken.get(study_id, set())
        for _slot in range(max(need, 0)):
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
            _("Only open, never-submitted reviewer work can be reassigned.")
        )
    project = locked.study.project
    if to_user.pk not in _reviewer_ids(project):
        raise ValidationError(
            _("%(reviewer)s is not a reviewer of this project.") % {"reviewer": to_user}
        )
    check_consensus_not_started(locked.study, locked.version)
    if access.could_see_others(to_user, locked.study):
        raise ValidationError(
            _(
                "%(reviewer)s may already have seen other reviewers' answers on "
                "this study; assign them from the study page with a reason instead."
            )
            % {"reviewer": to_user}
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
            _("%(reviewer)s cannot take this study (assigned or conflict).")
            % {"reviewer": to_user}
        )
    previous = locked.reviewer
    for answer in Answer.objects.filter(assessment=locked):
        answer.delete()  # one by one so the history records each removal
    locked.reviewer = to_user
    locked.status = Assessment.Status.ASSIGNED
    locked.revision += 1
    store_result(locked, score_assessment(locked, {}))
    locked._change_reason = f"reassigned from {previous}"  # type: ignore[attr-defined]
    locked.save()
    AuditEvent.objects.record(
        project.pk,
        user,
        "reassign",
        str(locked.study),
        {"from": str(previous), "to": str(to_user), "assessment": str(locked.uuid)},
    )
    bump_data_revision(project.pk)
    notify_assigned([locked])
    return locked
