"""Keeping stored dashboards current (run by the worker and by the periodic sweep)."""

from __future__ import annotations

import logging

from .. import dashboard, sweeps
from ..figures import render_charts
from ..models import DashboardSnapshot, Project

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
        dashboard.store(project, board, render_charts(board.figures))
        done += 1
    return done


@sweeps.register
def sweep_stale_dashboards() -> int:
    """Catch up dashboards whose refresh was never enqueued (broker down)."""
    projects = {project_id for project_id, _ in dashboard.stale_snapshots()}
    for project_id in projects:
        try:
            refresh_project_dashboards(project_id)
        except Exception:
            logger.exception("Dashboard refresh of project %s failed", project_id)
    return len(projects)
