"""Import studies into a project from RIS, BibTeX, PubMed (MEDLINE/XML) or CSV."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessments.bibliography import FORMATS
from assessments.models import Project
from assessments.services.imports import import_studies


class Command(BaseCommand):
    help = "Import studies (all or nothing); exits 1 on any problem."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--format", choices=FORMATS, default=None)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project {options['project']!r}.")
        try:
            data = options["file"].read_bytes()
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        report = import_studies(
            project=project,
            data=data,
            fmt=options["format"],
            user=None,
            dry_run=options["dry_run"],
        )
        for record, reason in report.duplicates:
            self.stdout.write(
                f"duplicate skipped: record {record.index}: "
                f"{record.fields['title']} ({reason})"
            )
        if report.problems:
            for problem in report.problems:
                self.stderr.write(problem)
            self.stderr.write("Nothing was imported.")
            sys.exit(1)
        verb = "would import" if options["dry_run"] else "imported"
        self.stdout.write(
            f"{report.format}: {verb} {len(report.new)} studies, "
            f"{len(report.duplicates)} duplicates skipped."
        )
