"""Every reviewer's calibration figures in a project, and its methods sentence.

Run by the operator, so it shows all reviewers (the JSON endpoint shows a
reviewer their own row only).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessments.models import Project
from assessments.selectors.calibration import calibration_json
from assessments.selectors.studies import project_versions
from assessments.selectors.training import methods_sentence


class Command(BaseCommand):
    help = (
        "Calibration of a project's reviewers against the references, per "
        "instrument version: a table and the methods sentence, or --json."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="the project's slug")
        parser.add_argument(
            "--json",
            action="store_true",
            help="print a JSON array, one object per reviewer and instrument version",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["project"]
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"There is no project with the slug '{slug}'.")
        rows = calibration_json(project)
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for version in project_versions(project):
            mine = [r for r in rows if r["instrument"] == version.key]
            self.stdout.write(f"{_name(mine, version.key)}\n")
            self.stdout.write(_table(mine) + "\n")
            self.stdout.write(methods_sentence(project, version, rows) + "\n\n")


def _name(rows: list[dict[str, Any]], key: str) -> str:
    return rows[0]["instrument_name"] if rows else key


HEADERS = (
    "Reviewer",
    "Training",
    "Agreement",
    "AC1",
    "Mean diff.",
    "Re-reads",
    "Certification",
)


def _table(rows: list[dict[str, Any]]) -> str:
    """Plain columns; a figure the data cannot support is a dash."""
    if not rows:
        return "  No reviewers."
    lines = [HEADERS]
    for r in rows:
        lines.append(
            (
                r["reviewer"],
                str(r["training_studies"]),
                _fmt(r["percent_agreement"], "{:.0%}"),
                _fmt(r["ac1"], "{:.2f}"),
                _fmt(r["mean_total_difference"], "{:+.1f}"),
                str(r["rereads"]),
                _certification(r),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADERS))]
    return "\n".join(
        (
            "  " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
        ).rstrip()
        for line in lines
    )


def _certification(row: dict[str, Any]) -> str:
    if row["certified"]:
        return f"certified {row['certified_at'][:10]}"
    if not row["certification_required"]:
        return "off"
    return "needs " + "; ".join(row["still_needed"])


def _fmt(value: float | None, pattern: str) -> str:
    return "\N{EM DASH}" if value is None else pattern.format(value)
