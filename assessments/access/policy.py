"""Roles, the token scope and blinding: the rules themselves (see the package)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from ..models import (
    CALIBRATION_KINDS,
    Assessment,
    InstrumentVersion,
    Membership,
    Project,
    Study,
)
from ..models.prepared import PreparedQuery

AnyUser = AbstractBaseUser | AnonymousUser
REVIEWER = Assessment.Kind.REVIEWER
CONSENSUS = Assessment.Kind.CONSENSUS
TRAINING = Assessment.Kind.TRAINING
REREAD = Assessment.Kind.REREAD
SUBMITTED = Assessment.Status.SUBMITTED
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


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


def token_projects(user: AnyUser) -> frozenset[int] | None:
    """The projects a personal access token limits this request to, if any.

    The API's token authentication sets it on the request's user; a browser
    session has none. Outside the scope a project does not exist (404).
    """
    return getattr(user, "token_projects", None)


def token_permits(token: Any, method: str) -> bool:
    """A read-only token reads; only a read-write token changes anything."""
    return method in SAFE_METHODS or token is None or bool(token.write)


def visible_projects(user: AnyUser) -> QuerySet[Project]:
    """Projects the user may open: members' projects, every project for staff."""
    if not user.is_authenticated:
        return Project.objects.none()
    projects = Project.objects.all()
    if (scope := token_projects(user)) is not None:
        projects = projects.filter(pk__in=scope)
    if _is_staff(user):
        return projects
    return projects.filter(
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
    if (scope := token_projects(user)) is not None and project.pk not in scope:
        return False
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
        raise Http404(_("No such project"))
    if not allows(user, project, action):
        raise PermissionDenied(
            _("Your role does not allow '%(action)s' here.") % {"action": action.value}
        )
    return project


def get_study(user: AnyUser, project: Project, uuid: Any) -> Study:
    if (study := Study.objects.filter(project=project, uuid=uuid).first()) is None:
        raise Http404(_("No such study"))
    return study


# --- blinding: the conditions, as SQL over a study and a version ---------------------


@dataclass(frozen=True)
class Viewer:
    """What the policy needs to know about one person in one project."""

    pk: Any
    blinding: bool
    manages: bool  # lead or staff
    adjudicates: bool
    sees_answers: bool  # reviewers (and leads): answers of studies they review

    @classmethod
    def of(cls, user: AnyUser, project: Project) -> Viewer | None:
        if not user.is_authenticated or not allows(user, project, Action.VIEW):
            return None
        return cls(
            pk=user.pk,
            blinding=project.blinding,
            manages=allows(user, project, Action.MANAGE),
            adjudicates=allows(user, project, Action.ADJUDICATE),
            sees_answers=allows(user, project, Action.SEE_ANSWERS),
        )


def _pending(viewer: Viewer, study: Any) -> Exists:
    """The viewer has a review or re-read of the study never submitted."""
    return Exists(
        Assessment.objects.filter(
            study_id=study,
            kind__in=[REVIEWER, REREAD],
            reviewer_id=viewer.pk,
            first_submitted_at__isnull=True,
        )
    )


def _rereading(viewer: Viewer, study: Any) -> Exists:
    mine = Assessment.objects.filter(study_id=study, reviewer_id=viewer.pk)
    return Exists(mine.filter(kind=REREAD, first_submitted_at=None))


def calibrating_filter(viewer: Viewer, study: Any) -> Exists:
    """The viewer's own training or hidden check of the study is still open."""
    mine = Assessment.objects.filter(study_id=study, reviewer_id=viewer.pk)
    return Exists(mine.filter(kind__in=CALIBRATION_KINDS, first_submitted_at=None))


def _assigned(viewer: Viewer, study: Any) -> Exists:
    return Exists(
        Assessment.objects.filter(study_id=study, kind=REVIEWER, reviewer_id=viewer.pk)
    )


def _complete(study: Any, version: Any) -> Q:
    """Every assigned reviewer of the study in the version submitted once."""
    waiting = Assessment.objects.filter(
        study_id=study, version_id=version, kind=REVIEWER, first_submitted_at=None
    )
    return ~Q(Exists(waiting))


def _others_work(viewer: Viewer, study: Any, version: Any, final: Q) -> Q:
    """When the viewer sees other people's work on a study in a version.

    `final` says "this is the study's final result" in the caller's terms (the
    row is a finalised consensus, or the study has one).
    """
    everything = Q(pk__isnull=False)
    complete = _complete(study, version) if viewer.blinding else everything
    if viewer.manages:
        seen = ~Q(_assigned(viewer, study)) | complete
    elif viewer.adjudicates:
        seen = complete | final
    elif viewer.sees_answers:
        seen = (Q(_assigned(viewer, study)) & complete) | final
    else:
        seen = final
    if viewer.blinding:
        seen &= ~Q(_pending(viewer, study))
    return seen


def visible_assessments(user: AnyUser, project: Project) -> QuerySet[Assessment]:
    """Assessments of the project whose answers and scores this user may see."""
    base = Assessment.objects.filter(study__project=project)
    viewer = Viewer.of(user, project)
    if viewer is None:
        return base.none()
    study = OuterRef("study_id")
    own = (
        Q(reviewer_id=viewer.pk)
        & ~Q(kind=CONSENSUS)
        & ~(Q(kind=REVIEWER) & Q(_rereading(viewer, study)))
    )
    calibration = Q(pk__in=[])
    if viewer.manages:
        calibration = ~Q(calibrating_filter(viewer, study)) & ~Q(
            _pending(viewer, study)
        )
    final = Q(kind=CONSENSUS, status=SUBMITTED)
    review = Q(kind__in=[REVIEWER, CONSENSUS]) & _others_work(
        viewer, study, OuterRef("version_id"), final
    )
    live = Q(study__training=False)
    # Training studies and others' calibration work: leads and staff only.
    others = (live & review) | (calibration & (~live | Q(kind__in=CALIBRATION_KINDS)))
    return base.filter(own | others)


def can_see_assessment(user: AnyUser, assessment: Assessment) -> bool:
    project = assessment.study.project
    return visible_assessments(user, project).filter(pk=assessment.pk).exists()


def _final_of(version: InstrumentVersion) -> Q:
    finals = Assessment.objects.filter(study_id=OuterRef("pk"), version=version)
    return Q(Exists(finals.filter(kind=CONSENSUS, status=SUBMITTED, stale=False)))


def result_filter(
    user: AnyUser, project: Project, version: InstrumentVersion
) -> Q | None:
    """Which studies' results (scores, figures) the user may see; None: all of them.

    A study's result is a finalised consensus or the mean of the submitted
    reviewers, so it is shown only to someone who may see those. Filters a
    Study queryset; dashboards, project reports and exports apply it in SQL.
    """
    viewer = Viewer.of(user, project)
    if viewer is None:
        return Q(pk__in=[])
    rule = _others_work(viewer, OuterRef("pk"), version.pk, _final_of(version))
    if not viewer.manages:
        return rule
    hidden = Study.objects.filter(project=project, training=False).exclude(rule)
    return rule if hidden.exists() else None


def pending_studies(user: AnyUser, project: Project) -> QuerySet[Study]:
    """Studies the user reviews or re-reads and has not yet submitted."""
    if not user.is_authenticated or not project.blinding:
        return Study.objects.none()
    return Study.objects.filter(
        project=project,
        assessments__kind__in=[REVIEWER, REREAD],
        assessments__reviewer_id=user.pk,
        assessments__first_submitted_at__isnull=True,
    ).distinct()


def sees_per_reviewer_figures(user: AnyUser, project: Project) -> bool:
    """Leniency and per-reviewer means name a person's scores: leads and staff."""
    return allows(user, project, Action.MANAGE)


def sees_everyones_progress(user: AnyUser, project: Project) -> bool:
    """Who has done how much names people: leads and staff; others see their own."""
    return allows(user, project, Action.MANAGE)


def comparable_studies(
    user: AnyUser, project: Project, version: InstrumentVersion
) -> QuerySet[Study]:
    """The studies whose disagreements in the version the user may open.

    `may_compare` for a whole list, in one query.
    """
    if not allows(user, project, Action.ADJUDICATE):
        return Study.objects.none()
    reviewers = Assessment.objects.filter(
        study_id=OuterRef("pk"), version=version, kind=REVIEWER
    )
    return (
        Study.objects.filter(project=project)
        .filter(Exists(reviewers))
        .exclude(Exists(reviewers.filter(first_submitted_at=None)))
        .exclude(pk__in=pending_studies(user, project).values("pk"))
    )


def may_compare(user: AnyUser, study: Study, version: InstrumentVersion) -> bool:
    """May open the study's disagreements and consensus in this version."""
    project = study.project
    if not allows(user, project, Action.ADJUDICATE):
        return False
    reviewers = Assessment.objects.filter(study=study, version=version, kind=REVIEWER)
    if not reviewers.exists() or reviewers.filter(first_submitted_at=None).exists():
        return False
    return not pending_studies(user, project).filter(pk=study.pk).exists()


def newly_unblinded(study: Study) -> QuerySet[Assessment]:
    """Reviewer assessments of the study whose reviewer now sees the others' work.

    Not yet marked, every reviewer of that version submitted, and nothing of
    the reviewer's own pending on the study (any version).
    """
    reviewers = Assessment.objects.filter(study=study, kind=REVIEWER)
    fresh = reviewers.filter(unblinded_at=None)
    if not study.project.blinding:
        return fresh
    pending = reviewers.filter(first_submitted_at=None)
    return fresh.exclude(version_id__in=pending.values("version_id")).exclude(
        reviewer_id__in=pending.values("reviewer_id")
    )


def could_see_others(user: AnyUser, study: Study) -> bool:
    """Whether the user may already have seen other people's work on the study.

    Such a person assigned as a reviewer of it is no longer independent.
    """
    return (
        visible_assessments(user, study.project)
        .filter(study=study)
        .exclude(reviewer_id=user.pk)
        .exists()
    )


def own_other_assessments(
    user: AnyUser, assessment: Assessment
) -> QuerySet[Assessment]:
    """The user's own reviews of the same study in other instrument versions.

    Only beside the user's own review (the crosswalk shows them there): never
    anyone else's work, and nothing while a re-read of the study is open.
    """
    if assessment.kind != REVIEWER or assessment.reviewer_id != user.pk:
        return Assessment.objects.none()
    # One's own work needs no blinding rule; an open re-read hides it all.
    rereading = Assessment.objects.filter(
        study_id=assessment.study_id,
        reviewer_id=user.pk,
        kind=REREAD,
        first_submitted_at=None,
    )
    return (
        Assessment.objects.filter(
            study_id=assessment.study_id, reviewer_id=user.pk, kind=REVIEWER
        )
        .exclude(pk=assessment.pk)
        .exclude(Exists(rereading))
    )


def reviewers_visible(user: AnyUser, study: Study, version: InstrumentVersion) -> bool:
    """Every reviewer's answers on the study in the version are visible to the user.

    Consensus resolutions record each reviewer's answer, so they are shown
    only to someone who may see all of them.
    """
    reviewers = Assessment.objects.filter(study=study, version=version, kind=REVIEWER)
    visible = visible_assessments(user, study.project).filter(
        study=study, version=version, kind=REVIEWER
    )
    return visible.count() == reviewers.count()


def get_own_assessment(user: AnyUser, uuid: Any) -> Assessment:
    """The user's own assessment, or one they may see; else 404/403."""
    if user.is_authenticated and token_projects(user) is None:
        own = _OWN.first(user.pk, uuid)
        if own is not None:
            return own  # the plain case, settled in one query
    assessment = (
        Assessment.objects.select_related("study__project", "version__instrument")
        .filter(uuid=uuid)
        .first()
    )
    if assessment is None:
        raise Http404(_("No such assessment"))
    project = assessment.study.project
    if not visible_projects(user).filter(pk=project.pk).exists():
        raise Http404(_("No such assessment"))
    if can_see_assessment(user, assessment):
        return assessment
    if assessment.reviewer_id == user.pk:
        raise PermissionDenied(_("Hidden until you submit your re-read of the study."))
    raise PermissionDenied(_("Blinded: visible once every reviewer has submitted."))


def lock_own_assessment(user: AnyUser, uuid: Any) -> Assessment | None:
    """The user's own assessment, row-locked for a save, in one query: the
    autosave's fast path (inside a transaction).

    Only the plain case: a member of the project, their own assessment (not a
    consensus), not hidden by a re-read of the study they have still to
    submit, on a session (tokens keep their own checks). The same rules as
    ``get_own_assessment`` plus ``may_edit``; None means "take that path",
    which answers 404 or 403 with its reasons.
    """
    if not user.is_authenticated or token_projects(user) is not None:
        return None
    return _OWN_LOCKED.first(user.pk, uuid)


def _own(user_pk: int, uuid: Any) -> QuerySet[Assessment]:
    """The plain rule: a member's own assessment, not a consensus, not hidden
    by a re-read of the study still to submit (at most one row)."""
    member = Exists(
        Membership.objects.filter(
            project_id=OuterRef("study__project_id"), user_id=user_pk
        )
    )
    rereading = Exists(
        Assessment.objects.filter(
            study_id=OuterRef("study_id"),
            reviewer_id=user_pk,
            kind=REREAD,
            first_submitted_at=None,
        )
    )
    return (
        Assessment.objects.filter(member, uuid=uuid, reviewer_id=user_pk)
        .exclude(kind=CONSENSUS)
        .exclude(Q(kind=REVIEWER) & Q(rereading))
        .order_by()[:1]
    )


def _own_shown(user_pk: int, uuid: Any) -> QuerySet[Assessment]:
    return (
        _own(user_pk, uuid)
        .select_related("study__project", "version__instrument")
        # The frozen definition (tens of kB of JSON) is parsed once per process
        # (InstrumentVersion.as_definition).
        .defer("version__definition")
    )


def _own_locked(user_pk: int, uuid: Any) -> QuerySet[Assessment]:
    # Lock the assessment row only: joined rows (the project) are shared by
    # every reviewer of the project and must not serialise their saves. The
    # cached result is overwritten by the save. Of the joined rows only what
    # a save reads: PostgreSQL planned the full width (five tables, a hundred
    # columns) for longer than it took to run, on every keystroke.
    return (
        _own(user_pk, uuid)
        .select_related("study__project", "version")
        .select_for_update(of=("self",))
        .only(*_SAVE_READS)
    )


_SAVE_READS = (
    *(f.name for f in Assessment._meta.concrete_fields if f.name != "result"),
    "study__id",
    "study__project_id",
    "study__project__id",
    "study__project__percent_convention",
    # What InstrumentVersion.as_definition keys its parsed copy by.
    "version__id",
    "version__status",
    "version__revision",
    "version__scoring_hash",
)


# Compiled once: on the autosave path compiling cost more than the query.
_PLACEHOLDERS = (-7_654_321, UUID("7654321f-0000-4000-8000-00000000abcd"))
_OWN = PreparedQuery(_own_shown, _PLACEHOLDERS)
_OWN_LOCKED = PreparedQuery(_own_locked, _PLACEHOLDERS)


def may_edit(user: AnyUser, assessment: Assessment) -> bool:
    if assessment.is_consensus:
        return may_compare(user, assessment.study, assessment.version)
    return assessment.reviewer_id == user.pk
