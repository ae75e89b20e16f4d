"""Each reviewer's assignments by status: for the progress tables.

Statuses only, never scores; who may see everyone's rows is access.py's call,
made by the callers.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from ..models import Assessment, InstrumentVersion, Project


def progress_counts(
    project: Project,
    version: InstrumentVersion | None = None,
    *,
    reviewer_id: int | None = None,
) -> list[dict[str, Any]]:
    """Assignments by status per reviewer (everyone's unless one is named).

    Statuses only, never scores: the stored dashboard keeps them too.
    """
    rows = Assessment.objects.filter(
        study__project=project,
        kind="reviewer",
        study__excluded=False,
        study__training=False,
    )
    if version is not None:
        rows = rows.filter(version=version)
    if reviewer_id is not None:
        rows = rows.filter(reviewer_id=reviewer_id)

    def of(status: str) -> Count:
        return Count("pk", filter=Q(status=status))

    return list(
        rows.values("reviewer_id", "reviewer__username")
        .annotate(
            total=Count("pk"),
            assigned=of("assigned"),
            in_progress=of("in_progress"),
            reopened=of("reopened"),
            submitted=of("submitted"),
        )
        .order_by("reviewer__username")
    )


def progress_rows(counts: list[dict[str, Any]], user: Any) -> list[dict[str, Any]]:
    """The counts as the progress table shows them to this user."""
    return [
        {
            **row,
            "name": row["reviewer__username"],
            "is_me": row["reviewer_id"] == user.pk,
            "percent": round(100 * row["submitted"] / row["total"]),
        }
        for row in counts
    ]
