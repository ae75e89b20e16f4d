"""Periodic catch-up, run by celery beat through one task (CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from collections.abc import Callable

from .imports import sweep_import_previews
from .papers import sweep_queued_papers
from .reports import sweep_stuck_reports
from .rereads import sweep_due_rereads
from .snapshots import sweep_stale_dashboards

SWEEPS: tuple[Callable[[], int], ...] = (
    sweep_import_previews,
    sweep_stuck_reports,
    sweep_queued_papers,
    sweep_stale_dashboards,
    sweep_due_rereads,
)


def run_sweeps() -> dict[str, int]:
    """Run every sweep; how many things each one caught up."""
    return {func.__name__: func() for func in SWEEPS}
