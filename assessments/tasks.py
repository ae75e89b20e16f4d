"""Celery tasks: thin wrappers that take primary keys and call services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.contrib.auth import get_user_model

logger = logging.getLogger(__name__)


@shared_task(name="assessments.tasks.ping_task")
def ping_task(token: str) -> dict[str, object]:
    """Round trip through the broker and the database, for health checks and tests."""
    return {"token": token, "users": get_user_model().objects.count()}


@shared_task(name="assessments.tasks.sweep_task")
def sweep_task() -> dict[str, int]:
    """Periodic catch-up for work whose enqueueing failed or whose worker died."""
    from . import sweeps

    return sweeps.run_sweeps()
