"""Score a spreadsheet of assessments (one row each) with an instrument version."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessments.cli import CliError, read_text, score_file
from assessments.instruments.spreadsheet import accepted_codes, template_header
from assessments.models import InstrumentVersion


class Command(BaseCommand):
    # The same as `rqs score`, over the database's versions (admins' drafts too).
    help = (
        "Score FILE.csv (one row per assessment: id, then one column per condition "
        "and item) and write id,total,max,percent,band to stdout (QUADAS-2: the "
        "band is the overall risk of bias, then applicability)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="the CSV file, or - for stdin")
        parser.add_argument(
            "--instrument",
            required=True,
            help="rqs-1.0, or a bare code for its latest published",
        )
        parser.add_argument("--allow-draft", action="store_true")
        parser.add_argument(
            "--template", action="store_true", help="print the input header and exit"
        )
        parser.add_argument(
            "--codes",
            action="store_true",
            help="print each item's accepted values and exit",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        version = self._version(options["instrument"], options["allow_draft"])
        definition = version.as_definition()
        if options["template"]:
            self.stdout.write(",".join(template_header(definition)))
            return
        if options["codes"]:
            self.stdout.write("\n".join(accepted_codes(definition)))
            return
        if options["file"] is None:
            raise CommandError(
                "Give the spreadsheet file (CSV), or - for standard input."
            )
        try:
            text = read_text(options["file"])
        except CliError as exc:
            raise CommandError(str(exc)) from exc
        status = score_file(definition, text, self.stdout, self.stderr)
        if status:
            sys.exit(status)

    def _version(self, key: str, allow_draft: bool) -> InstrumentVersion:
        try:
            version = InstrumentVersion.objects.by_key(key)
        except InstrumentVersion.DoesNotExist:
            raise CommandError(
                f"No instrument version {key!r} in the database; run "
                "`manage.py load_instruments` first."
            ) from None
        if version.status == InstrumentVersion.Status.DRAFT and not allow_draft:
            raise CommandError(
                f"{version.key} is a draft; add --allow-draft to use it."
            )
        return version
