"""The demo project that `make run` shows a newcomer (via `manage.py demo`)."""

from __future__ import annotations

from typing import Any

from .models import Membership, Project


def ensure_demo_project(users: dict[str, Any]) -> Project:
    """Create what is missing of the demo project; never touch what exists."""
    project, _ = Project.objects.get_or_create(
        slug="demo",
        defaults={
            "name": "Demo: radiomics in lung cancer",
            "description": (
                "A demo review of radiomics studies with RQS 1.0 and METRICS."
            ),
            "created_by": users["lead"],
        },
    )
    for name, role in (
        ("lead", "lead"),
        ("reviewer1", "reviewer"),
        ("reviewer2", "reviewer"),
    ):
        Membership.objects.get_or_create(
            project=project, user=users[name], defaults={"role": role}
        )
    return project
