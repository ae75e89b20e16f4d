"""Agreement coefficients for ratings kept in a spreadsheet (long-format CSV)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessments.agreement.csvfile import (
    DESIGN_CHOICES,
    DESIGN_HELP,
    LEVEL_HELP,
    LEVELS,
)
from assessments.cli import CliError, agreement_text, read_text


class Command(BaseCommand):
    help = (
        "Inter-rater agreement for a CSV with columns subject,rater,value and an "
        "optional item; an empty value, na or NA is a missing rating. Prints JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV file, or - for standard input")
        parser.add_argument(
            "--level", choices=LEVELS, default="nominal", help=LEVEL_HELP
        )
        parser.add_argument(
            "--design", choices=DESIGN_CHOICES, default="auto", help=DESIGN_HELP
        )
        parser.add_argument(
            "--order",
            help="comma-separated order of text values at the ordinal level: a,b,c",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            text = read_text(options["file"])
            self.stdout.write(
                agreement_text(
                    text,
                    level=options["level"],
                    order=options["order"],
                    source=options["file"],
                    design=options["design"],
                )
            )
        except CliError as exc:
            raise CommandError(str(exc)) from exc
