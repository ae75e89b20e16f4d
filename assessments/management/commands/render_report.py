"""Render a report to a file without a worker, with a lead's view (administrators)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from assessments.models import Assessment, InstrumentVersion, Membership, Project
from assessments.renderers.reports import render_report
from assessments.selectors.reports import ReportRequest


class Command(BaseCommand):
    help = "Render a project, study or assessment report to FILE.pdf."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True)
        parser.add_argument("--out", required=True, type=Path)
        parser.add_argument(
            "--kind", choices=["project", "study", "assessment"], default="project"
        )
        parser.add_argument("--instrument", help="e.g. rqs-1.0 (default: the first)")
        parser.add_argument("--study", help="UUID, DOI or PMID")
        parser.add_argument("--reviewer", help="username (assessment reports)")
        parser.add_argument("--appendix", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project {options['project']!r}.")
        version = self._version(project, options["instrument"])
        lead = Membership.objects.filter(project=project, role="lead").first()
        if lead is None:
            raise CommandError("The project has no lead whose view to render.")
        study = self._study(project, options["study"]) if options["study"] else None
        assessment = None
        if options["kind"] in ("study", "assessment") and study is None:
            raise CommandError(f"A {options['kind']} report needs --study.")
        if options["kind"] == "assessment":
            assessment = self._assessment(study, version, options["reviewer"])
        req = ReportRequest(
            kind=options["kind"],
            project=project,
            version=version,
            user=lead.user,
            study=study,
            assessment=assessment,
            appendix=options["appendix"],
        )
        pdf = render_report(req)
        Path(options["out"]).write_bytes(pdf)
        self.stdout.write(f"Wrote {options['out']} ({len(pdf)} bytes).")

    def _version(self, project: Project, key: str | None) -> InstrumentVersion:
        versions = list(
            project.instruments.select_related("instrument").order_by(
                "projectinstrument__position"
            )
        )
        if key is None:
            return versions[0]
        for version in versions:
            if key in (version.key, version.instrument.code):
                return version
        raise CommandError(f"{key!r} is not an instrument of this project.")

    def _study(self, project: Project, ident: str) -> Any:
        q = Q(doi__iexact=ident) | Q(pmid=ident)
        if len(ident) == 36:
            q |= Q(uuid=ident)
        study = project.studies.filter(q).first()
        if study is None:
            raise CommandError(f"No study {ident!r} in this project.")
        return study

    def _assessment(
        self, study: Any, version: InstrumentVersion, reviewer: str | None
    ) -> Assessment:
        qs = Assessment.objects.filter(study=study, version=version)
        qs = (
            # The reviewer's review, not their re-read or training of the study.
            qs.filter(reviewer__username=reviewer, kind="reviewer")
            if reviewer
            else qs.filter(kind="consensus")
        )
        found = qs.first()
        if found is None:
            raise CommandError("No such assessment (give --reviewer USERNAME).")
        return found
