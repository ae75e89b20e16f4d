"""The one place that decides who may see and do what.

Every view, export, report, JSON endpoint and command asks here. A non-member
gets 404 (no hint that the object exists); a member whose role does not allow
the action gets 403. Blinding is part of the answer: anyone assigned as a
reviewer of a study, whatever their other roles, sees no other reviewer's
answers for that study until every assigned reviewer has submitted.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from .models import Assessment, Membership, Project, Study

AnyUser = AbstractBaseUser | AnonymousUser


class Action(StrEnum):
    VIEW = "view"  # open the project, its studies and dashboards
    REVIEW = "review"  # fill one's own assessments
    MANAGE = "manage"  # studies, members, assignment, reopening, exports
    ADJUDICATE = "adjudicate"  # open disagreements and resolve consensus
    SEE_ANSWERS = "see_answers"  # individual reviewers' answers (subject to blinding)


ALLOWED: dict[str, set[Action]] = {  # by role
    Membership.Role.LEAD: set(Action),
    Membership.Role.REVIEWER: {Action.VIEW, Action.REVIEW, Action.SEE_ANSWERS},
    Membership.Role.OBSERVER: {Action.VIEW},
}


def _is_staff(user: AnyUser) -> bool:
    return bool(user.is_authenticated and getattr(user, "is_staff", False))


def visible_projects(user: AnyUser) -> QuerySet[Project]:
    """Projects the user may open: members' projects, every project for staff."""
    if not user.is_authenticated:
        return Project.objects.none()
    if _is_staff(user):
        return Project.objects.all()
    return Project.objects.filter(
        Exists(Membership.objects.filter(project=OuterRef("pk"), user_id=user.pk))
    )


def membership(user: AnyUser, project: Project) -> Membership | None:
    if not user.is_authenticated:
        return None
    cache: dict[int, Membership | None] = user.__dict__.setdefault("_memberships", {})
    if project.pk not in cache:
        cache[project.pk] = Membership.objects.filter(
            project=project, user_id=user.pk
        ).first()
    return cache[project.pk]


def allows(user: AnyUser, project: Project, action: Action) -> bool:
    if _is_staff(user):
        return True
    member = membership(user, project)
    if member is None:
        return False
    if action == Action.ADJUDICATE and member.adjudicator:
        return True
    return action in ALLOWED[member.role]


def get_project(user: AnyUser, slug: str, action: Action = Action.VIEW) -> Project:
    """The project, 404 for non-members, 403 when the role does not allow it."""
    project = visible_projects(user).filter(slug=slug).first()
    if project is None:
        raise Http404("No such project")
    if not allows(user, project, action):
        raise PermissionDenied(f"Your role does not allow '{action.value}' here.")
    return project


def get_study(user: AnyUser, project: Project, uuid: Any) -> Study:
    study = Study.objects.filter(project=project, uuid=uuid).first()
    if study is None:
        raise Http404("No such study")
    return study


def is_reviewer_of(user: AnyUser, study: Study, version_id: int) -> bool:
    return Assessment.objects.filter(
        study=study,
        version_id=version_id,
        reviewer_id=user.pk,
        kind=Assessment.Kind.REVIEWER,
    ).exists()


def _pending_reviewer_assessments() -> QuerySet[Assessment]:
    """Reviewer assessments of the same study and version not yet submitted once."""
    return Assessment.objects.filter(
        study_id=OuterRef("study_id"),
        version_id=OuterRef("version_id"),
        kind=Assessment.Kind.REVIEWER,
        first_submitted_at__isnull=True,
    )


def visible_assessments(user: AnyUser, project: Project) -> QuerySet[Assessment]:
    """Assessments of the project whose answers and scores this user may see."""
    base = Assessment.objects.filter(study__project=project)
    if not user.is_authenticated or not allows(user, project, Action.VIEW):
        return base.none()
    final = Q(kind=Assessment.Kind.CONSENSUS, status=Assessment.Status.SUBMITTED)
    if not allows(user, project, Action.SEE_ANSWERS):
        return base.filter(final)  # observers: final results only
    mine = Assessment.objects.filter(
        study_id=OuterRef("study_id"),
        version_id=OuterRef("version_id"),
        kind=Assessment.Kind.REVIEWER,
        reviewer_id=user.pk,
    )
    unblinded: Any = ~Exists(_pending_reviewer_assessments())
    is_reviewer_of_study = Exists(mine)
    if not project.blinding:
        unblinded = Q(pk__isnull=False)
    own = Q(reviewer_id=user.pk)
    if allows(user, project, Action.MANAGE) or allows(user, project, Action.ADJUDICATE):
        lead_view: Any = ~is_reviewer_of_study
        if not allows(user, project, Action.MANAGE):
            lead_view = Q(pk__isnull=True)  # adjudicators wait for unblinding
        return base.filter(own | lead_view | unblinded | final)
    return base.filter(own | (is_reviewer_of_study & unblinded) | final)


def can_see_assessment(user: AnyUser, assessment: Assessment) -> bool:
    project = assessment.study.project
    return visible_assessments(user, project).filter(pk=assessment.pk).exists()


def get_own_assessment(user: AnyUser, uuid: Any) -> Assessment:
    """The user's own assessment (or a consensus they may adjudicate); else 404/403."""
    assessment = (
        Assessment.objects.select_related("study__project", "version__instrument")
        .filter(uuid=uuid)
        .first()
    )
    if assessment is None:
        raise Http404("No such assessment")
    project = assessment.study.project
    if not visible_projects(user).filter(pk=project.pk).exists():
        raise Http404("No such assessment")
    own = assessment.reviewer_id == user.pk
    adjudicates = assessment.is_consensus and allows(user, project, Action.ADJUDICATE)
    if own or adjudicates or can_see_assessment(user, assessment):
        return assessment
    raise PermissionDenied("Blinded: visible once every reviewer has submitted.")


def may_edit(user: AnyUser, assessment: Assessment) -> bool:
    if assessment.is_consensus:
        return allows(user, assessment.study.project, Action.ADJUDICATE)
    return assessment.reviewer_id == user.pk


def study_unblinded(study: Study, version_id: int) -> bool:
    """Every assigned reviewer has submitted at least once."""
    reviewers = Assessment.objects.filter(
        study=study, version_id=version_id, kind=Assessment.Kind.REVIEWER
    )
    return (
        reviewers.exists()
        and not reviewers.filter(first_submitted_at__isnull=True).exists()
    )
