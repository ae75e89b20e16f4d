"""The one place that sends work to the Celery workers, by the tasks' names.

tasks.py defines its tasks under these names; services call the functions
below and never touch Celery themselves. A broker outage never fails the work
that asked: a dashboard refresh is left to the periodic sweep, and a report
request is told the queue did not answer so it can be marked failed.

Two queues (settings' CELERY_TASK_ROUTES names `route` below): heavy document
work (report rendering, paper text extraction) on the reports queue, everything
else (dashboard refreshes, sweeps, pings) on the default queue, so a burst of
PDFs never delays a dashboard. docs/scaling.md has the worker command per queue.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

PING = "assessments.tasks.ping_task"
SWEEP = "assessments.tasks.sweep_task"
REFRESH_DASHBOARD = "assessments.tasks.refresh_dashboard_task"
RENDER_REPORT = "assessments.tasks.render_report_task"
EXTRACT_PAPER = "assessments.tasks.extract_paper_task"

DEFAULT_QUEUE = "celery"
REPORTS_QUEUE = "reports"
# PDF work, seconds to minutes of CPU per job: workers of their own.
DOCUMENT_TASKS = frozenset({RENDER_REPORT, EXTRACT_PAPER})

# A short delay coalesces a burst of changes into one dashboard computation.
REFRESH_DELAY = 3


class QueueUnavailable(Exception):
    """The broker did not take the job."""


def reports_queue_for(default_queue: str, configured: str = "") -> str:
    """The reports queue beside a default queue: `reports` beside `celery`.

    Beside any other default (a test worker's private queue) it is
    `<default>-reports`, so each pair of queues belongs to one deployment.
    """
    if configured:
        return configured
    if default_queue == DEFAULT_QUEUE:
        return REPORTS_QUEUE
    return f"{default_queue}-reports"


def route(name: str, *args: Any, **kwargs: Any) -> dict[str, str] | None:
    """Celery router: the queue of a task by its name (None: the default queue).

    Read at every send rather than fixed in a routes table, so the reports
    queue follows the default queue even when it is changed at run time.
    """
    if name not in DOCUMENT_TASKS:
        return None
    conf = current_app.conf
    return {
        "queue": reports_queue_for(
            conf.task_default_queue, conf.get("reports_queue") or ""
        )
    }


def refresh_dashboard_on_commit(project_id: int) -> None:
    """After the current transaction commits, ask for the project's dashboards."""
    transaction.on_commit(lambda: refresh_dashboard(project_id))


def refresh_dashboard(project_id: int) -> bool:
    """Ask a worker to recompute stale dashboards; False when the broker is down."""
    task = current_app.tasks.get(REFRESH_DASHBOARD)
    if task is None:
        return False
    try:
        task.apply_async(args=(project_id,), countdown=REFRESH_DELAY)
    except Exception:
        logger.warning(
            "Broker unavailable: dashboard refresh of project %s left to the sweep",
            project_id,
        )
        return False
    return True


def render_report(report_id: int) -> str:
    """Queue a report for rendering and return the task id."""
    try:
        result = current_app.tasks[RENDER_REPORT].apply_async(args=(report_id,))
    except Exception as exc:
        logger.warning("Broker unavailable for report %s: %s", report_id, exc)
        raise QueueUnavailable(str(exc)) from exc
    return result.id or ""


def extract_paper_on_commit(paper_id: int) -> None:
    """After the upload commits, ask for the paper's text extraction."""
    transaction.on_commit(lambda: extract_paper(paper_id))


def extract_paper(paper_id: int) -> bool:
    """Queue a paper's text extraction; False when the broker is down.

    The upload never fails for it: the paper stays queued and the sweep
    asks again.
    """
    task = current_app.tasks.get(EXTRACT_PAPER)
    if task is None:
        return False
    try:
        task.apply_async(args=(paper_id,))
    except Exception:
        logger.warning(
            "Broker unavailable: text extraction of paper %s left to the sweep",
            paper_id,
        )
        return False
    return True
