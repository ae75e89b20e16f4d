"""A reviewer's worklist: their own assessments, sorted and filtered in SQL.

Only the reviewer's own assessments are listed, so blinding has nothing to
hide here: the score shown is the one they are building themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Count, F, OrderBy, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ..instruments.judgement import JUDGEMENT_LABELS, aspect_label
from ..models import Assessment, InstrumentVersion, Membership, Project
from .numbers import local_number
from .review import review_studies
from .studies import ASSIGNMENT_KINDS, reviewer_queue
from .wording import wording_for

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

OPEN = "open"
STATUS_CHOICES: list[tuple[str, StrOrPromise]] = [
    ("", gettext_lazy("All")),
    (OPEN, gettext_lazy("Not yet submitted")),
    *Assessment.Status.choices,
]
SORT_CHOICES: list[tuple[str, StrOrPromise]] = [
    ("", gettext_lazy("Work order (started work first)")),
    ("study", gettext_lazy("Study")),
    ("project", gettext_lazy("Project")),
    ("instrument", gettext_lazy("Instrument")),
    ("status", gettext_lazy("Status")),
    ("score", gettext_lazy("Score")),
]
# What the worklist calls calibration work; a hidden check has no label, so it
# reads exactly like a live assignment.
KIND_LABELS = {
    Assessment.Kind.TRAINING: gettext_lazy("Training"),
    Assessment.Kind.REREAD: gettext_lazy("Re-read"),
}
TIE_BREAK = ("study__project__name", "study__title", "pk")


def _ordering(sort: str) -> list[Any]:
    """The ORDER BY of a sort key; "-key" reverses it, the tie-break stays fixed."""
    descending = sort.startswith("-")
    by: dict[str, list[Any]] = {
        "study": [F("study__title")],
        "project": [F("study__project__name")],
        "instrument": [F("version__instrument__name"), F("version__version")],
        "status": [F("work_order")],
        # Judgements have no number: they sort after every score either way.
        "score": [F("percent")],
        "": [F("work_order")],
    }
    fields: list[OrderBy] = [
        f.desc(nulls_last=True) if descending else f.asc(nulls_last=True)
        for f in by.get(sort.removeprefix("-"), by[""])
    ]
    return [*fields, *TIE_BREAK]


def worklist(user: Any, *, status: str = "", sort: str = "") -> QuerySet[Assessment]:
    """The user's own assessments, filtered by status, in the asked order."""
    rows = reviewer_queue(user)
    if status == OPEN:
        rows = rows.exclude(status=Assessment.Status.SUBMITTED)
    elif status in Assessment.Status.values:
        rows = rows.filter(status=status)
    return rows.order_by(*_ordering(sort))


def clean_sort(value: str) -> str:
    known = {key for key, _label in SORT_CHOICES if key}
    return value if value.removeprefix("-") in known else ""


def open_count(user: Any, project: Project | None = None) -> int:
    """How many of the user's reviews are not yet submitted (in one project).

    Training and re-reads are not reviews of the project; a hidden check is
    counted like the assignment it looks like.
    """
    rows = Assessment.objects.filter(
        reviewer_id=user.pk, kind__in=ASSIGNMENT_KINDS, study__excluded=False
    ).exclude(status=Assessment.Status.SUBMITTED)
    if project is not None:
        rows = rows.filter(study__project=project)
    return rows.count()


def _number(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def score_text(assessment: Assessment) -> str:
    """The cached result in the instrument's own terms, or "" before any answer."""
    kind = assessment.version.kind
    if assessment.status == Assessment.Status.ASSIGNED:
        return ""
    if kind == "judgement":
        if not assessment.band:
            return _("Not yet judged")
        label = _(JUDGEMENT_LABELS.get(assessment.band, assessment.band))
        aspect = aspect_label(
            wording_for(assessment.version).definition,
            "risk_of_bias",
            _("Risk of bias"),
        )
        return f"{aspect}: {label.lower()}"
    if kind == "weighted":
        # The figure the form showed: never one that reads as a higher band.
        shown = (assessment.result or {}).get("percent_display")
        if shown is not None:
            return f"{local_number(shown)}%"
        if assessment.percent is None:
            return ""
        return f"{local_number(assessment.percent, 1)}%"
    if assessment.total is None or assessment.maximum is None:
        return ""
    return _("%(total)s / %(maximum)s points") % {
        "total": _number(assessment.total),
        "maximum": _number(assessment.maximum),
    }


def instrument_label(version: InstrumentVersion) -> str:
    """The instrument by its name and version ("METRICS 1.0"), never its key."""
    name = version.short_name or version.name
    return name if version.version in name else f"{name} {version.version}"


def rows_for_display(rows: Any) -> list[Assessment]:
    """One page of the worklist with its score, button and instrument in words."""
    rows = list(rows)
    for row in rows:
        row.score_text = score_text(row)  # type: ignore[attr-defined]
        row.action = action_label(row)  # type: ignore[attr-defined]
        row.instrument_label = instrument_label(row.version)  # type: ignore[attr-defined]
        row.kind_label = KIND_LABELS.get(row.kind, "")  # type: ignore[attr-defined]
    return rows


def action_label(assessment: Assessment) -> str:
    """What the row's button does, in the reviewer's words."""
    if assessment.status == Assessment.Status.SUBMITTED:
        return _("View")
    if assessment.status == Assessment.Status.ASSIGNED:
        return _("Start")
    return _("Continue")


@dataclass(frozen=True)
class Next:
    """What a member of a project should do next, shown on the project page."""

    text: str
    url: str
    link_text: str


def project_counts(project: Project) -> dict[str, int]:
    """Studies in the review and reviewer assignments made, in one query."""
    return review_studies(project).aggregate(
        studies=Count("pk", filter=Q(excluded=False), distinct=True),
        assigned=Count("assessments", filter=Q(assessments__kind="reviewer")),
    )


def next_steps(
    user: Any, project: Project, member: Membership | None, counts: dict[str, int]
) -> list[Next]:
    """The project page's "what to do next" for the user's role, in one query."""
    steps: list[Next] = []
    manages = getattr(user, "is_staff", False) or (
        member is not None and member.role == Membership.Role.LEAD
    )
    if manages and not counts["studies"]:
        steps.append(
            Next(
                _(
                    "This project has no studies yet: import them from a reference "
                    "manager (RIS, BibTeX, PubMed, CSV) or add them one by one."
                ),
                reverse("study-import", args=[project.slug]),
                _("Import studies"),
            )
        )
    elif manages and not counts["assigned"]:
        steps.append(
            Next(
                _(
                    "%(count)s studies are waiting for reviewers: assign them, "
                    "balanced over the project's reviewers."
                )
                % {"count": counts["studies"]},
                reverse("project-assign", args=[project.slug]),
                _("Assign reviewers"),
            )
        )
    mine = open_count(user, project)
    if mine:
        steps.append(
            Next(
                ngettext(
                    "You have %(count)s open review in this project.",
                    "You have %(count)s open reviews in this project.",
                    mine,
                )
                % {"count": mine},
                reverse("queue") + "?status=open",
                _("Go to your worklist"),
            )
        )
    elif member is not None and member.role == Membership.Role.REVIEWER:
        steps.append(
            Next(
                _("Nothing is waiting for you in this project right now."),
                reverse("queue"),
                _("Your worklist"),
            )
        )
    elif member is not None and member.role == Membership.Role.OBSERVER:
        steps.append(
            Next(
                _(
                    "As an observer you follow the review: the dashboard shows its "
                    "progress and the final results."
                ),
                reverse("project-dashboard", args=[project.slug]),
                _("Open the dashboard"),
            )
        )
    return steps
