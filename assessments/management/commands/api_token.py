"""Make a personal access token for scripts and tests; prints it alone."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessments.models import Project
from assessments.services.tokens import create_token


class Command(BaseCommand):
    help = (
        "Make a personal access token for the REST API and print it alone on "
        "stdout (read-only unless --write); exits 1 on any problem."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="the token's user name")
        parser.add_argument(
            "--project",
            required=True,
            action="append",
            dest="projects",
            metavar="SLUG",
            help="a project the token reaches (repeat for several)",
        )
        parser.add_argument(
            "--write", action="store_true", help="let the token change data"
        )
        parser.add_argument("--days", type=int, default=30, help="days until expiry")
        parser.add_argument("--name", default="manage.py api_token")

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        user = users._default_manager.filter(
            **{users.USERNAME_FIELD: options["user"]}
        ).first()
        if user is None:
            raise CommandError(f"There is no user named {options['user']!r}.")
        if not user.is_active:
            raise CommandError(
                f"The user {options['user']!r} is inactive: a token would not work."
            )
        slugs = list(dict.fromkeys(options["projects"]))
        found = {p.slug: p for p in Project.objects.filter(slug__in=slugs)}
        missing = [s for s in slugs if s not in found]
        if missing:
            raise CommandError(
                "There is no project with the slug " + ", ".join(map(repr, missing))
            )
        try:
            _, raw = create_token(
                user=user,
                name=options["name"],
                projects=[found[s] for s in slugs],
                write=options["write"],
                days=options["days"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        # Nothing else on stdout: scripts read the token with $(...).
        self.stdout.write(raw)
