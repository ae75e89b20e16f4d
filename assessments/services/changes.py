"""A project's data changed: stored dashboards and cached reports are out of date."""

from __future__ import annotations

from django.db.models import F

from .. import queue
from ..models import Project


def bump_data_revision(project_id: int) -> None:
    """Mark dashboards and cached reports of the project as out of date."""
    Project.objects.filter(pk=project_id).update(data_revision=F("data_revision") + 1)
    queue.refresh_dashboard_on_commit(project_id)
