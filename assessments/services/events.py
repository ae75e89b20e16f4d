"""After-commit follow-ups of a data change (dashboard refresh), broker-tolerant.

Saving never depends on the broker: if enqueueing fails the change stays
committed, and the periodic sweep catches the stale dashboard up later.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

REFRESH_TASK = "assessments.tasks.refresh_dashboard_task"


def project_changed(project_id: int) -> None:
    transaction.on_commit(lambda: enqueue_refresh(project_id))


def enqueue_refresh(project_id: int) -> bool:
    task = current_app.tasks.get(REFRESH_TASK)
    if task is None:
        return False
    try:
        # A short delay coalesces a burst of changes into one computation.
        task.apply_async(args=(project_id,), countdown=3)
    except Exception:
        logger.warning(
            "Broker unavailable: dashboard refresh of project %s left to the sweep",
            project_id,
        )
        return False
    return True
