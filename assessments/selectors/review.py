"""What the review itself is made of: its live studies and their review work.

Training studies and calibration work (training, hidden checks, re-reads)
calibrate the reviewers; they never reach the review's dashboards, exports,
agreement, reports or lists of work to do. Reads for the review start here,
so the rule lives in one place.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from ..models import Assessment, Project, Study

# The kinds whose work is the review's: calibration kinds never count.
REVIEW_KINDS = (Assessment.Kind.REVIEWER, Assessment.Kind.CONSENSUS)


def review_studies(project: Project) -> QuerySet[Study]:
    """The project's studies whose results count: every study but training ones."""
    return Study.objects.filter(project=project, training=False)


def review_work(prefix: str = "") -> Q:
    """Assessments that count for the review, as a filter.

    Reviewers' and consensus work on live studies; `prefix` reaches the
    assessment through a relation ("assessment__" from answers).
    """
    return Q(**{f"{prefix}study__training": False, f"{prefix}kind__in": REVIEW_KINDS})


def review_assessments(project: Project) -> QuerySet[Assessment]:
    """The project's assessments that count for the review."""
    return Assessment.objects.filter(review_work(), study__project=project)
