"""Keeping stored dashboards current (run by the worker and by the periodic sweep)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.utils import translation

from .. import queue
from ..models import DashboardSnapshot, Project
from ..renderers.figures import render_charts
from ..selectors import dashboard

logger = logging.getLogger(__name__)


def refresh_project_dashboards(project_id: int) -> int:
    """Recompute each stale (or missing) snapshot of the project; returns how many."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return 0
    done = 0
    for version in project.instruments.all():
        snapshot = DashboardSnapshot.objects.filter(
            project=project, version=version
        ).first()
        if snapshot is not None and snapshot.data_revision == project.data_revision:
            continue
        board = dashboard.compute(project, version, dashboard.Filters())
        store(project, board, stored_charts(board.figures))
        done += 1
    return done


def stored_charts(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The charts a snapshot keeps: in the site's language whoever asked, so
    the dashboard never shows one reader's language to another."""
    with translation.override(settings.LANGUAGE_CODE):
        return render_charts(figures)


def sweep_stale_dashboards() -> int:
    """Catch up dashboards whose refresh was never enqueued (broker down)."""
    projects = {project_id for project_id, _ in dashboard.stale_snapshots()}
    for project_id in projects:
        try:
            refresh_project_dashboards(project_id)
        except Exception:
            logger.exception("Dashboard refresh of project %s failed", project_id)
    return len(projects)


def request_refresh(project: Project) -> bool:
    """Ask a worker to bring the project's stored dashboards up to date."""
    return queue.refresh_dashboard(project.pk)


def store(
    project: Project, board: dashboard.Dashboard, charts: list[dict[str, Any]]
) -> None:
    """Keep the computed dashboard as the project's stored one."""
    DashboardSnapshot.objects.update_or_create(
        project=project,
        version=board.version,
        defaults={
            "data_revision": board.data_revision,
            "computed_at": board.computed_at,
            "duration_ms": board.duration_ms,
            "figures": {"figures": board.figures, "charts": charts},
        },
    )
