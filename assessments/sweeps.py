"""Periodic catch-up run by celery beat (see CELERY_BEAT_SCHEDULE).

Each sweep is registered here so the beat task stays one entry point.
"""

from __future__ import annotations

from collections.abc import Callable

SWEEPS: list[Callable[[], int]] = []


def register(func: Callable[[], int]) -> Callable[[], int]:
    SWEEPS.append(func)
    return func


def run_sweeps() -> dict[str, int]:
    # Importing the modules registers their sweeps.
    from .services import imports as _imports  # noqa: F401
    from .services import reports as _reports  # noqa: F401
    from .services import snapshots as _snapshots  # noqa: F401

    return {func.__name__: func() for func in SWEEPS}
