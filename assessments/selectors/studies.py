"""Reusable reads, aggregated in SQL so query counts stay flat as projects grow."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils.translation import gettext_lazy

from .. import access
from ..models import (
    CALIBRATION_KINDS,
    Answer,
    Assessment,
    InstrumentVersion,
    Project,
    Study,
)
from .dashboard import STATE_LABELS, STATES, state_expression
from .progress import progress_counts, progress_rows
from .review import review_studies

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

STATUS_ORDER = ["assigned", "in_progress", "submitted", "reopened"]


def project_versions(project: Project) -> list[InstrumentVersion]:
    return list(
        project.instruments.select_related("instrument").order_by(
            "projectinstrument__position"
        )
    )


def project_version(project: Project, ref: str | None) -> InstrumentVersion | None:
    """One of the project's instrument versions by its key (`rqs-1.0`).

    A database id is still accepted for links and forms made before keys were
    used in addresses.
    """
    ref = (ref or "").strip()
    for version in project_versions(project):
        if ref in (version.key, str(version.pk)):
            return version
    return None


def project_progress(project: Project) -> dict[int, dict[str, int]]:
    """Reviewer assessments per version and status."""
    rows = (
        Assessment.objects.filter(
            study__project=project, kind="reviewer", study__training=False
        )
        .values("version_id", "status")
        .annotate(n=Count("id"))
    )
    out: dict[int, dict[str, int]] = {}
    for row in rows:
        out.setdefault(row["version_id"], dict.fromkeys(STATUS_ORDER, 0))[
            row["status"]
        ] = row["n"]
    return out


STUDY_STATES: list[tuple[str, StrOrPromise]] = [
    ("unassigned", gettext_lazy("Not assigned")),
    *((state, STATE_LABELS[state]) for state in STATES),
    ("excluded", gettext_lazy("Excluded")),
]
# Labels are lazy translations; to callers they read as text (Any, not str).
STATE_NAMES: dict[str, Any] = dict(STUDY_STATES)
HIDDEN_STATE = gettext_lazy("Your review is open")
# Leads choose which studies the list shows; everyone else sees review studies.
TRAINING_CHOICES: list[tuple[str, StrOrPromise]] = [
    ("", gettext_lazy("Review and training studies")),
    ("0", gettext_lazy("Review studies")),
    ("1", gettext_lazy("Training studies")),
]
STUDY_SORTS: dict[str, tuple[str, ...]] = {
    "title": ("title",),
    "year": ("year",),
    "state": ("state_rank", "title"),
    "submitted": ("shown_submitted", "title"),
}


def _search(qs: QuerySet[Study], params: dict[str, str]) -> QuerySet[Study]:
    if params.get("q"):
        qs = qs.filter(
            Q(title__icontains=params["q"])
            | Q(doi__icontains=params["q"])
            | Q(pmid=params["q"])
            | Q(authors__icontains=params["q"])
        )
    for field in ("modality", "disease"):
        if params.get(field):
            qs = qs.filter(**{f"{field}__iexact": params[field]})
    if re.fullmatch(r"[0-9]{1,4}", params.get("year", "")):
        qs = qs.filter(year=int(params["year"]))
    return qs


def _shown_studies(
    project: Project, params: dict[str, str], user: Any
) -> QuerySet[Study]:
    """Training studies only for those access.py lets see them (a hidden check
    must look like any other study); leads may list only one kind."""
    if user is not None and not access.sees_training_studies(user, project):
        return review_studies(project)
    studies = Study.objects.filter(project=project)
    if params.get("training") in ("0", "1"):
        return studies.filter(training=params["training"] == "1")
    return studies


def _with_state(
    qs: QuerySet[Study], version: InstrumentVersion | None, hidden: Any
) -> QuerySet[Study]:
    """The dashboard's state of each study in the version, counts in one GROUP BY.

    A study the viewer still has to review shows no state and no counts: they
    would tell how far the co-reviewers are (the dashboard hides them too).
    """
    mine = Q(assessments__version=version) if version else Q()
    rev = mine & Q(assessments__kind="reviewer")
    any_consensus = mine & Q(assessments__kind="consensus")
    qs = qs.annotate(
        n_assigned=Count("assessments", filter=rev),
        n_started=Count("assessments", filter=rev & ~Q(assessments__status="assigned")),
        n_submitted=Count(
            "assessments", filter=rev & Q(assessments__status="submitted")
        ),
        n_consensus=Count("assessments", filter=any_consensus),
        n_final=Count(
            "assessments",
            filter=any_consensus
            & Q(assessments__status="submitted", assessments__stale=False),
        ),
        state_hidden=Exists(hidden.filter(pk=OuterRef("pk"))),
    )
    progress = state_expression()
    states: list[When] = [
        When(excluded=True, then=Value("excluded")),
        When(n_assigned=0, then=Value("unassigned")),
        *progress.cases,
    ]
    qs = qs.annotate(state=Case(*states, default=progress.default))
    ranks = [When(state_hidden=True, then=Value(len(STUDY_STATES)))]
    ranks += [
        When(state=code, then=Value(rank))
        for rank, (code, _) in enumerate(STUDY_STATES)
    ]
    return qs.annotate(
        state_rank=Case(*ranks, output_field=IntegerField()),
        shown_submitted=Case(
            When(state_hidden=True, then=Value(-1)),
            default=F("n_submitted"),
            output_field=IntegerField(),
        ),
    )


def study_list(
    project: Project,
    params: dict[str, str],
    *,
    version: InstrumentVersion | None = None,
    user: Any = None,
) -> QuerySet[Study]:
    """Studies with their state and review counts, filtered and sorted as asked.

    States and counts are those of one instrument version (all versions when
    none is given); `user` hides them where the user's own review is open, and
    training studies unless they are a lead (without a user: every study).
    """
    hidden = (
        access.pending_studies(user, project)
        if user is not None
        else Study.objects.none()
    )
    qs = _with_state(
        _search(_shown_studies(project, params, user), params), version, hidden
    )
    state = params.get("state", "")
    if state in STATE_NAMES:
        qs = qs.filter(state=state, state_hidden=False)  # type: ignore[misc]
    elif params.get("excluded") == "1":
        qs = qs.filter(excluded=True)
    elif params.get("excluded") != "all":
        qs = qs.filter(excluded=False)
    sort = params.get("sort", "")
    fields = STUDY_SORTS.get(sort.removeprefix("-"), ("title",))
    if sort.startswith("-"):
        return qs.order_by(*(f"-{f}" for f in fields), "pk")
    return qs.order_by(*fields, "pk")


def reviewer_progress(
    user: Any, project: Project, version: InstrumentVersion | None = None
) -> list[dict[str, Any]]:
    """Per reviewer: assignments by status and the share submitted, in one query.

    Everyone's rows for those access.py lets see them, otherwise the user's
    own; excluded studies no longer count as work.
    """
    only = None if access.sees_everyones_progress(user, project) else user.pk
    return progress_rows(progress_counts(project, version, reviewer_id=only), user)


# Work already started comes first (in progress, then reopened), then work not
# yet begun, then what is done: the order a clinician picks up between duties.
_WORK_ORDER = Case(
    When(status=Assessment.Status.IN_PROGRESS, then=Value(0)),
    When(status=Assessment.Status.REOPENED, then=Value(1)),
    When(status=Assessment.Status.ASSIGNED, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


# The worklist holds the reviewer's calibration work too; its progress counts
# only what looks like an assignment of the review to them, and a hidden check
# must look exactly like one.
QUEUE_KINDS = (Assessment.Kind.REVIEWER, *CALIBRATION_KINDS)
ASSIGNMENT_KINDS = (Assessment.Kind.REVIEWER, Assessment.Kind.CHECK)


def reviewer_queue(user: Any) -> QuerySet[Assessment]:
    """The user's own assessments (reviews and calibration), open work first."""
    return (
        Assessment.objects.filter(reviewer_id=user.pk, kind__in=QUEUE_KINDS)
        .select_related("study__project", "version__instrument")
        .annotate(work_order=_WORK_ORDER)
        .order_by("work_order", "study__project__name", "study__title", "pk")
    )


def next_open_assessment(user: Any, *, after: Any = None) -> Assessment | None:
    """The first open assessment of the user's worklist other than `after`."""
    rows = reviewer_queue(user).exclude(status=Assessment.Status.SUBMITTED)
    if after is not None:
        rows = rows.exclude(uuid=after)
    return rows.first()


def queue_totals(user: Any) -> dict[str, int]:
    """Rows in the worklist, and the assignments among them and how many are
    submitted: training and re-reads are practice, not progress in a review."""
    assigned = Q(kind__in=ASSIGNMENT_KINDS)
    return Assessment.objects.filter(
        reviewer_id=user.pk, kind__in=QUEUE_KINDS
    ).aggregate(
        listed=Count("pk"),
        total=Count("pk", filter=assigned),
        done=Count("pk", filter=assigned & Q(status="submitted")),
    )


def with_question_counts(rows: Any) -> list[Assessment]:
    """Attach answered and total question counts to one page of the queue."""
    rows = list(rows)
    answered = dict(
        Answer.objects.filter(assessment__in=rows, choices__isnull=False)
        .values("assessment_id")
        .annotate(n=Count("pk"))
        .values_list("assessment_id", "n")
    )
    sizes: dict[int, int] = {}
    for row in rows:
        if row.version_id not in sizes:
            definition = row.version.as_definition()
            sizes[row.version_id] = len(definition.items) + len(definition.conditions)
        row.n_questions = sizes[row.version_id]  # type: ignore[attr-defined]
        row.n_answered = answered.get(row.pk, 0)  # type: ignore[attr-defined]
    return rows


def study_assessments(user: Any, study: Study) -> list[Assessment]:
    """Assessments of the study this user may see (blinding applied)."""
    return list(
        access.visible_assessments(user, study.project)
        .filter(study=study)
        .select_related("reviewer", "version__instrument")
        .order_by("version_id", "kind", "reviewer__username")
    )


def study_assignments(study: Study, user: Any = None) -> list[Assessment]:
    """Who is assigned and their status: never their answers or scores.

    For a user, a consensus appears only when they may see it (its existence
    is part of the appraisal that blinding hides).
    """
    rows = Assessment.objects.filter(study=study)
    if user is not None:
        seen = access.visible_assessments(user, study.project).filter(study=study)
        rows = rows.filter(Q(kind=Assessment.Kind.REVIEWER) | Q(pk__in=seen))
    return list(
        rows.select_related("reviewer", "version__instrument")
        .only(
            "uuid",
            "status",
            "kind",
            "reviewer__username",
            "version__version",
            "version__instrument__code",
            "study_id",
            "first_submitted_at",
        )
        .order_by("version_id", "kind", "reviewer__username")
    )


def answers_by_item(assessment: Assessment) -> dict[str, Answer]:
    return {a.item_code: a for a in Answer.objects.filter(assessment=assessment)}
