"""Celery tasks: thin wrappers that take primary keys and call services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.contrib.auth import get_user_model

from . import queue
from .services.papers import run_extraction
from .services.reports import run_report
from .services.snapshots import refresh_project_dashboards
from .services.sweeps import run_sweeps

logger = logging.getLogger(__name__)


@shared_task(name=queue.PING)
def ping_task(token: str) -> dict[str, object]:
    """Round trip through the broker and the database, for health checks and tests."""
    return {"token": token, "users": get_user_model().objects.count()}


@shared_task(name=queue.SWEEP, ignore_result=True)
def sweep_task() -> dict[str, int]:
    """Periodic catch-up for work whose enqueueing failed or whose worker died."""
    return run_sweeps()


# Nobody reads these results: storing them would make a publish wait on the
# result backend, which hangs for seconds when Redis is down.
@shared_task(name=queue.REFRESH_DASHBOARD, acks_late=True, ignore_result=True)
def refresh_dashboard_task(project_id: int) -> dict[str, int]:
    """Recompute the stored dashboards of a project that are older than its data.

    Bursts coalesce: a task finding the snapshot already current does nothing.
    """
    return {"refreshed": refresh_project_dashboards(project_id)}


@shared_task(
    name=queue.RENDER_REPORT,
    acks_late=True,
    # A worker process killed mid-render puts the job back on the queue.
    reject_on_worker_lost=True,
    max_retries=2,
    ignore_result=True,
)
def render_report_task(report_id: int) -> str:
    """Render a requested PDF report and store it on its Report row."""
    return run_report(report_id)


@shared_task(
    name=queue.EXTRACT_PAPER,
    acks_late=True,
    # A worker killed mid-extraction (a huge PDF) puts the job back on the queue.
    reject_on_worker_lost=True,
    ignore_result=True,
)
def extract_paper_task(paper_id: int) -> str:
    """Extract a paper's text and the evidence finder's candidates."""
    # A redelivered or swept job finds the work done and stops.
    return run_extraction(paper_id, force=False)
