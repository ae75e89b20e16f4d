"""Create the demo accounts and the demo project (development only, idempotent)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from assessments.demo import ensure_demo_project

DEMO_PASSWORD = "demo"  # noqa: S105 - printed on purpose; DEBUG-only accounts
DEMO_USERS = [
    ("admin", {"is_staff": True, "is_superuser": True}),
    ("lead", {}),
    ("reviewer1", {}),
    ("reviewer2", {}),
]

ROLES = {
    "admin": "administrator: edits the instruments in the admin",
    "lead": "project lead: imports, assigns, resolves, reports",
    "reviewer1": "reviewer: scores the studies assigned to them",
    "reviewer2": "reviewer: the second, independent reviewer",
}


class Command(BaseCommand):
    help = "Create the demo accounts and project. Refuses to run with DEBUG off."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "manage.py demo only runs with DEBUG=1 (demo passwords)."
            )
        users = {name: self._user(name, flags) for name, flags in DEMO_USERS}
        project = ensure_demo_project(users)
        self.stdout.write(
            f"Demo project: {project.name}. Demo accounts, all with the password "
            f"'{DEMO_PASSWORD}':\n"
            + "\n".join(f"  {name:<10} {ROLES[name]}" for name in users)
        )

    def _user(self, username: str, flags: dict[str, bool]) -> Any:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.org", **flags}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user
