"""Re-reads for intra-rater reliability: a share of each reviewer's submitted
studies, scored again after an interval, blind to the first reading."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ..models import Assessment, AuditEvent, CalibrationSettings, Project
from .notifications import notify_assigned
from .prefilling import prefill_conditions

REVIEWER, REREAD = Assessment.Kind.REVIEWER, Assessment.Kind.REREAD


def _due_for(settings: CalibrationSettings, now: Any) -> list[Assessment]:
    """The re-reads the rules call for now, not yet made.

    For each reviewer, the target is the fraction of their submitted live
    studies, rounded up; studies are eligible once first submitted at least
    the interval ago. Which ones is random but fixed per reviewer, so a
    sweep run twice picks the same and a lead cannot hand-pick easy studies.
    """
    fraction = Decimal(settings.reread_fraction) / 100
    if fraction <= 0:
        return []
    reviews = Assessment.objects.filter(
        study__project_id=settings.project_id,
        study__training=False,
        study__excluded=False,
        version_id=settings.version_id,
        kind=REVIEWER,
        first_submitted_at__isnull=False,
    )
    reread = Assessment.objects.filter(reread_of_id=OuterRef("pk"))
    rows = list(
        reviews.annotate(has_reread=Exists(reread)).values(
            "pk", "reviewer_id", "study_id", "first_submitted_at", "has_reread"
        )
    )
    cutoff = now - timedelta(days=settings.reread_interval_days)
    by_reviewer: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_reviewer.setdefault(row["reviewer_id"], []).append(row)
    made = []
    for reviewer_id, mine in sorted(by_reviewer.items()):
        target = math.ceil(fraction * len(mine))
        done = sum(1 for r in mine if r["has_reread"])
        eligible = sorted(
            (
                r
                for r in mine
                if not r["has_reread"] and r["first_submitted_at"] <= cutoff
            ),
            key=lambda r: r["pk"],
        )
        seed = f"{settings.project_id}:{settings.version_id}:{reviewer_id}"
        random.Random(seed).shuffle(eligible)
        for row in eligible[: max(target - done, 0)]:
            made.append(
                Assessment(
                    study_id=row["study_id"],
                    version_id=settings.version_id,
                    reviewer_id=reviewer_id,
                    kind=REREAD,
                    reread_of_id=row["pk"],
                )
            )
    return made


@transaction.atomic
def assign_due_rereads(project: Project, user: Any = None) -> int:
    """Make the re-reads due in every instrument version of the project."""
    now = timezone.now()
    made: list[Assessment] = []
    for settings in CalibrationSettings.objects.filter(
        project=project, reread_fraction__gt=0
    ):
        made += _due_for(settings, now)
    if not made:
        return 0
    Assessment.objects.bulk_create(made)
    prefill_conditions(assessments=made)
    AuditEvent.objects.record(
        project.pk, user, "assign-rereads", "", {"made": len(made)}
    )
    notify_assigned(made)
    return len(made)


def sweep_due_rereads() -> int:
    """The periodic sweep: re-reads falling due as intervals pass."""
    projects = Project.objects.filter(
        status=Project.Status.ACTIVE, calibration_settings__reread_fraction__gt=0
    ).distinct()
    return sum(assign_due_rereads(project) for project in projects)
